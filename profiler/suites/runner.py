"""Run a suite: expand it, measure each case, and write the result file after every case.

The loop is small on purpose. :func:`plan_run` resolves the device, expands the suite, puts
the cases that differ only in their attention (or block) into comparison groups
(:mod:`profiler.suites.groups`) and keeps this shard's units (a case alone, or a whole group);
:func:`run_suite` measures the pending ones through an injectable ``run_case`` (default
:func:`profiler.measure.case.run_case`, which records failures as ``error``/``oom`` so the
suite goes on) or ``run_group`` (default :func:`profiler.measure.timing.group.measure_group`: the
members timed together in interleaved rounds, one record per member plus the group's record)
and rewrites the file atomically after each unit, so that a crash or Ctrl-C leaves a valid file
holding every finished case and group.

Rules (the CLI documents them too):

- An existing output file is replaced only with ``overwrite``; with ``resume`` it is
  continued: it must hold the same suite name, device and shard; if the suite file changed
  since (its hash differs) resuming needs ``force`` and drops cases the suite no longer has.
  Cases recorded ``ok`` are kept; ``error``, ``oom`` and ``skipped`` cases run again. A
  group runs again, all its members, unless its record and every member's are ``ok`` (its
  ratios need its members timed together). A resumed file keeps its first environment and
  creation time.
- ``max_minutes`` (the suite's budget, or the caller's override) bounds the run's wall clock:
  units that would start after it are recorded as ``skipped`` and the run ends normally; a
  group that starts ends its rounds when the budget is spent (after its minimum rounds).
- Shards are round-robin over the units (a case alone or a whole group, in suite order; see
  :class:`~profiler.results.Shard`), so a group is never split between machines.
- The output is locked for the whole run (:func:`profiler.output.hold_lock`): a second writer
  of the same file stops at once, naming this run's PID. A write that fails (disk full) stops
  the run with :class:`~profiler.errors.OutputError`: the file keeps every case written
  before, the error carries the unwritten file's text, and ``resume`` continues later.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from profiler.errors import (
    AttnprofError,
    InvalidOptionError,
    OutputError,
    ResultFileError,
    one_line,
)
from profiler.output import check_output, hold_lock
from profiler.provenance import git_commit, tool_version
from profiler.results.envelope import (
    CaseRecord,
    ResultFile,
    Shard,
    SuiteInfo,
    load_result_file,
    utc_now,
    write_result_file,
)
from profiler.results.environment import Environment
from profiler.results.group import GroupResult, group_id
from profiler.rounds import PairingSettings
from profiler.spec import BenchSpec
from profiler.suites.definition import Suite
from profiler.suites.expand import Spec, expand_suite
from profiler.suites.groups import comparison_groups, pairing_settings

if TYPE_CHECKING:
    from profiler.measure.timing.group import GroupMeasurement

__all__ = [
    "NullObserver",
    "PlannedCase",
    "PlannedGroup",
    "RunCase",
    "RunGroup",
    "RunObserver",
    "RunOptions",
    "RunPlan",
    "RunSummary",
    "default_output",
    "estimated_seconds",
    "measure_planned_group",
    "pending_units",
    "plan_run",
    "run_suite",
    "starting_file",
    "unit_id",
]

RunCase = Callable[[Spec], CaseRecord]


@dataclass(frozen=True)
class RunOptions:
    """How to run a suite. ``output`` None means :func:`default_output`; ``device`` None
    means the suite's; ``max_minutes`` None means the suite's budget, 0 means no limit;
    ``paired`` None means the suite's (``[budget] paired``, default on); ``units`` None
    means every unit, else only the units with these ids (:func:`unit_id`; a cluster job's
    selection, see :mod:`profiler.cluster`); ``check_device`` False takes the device as given
    without checking that this machine has it (a Slurm submission from a login node)."""

    output: Path | None = None
    device: str | None = None
    resume: bool = False
    overwrite: bool = False
    force: bool = False
    shard: Shard | None = None
    max_minutes: float | None = None
    max_memory: int | None = None
    paired: bool | None = None
    units: frozenset[str] | None = None
    check_device: bool = True


@dataclass(frozen=True)
class PlannedCase:
    """A case to run and its position in the whole (unsharded) suite."""

    index: int
    spec: Spec


@dataclass(frozen=True)
class PlannedGroup:
    """Cases timed together in interleaved rounds; ``baseline`` indexes ``members``."""

    members: tuple[PlannedCase, ...]
    baseline: int = 0

    @property
    def index(self) -> int:
        return self.members[0].index

    @property
    def specs(self) -> tuple[BenchSpec, ...]:
        return tuple(m.spec for m in self.members if isinstance(m.spec, BenchSpec))

    @property
    def group_id(self) -> str:
        return group_id("comparison", [m.spec.case_id for m in self.members], self.baseline)


Unit = PlannedCase | PlannedGroup
RunGroup = Callable[[PlannedGroup, PairingSettings, "float | None"], "GroupMeasurement"]


@dataclass(frozen=True)
class RunPlan:
    """What a run will do: the suite on one device, this shard's cases (and the units they
    run in: alone or in comparison groups), where it writes."""

    suite: Suite
    device: str
    cases: tuple[PlannedCase, ...]
    output: Path
    total: int = 0
    shard: Shard | None = None
    max_minutes: float | None = None
    units: tuple[Unit, ...] = ()
    pairing: PairingSettings = field(default_factory=PairingSettings)

    @property
    def groups(self) -> tuple[PlannedGroup, ...]:
        return tuple(u for u in self.units if isinstance(u, PlannedGroup))

    @property
    def info(self) -> SuiteInfo:
        return SuiteInfo(name=self.suite.name, path=str(self.suite.path), hash=self.suite.hash,
                         claims=self.suite.claims, description=self.suite.description,
                         device=self.device, planned=len(self.cases), total=self.total,
                         shard=self.shard)


class RunObserver(Protocol):
    """Told about progress; the CLI renders it (progress bar, plain lines or nothing)."""

    def run_started(self, plan: RunPlan, pending: Sequence[PlannedCase], reused: int) -> None:
        ...

    def case_started(self, case: PlannedCase) -> None:
        ...

    def case_finished(self, case: PlannedCase, record: CaseRecord) -> None:
        ...

    def group_finished(self, group: PlannedGroup, result: GroupResult) -> None:
        ...


class NullObserver:
    """An observer that ignores everything."""

    def run_started(self, plan: RunPlan, pending: Sequence[PlannedCase], reused: int) -> None:
        return None

    def case_started(self, case: PlannedCase) -> None:
        return None

    def case_finished(self, case: PlannedCase, record: CaseRecord) -> None:
        return None

    def group_finished(self, group: PlannedGroup, result: GroupResult) -> None:
        return None


@dataclass(frozen=True)
class RunSummary:
    """How a run ended: the file written and what this session did."""

    plan: RunPlan
    result: ResultFile
    ran: int
    reused: int
    elapsed_s: float

    @property
    def counts(self) -> dict[str, int]:
        return self.result.status_counts()

    @property
    def failures(self) -> tuple[CaseRecord, ...]:
        return tuple(c for c in self.result.cases if c.status != "ok")


def estimated_seconds(spec: Spec) -> float:
    """A rough relative cost, used to weight progress and its ETA (not a prediction)."""
    if spec.kind == "count":
        return 3.0
    if spec.kind == "breakdown":
        return 0.5 * (spec.warmup + spec.timed_steps + spec.profiled_steps + 1) + 4.0
    return spec.repeats * spec.min_time + spec.warmup * 0.2 + 2.0


def default_output(suite: str, device: str, shard: Shard | None = None) -> Path:
    """``results/<suite>-<device>[-shard<I>of<N>].json`` under the current folder."""
    part = "" if shard is None else f"-shard{shard.index}of{shard.count}"
    return Path("results") / f"{suite}-{device.replace(':', '')}{part}.json"


def _units(specs: Sequence[Spec], paired: bool) -> list[Unit]:
    """Cases alone and comparison groups, in the order of their first case."""
    groups = comparison_groups(specs) if paired else []
    first = {members[0]: members for members in groups}
    inside = {position for members in groups for position in members}
    units: list[Unit] = []
    for position, spec in enumerate(specs):
        if position in first:
            members = tuple(PlannedCase(i, specs[i]) for i in first[position])
            baseline = next((k for k, m in enumerate(members) if isinstance(m.spec, BenchSpec)
                             and not m.spec.workload.is_block
                             and m.spec.workload.attention is None), 0)
            units.append(PlannedGroup(members, baseline))
        elif position not in inside:
            units.append(PlannedCase(position, spec))
    return units


def _members(unit: Unit) -> tuple[PlannedCase, ...]:
    return unit.members if isinstance(unit, PlannedGroup) else (unit,)


def unit_id(unit: Unit) -> str:
    """A unit's id: a lone case's case id, a comparison group's group id."""
    return unit.group_id if isinstance(unit, PlannedGroup) else unit.spec.case_id


