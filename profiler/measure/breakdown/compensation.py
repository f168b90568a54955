"""Take the profiler's own cost out of a breakdown's parts (pure Python, no torch).

A profiled step is longer than the same step timed without the profiler: recording an event
(the RecordFunction callbacks, the timestamps, the input shapes) costs CPU time on the
thread that runs the op. :mod:`profiler.measure.breakdown.overhead` measures that cost per recorded
event, on a probe network, in the same process and profiler configuration
(:func:`overhead_per_event` is the arithmetic of one calibration round). This module charges
it to the parts (:func:`compensate`):

- **Where the cost lands.** The profiler takes an event's start timestamp last when the op
  begins and its end timestamp first when it ends, so the work of recording an event falls
  *outside* the event's own span and inside its parent's: it is part of the **parent**
  event's self time (the module range around a layer's ops, the op that calls another op, the
  ``evaluate_function`` node of a backward op). Measured on the machine this was written on
  (torch 2.13.0+cpu, AMD EPYC, 1 thread): a tiny ``aten::add`` in a range kept the same self
  time under the profiler while its parent's self time grew by the whole overhead.
- **The rule.** Every placed event costs ``cost_us``; the cost of an event's children is
  taken from the parent event's self time and so from the parent's part and attention
  module, at most that self time (clamped: no event's time goes below 0). Events whose parent
  is a step range (or is not in the step) are charged to the step ranges' own time, which is
  part of ``unattributed``, at most that time. The compensated parts therefore still add up
  exactly to the profiled step minus what was taken, and none is negative unless it was.
- On a GPU the parts are kernel times, which the host-side recording does not lengthen: no
  compensation there (:mod:`profiler.measure.breakdown.harness`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from profiler.measure.breakdown.attribution import OpEvent, Placement

__all__ = ["Compensation", "compensate", "overhead_per_event"]

UNATTRIBUTED = "unattributed"


@dataclass(frozen=True)
class Compensation:
    """Profiler overhead taken out, per step (µs): per part, per attention module path.

    ``cost_us`` is the calibrated cost of one recorded event; ``events_per_step`` how many
    events a profiled step held (step ranges not counted).
    """

    cost_us: float
    events_per_step: float
    part_us: dict[str, float]
    block_us: dict[str, float]

    @property
    def total_us(self) -> float:
        return sum(self.part_us.values())


def overhead_per_event(plain_s: Sequence[float], profiled_s: Sequence[float],
                       events: int) -> float:
    """One calibration round's cost of one recorded event, in µs.

    ``plain_s`` are the times (s) of steps run without the profiler, ``profiled_s`` of as many
    of the same steps run under it, and ``events`` how many events those profiled steps
    recorded, their step ranges included: (Σ profiled - Σ plain) / events. Negative when noise
    outweighs the overhead; the caller takes the median of rounds and then clamps at 0.
    """
    if len(plain_s) != len(profiled_s) or not plain_s:
        raise ValueError("a calibration round needs as many plain as profiled steps, at least 1")
    if events <= 0:
        raise ValueError("a calibration round must record at least one event")
    return (sum(profiled_s) - sum(plain_s)) * 1e6 / events


def _add(table: dict[str, float], key: str, value: float) -> None:
    table[key] = table.get(key, 0.0) + value


def compensate(placements: Sequence[Placement], steps: Sequence[OpEvent],
               cost_us: float) -> Compensation:
    """The overhead of ``placements`` (one profiled window) per part and module (module doc).

    ``cost_us`` below 0 counts as 0.
    """
    count = len(steps)
    if not count:
        raise ValueError("no profiled steps to compensate")
    cost = max(cost_us, 0.0)
    placed = {p.event.index: p for p in placements}
    children: Counter[int | None] = Counter(
        p.event.parent if p.event.parent in placed else None for p in placements)
    part_us: dict[str, float] = {}
    block_us: dict[str, float] = {}
    for parent, number in children.items():
        if parent is None:
            own = sum(max(step.self_us, 0.0) for step in steps)
            _add(part_us, UNATTRIBUTED, min(own, number * cost) / count)
            continue
        owner = placed[parent]
        taken = min(max(owner.event.self_us, 0.0), number * cost) / count
        _add(part_us, owner.part, taken)
        if owner.block is not None:
            _add(block_us, owner.block, taken)
    return Compensation(cost_us=cost, events_per_step=len(placements) / count,
                        part_us=part_us, block_us=block_us)
