"""The minimal memory traffic of each part of a step: the bytes its work must move at least.

Sizes come from one real step (:func:`capture_calls` records every call of every module:
tensor bytes in and out, at the step's batch, dtype and layout). For a call with input bytes
``x``, output bytes ``y`` and parameter bytes ``P`` (``X`` = the attention module's input):

==================  ==========================  =============================================
part                forward (``infer``)         backward (added in ``train``)
==================  ==========================  =============================================
convolution,        ``x + y + P``: read input   ``y + 2x + 2P``: read dy, read x (for dW),
classifier          and weights, write output   write dx, read W, write dW
batch norm          ``x + y + P`` (train mode:  ``2y + 3x + 2P``: one pass reads dy and x for
                    ``2x + y + P``, a           the two reductions, one reads them again and
                    statistics pass first)      writes dx; read and write the affine grads
activation          ``x + y``                   ``2y + x``: read dy and the saved output
pooling             ``x + y``                   ``y + x``: read dy, write dx
attention module    the floor its block         the floor's training figure; ``cbam`` (not
                    declares (``BlockInfo.      derived there): forward floor ``+ 4X + 2P``
                    traffic``)
other model ops,    each op reads its tensor    as much again (each op's backward reads dy
loss                inputs once and writes one  and writes the inputs' gradients)
                    output the size of its
                    largest input; views move
                    nothing (recorded shapes)
optimizer           --                          ``5P``: SGD with momentum reads p, grad and
                                                buffer and writes buffer and p
==================  ==========================  =============================================

Inside an attention module the floor is split by operation: pooling ``X`` (one read of the
feature map), rescale or fusion ``2X`` (read x, write y; training ``+ 4X``: read dy and x for
the gate's gradient, read dy and write dx), 1-D conv / FC ``P`` (training ``+ 2P``), sigmoid
0 (per-channel vectors are C/(H*W) of X and left out, as in the floors), "other" the rest of the
floor (CBAM's spatial gate: its channel-wise pooling pass and 2-D maps). For SE, ECA and GC the
split adds up to the floor exactly. A module that declares no floor (a user's attention
module without ``info``), or whose floor is below that split, gets the split as its traffic.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from profiler.blockinfo import BlockInfo, Traffic
from profiler.measure.breakdown.attribution import ModuleRole
from profiler.results.breakdown import ATTENTION_PREFIX

__all__ = [
    "ModuleCall",
    "PartTraffic",
    "attention_split",
    "capture_calls",
    "layer_bytes",
    "optimizer_bytes",
    "part_traffic",
]


@dataclass(frozen=True)
class ModuleCall:
    """One call of a module in a step: tensor bytes in and out, its first input's shape, and
    for an attention block the traffic floor it declares."""

    path: str
    in_bytes: int
    out_bytes: int
    param_bytes: int
    shape: tuple[int, ...] = ()
    itemsize: int = 4
    floor: Traffic | None = None


@dataclass(frozen=True)
class PartTraffic:
    """Least bytes per step: by part, and by attention module path."""

    parts: dict[str, int]
    blocks: dict[str, int]


def layer_bytes(kind: str, x: int, y: int, p: int, train: bool) -> int:
    """The table's row for a layer outside attention (``kind`` is a breakdown part)."""
    if kind in ("convolution", "classifier"):
        return x + y + p + ((y + 2 * x + 2 * p) if train else 0)
    if kind == "batch_norm":
        return (2 * x if train else x) + y + p + ((2 * y + 3 * x + 2 * p) if train else 0)
    if kind == "activation":
        return x + y + ((2 * y + x) if train else 0)
    if kind == "pooling":
        return x + y + ((y + x) if train else 0)
    return 0


def attention_split(call: ModuleCall, train: bool) -> dict[str, int]:
    """The attention floor of one call, split by operation (module doc)."""
    x, p = call.in_bytes, call.param_bytes
    split = {"pooling": x, "rescale": 2 * x + (4 * x if train else 0),
             "conv_fc": p + (2 * p if train else 0), "sigmoid": 0}
    floor = None
    if len(call.shape) == 4 and call.floor is not None:
        n, _, h, w = call.shape
        m = n * h * w * call.itemsize
        floor = call.floor(x, m, p, train).bytes
        if floor is None and train:
            forward = call.floor(x, m, p, False).bytes
            floor = None if forward is None else forward + 4 * x + 2 * p
    split["other"] = max(0, (floor or 0) - sum(split.values()))
    return split


def optimizer_bytes(trainable_param_bytes: int) -> int:
    """SGD with momentum (and weight decay): read p, grad, buffer; write buffer and p."""
    return 5 * trainable_param_bytes


def part_traffic(calls: Sequence[ModuleCall], roles: Mapping[str, ModuleRole],
                 loose_bytes: Mapping[str, float], trainable_param_bytes: int,
                 train: bool) -> PartTraffic:
    """Least bytes per step of every part (module doc)."""
    parts: dict[str, int] = {}
    blocks: dict[str, int] = {}

    def add(part: str, value: int) -> None:
        parts[part] = parts.get(part, 0) + value

    for call in calls:
        role = roles.get(call.path)
        if role is None:
            continue
        if role.attention is not None:
            if role.attention != call.path:
                continue  # inside an attention module: covered by its floor
            split = attention_split(call, train)
            for operation, value in split.items():
                add(f"{ATTENTION_PREFIX}{operation}", value)
            blocks[call.path] = blocks.get(call.path, 0) + sum(split.values())
        elif role.kind is not None:
            add(role.kind, layer_bytes(role.kind, call.in_bytes, call.out_bytes,
                                       call.param_bytes, train))
    for part, value in loose_bytes.items():
        add(part, round(value * (2 if train else 1)))
    if train and trainable_param_bytes:
        add("optimizer", optimizer_bytes(trainable_param_bytes))
    return PartTraffic(parts, blocks)


def _tensor_bytes(value: Any) -> int:
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, (list, tuple)):
        return sum(_tensor_bytes(v) for v in value)
    if isinstance(value, dict):
        return sum(_tensor_bytes(v) for v in value.values())
    return 0


def _first_tensor(values: Sequence[Any]) -> torch.Tensor | None:
    return next((v for v in values if isinstance(v, torch.Tensor)), None)


@contextmanager
def capture_calls(model: nn.Module, roles: Mapping[str, ModuleRole]
                  ) -> Iterator[list[ModuleCall]]:
    """Record a :class:`ModuleCall` for every call of a classified module or attention module
    of ``model`` while the context is open (hooks are removed on exit)."""
    calls: list[ModuleCall] = []
    handles = []
    wanted = {path for path, role in roles.items()
              if role.kind is not None or role.attention == path}
    for path, module in model.named_modules():
        if path not in wanted:
            continue
        params = sum(p.numel() * p.element_size() for p in module.parameters())
        info = getattr(module, "info", None)
        floor = info.traffic if isinstance(info, BlockInfo) else None

        def hook(module: nn.Module, args: tuple[Any, ...], output: Any, path: str = path,
                 params: int = params, floor: Traffic | None = floor) -> None:
            first = _first_tensor(args)
            calls.append(ModuleCall(
                path=path, in_bytes=_tensor_bytes(args), out_bytes=_tensor_bytes(output),
                param_bytes=params,
                shape=() if first is None else tuple(first.shape),
                itemsize=4 if first is None else first.element_size(), floor=floor))

        handles.append(module.register_forward_hook(hook))
    try:
        yield calls
    finally:
        for handle in handles:
            handle.remove()
