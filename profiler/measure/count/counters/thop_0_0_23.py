"""``thop-0.0.23``: thop as released on PyPI from June to 2 August 2019.

Emulates ``thop.profile`` of the builds 0.0.22 to 0.0.23.post1908021522 (the ``count_hooks.py``
of 0.0.23), the releases current while the ECA paper's ``paras_flops.py`` was written. What
sets them apart from every later build: a hook *assigns* its count (``m.total_ops =
torch.Tensor([int(total_ops)])``), so a module called several times (torchvision's
Bottleneck calls its one ReLU three times; CBAM's shared MLP runs twice) counts its last call
only; ReLU counts; the convolution formula multiplies the bias term by ``C_in``; all buffers
and the total are float32 (``flops`` is the float32 sum, as the package returns it).

==========================  =========================================================
module (exact type)         ops per call (x = input, y = output), as the code computes
==========================  =========================================================
Conv1d/2d/3d                ``C_in * y.numel * (prod(kernel) + bias) // groups``
BatchNorm1d/2d/3d           ``4 * x.numel``
ReLU, ReLU6, LeakyReLU      ``x.numel``
AvgPool1d/2d/3d             ``(prod(kernel_size) + 1) * y.numel`` (an int ``k`` counts ``k``)
AdaptiveAvgPool1d/2d/3d     ``(prod(x spatial // output_size) + 1) * y.numel``
Linear                      ``(2 * in_features - 1) * y.numel`` (bias ignored)
MaxPool, AdaptiveMaxPool    see the two releases below
anything else               0 (Sigmoid, Softmax, LayerNorm, Flatten, functional calls)
==========================  =========================================================

Two behaviours, checked build by build against the real packages:

- :data:`LATE` (``thop-0.0.23``), builds 0.0.23.post1907171430 to 0.0.23.post1908021522:
  max pooling is not counted (unregistered, then ``zero_ops``). 0.0.23.post1908021517 also
  dropped AvgPool1d/2d/3d from its table; attnprof's networks have no AvgPool module, so it
  counts them as the others do.
- :data:`EARLY` (``thop-0.0.23-early``), builds 0.0.22 to 0.0.23.post1907011323: MaxPool
  counts ``prod(kernel_size as given) * y.numel`` (an int 3 counts 3, not 9) and
  AdaptiveMaxPool ``prod(x spatial // output_size) * y.numel``. The June builds take an
  ``input_size`` and profile zeros of that shape; their formulas are the same.

0.0.23.post1907171426 cannot be imported (its table names a ``count_maxpool`` it had just
commented out). ``ConvTranspose2d``'s own 2019 formula is not emulated (attnprof has none).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from profiler.measure.count.counters._thop import (
    Formula,
    ThopRelease,
    adaptive_avgpool_plus_one,
    adaptive_maxpool,
    avgpool_plus_one,
    bn_four,
    conv_cin_first,
    linear_two_in_minus_one,
    maxpool_given_kernel,
    relu_elements,
    thop_count,
    zero,
)
from profiler.results.count import CounterTotal

__all__ = ["EARLY", "LATE", "count", "count_early"]

_COMMON: dict[type[nn.Module], Formula] = {
    nn.Conv1d: conv_cin_first, nn.Conv2d: conv_cin_first, nn.Conv3d: conv_cin_first,
    nn.BatchNorm1d: bn_four, nn.BatchNorm2d: bn_four, nn.BatchNorm3d: bn_four,
    nn.ReLU: relu_elements, nn.ReLU6: relu_elements, nn.LeakyReLU: relu_elements,
    nn.AvgPool1d: avgpool_plus_one, nn.AvgPool2d: avgpool_plus_one,
    nn.AvgPool3d: avgpool_plus_one,
    nn.AdaptiveAvgPool1d: adaptive_avgpool_plus_one(torch.float32),
    nn.AdaptiveAvgPool2d: adaptive_avgpool_plus_one(torch.float32),
    nn.AdaptiveAvgPool3d: adaptive_avgpool_plus_one(torch.float32),
    nn.Linear: linear_two_in_minus_one,
}

EARLY = ThopRelease(
    version="0.0.23.post1907011323",
    builds=("0.0.22", "0.0.22.post1906241147", "0.0.23.post1906241153",
            "0.0.23.post1906241219", "0.0.23.post1906241402", "0.0.23.post1907011323"),
    table={**_COMMON,
           nn.MaxPool1d: maxpool_given_kernel, nn.MaxPool2d: maxpool_given_kernel,
           nn.MaxPool3d: maxpool_given_kernel, nn.AdaptiveMaxPool1d: adaptive_maxpool,
           nn.AdaptiveMaxPool2d: adaptive_maxpool, nn.AdaptiveMaxPool3d: adaptive_maxpool},
    accumulate="last",
)

LATE = ThopRelease(
    version="0.0.23.post1908021522",
    builds=("0.0.23.post1907171430", "0.0.23.post1908021457", "0.0.23.post1908021517",
            "0.0.23.post1908021522"),
    table={**_COMMON, nn.Dropout: zero,
           nn.MaxPool1d: zero, nn.MaxPool2d: zero, nn.MaxPool3d: zero,
           nn.AdaptiveMaxPool1d: zero, nn.AdaptiveMaxPool2d: zero, nn.AdaptiveMaxPool3d: zero},
    accumulate="last",
)


def count(model: nn.Module, inputs: torch.Tensor,
          attention_paths: Sequence[str] = ()) -> CounterTotal:
    """``thop-0.0.23``: :data:`LATE` (0.0.23.post1907171430 to 0.0.23.post1908021522)."""
    return thop_count(LATE, "thop-0.0.23", model, inputs, attention_paths)


def count_early(model: nn.Module, inputs: torch.Tensor,
                attention_paths: Sequence[str] = ()) -> CounterTotal:
    """``thop-0.0.23-early``: :data:`EARLY` (0.0.22 to 0.0.23.post1907011323)."""
    return thop_count(EARLY, "thop-0.0.23-early", model, inputs, attention_paths)