def plan_run(suite: Suite, options: RunOptions) -> RunPlan:
    """Resolve the device, expand the suite, form its groups and keep this shard's units."""
    from profiler.measure.device import available_device

    requested = options.device or suite.device
    device = available_device(requested) if options.check_device else requested
    specs = expand_suite(suite, device)
    budget = suite.budget_for(device)
    paired = budget.paired is not False if options.paired is None else options.paired
    shard = options.shard
    units = tuple(u for k, u in enumerate(_units(specs, paired))
                  if (shard is None or shard.selects(k))
                  and (options.units is None or unit_id(u) in options.units))
    cases = tuple(sorted((c for u in units for c in _members(u)), key=lambda c: c.index))
    minutes = budget.max_minutes if options.max_minutes is None else options.max_minutes or None
    if minutes is not None and minutes < 0:
        raise InvalidOptionError(f"max_minutes must be >= 0 (0 = no limit), got {minutes}")
    return RunPlan(suite=suite, device=device, cases=cases, total=len(specs), shard=shard,
                   max_minutes=minutes, units=units, pairing=pairing_settings(budget),
                   output=options.output or default_output(suite.name, device, shard))


def _check_resumable(loaded: ResultFile, plan: RunPlan, force: bool) -> None:
    out, info = plan.output, loaded.suite
    if info is None:
        raise ResultFileError(f"{out} holds no suite run; cannot --resume it (use --overwrite)")
    if info.name != plan.suite.name:
        raise ResultFileError(f"{out} holds suite {info.name!r}, not {plan.suite.name!r}; "
                              "choose another -o or pass --overwrite")
    if info.device and info.device != plan.device:
        raise ResultFileError(f"{out} was run on {info.device}, not {plan.device}; "
                              "choose another -o or --device")
    if info.shard != plan.shard:
        had = "no shard" if info.shard is None else f"shard {info.shard.label}"
        raise ResultFileError(f"{out} holds {had}; resume it with the same --shard")
    if info.hash != plan.suite.hash and not force:
        raise ResultFileError(f"{out} was run from another version of suite {info.name!r} "
                              "(hash differs); pass --force to resume anyway (cases no longer "
                              "in the suite are dropped) or --overwrite to start again")


