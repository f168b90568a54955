"""Run a suite: expand it, measure each case, and write the result file after every case.

The loop is small on purpose. :func:`plan_run` resolves the device, expands the suite, puts
the cases that differ only in their attention (or block) into comparison groups
(:mod:`profiler.suites.groups`) and keeps this shard's units (a case alone, or a whole group);
:func:`run_suite` measures the pending ones through an injectable ``run_case`` (default
:func:`profiler.measure.case.run_case`, which records failures as ``error``/``oom`` so the
suite goes on) or ``run_group`` (default :func:`measure_planned_group`: the members timed
together in interleaved rounds in fresh worker processes by
:func:`profiler.measure.timing.replicate.measure_replicated`, one record per member plus the group's
record)
and rewrites the file atomically after each unit, so that a crash or Ctrl-C leaves a valid file
holding every finished case and group. At the end, groups timed under the default
between-process prior get the spread pooled over the run's groups
(:func:`profiler.measure.timing.replicate.pool_run_prior`) once it has enough degrees of freedom.

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
- A planned run (``probe`` given; the CLI always plans) probes the machine first, inside the
  budget, and plans it (:mod:`profiler.plan.planner`): every unit's minimum first, then worker
  processes and rounds per comparison group, each group's share reaching ``run_group`` as a
  :class:`~profiler.plan.budget.GroupBudget` (``budget=``) with a ``time_left`` that leaves
  every later unit its minimum. Before each unit what remains is re-planned with the
  estimates scaled by what the finished units took; a unit whose minimum no longer fits is
  recorded ``skipped``, naming the ``--max-minutes`` that would fit it.
- Shards are round-robin over the units (a case alone or a whole group, in suite order; see
  :class:`~profiler.results.Shard`), so a group is never split between machines.
- The output is locked for the whole run (:func:`profiler.output.hold_lock`): a second writer
  of the same file stops at once, naming this run's PID. A write that fails (disk full) stops
  the run with :class:`~profiler.errors.OutputError`: the file keeps every case written
  before, the error carries the unwritten file's text, and ``resume`` continues later.
"""

from __future__ import annotations

import functools
import math
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
from profiler.plan.budget import GroupBudget
from profiler.plan.costs import MachineProbe
from profiler.plan.planner import (
    PlannerSettings,
    RunSchedule,
    UnitPlan,
    correction,
    corrections,
    group_allowance,
    plan_units,
)
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
from profiler.results.group import GroupResult
from profiler.rounds import PairingSettings
from profiler.spec import BenchSpec
from profiler.stats import BetweenPrior
from profiler.suites.definition import Suite
from profiler.suites.expand import Spec, expand_suite
from profiler.suites.groups import comparison_groups, pairing_settings
from profiler.suites.units import PlannedCase, PlannedGroup, Unit

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
    "budget_settings",
    "default_output",
    "default_probe",
    "estimated_seconds",
    "measure_planned_group",
    "pending_units",
    "plan_run",
    "run_suite",
    "schedule_run",
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


RunGroup = Callable[..., "GroupMeasurement"]
"""``run_group(group, settings, time_left)``; with a plan also ``budget=GroupBudget``."""
Probe = Callable[[Sequence[Spec], str], MachineProbe]
"""``probe(specs, device)``: measure this machine for the planner."""


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
    processes: int | None = None

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

    def plan_ready(self, schedule: RunSchedule) -> None:
        """The run's plan, after the probe and before the first unit (planned runs only)."""
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

    def plan_ready(self, schedule: RunSchedule) -> None:
        return None


