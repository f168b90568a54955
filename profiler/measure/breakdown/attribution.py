"""Attribute profiled operations to the parts of a model (pure Python, no torch).

Input: the events of a ``torch.profiler`` window converted to :class:`OpEvent` (name, parent,
thread, times, autograd sequence number, recorded input shapes) and the role of every module
of the model (:class:`ModuleRole`: its kind, the attention module it sits in). Output: per
step, the time of each part of :data:`profiler.results.breakdown.PARTS`, of each attention
module, and the traffic of the model's loose ops (:class:`Attribution`).

Rules:

- **Steps.** Every step runs inside a range named :data:`STEP_LABEL`; an event belongs to the
  step whose range contains its start. With ``same_thread`` (CPU time) only events on the
  step's thread count: on the CPU the autograd engine runs backward on the calling thread, so
  the self times of the step's events partition its wall time exactly.
- **Forward ops** belong to the innermost module whose range (:data:`MODULE_RANGE`, pushed by
  forward pre/post hooks) encloses them; inside an attention module the operation is the
  module's own role when it is a classified leaf (a pooling, conv/linear or sigmoid module),
  else the outermost op below that module, named by :data:`ATTENTION_OPS`. An elementwise
  ``mul``/``add`` counts as the rescale (or GC's fusion add) only when one input is a feature
  map (rank >= 3 with more than one spatial element, when shapes were recorded): CBAM's sum of
  two pooled descriptors is "other". Ops inside a step but outside the model's range are the
  loss (training: cross-entropy, the gradient seed); ranges named ``Optimizer.*`` (which
  torch.optim records) are the optimizer.
- **Backward ops** run under ``autograd::engine::evaluate_function: <Node>``, whose sequence
  number is that of the forward op that created the node (the profiler's forward-backward
  link). The last forward op recorded with that (thread, sequence number) is the one that
  created it (ops that create no node only peek at the counter), so the backward subtree goes
  to that forward op's part and attention module. Nodes without a forward op
  (``AccumulateGrad``) and anything else without an anchor are unattributed.
- **Unattributed** = profiled step time minus everything attributed: the step range's own
  time (Python between ops), unanchored events, and on a GPU the time the device idles.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from math import prod
from operator import attrgetter

from profiler.errors import MeasurementError
from profiler.results.breakdown import ATTENTION_PREFIX

__all__ = [
    "ATTENTION_OPS",
    "BACKWARD_PREFIX",
    "MODULE_RANGE",
    "OPTIMIZER_PREFIX",
    "STEP_LABEL",
    "VIEW_OPS",
    "Attribution",
    "ModuleRole",
    "OpEvent",
    "Placement",
    "attention_op",
    "attribute",
    "in_steps",
    "op_bytes",
    "place",
    "summarize",
]

STEP_LABEL = "attnprof_step"
MODULE_RANGE = "attnprof.module:"
OPTIMIZER_PREFIX = "Optimizer."
BACKWARD_PREFIX = "autograd::engine::evaluate_function:"

# Operation inside an attention module -> attention part (names without ``aten::`` and the
# in-place ``_``). Elementwise mul/add are "rescale" only on a feature map (module doc).
ATTENTION_OPS: dict[str, str] = {
    **dict.fromkeys(("adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
                     "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d",
                     "avg_pool1d", "avg_pool2d", "avg_pool3d", "max_pool1d", "max_pool2d",
                     "max_pool3d", "max_pool2d_with_indices", "mean", "sum", "amax", "amin",
                     "max", "min", "softmax", "_softmax", "matmul", "bmm", "einsum", "var",
                     "std"), "pooling"),
    **dict.fromkeys(("conv1d", "conv2d", "conv3d", "convolution", "_convolution", "linear",
                     "addmm", "mm"), "conv_fc"),
    **dict.fromkeys(("sigmoid", "hardsigmoid"), "sigmoid"),
    **dict.fromkeys(("mul", "add"), "rescale"),
}
# Ops that only change a tensor's metadata: they move no data.
VIEW_OPS: frozenset[str] = frozenset((
    "view", "reshape", "flatten", "squeeze", "unsqueeze", "transpose", "permute", "t",
    "expand", "expand_as", "as_strided", "select", "slice", "narrow", "detach", "alias",
    "_unsafe_view", "unflatten", "view_as", "empty", "empty_like", "zeros_like", "ones_like",
    "lift_fresh", "_reshape_alias",
))
_ITEMSIZES = (("Half", 2), ("BFloat16", 2), ("double", 8), ("long", 8), ("bool", 1),
              ("char", 1), ("int", 4), ("float", 4))


@dataclass(frozen=True)
class ModuleRole:
    """What a module is, for attribution.

    ``kind`` is its part when its class is in the kind table (``convolution``...), else None
    (containers, unknown leaves: their own ops are ``other_ops``). ``attention`` is the path
    of the attention module it belongs to (its own path for the attention module itself),
    None outside attention; ``attention_op`` is the attention operation its class stands for
    (``pooling``, ``conv_fc``, ``sigmoid`` or ``other``), None for containers.
    """

    path: str
    kind: str | None = None
    attention: str | None = None
    attention_op: str | None = None


@dataclass(frozen=True)
class OpEvent:
    """One profiler event: ``self_us`` is its self time on the clock that is being split."""

    index: int
    name: str
    parent: int | None
    start_us: float
    end_us: float
    self_us: float
    thread: int = 0
    sequence_nr: int = -1
    fwd_thread: int = 0
    input_shapes: tuple[tuple[int, ...], ...] = ()
    input_dtypes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Attribution:
    """Per-step averages: part -> µs, attention module path -> µs, loose-op part -> bytes."""

    part_us: dict[str, float]
    block_us: dict[str, float]
    loose_bytes: dict[str, float]
    step_us: float
    steps: int
    step_times_us: tuple[float, ...] = field(default=())


@dataclass(frozen=True)
class _Anchor:
    """Where an event's walk up its parents stopped."""

    kind: str  # "module" | "optimizer" | "backward" | "outside" | "none"
    path: str = ""
    top: OpEvent | None = None
    key: tuple[int, int] = (0, -1)


