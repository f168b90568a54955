"""``thop-2020``: thop as released on PyPI in 2020 (0.0.31.post2001 to 0.0.4.post2009).

Emulates ``thop.profile`` of the builds 0.0.31.post2001170342 to 0.0.4.post2009191310. Against
the 2019 builds (:mod:`.thop_0_0_31`): batch norm counts 2 per element in eval mode (thop
profiles in eval mode), an AvgPool counts 1 per output element. Hooks add to ``total_ops``.

==========================  =========================================================
module (exact type)         ops per call (x = input, y = output), as the code computes
==========================  =========================================================
Conv1d/2d/3d, ConvTranspose ``y.numel * (C_in // groups * prod(kernel) + bias)``
BatchNorm1d/2d/3d           ``2 * x.numel`` (eval mode)
LeakyReLU                   ``x.numel``
ReLU, ReLU6, MaxPool*,      0
AdaptiveMaxPool*, Dropout
AvgPool1d/2d/3d             ``y.numel``
AdaptiveAvgPool1d/2d/3d     ``(prod(x spatial // output_size) + 1) * y.numel``
Linear                      see the two releases below
Upsample                    nearest 0, linear 5, bilinear 11, bicubic 259 per output element
anything else               0 (Sigmoid, Softmax, LayerNorm, Flatten, functional calls)
==========================  =========================================================

Two behaviours, checked build by build against the real packages:

- :data:`JANUARY` (``thop-2020-jan``), build 0.0.31.post2001170342: Linear
  ``(2 * in_features - 1 + bias) * y.numel``; float32 buffers and total; the parameters of
  every leaf module are reported.
- :data:`LATER` (``thop-2020``), builds 0.0.31.post2004101309 to 0.0.4.post2009191310:
  Linear ``in_features * y.numel`` (multiply-adds, bias ignored); float64 buffers, summed
  module by module (exact integers); only modules with a formula report parameters (a
  LayerNorm's, GC's for example, are left out). From 0.0.4.post2006111041 the adaptive
  pooling window is ``x spatial // y spatial`` (the same for attnprof's modules).

0.0.31.post2004070130 cannot run on torch 2 (``torch.DoubleTensor([n], dtype=torch.float64)``
is rejected), and neither could any counter of its code: it is not emulated.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from profiler.measure.count.counters._thop import (
    Formula,
    ThopRelease,
    adaptive_avgpool_plus_one,
    avgpool_one,
    bn_two_in_eval,
    conv_per_output,
    linear_in,
    linear_two_in_minus_one_plus_bias,
    relu_elements,
    thop_count,
    zero,
)
from profiler.measure.count.counters.thop_0_0_31 import upsample
from profiler.results.count import CounterTotal

__all__ = ["JANUARY", "LATER", "count", "count_january"]


def _table(linear: Formula, dtype: torch.dtype) -> dict[type[nn.Module], Formula]:
    return {
        nn.Conv1d: conv_per_output, nn.Conv2d: conv_per_output, nn.Conv3d: conv_per_output,
        nn.ConvTranspose1d: conv_per_output, nn.ConvTranspose2d: conv_per_output,
        nn.ConvTranspose3d: conv_per_output,
        nn.BatchNorm1d: bn_two_in_eval, nn.BatchNorm2d: bn_two_in_eval,
        nn.BatchNorm3d: bn_two_in_eval, nn.SyncBatchNorm: bn_two_in_eval,
        nn.ReLU: zero, nn.ReLU6: zero, nn.LeakyReLU: relu_elements,
        nn.MaxPool1d: zero, nn.MaxPool2d: zero, nn.MaxPool3d: zero,
        nn.AdaptiveMaxPool1d: zero, nn.AdaptiveMaxPool2d: zero, nn.AdaptiveMaxPool3d: zero,
        nn.AvgPool1d: avgpool_one, nn.AvgPool2d: avgpool_one, nn.AvgPool3d: avgpool_one,
        nn.AdaptiveAvgPool1d: adaptive_avgpool_plus_one(dtype),
        nn.AdaptiveAvgPool2d: adaptive_avgpool_plus_one(dtype),
        nn.AdaptiveAvgPool3d: adaptive_avgpool_plus_one(dtype),
        nn.Linear: linear, nn.Dropout: zero, nn.ZeroPad2d: zero,
        nn.Upsample: upsample(11), nn.UpsamplingBilinear2d: upsample(11),
        nn.UpsamplingNearest2d: upsample(11),
    }


JANUARY = ThopRelease(
    version="0.0.31.post2001170342",
    builds=("0.0.31.post2001170342",),
    table={t: f for t, f in _table(linear_two_in_minus_one_plus_bias, torch.float32).items()
           if t not in (nn.SyncBatchNorm, nn.ZeroPad2d)},  # both joined the table later
    accumulate="sum",
)

LATER = ThopRelease(
    version="0.0.4.post2009191310",
    builds=("0.0.31.post2004101309", "0.0.31.post2005141432", "0.0.31.post2005141830",
            "0.0.31.post2005241907", "0.0.4.post2006032126", "0.0.4.post2006111041",
            "0.0.4.post2007140009", "0.0.4.post2009041907", "0.0.4.post2009191310"),
    table=_table(linear_in, torch.float64),
    accumulate="sum",
    dtype=torch.float64,
    params_of="hooked",
)


def count(model: nn.Module, inputs: torch.Tensor,
          attention_paths: Sequence[str] = ()) -> CounterTotal:
    """``thop-2020``: :data:`LATER` (0.0.31.post2004101309 to 0.0.4.post2009191310)."""
    return thop_count(LATER, "thop-2020", model, inputs, attention_paths)


def count_january(model: nn.Module, inputs: torch.Tensor,
                  attention_paths: Sequence[str] = ()) -> CounterTotal:
    """``thop-2020-jan``: :data:`JANUARY` (0.0.31.post2001170342)."""
    return thop_count(JANUARY, "thop-2020-jan", model, inputs, attention_paths)
