"""Module-hook counters of the thop era, for explaining published figures (not for new ones).

The ECA paper's numbers came from the official repository's ``paras_flops.py``, which calls
``thop.profile`` (pytorch-OpCounter, 2019 releases) and prints with ``1024 ** 3`` prefixes.
thop does not trace operators: it puts a forward hook on every *leaf module* whose exact type
it knows and adds a per-call formula. Functional calls (``x * y``, ``torch.sigmoid``,
``F.avg_pool2d``, ``torch.matmul``) and unknown modules (Sigmoid, Softmax, LayerNorm) cost
nothing. The formulas of its 2019 hooks, written here from their documented behaviour:

==========================  =====================================================
module                      ops per call (x = input, y = output)
==========================  =====================================================
Conv1d/2d/3d                ``y.numel * (C_in / groups * prod(kernel) + bias)``
BatchNorm1d/2d/3d           ``4 * x.numel`` (subtract, divide, scale, shift)
ReLU, ReLU6, LeakyReLU      ``x.numel``
MaxPool1d/2d/3d             ``prod(kernel_size) * y.numel``; ``kernel_size`` as given,
                            so an int ``k`` counts ``k``, not ``k * k`` (thop's quirk)
AvgPool1d/2d/3d             ``(prod(kernel_size) + 1) * y.numel`` (same quirk)
AdaptiveMaxPool1d/2d/3d     ``prod(x spatial // y spatial) * y.numel``
AdaptiveAvgPool1d/2d/3d     ``(prod(x spatial // y spatial) + 1) * y.numel``
Linear                      ``(2 * in_features - 1) * y.numel``
anything else               0
==========================  =====================================================

Three counters come from one forward pass:

``thop-2019``       every call adds its ops (a module called three times, like the shared
                    ReLU of a torchvision Bottleneck, counts three times);
``thop-2019-once``  a module counts its *last* call only, as in thop releases whose hooks
                    assigned ``total_ops`` instead of adding to it;
``conv+fc``         convolution and Linear multiply-adds only (no bias), the textbook
                    "multiply-adds" of a CNN.

One implementation choice can be applied by module path prefix: pooling modules there count
nothing, as when a block pools with functional calls (the official CBAM's channel gate uses
``F.avg_pool2d`` / ``F.max_pool2d``, where attnprof's CBAM has pooling modules).
Counting runs in eval mode under ``torch.no_grad``; the caller picks the threads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from math import prod

import torch
from torch import nn

__all__ = ["HOOK_COUNTERS", "HookCount", "hook_counts"]

HOOK_COUNTERS: tuple[str, ...] = ("thop-2019", "thop-2019-once", "conv+fc")

_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_BN = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
_RELU = (nn.ReLU, nn.ReLU6, nn.LeakyReLU)
_MAXPOOL = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)
_AVGPOOL = (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)
_ADAPTIVE_MAX = (nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d)
_ADAPTIVE_AVG = (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)
_POOLS = (*_MAXPOOL, *_AVGPOOL, *_ADAPTIVE_MAX, *_ADAPTIVE_AVG)


@dataclass(frozen=True)
class HookCount:
    """One counter's total and the part inside the attention modules."""

    counter: str
    total: int
    attention: int


@dataclass(frozen=True)
class _Call:
    path: str
    thop: int
    macs: int


def _given_kernel(size: int | Sequence[int]) -> int:
    """``prod(kernel_size)`` as thop computed it: an int stays itself (not squared)."""
    return size if isinstance(size, int) else int(prod(size))


def _adaptive_kernel(x: torch.Tensor, y: torch.Tensor) -> int:
    return int(prod(i // max(o, 1) for i, o in zip(x.shape[2:], y.shape[2:], strict=True)))


def _conv_macs(module: nn.Module, y: torch.Tensor) -> int:
    kernel = int(prod(module.weight.shape[2:]))
    return y.numel() * (module.in_channels // module.groups) * kernel


def _thop_ops(module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    kind = type(module)
    if kind in _CONV:
        return _conv_macs(module, y) + (y.numel() if module.bias is not None else 0)
    if kind in _BN:
        return 4 * x.numel()
    if kind in _RELU:
        return x.numel()
    if kind in _MAXPOOL:
        return _given_kernel(module.kernel_size) * y.numel()
    if kind in _AVGPOOL:
        return (_given_kernel(module.kernel_size) + 1) * y.numel()
    if kind in _ADAPTIVE_MAX:
        return _adaptive_kernel(x, y) * y.numel()
    if kind in _ADAPTIVE_AVG:
        return (_adaptive_kernel(x, y) + 1) * y.numel()
    if kind is nn.Linear:
        return (2 * module.in_features - 1) * y.numel()
    return 0


def _macs(module: nn.Module, y: torch.Tensor) -> int:
    if type(module) in _CONV:
        return _conv_macs(module, y)
    if type(module) is nn.Linear:
        return module.in_features * y.numel()
    return 0


def _under(path: str, prefixes: Sequence[str]) -> bool:
    return any(p == "" or path == p or path.startswith(f"{p}.") for p in prefixes)


def _hook(path: str, calls: list[_Call],
          skip: bool) -> Callable[[nn.Module, tuple[torch.Tensor, ...], torch.Tensor], None]:
    def record(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        if skip:
            calls.append(_Call(path, 0, 0))
            return
        x = inputs[0]
        calls.append(_Call(path, _thop_ops(module, x, output), _macs(module, output)))

    return record


def hook_counts(
    model: nn.Module,
    inputs: torch.Tensor,
    attention_paths: Sequence[str] = (),
    *,
    no_pools_under: Sequence[str] = (),
) -> dict[str, HookCount]:
    """The :data:`HOOK_COUNTERS` of ``model`` on ``inputs``, whole and inside
    ``attention_paths`` (module path prefixes, "" = the whole model). Pooling modules under
    the prefixes ``no_pools_under`` count nothing."""
    calls: list[_Call] = []
    handles = []
    for path, module in model.named_modules():
        if any(True for _ in module.children()):
            continue
        skip = isinstance(module, _POOLS) and _under(path, no_pools_under)
        hook = _hook(path, calls, skip)
        handles.append(module.register_forward_hook(hook))
    training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(inputs)
    finally:
        model.train(training)
        for handle in handles:
            handle.remove()
    return _totals(calls, attention_paths)


def _totals(calls: list[_Call], attention_paths: Sequence[str]) -> dict[str, HookCount]:
    last = {call.path: call for call in calls}  # a later call replaces an earlier one

    def inside(selected: Sequence[_Call]) -> list[_Call]:
        return [c for c in selected if attention_paths and _under(c.path, attention_paths)]

    inside_all, inside_last = inside(calls), inside(list(last.values()))
    return {
        "thop-2019": HookCount("thop-2019", sum(c.thop for c in calls),
                               sum(c.thop for c in inside_all)),
        "thop-2019-once": HookCount("thop-2019-once", sum(c.thop for c in last.values()),
                                    sum(c.thop for c in inside_last)),
        "conv+fc": HookCount("conv+fc", sum(c.macs for c in calls),
                             sum(c.macs for c in inside_all)),
    }
