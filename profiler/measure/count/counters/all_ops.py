"""``all``: attnprof's all-operators count: fvcore's default plus the work it skips.

Emulates nothing: attnprof's own convention, from the same ``torch.jit`` trace as ``fvcore``
(:func:`profiler.measure.count.fvcore_trace.count_module`). fvcore's counts, plus 1 FLOP per output
element of every unary and binary elementwise op (sigmoid, relu, add, mul...; a broadcast
rescale ``x * s`` costs N*C*H*W), 1 per input element of a reduction (mean, sum, amax...),
3 per element of softmax, ``kh * kw`` per output element of max / average pooling with a
window, 1 per input element of adaptive max pooling. Every formula:
:data:`profiler.measure.count.flop_handles.EXTRA_FLOP_FORMULAS`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from profiler.results.count import CounterTotal

__all__ = ["count"]


def count(model: nn.Module, inputs: torch.Tensor,
          attention_paths: Sequence[str] = ()) -> CounterTotal:
    """The all-operators total and the part inside ``attention_paths``."""
    from profiler.measure.count.fvcore_trace import count_module

    result = count_module(model, inputs, attention_paths)
    return CounterTotal("all", result.flops_all, result.attention_flops_all)
