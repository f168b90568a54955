"""``fvcore``: fvcore's default FLOP count (``fvcore.nn.FlopCountAnalysis``), run live.

Emulates nothing: it is fvcore 0.1.5 (``fvcore>=0.1.5.post20221221,<0.1.6``) itself, through
one ``torch.jit`` trace that also yields the ``all`` counter and the activations
(:func:`profiler.measure.count.fvcore_trace.count_module`). One multiply-add counts as one FLOP.
Convolution ``y.numel * C_in // groups * prod(kernel)`` (no bias); linear / matmul
``y.numel * in_features`` (no bias); batch norm in eval ``2 * x.numel`` with an affine
transform (``1 *`` without); group / layer norm ``5 * x.numel`` with affine (``4 *``
without); adaptive average pooling ``x.numel``; upsampling nearest 1 / bilinear 4 per output
element. Everything else (elementwise ops, reductions, max pooling, softmax) is 0 and is
listed in the count's ``unsupported`` field. Formulas: :mod:`profiler.measure.count.flop_handles`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from profiler.results.count import CounterTotal

__all__ = ["count"]


def count(model: nn.Module, inputs: torch.Tensor,
          attention_paths: Sequence[str] = ()) -> CounterTotal:
    """fvcore's default total and the part inside ``attention_paths``."""
    from profiler.measure.count.fvcore_trace import count_module

    result = count_module(model, inputs, attention_paths)
    return CounterTotal("fvcore", result.flops, result.attention_flops)