def _base(name: str) -> str:
    base = name.split("::", 1)[1] if "::" in name else name
    return base[:-1] if base.endswith("_") and not base.endswith("__") else base


def _is_feature_map(event: OpEvent) -> bool:
    shapes = [s for s in event.input_shapes if s]
    if not shapes:
        return True  # shapes not recorded: take the op at its name
    return any(len(s) >= 3 and prod(s[2:]) > 1 for s in shapes)


def attention_op(top: OpEvent | None) -> str:
    """The attention operation of the outermost op below an attention module (module doc)."""
    if top is None:
        return "other"
    part = ATTENTION_OPS.get(_base(top.name), "other")
    if part == "rescale" and not _is_feature_map(top):
        return "other"
    return part


def _itemsize(dtype: str) -> int:
    return next((size for key, size in _ITEMSIZES if key in dtype), 4)


def op_bytes(event: OpEvent) -> int:
    """Least traffic of one loose op from its recorded inputs: views move nothing; any other
    op reads each tensor input once and writes one output the size of its largest input."""
    if _base(event.name) in VIEW_OPS:
        return 0
    sizes = [prod(shape) * _itemsize(dtype) for shape, dtype
             in zip(event.input_shapes, event.input_dtypes, strict=False) if shape]
    return sum(sizes) + max(sizes) if sizes else 0


def _anchor(event: OpEvent, events: Mapping[int, OpEvent]) -> _Anchor:
    top: OpEvent | None = None
    current: OpEvent | None = event
    while current is not None:
        name = current.name
        if name.startswith(MODULE_RANGE):
            return _Anchor("module", path=name[len(MODULE_RANGE):], top=top)
        if name.startswith(OPTIMIZER_PREFIX):
            return _Anchor("optimizer")
        if name.startswith(BACKWARD_PREFIX):
            return _Anchor("backward", key=(current.fwd_thread or current.thread,
                                             current.sequence_nr))
        if name == STEP_LABEL:
            return _Anchor("outside", top=top)
        top = current
        current = None if current.parent is None else events.get(current.parent)
    return _Anchor("none")


@dataclass
class _Resolver:
    roles: Mapping[str, ModuleRole]
    outside: str
    forward: dict[tuple[int, int], _Anchor] = field(default_factory=dict)

    def part(self, anchor: _Anchor) -> tuple[str, str | None]:
        """(part, attention module path or None) of a forward anchor."""
        if anchor.kind == "optimizer":
            return "optimizer", None
        if anchor.kind == "outside":
            return self.outside, None
        if anchor.kind == "backward":
            created = self.forward.get(anchor.key)
            return ("unattributed", None) if created is None else self.part(created)
        if anchor.kind != "module":
            return "unattributed", None
        role = self.roles.get(anchor.path)
        if role is None:
            return "other_ops", None
        if role.attention is not None:
            operation = role.attention_op or attention_op(anchor.top)
            return f"{ATTENTION_PREFIX}{operation}", role.attention
        return role.kind or "other_ops", None