@dataclass(frozen=True)
class RunSummary:
    """How a run ended: the file written and what this session did."""

    plan: RunPlan
    result: ResultFile
    ran: int
    reused: int
    elapsed_s: float
    schedule: RunSchedule | None = None

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
    if minutes is not None and not (minutes >= 0 and math.isfinite(minutes)):
        raise InvalidOptionError(f"max_minutes must be >= 0 and finite (0 = no limit), "
                                 f"got {minutes}")
    return RunPlan(suite=suite, device=device, cases=cases, total=len(specs), shard=shard,
                   max_minutes=minutes, units=units, pairing=pairing_settings(budget),
                   processes=budget.processes,
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


def budget_settings(settings: PairingSettings, budget: GroupBudget) -> PairingSettings:
    """``budget`` for an engine that times a group in one process: its processes' rounds and
    seconds of rounds run back to back (``min_rounds`` = processes x the minimum per
    process, and so on); the suite's block time, target and order are kept."""
    low = budget.processes * budget.min_rounds_per_process
    return replace(settings, min_rounds=low,
                   max_rounds=max(low, budget.processes * budget.max_rounds_per_process),
                   group_time=budget.processes * budget.seconds_per_process)


starting_file = _starting_file
pending_units = _pending


def measure_planned_group(group: PlannedGroup, settings: PairingSettings,
                          time_left: float | None,
                          memory_limit: int | None = None,
                          budget: GroupBudget | None = None,
                          prior: BetweenPrior | None = None) -> GroupMeasurement:
    """The default ``run_group``: :func:`profiler.measure.timing.replicate.measure_replicated` under
    ``budget`` (None: :meth:`GroupBudget.split` of ``settings`` over 3 processes), with
    ``prior`` as the between-process prior (None: this machine's stored calibration, else
    the default; a caller may pool one from earlier groups with
    :func:`profiler.measure.timing.replicate.between_estimates` and
    :func:`profiler.stats.pooled_between_prior`) (under the CPU memory guard's
    ``memory_limit``), and a failure of the group as a whole (a missing device, a bug)
    recorded as ``error`` on every member, so that the suite goes on. (A planned run's
    ``budget`` goes to the replicated engine as it is; :func:`budget_settings` is for an
    engine that times a group in one process.)"""
    from profiler.measure.timing.calibration_store import load_prior, machine_key
    from profiler.measure.timing.group import GroupMeasurement
    from profiler.measure.timing.replicate import measure_replicated

    budget = budget or GroupBudget.split(settings.group_time, settings.min_rounds,
                                         settings.max_rounds)
    lead = group.specs[0]
    try:
        return measure_replicated(group.specs, budget, settings, baseline=group.baseline,
                                  index=group.index, time_left=time_left,
                                  memory_limit=memory_limit,
                                  prior=prior or load_prior(machine_key(lead.device,
                                                                        lead.threads)))
    except Exception as exc:
        message = one_line(exc)
        records = tuple(CaseRecord(spec=m.spec, status="error", error=message, index=m.index,
                                   started_utc=utc_now(), group_id=group.group_id)
                        for m in group.members)
        return GroupMeasurement(GroupResult(group_id=group.group_id, status="error",
                                            error=message, index=group.index), records)


def default_probe(specs: Sequence[Spec], device: str) -> MachineProbe:
    """The real probe of this machine (:func:`profiler.suites.probe.probe_machine`)."""
    from profiler.suites.probe import probe_machine

    return probe_machine(specs, device)


def _budget_s(plan: RunPlan) -> float | None:
    return None if plan.max_minutes is None else 60.0 * plan.max_minutes


def planner_settings(plan: RunPlan, given: PlannerSettings | None = None) -> PlannerSettings:
    """The planner's rules for ``plan`` (``given``, else the defaults), with the suite's
    ``processes`` as every group's target and cap."""
    settings = given or PlannerSettings()
    if plan.processes is None:
        return settings
    return replace(settings, target_processes=plan.processes, max_processes=plan.processes)


def _unplanned_budget(plan: RunPlan) -> GroupBudget | None:
    """A group's budget in a run without a plan: the suite's ``processes`` sharing its
    ``group_time`` and rounds (None: the engine's default split)."""
    if plan.processes is None:
        return None
    pairing = plan.pairing
    return GroupBudget.split(pairing.group_time, pairing.min_rounds, pairing.max_rounds,
                             processes=plan.processes)


def _schedule(units: Sequence[Unit], plan: RunPlan, probe: MachineProbe,
              budget_s: float | None, settings: PlannerSettings,
              reserve_s: float | None = None) -> RunSchedule:
    from profiler.suites.schedule import unit_works

    works = unit_works(units, probe, plan.pairing)
    return plan_units(works, budget_s, settings, probe, reserve_s=reserve_s)


def schedule_run(suite: Suite, options: RunOptions, probe: Probe | None = None,
                 settings: PlannerSettings | None = None,
                 clock: Callable[[], float] = time.monotonic) -> tuple[RunPlan, RunSchedule]:
    """The plan of a run without running it (``--plan``): probe the machine, then plan every
    unit of this shard within the run's budget (the probe's own time counted in it)."""
    plan = plan_run(suite, options)
    start = clock()
    found = (probe or default_probe)([c.spec for c in plan.cases], plan.device)
    budget = _budget_s(plan)
    left = None if budget is None else max(0.0, budget - (clock() - start))
    return plan, _schedule(plan.units, plan, found, left, planner_settings(plan, settings))


def run_suite(
    suite: Suite,
    options: RunOptions | None = None,
    *,
    run_case: RunCase | None = None,
    run_group: RunGroup | None = None,
    observer: RunObserver | None = None,
    clock: Callable[[], float] = time.monotonic,
    environment: Callable[[str], Environment] | None = None,
    probe: Probe | None = None,
    planner: PlannerSettings | None = None,
) -> RunSummary:
    """Run ``suite`` and write its result file; see the module docstring for the rules.

    ``run_case`` measures one spec into a record (default: the real harnesses through
    :func:`profiler.measure.case.run_case`, under ``options.max_memory``); ``run_group`` a
    comparison group (default: :func:`measure_planned_group`, likewise); ``environment`` reads
    the device's environment (default :func:`profiler.measure.env.collect_environment`).
    With ``probe`` (the CLI passes :func:`default_probe`) the run is planned: the probe runs
    first (inside the budget), the plan (:mod:`profiler.plan.planner`, ``planner`` its
    settings) gives each group a :class:`~profiler.plan.budget.GroupBudget` passed to
    ``run_group`` as ``budget=``, what remains is re-planned before every unit with the
    estimates scaled by what the finished units took, and a unit whose minimum no longer fits
    is recorded ``skipped`` naming the budget that would fit it. The plan, with each unit's
    actual seconds, is stored in the file's ``plan``. Without ``probe`` the suite's fixed
    settings apply, as before.
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
                           environment or collect_environment, probe,
                           planner_settings(plan, planner))


class _Replanner:
    """A planned run's state: re-plans what remains before each unit, with the estimates
    scaled by what the finished units took, and keeps each unit's plan and actual time."""

    def __init__(self, plan: RunPlan, probe: MachineProbe, settings: PlannerSettings,
                 first: RunSchedule) -> None:
        self.plan, self.probe, self.settings, self.first = plan, probe, settings, first
        self.done: dict[str, UnitPlan] = {}

    def next(self, units: Sequence[Unit], left: float | None) -> tuple[UnitPlan, float | None]:
        """The next unit's plan, and the seconds it may use so that every later unit kept by
        the plan still gets its minimum (None: no limit)."""
        from profiler.suites.schedule import unit_works

        done = list(self.done.values())
        works = unit_works(units, self.probe, self.plan.pairing, corrections(done))
        current = plan_units(works, left, self.settings, self.probe,
                             reserve_s=self.first.reserve_s, scale=correction(done))
        head = current.units[0]
        if left is None:
            return head, None
        later = [w for w, u in zip(works[1:], current.units[1:], strict=True) if not u.skipped]
        return head, group_allowance(works[0], later, left, self.settings, self.first.reserve_s)

    def finished(self, unit: UnitPlan, seconds: float | None) -> None:
        self.done[unit.key] = unit if seconds is None else replace(unit, actual_s=seconds)

    def final(self) -> RunSchedule:
        """The plan vs the actual: per unit what it was given when it started (re-planned),
        the first plan's estimate and the actual seconds (units skipped as they came up: the
        budget that would have fitted them); ``scale`` is the final correction."""
        scale = correction(list(self.done.values()))
        units = []
        for unit in self.first.units:
            done = self.done.get(unit.key)
            if done is not None and done.skipped:
                units.append(done)
            elif done is not None:
                units.append(replace(done, estimated_s=unit.estimated_s))
        return replace(self.first.with_units(units), scale=scale)


def _not_fitting(case: PlannedCase, unit: UnitPlan, minutes: float | None) -> CaseRecord:
    needs = math.ceil((unit.needs_s or unit.estimated_s) / 60.0)
    return CaseRecord(spec=case.spec, status="skipped", index=case.index,
                      error=f"not started: its minimum (~{unit.estimated_s:.0f} s) did not fit "
                      f"in what was left of the run's {minutes or 0:g}-minute budget; "
                      f"--max-minutes {needs} would fit it (or --resume later)")


def _start_plan(plan: RunPlan, units: Sequence[Unit], probe: Probe, settings: PlannerSettings,
                clock: Callable[[], float], start: float) -> _Replanner:
    found = probe([c.spec for u in units for c in _members(u)], plan.device)
    budget = _budget_s(plan)
    left = None if budget is None else max(0.0, budget - (clock() - start))
    return _Replanner(plan, found, settings,
                      _schedule(units, plan, found, left, settings))


def _with_plan(result: ResultFile, state: _Replanner | None) -> ResultFile:
    """``result`` with the plan vs actual so far (unchanged for an unplanned run), so that a
    run stopped half-way keeps its plan too."""
    return result if state is None else replace(result, plan=state.final().to_dict())


def _run_locked(plan: RunPlan, options: RunOptions, measure_case: RunCase,
                measure_group: RunGroup, watch: RunObserver, clock: Callable[[], float],
                environment: Callable[[str], Environment], probe: Probe | None,
                settings: PlannerSettings) -> RunSummary:
    result = _ordered(_starting_file(plan, options, environment))
    _save(result, plan)
    units = _pending(plan, result)
    pending = [c for u in units for c in _members(u)]
    reused = len(plan.cases) - len(pending)
    watch.run_started(plan, pending, reused)
    start = clock()
    budget = _budget_s(plan)
    state = None
    if probe is not None and units:
        state = _start_plan(plan, units, probe, settings, clock, start)
        watch.plan_ready(state.first)
    ran = 0
    for position, unit in enumerate(units):
        if budget is not None and clock() - start >= budget:
            for rest in (c for u in units[position:] for c in _members(u)):
                record = _skipped(rest, plan.max_minutes or 0.0)
                result = result.with_case(record)
                watch.case_finished(rest, record)
            result = _ordered(result)
            _save(_with_plan(result, state), plan)
            break
        unit_plan, allowed = None, None
        if state is not None:
            elapsed = clock() - start
            unit_plan, allowed = state.next(units[position:],
                                            None if budget is None else budget - elapsed)
            if unit_plan.skipped:
                # the budget that would have fitted it: what ran so far, then every minimum
                unit_plan = replace(unit_plan, needs_s=elapsed + (unit_plan.needs_s or 0.0))
                state.finished(unit_plan, None)
                for member in _members(unit):
                    record = _not_fitting(member, unit_plan, plan.max_minutes)
                    result = result.with_case(record)
                    watch.case_finished(member, record)
                result = _ordered(result)
                _save(_with_plan(result, state), plan)
                continue
        began = 0.0 if state is None else clock()
        if isinstance(unit, PlannedCase):
            watch.case_started(unit)
            record = replace(measure_case(unit.spec), index=unit.index)
            if state is not None and unit_plan is not None:
                state.finished(unit_plan, clock() - began)
            result = _ordered(result.with_case(record))
            _save(_with_plan(result, state), plan)
            ran += 1
            watch.case_finished(unit, record)
            continue
        watch.case_started(unit.members[0])
        if unit_plan is not None and unit_plan.budget is not None:
            measured = measure_group(unit, plan.pairing, allowed, budget=unit_plan.budget)
        else:
            time_left = None if budget is None else budget - (clock() - start)
            fixed = _unplanned_budget(plan)
            measured = (measure_group(unit, plan.pairing, time_left) if fixed is None
                        else measure_group(unit, plan.pairing, time_left, budget=fixed))
        if state is not None and unit_plan is not None:
            state.finished(unit_plan, clock() - began)
        records = [replace(r, index=m.index)
                   for m, r in zip(unit.members, measured.records, strict=True)]
        group = replace(measured.group, index=unit.index)
        result = _ordered(result.with_group(group, tuple(records)))
        _save(_with_plan(result, state), plan)
        ran += len(records)
        for member, record in zip(unit.members, records, strict=True):
            watch.case_finished(member, record)
        watch.group_finished(unit, group)
    schedule = None if state is None else state.final()
    result = _pooled(_with_plan(result, state), plan)
    return RunSummary(plan=plan, result=result, ran=ran, reused=reused,
                      elapsed_s=clock() - start, schedule=schedule)


def _pooled(result: ResultFile, plan: RunPlan) -> ResultFile:
    """The run's groups timed under the default prior get the between-process variance
    pooled over all its groups (:func:`profiler.measure.timing.replicate.pool_run_prior`)."""
    from profiler.measure.timing.replicate import pool_run_prior

    groups = pool_run_prior(result.groups)
    if groups == result.groups:
        return result
    result = replace(result, groups=groups)
    _save(result, plan)
    return result