def _starting_file(plan: RunPlan, options: RunOptions,
                   environment: Callable[[str], Environment]) -> ResultFile:
    if options.resume and options.overwrite:
        raise InvalidOptionError("give --resume or --overwrite, not both")
    exists = plan.output.exists()
    if exists and not (options.resume or options.overwrite):
        raise InvalidOptionError(f"{plan.output} exists; pass --resume to continue it or "
                                 "--overwrite to replace it")
    if exists and options.resume:
        loaded = load_result_file(plan.output)
        _check_resumable(loaded, plan, options.force)
        wanted = {c.spec.case_id for c in plan.cases}
        kept = tuple(c for c in loaded.cases if c.status == "ok" and c.case_id in wanted)
        ok = {c.case_id for c in kept}
        groups = tuple(g for g in loaded.groups if g.kind == "calibration"
                       or (g.status == "ok" and set(g.case_ids) <= ok))
        return replace(loaded, cases=kept, groups=groups, suite=plan.info,
                       updated_utc=utc_now())
    return ResultFile(environment=environment(plan.device), suite=plan.info,
                      tool_version=tool_version(), git_commit=git_commit())


def _ordered(result: ResultFile) -> ResultFile:
    """Cases in suite order (records without an index last, in their order)."""
    cases = sorted(result.cases, key=lambda c: (c.index is None, c.index or 0))
    return replace(result, cases=tuple(cases))


def _skipped(case: PlannedCase, minutes: float) -> CaseRecord:
    return CaseRecord(spec=case.spec, status="skipped", index=case.index,
                      error=f"not started: the run's {minutes:g}-minute budget (max_minutes) "
                      "was spent; run again with --resume to measure it")


def _save(result: ResultFile, plan: RunPlan) -> None:
    """Rewrite the run's file; a failed write says what the file still holds."""
    try:
        write_result_file(result, plan.output, overwrite=True)
    except OutputError as exc:
        try:
            kept = str(len(load_result_file(plan.output).cases))
        except AttnprofError:
            kept = "no"
        raise OutputError(f"{exc}; the run stopped: {plan.output} keeps {kept} case(s) "
                          "written before; free the space and continue with --resume",
                          exc.unsaved) from None


def _pending(plan: RunPlan, result: ResultFile) -> list[Unit]:
    done = {c.case_id for c in result.cases if c.status == "ok"}
    groups = {g.group_id for g in result.groups if g.status == "ok"}
    pending: list[Unit] = []
    for unit in plan.units:
        cases_done = all(c.spec.case_id in done for c in _members(unit))
        if not cases_done or (isinstance(unit, PlannedGroup) and unit.group_id not in groups):
            pending.append(unit)
    return pending