def _steps(events: Sequence[OpEvent]) -> list[OpEvent]:
    steps = sorted((e for e in events if e.name == STEP_LABEL), key=lambda e: e.start_us)
    if not steps:
        raise MeasurementError(f"the profile holds no {STEP_LABEL!r} range: nothing to attribute")
    return steps


def _step_of(event: OpEvent, steps: Sequence[OpEvent], starts: Sequence[float],
             ends: Sequence[float]) -> OpEvent | None:
    """The first step whose range holds ``event``'s start (a step that ends where the next
    begins keeps an event starting there): ``steps`` one after another, in start order,
    ``starts`` and ``ends`` their starts and ends."""
    first = bisect_left(ends, event.start_us)
    if first < len(steps) and first < bisect_right(starts, event.start_us):
        return steps[first]
    return None


@dataclass(frozen=True)
class Placement:
    """Where one event's self time goes: its part and attention module (None outside).
    ``loose`` marks a forward op the model's own code (or the loss) runs outside any layer:
    its traffic is estimated from its recorded inputs (:func:`op_bytes`)."""

    event: OpEvent
    part: str
    block: str | None = None
    loose: bool = False


def in_steps(events: Iterable[OpEvent], *, same_thread: bool
             ) -> tuple[list[OpEvent], list[OpEvent]]:
    """The events the profiled steps hold, in start order (the step ranges themselves left
    out), and the steps: an event belongs to the step whose range holds its start and, with
    ``same_thread``, runs on that step's thread (module doc, "Steps")."""
    ordered = sorted(events, key=attrgetter("start_us", "index"))
    steps = _steps(ordered)
    starts, ends = [step.start_us for step in steps], [step.end_us for step in steps]
    held = []
    for event in ordered:
        if event.name == STEP_LABEL:
            continue
        step = _step_of(event, steps, starts, ends)
        if step is None or (same_thread and event.thread != step.thread):
            continue
        held.append(event)
    return held, steps


def place(events: Iterable[OpEvent], roles: Mapping[str, ModuleRole], *, train: bool,
          same_thread: bool) -> tuple[list[Placement], list[OpEvent]]:
    """Every event of a profiled step with its part (rules in the module doc), and the steps.

    Step ranges themselves are not placed: their own time is part of "unattributed".
    """
    events = list(events)
    by_index = {e.index: e for e in events}
    held, steps = in_steps(events, same_thread=same_thread)
    resolver = _Resolver(roles, outside="loss" if train else "other_ops")
    anchored: list[tuple[OpEvent, _Anchor]] = []
    for event in held:
        anchor = _anchor(event, by_index)
        if anchor.kind in ("module", "outside") and event.sequence_nr >= 0:
            resolver.forward[(event.thread, event.sequence_nr)] = anchor
        anchored.append((event, anchor))
    placements = []
    for event, anchor in anchored:
        part, block = resolver.part(anchor)
        loose = part in ("other_ops", "loss") and anchor.top is event
        placements.append(Placement(event, part, block, loose))
    return placements, steps


def attribute(events: Iterable[OpEvent], roles: Mapping[str, ModuleRole], *,
              train: bool, same_thread: bool) -> Attribution:
    """Split the profiled steps among the parts (rules in the module doc)."""
    return summarize(*place(events, roles, train=train, same_thread=same_thread))


def summarize(placements: Sequence[Placement], steps: Sequence[OpEvent]) -> Attribution:
    """Per-step time of each part and attention module, and loose-op traffic, of placed
    events (:func:`place`)."""
    count = len(steps)
    part_us: dict[str, float] = {}
    block_us: dict[str, float] = {}
    loose: dict[str, float] = {}
    for placed in placements:
        event, part = placed.event, placed.part
        if part == "unattributed":
            continue
        part_us[part] = part_us.get(part, 0.0) + event.self_us / count
        if placed.block is not None:
            block_us[placed.block] = block_us.get(placed.block, 0.0) + event.self_us / count
        if placed.loose and (moved := op_bytes(event)):
            loose[part] = loose.get(part, 0.0) + moved / count
    durations = tuple(s.end_us - s.start_us for s in steps)
    step_us = sum(durations) / count
    part_us["unattributed"] = step_us - sum(part_us.values())
    return Attribution(part_us=part_us, block_us=block_us, loose_bytes=loose, step_us=step_us,
                       steps=count, step_times_us=durations)
