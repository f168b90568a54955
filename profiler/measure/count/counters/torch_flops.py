"""``torch``: ``torch.utils.flop_counter.FlopCounterMode``, forward and training step.

Emulates nothing: it *is* the counter that ships with torch (2.1 and later), run live. It
intercepts dispatched ``aten`` operators, so it sees functional calls too, and counts **2
FLOPs per multiply-add** (the opposite convention to fvcore and thop) for the operators it
has formulas for: convolution ``2 * y.numel * C_in // groups * prod(kernel)``; ``mm``,
``addmm``, ``bmm``, ``baddbmm`` ``2 * M * N * K`` (bias adds not counted); scaled dot-product
attention. Everything else (batch norm, pooling, activations, elementwise ops, softmax) is 0.

:func:`count` runs one forward pass in eval mode under ``torch.no_grad``;
:func:`count_train_step` counts a training step: a forward pass in train mode and the backward
pass of ``output.sum()`` (the gradients of a convolution cost twice its forward: input and
weight gradients; a network's first layer computes no input gradient, a block counted alone
does, as it would inside a network). The optimizer step and
the loss are not counted. Both work on the ``meta`` device, where they cost no arithmetic.
The part inside attention modules comes from FlopCounterMode's own per-module totals.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from profiler.results.count import CounterTotal

__all__ = ["count", "count_train_step"]


def _mode() -> FlopCounterMode:
    return FlopCounterMode(display=False, depth=None)


def _inside(mode: FlopCounterMode, model: nn.Module, paths: Sequence[str]) -> int:
    """FLOPs of the modules at ``paths`` ("" = the whole model), from the per-module table
    (keyed ``<RootClass>.<path>``)."""
    table = mode.get_flop_counts()
    root = type(model).__name__
    keys = {root if not p else f"{root}.{p}" for p in paths}
    return int(sum(sum(table.get(k, {}).values()) for k in keys))


def count(model: nn.Module, inputs: torch.Tensor,
          attention_paths: Sequence[str] = ()) -> CounterTotal:
    """Forward FLOPs (2 per multiply-add) of ``model`` on ``inputs``, in eval mode."""
    training = model.training
    mode = _mode()
    try:
        model.eval()
        with torch.no_grad(), mode:
            model(inputs)
    finally:
        model.train(training)
    return CounterTotal("torch", int(mode.get_total_flops()),
                        _inside(mode, model, attention_paths))


def count_train_step(model: nn.Module, inputs: torch.Tensor, input_grad: bool = False) -> int:
    """Forward (train mode) + backward FLOPs of one training step on ``inputs``;
    ``input_grad`` also computes the input's gradient (a block inside a network)."""
    training = model.training
    mode = _mode()
    if input_grad:
        inputs = inputs.detach().requires_grad_()
    try:
        model.train()
        with mode:
            model(inputs).sum().backward()
    finally:
        model.train(training)
        model.zero_grad(set_to_none=True)
    return int(mode.get_total_flops())