starting_file = _starting_file
pending_units = _pending


def measure_planned_group(group: PlannedGroup, settings: PairingSettings,
                          time_left: float | None,
                          memory_limit: int | None = None) -> GroupMeasurement:
    """The default ``run_group``: :func:`profiler.measure.timing.group.measure_group` (under the CPU
    memory guard's ``memory_limit``), with a failure of the group as a whole (a missing
    device, a bug) recorded as ``error`` on every member, so that the suite goes on."""
    from profiler.measure.timing.group import GroupMeasurement, measure_group

    try:
        return measure_group(group.specs, settings, baseline=group.baseline,
                             index=group.index, time_left=time_left,
                             memory_limit=memory_limit)
    except Exception as exc:
        message = one_line(exc)
        records = tuple(CaseRecord(spec=m.spec, status="error", error=message, index=m.index,
                                   started_utc=utc_now(), group_id=group.group_id)
                        for m in group.members)
        return GroupMeasurement(GroupResult(group_id=group.group_id, status="error",
                                            error=message, index=group.index), records)


def run_suite(
    suite: Suite,
    options: RunOptions | None = None,
    *,
    run_case: RunCase | None = None,
    run_group: RunGroup | None = None,
    observer: RunObserver | None = None,
    clock: Callable[[], float] = time.monotonic,
    environment: Callable[[str], Environment] | None = None,
) -> RunSummary:
    """Run ``suite`` and write its result file; see the module docstring for the rules.

    ``run_case`` measures one spec into a record (default: the real harnesses through
    :func:`profiler.measure.case.run_case`, under ``options.max_memory``); ``run_group`` a
    comparison group (default: :func:`measure_planned_group`, likewise); ``environment`` reads
    the device's environment (default :func:`profiler.measure.env.collect_environment`).
    KeyboardInterrupt propagates after the file has been written with every unit finished
    before it.
    """
    from profiler.measure import case as case_module
    from profiler.measure.env import collect_environment

    options = options or RunOptions()
    measure_case: RunCase = run_case or functools.partial(case_module.run_case,
                                                          memory_limit=options.max_memory)
    measure_group: RunGroup = run_group or functools.partial(measure_planned_group,
                                                             memory_limit=options.max_memory)
    watch: RunObserver = observer or NullObserver()
    plan = plan_run(suite, options)
    check_output(plan.output, overwrite=True)
    try:
        plan.output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot write {plan.output}: {exc.strerror or exc}") from None
    with hold_lock(plan.output):
        return _run_locked(plan, options, measure_case, measure_group, watch, clock,
                           environment or collect_environment)


def _run_locked(plan: RunPlan, options: RunOptions, measure_case: RunCase,
                measure_group: RunGroup, watch: RunObserver, clock: Callable[[], float],
                environment: Callable[[str], Environment]) -> RunSummary:
    result = _ordered(_starting_file(plan, options, environment))
    _save(result, plan)
    units = _pending(plan, result)
    pending = [c for u in units for c in _members(u)]
    reused = len(plan.cases) - len(pending)
    watch.run_started(plan, pending, reused)
    start = clock()
    ran = 0
    for position, unit in enumerate(units):
        if plan.max_minutes is not None and clock() - start >= 60.0 * plan.max_minutes:
            for rest in (c for u in units[position:] for c in _members(u)):
                record = _skipped(rest, plan.max_minutes)
                result = result.with_case(record)
                watch.case_finished(rest, record)
            result = _ordered(result)
            _save(result, plan)
            break
        if isinstance(unit, PlannedCase):
            watch.case_started(unit)
            record = replace(measure_case(unit.spec), index=unit.index)
            result = _ordered(result.with_case(record))
            _save(result, plan)
            ran += 1
            watch.case_finished(unit, record)
            continue
        watch.case_started(unit.members[0])
        time_left = (None if plan.max_minutes is None
                     else 60.0 * plan.max_minutes - (clock() - start))
        measured = measure_group(unit, plan.pairing, time_left)
        records = [replace(r, index=m.index)
                   for m, r in zip(unit.members, measured.records, strict=True)]
        group = replace(measured.group, index=unit.index)
        result = _ordered(result.with_group(group, tuple(records)))
        _save(result, plan)
        ran += len(records)
        for member, record in zip(unit.members, records, strict=True):
            watch.case_finished(member, record)
        watch.group_finished(unit, group)
    return RunSummary(plan=plan, result=result, ran=ran, reused=reused,
                      elapsed_s=clock() - start)
