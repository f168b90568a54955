"""``thop-0.0.31``: thop as released on PyPI from 6 August to December 2019.

Emulates ``thop.profile`` of the builds 0.0.23.post1908061459 to 0.0.31.post1912272122
(0.0.30 and 0.0.31 of 2019). Against the July builds (:mod:`.thop_0_0_23`): hooks *add* to
``total_ops`` (every call of a module counts), ReLU and ReLU6 count nothing, and the
convolution formula counts the bias once per output element. Buffers and the total are still
float32 (``flops`` is the float32 sum, as the package returns it).

==========================  =========================================================
module (exact type)         ops per call (x = input, y = output), as the code computes
==========================  =========================================================
Conv1d/2d/3d, ConvTranspose ``y.numel * (C_in // groups * prod(kernel) + bias)``
BatchNorm1d/2d/3d           ``4 * x.numel``
LeakyReLU                   ``x.numel``
ReLU, ReLU6, MaxPool*,      0
AdaptiveMaxPool*, Dropout
AvgPool1d/2d/3d             ``(prod(kernel_size) + 1) * y.numel`` (an int ``k`` counts ``k``)
AdaptiveAvgPool1d/2d/3d     ``(prod(x spatial // output_size) + 1) * y.numel``
Linear                      see the two releases below
Upsample (from 08-28)       nearest 0, linear 5, bilinear 13 (11 from 10-28), bicubic 259
                            per output element; other modes 0
anything else               0 (Sigmoid, Softmax, LayerNorm, Flatten, functional calls)
==========================  =========================================================

Two behaviours, checked build by build against the real packages:

- :data:`AUGUST` (``thop-0.0.31-aug``), builds 0.0.23.post1908061459 to 0.0.31.post1909230639:
  Linear ``(2 * in_features - 1) * y.numel`` (bias ignored).
- :data:`OCTOBER` (``thop-0.0.31``), builds 0.0.31.post1910280903 and 0.0.31.post1912272122:
  Linear ``(2 * in_features - 1 + bias) * y.numel``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from profiler.measure.count.counters._thop import (
    Formula,
    ThopRelease,
    adaptive_avgpool_plus_one,
    avgpool_plus_one,
    bn_four,
    conv_per_output,
    linear_two_in_minus_one,
    linear_two_in_minus_one_plus_bias,
    relu_elements,
    thop_count,
    zero,
)
from profiler.results.count import CounterTotal

__all__ = ["AUGUST", "OCTOBER", "count", "count_august", "upsample"]


def upsample(bilinear: int) -> Formula:
    """``count_upsample``: per output element nearest 0, linear 5, ``bilinear``, bicubic
    224 + 35; any other mode 0 (with a warning)."""
    per_element = {"linear": 5, "bilinear": bilinear, "bicubic": 224 + 35}

    def formula(module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
        return per_element.get(str(module.mode), 0) * y.nelement()

    return formula


def _table(linear: Formula, bilinear: int) -> dict[type[nn.Module], Formula]:
    return {
        nn.Conv1d: conv_per_output, nn.Conv2d: conv_per_output, nn.Conv3d: conv_per_output,
        nn.ConvTranspose1d: conv_per_output, nn.ConvTranspose2d: conv_per_output,
        nn.ConvTranspose3d: conv_per_output,
        nn.BatchNorm1d: bn_four, nn.BatchNorm2d: bn_four, nn.BatchNorm3d: bn_four,
        nn.ReLU: zero, nn.ReLU6: zero, nn.LeakyReLU: relu_elements,
        nn.MaxPool1d: zero, nn.MaxPool2d: zero, nn.MaxPool3d: zero,
        nn.AdaptiveMaxPool1d: zero, nn.AdaptiveMaxPool2d: zero, nn.AdaptiveMaxPool3d: zero,
        nn.AvgPool1d: avgpool_plus_one, nn.AvgPool2d: avgpool_plus_one,
        nn.AvgPool3d: avgpool_plus_one,
        nn.AdaptiveAvgPool1d: adaptive_avgpool_plus_one(torch.float32),
        nn.AdaptiveAvgPool2d: adaptive_avgpool_plus_one(torch.float32),
        nn.AdaptiveAvgPool3d: adaptive_avgpool_plus_one(torch.float32),
        nn.Linear: linear, nn.Dropout: zero,
        nn.Upsample: upsample(bilinear), nn.UpsamplingBilinear2d: upsample(bilinear),
        nn.UpsamplingNearest2d: upsample(bilinear),
    }


AUGUST = ThopRelease(
    version="0.0.31.post1909230639",
    builds=("0.0.23.post1908061459", "0.0.30.post190806", "0.0.30.post1908061459",
            "0.0.30.post1908061501", "0.0.30.post1908281655", "0.0.30.post1908282105",
            "0.0.30.post1908282106", "0.0.30.post1908282117", "0.0.30.post1908302010",
            "0.0.31.post1909021322", "0.0.31.post1909230639"),
    table=_table(linear_two_in_minus_one, 13),
    accumulate="sum",
)

OCTOBER = ThopRelease(
    version="0.0.31.post1912272122",
    builds=("0.0.31.post1910280903", "0.0.31.post1912272122"),
    table=_table(linear_two_in_minus_one_plus_bias, 11),
    accumulate="sum",
)


def count(model: nn.Module, inputs: torch.Tensor,
          attention_paths: Sequence[str] = ()) -> CounterTotal:
    """``thop-0.0.31``: :data:`OCTOBER` (0.0.31.post1910280903 and 0.0.31.post1912272122)."""
    return thop_count(OCTOBER, "thop-0.0.31", model, inputs, attention_paths)


def count_august(model: nn.Module, inputs: torch.Tensor,
                 attention_paths: Sequence[str] = ()) -> CounterTotal:
    """``thop-0.0.31-aug``: :data:`AUGUST` (0.0.23.post1908061459 to 0.0.31.post1909230639)."""
    return thop_count(AUGUST, "thop-0.0.31-aug", model, inputs, attention_paths)
