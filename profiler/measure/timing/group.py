"""Measure a comparison group: several BenchSpecs timed together, one record per case.

The group counterpart of :func:`profiler.measure.case.run_case`, used by the suite runner and
``attnprof bench --vs`` / ``attnprof calibrate``. :func:`measure_group` builds one
:class:`~profiler.measure.timing.members.InProcessMember` per spec, runs the rounds engine
(:func:`profiler.rounds.run_rounds`) with the group's thread count and cuDNN flag,
and returns

- the :class:`~profiler.results.group.GroupResult` (members, every round's raw times, the
  ratios to the baseline with their intervals, seed, settings, why it stopped), and
- one :class:`~profiler.results.envelope.CaseRecord` per member, as a case timed alone would
  have it: images/s and step-time statistics of the member's own interleaved samples
  (``repeats`` = rounds it ran, ``steps_per_repeat`` = steps per round), memory (CUDA: during
  its warm-up; CPU: a child process per case, afterwards) and, for single blocks, bandwidth.
  A member that failed or ran out of memory gets an ``error``/``oom`` record with its message.

The baseline is the member without attention (``none``) when there is one, else the first.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from profiler.errors import InvalidOptionError
from profiler.measure.allocator import pin_malloc_thresholds
from profiler.measure.device import cudnn_benchmark, resolve_device, torch_threads
from profiler.measure.memory.peak import MemoryFigures
from profiler.measure.timing.loop import (
    DEFAULT_POLICY,
    BlockFigures,
    TimingOutcome,
    TimingPolicy,
    bench_result,
    child_memory,
)
from profiler.measure.timing.members import InProcessMember
from profiler.results.envelope import CaseRecord, utc_now
from profiler.results.group import GroupKind, GroupMember, GroupRatio, GroupResult, group_id
from profiler.rounds import MemberOutcome, PairingSettings, RoundsOutcome, run_rounds
from profiler.spec import BenchSpec
from profiler.stats import PAIRED_METHOD, median, min_detectable_change

__all__ = ["MEMORY_METHODS", "GroupMeasurement", "check_groupable", "default_baseline",
           "group_record", "measure_group"]


# the CPU's peak-memory measures of a group's members (see measure_group)
MEMORY_METHODS: tuple[str, ...] = ("tensor", "child")


@dataclass(frozen=True)
class GroupMeasurement:
    """A measured group and the per-case records of its members (none for a calibration)."""

    group: GroupResult
    records: tuple[CaseRecord, ...]


def default_baseline(specs: Sequence[BenchSpec]) -> int:
    """The member without attention (a plain backbone), else the first."""
    return next((i for i, s in enumerate(specs)
                 if not s.workload.is_block and s.workload.attention is None), 0)


def check_groupable(specs: Sequence[BenchSpec], kind: str = "comparison") -> None:
    """Refuse what cannot be timed as one group (one-line InvalidOptionError)."""
    if len(specs) < 2:
        raise InvalidOptionError("a comparison group needs at least two members")
    if kind == "comparison" and len({s.case_id for s in specs}) < len(specs):
        raise InvalidOptionError("a comparison group lists the same case twice: "
                                 f"{', '.join(s.workload.label for s in specs)}")
    first = specs[0]
    for spec in specs[1:]:
        for name in ("device", "threads", "cudnn_benchmark"):
            if getattr(spec, name) != getattr(first, name):
                raise InvalidOptionError(f"members of a group share {name}: "
                                         f"{first.label} vs {spec.label}")
    if any(s.nproc > 1 for s in specs):
        raise InvalidOptionError("a comparison group times its members in one process; "
                                 "--nproc > 1 (data-parallel) cases are timed alone")


def _memory(member: InProcessMember, step_seconds: float, policy: TimingPolicy,
            measure_memory: bool) -> MemoryFigures:
    if member.cuda_memory is not None:
        return member.cuda_memory
    if member.tensor_memory is not None:
        return member.tensor_memory
    if not measure_memory:
        return MemoryFigures(method="skipped")
    spec = member.spec
    return child_memory(spec, spec.batch, member.static_bytes or 0, step_seconds, policy)


def _ratios(outcome: RoundsOutcome, specs: Sequence[BenchSpec],
            names: Sequence[str]) -> tuple[GroupRatio, ...]:
    ratios = []
    everything = outcome.comparisons_all or outcome.comparisons
    for i, (interval, whole) in enumerate(zip(outcome.comparisons, everything, strict=True)):
        if i == outcome.baseline:
            continue
        paired = [o is not None and b is not None for o, b in
                  zip(outcome.members[i].times, outcome.members[outcome.baseline].times,
                      strict=True)]
        ratios.append(GroupRatio(
            member=i, case_id=specs[i].case_id, name=names[i],
            throughput_ratio=None if interval is None else interval.ratio,
            ci_low=None if interval is None else interval.low,
            ci_high=None if interval is None else interval.high,
            rounds=0 if interval is None else interval.rounds,
            rounds_disturbed=sum(1 for p, d in zip(paired, outcome.disturbed, strict=True)
                                 if p and d),
            ratio_all_rounds=None if whole is None else whole.ratio,
            ci_low_all_rounds=None if whole is None else whole.low,
            ci_high_all_rounds=None if whole is None else whole.high))
    return tuple(ratios)


def group_record(outcome: RoundsOutcome, specs: Sequence[BenchSpec], names: Sequence[str],
                 kind: GroupKind, index: int | None, started: str,
                 duration: float) -> GroupResult:
    """The group's record from the rounds engine's outcome (``specs``/``names`` per member)."""
    members = tuple(GroupMember(case_id=spec.case_id, name=names[i], label=spec.label,
                                batch=o.batch, status=o.status, error=o.error,
                                warmup_steps=len(o.warmup_times), times=o.times)
                    for i, (spec, o) in enumerate(zip(specs, outcome.members, strict=True)))
    detectable = None
    if kind == "calibration":
        interval = next((c for c in outcome.comparisons if c is not None), None)
        detectable = None if interval is None else min_detectable_change(interval)
    return GroupResult(
        group_id=group_id(kind, [s.case_id for s in specs], outcome.baseline), kind=kind,
        members=members, baseline=outcome.baseline, ratios=_ratios(outcome, specs, names),
        method=PAIRED_METHOD, confidence=outcome.settings.confidence,
        settings=outcome.settings.to_dict(),
        seed=outcome.seed, steps_per_round=outcome.steps_per_round, orders=outcome.orders,
        stopped=outcome.stopped, index=index, started_utc=started, duration_s=duration,
        warmup_s=outcome.warmup_s, rounds_s=outcome.rounds_s,
        min_detectable_slowdown=detectable, telemetry=outcome.telemetry,
        telemetry_absent=outcome.telemetry_absent)


def _record(member: InProcessMember, outcome: MemberOutcome, steps: int, memory: MemoryFigures,
            block: BlockFigures, started: str, duration: float, group: str) -> CaseRecord:
    spec = member.spec
    if outcome.status != "ok" or not outcome.samples:
        status = outcome.status if outcome.status in ("oom", "error") else "error"
        return CaseRecord(spec=spec, status=status,  # type: ignore[arg-type]
                          error=outcome.error or "no round ran", started_utc=started,
                          duration_s=duration, group_id=group)
    timing = TimingOutcome(outcome.warmup_times, outcome.samples, steps, outcome.rounds_run)
    result = replace(bench_result(spec, outcome.batch, timing, member.clock.name, memory, block),
                     memory_estimate_bytes=member.memory_estimate)
    return CaseRecord(spec=spec, status="ok", result=result, started_utc=started,
                      duration_s=duration, group_id=group)


def measure_group(specs: Sequence[BenchSpec], settings: PairingSettings | None = None, *,
                  baseline: int | None = None, names: Sequence[str] | None = None,
                  kind: GroupKind = "comparison", index: int | None = None,
                  seed: int | None = None, time_left: float | None = None,
                  now: Callable[[], float] = time.monotonic,
                  policy: TimingPolicy = DEFAULT_POLICY,
                  memory_limit: int | None = None,
                  measure_memory: bool = True,
                  memory_method: str = "child",
                  rebuilt_batches: Sequence[int | None] | None = None,
                  guarded_batches: Sequence[int | None] | None = None) -> GroupMeasurement:
    """Time ``specs`` together in interleaved rounds (see the module doc).

    ``time_left`` (seconds) is the caller's own budget: the rounds end when it is spent, once
    their minimum has run. Bad input (see :func:`check_groupable`, a missing device) raises;
    a member's failure is recorded. ``memory_limit`` bounds the CPU memory guard (bytes;
    None: the available memory), which each member consults before it is built.
    ``measure_memory`` False skips the CPU's memory measure (``memory_method`` ``skipped``;
    CUDA's figures, taken during warm-up, stay); ``memory_method`` is the CPU measure: ``child`` (a
    child process per member, afterwards) or ``tensor`` (the peak of tensor bytes, in-process
    during warm-up: :func:`profiler.measure.memory.peak.cpu_tensor_memory`).
    ``rebuilt_batches`` (one per member) makes this a rebuild in a process that built and
    warmed up these members before: a member with a batch is rebuilt at it
    (:class:`InProcessMember`: no guard, no memory, the mandatory warm-up steps only), one
    with None built in full. ``guarded_batches`` (one per member): the batches the memory
    guard allowed in an earlier process of the group (None: ask it), built and warmed up in
    full at that batch.
    """
    check_groupable(specs, kind)
    pin_malloc_thresholds()
    settings = settings or PairingSettings()
    names = list(names) if names is not None else [s.workload.label for s in specs]
    base = default_baseline(specs) if baseline is None else baseline
    started, clock = utc_now(), time.perf_counter()
    deadline = None if time_left is None else now() + time_left
    device = resolve_device(specs[0].device)
    if memory_method not in MEMORY_METHODS:
        raise InvalidOptionError(f"unknown memory method {memory_method!r}; valid: "
                                 f"{', '.join(MEMORY_METHODS)}")
    cpu_memory = memory_method if measure_memory else "child"
    batches: list[int | None] = ([None] * len(specs) if rebuilt_batches is None
                                 else list(rebuilt_batches))
    guarded: list[int | None] = ([None] * len(specs) if guarded_batches is None
                                 else list(guarded_batches))
    members = [InProcessMember(s, device, name=n, policy=policy, memory_limit=memory_limit,
                               cpu_memory=cpu_memory, rebuilt_batch=b, guarded_batch=g)
               for s, n, b, g in zip(specs, names, batches, guarded, strict=True)]
    blocks: list[BlockFigures] = [BlockFigures() for _ in members]
    steps: list[float] = [0.0 for _ in members]
    with torch_threads(specs[0].threads), cudnn_benchmark(specs[0].cudnn_benchmark):
        try:
            outcome = run_rounds(members, settings, baseline=base, seed=seed, now=now,
                                 deadline=deadline)
            for i, (member, part) in enumerate(zip(members, outcome.members, strict=True)):
                if part.status == "ok" and part.samples:
                    steps[i] = median(part.samples)
                    blocks[i] = member.block_figures(steps[i])
        finally:
            for member in members:
                member.close()
    duration = time.perf_counter() - clock
    group = group_record(outcome, specs, names, kind, index, started, duration)
    if kind == "calibration":
        return GroupMeasurement(group, ())
    share = duration / len(specs)
    after = time.perf_counter()  # a memory child per member runs after the rounds
    memories = [_memory(member, steps[i], policy, measure_memory)
                if part.status == "ok" and part.samples else MemoryFigures(method="skipped")
                for i, (member, part) in enumerate(zip(members, outcome.members, strict=True))]
    group = replace(group, memory_s=sum(m.memory_s for m in members)
                    + time.perf_counter() - after)
    records = tuple(_record(member, part, outcome.steps_per_round, memory, blocks[i], started,
                            share, group.group_id)
                    for i, (member, part, memory) in enumerate(zip(members, outcome.members,
                                                                   memories, strict=True)))
    return GroupMeasurement(group, records)
