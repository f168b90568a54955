"""Replication across builds and processes: a comparison group timed in several fresh worker
processes, each building its members afresh every few rounds.

:func:`measure_replicated` times a group under a :class:`~profiler.plan.budget.GroupBudget`:
``budget.processes`` processes, **one after another** (timing jobs never share the cores),
each a fresh ``python -m profiler.measure.timing.group_worker``
(:mod:`~profiler.measure.timing.group_worker`) with ``seconds_per_process`` of rounds,
``min/max_rounds_per_process`` rounds and the shuffle seed ``seed + p``. Inside it
:func:`measure_builds` builds and warms every member, runs ``rounds_per_build`` interleaved
rounds (:func:`profiler.rounds.run_rounds`), frees them and builds them again, until the
process's rounds or seconds are spent: a fresh model's memory layout moves its speed by a
few percent, and builds average that inside the process (:mod:`profiler.stats`, "Two
levels"). Peak memory is measured by the first build of the first process only (when
``budget.measure_memory``): on the CPU by default as the peak of tensor bytes inside the
worker (``memory_method = "tensor"``, :func:`profiler.measure.memory.peak.cpu_tensor_memory`),
no process per case; the memory guard, likewise, is asked in the first process that
built the members, and later ones run each member at the batch it allowed. The parent
waits on each child through :func:`profiler.measure.children.run_child`: Ctrl-C / SIGTERM
(made exceptions by :mod:`profiler.signals`) end the child's process group before they go
on. A worker that dies (a crash, a timeout) is recorded in ``process_runs`` as ``error`` and
the next one starts; a member failing inside a worker is that member's ``error``/``oom``, as
in-process.

:func:`combine_processes` joins the processes' records into one group record: every round
kept and tagged with its process and build (``round_process``, ``round_build``), per ratio
the per-process and per-build estimates, the within- and between-process spreads, the
between-build spread inside a process, and the headline two-level interval with the process
as a random effect (:func:`profiler.stats.two_level_interval`, under the between-process
``prior`` for ratios timed in fewer than 10 processes), and one case record per member with
the statistics of all its samples. ``budget.processes == 1`` runs in this process
(:func:`run_in_process`: tests, ``--processes 1``), with the same statistics.

The planner gives each group its budget; without one, :func:`default_budget` splits the
suite's ``group_time`` over :data:`DEFAULT_PROCESSES` processes of builds of
:data:`~profiler.plan.budget.DEFAULT_ROUNDS_PER_BUILD` rounds.
"""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from pathlib import Path
from typing import Any

from profiler.errors import InvalidOptionError, MeasurementError
from profiler.measure.children import run_child
from profiler.measure.memory.peak import child_environment
from profiler.measure.timing.group import (
    MEMORY_METHODS,
    GroupMeasurement,
    check_groupable,
    default_baseline,
)
from profiler.plan.budget import DEFAULT_PROCESSES, DEFAULT_ROUNDS_PER_BUILD, GroupBudget
from profiler.plan.costs import rounds_between_builds
from profiler.results.bench import BenchResult
from profiler.results.envelope import CaseRecord, utc_now
from profiler.results.group import (
    GroupKind,
    GroupMember,
    GroupRatio,
    GroupResult,
    ProcessRun,
    group_id,
)
from profiler.results.telemetry import disturbed_mask
from profiler.rounds import PairingSettings
from profiler.spec import BenchSpec
from profiler.stats import (
    CONFIDENCE,
    DEFAULT_BETWEEN_PRIOR,
    TWO_LEVEL_METHOD,
    BetweenPrior,
    TwoLevelInterval,
    hodges_lehmann,
    min_detectable_change,
    pooled_between_prior,
    pooled_within_sd,
    round_ratios_by_process,
    summarize,
    two_level_interval,
)
from profiler.telemetry.rounds import counted_blocks

__all__ = ["DEFAULT_PROCESSES", "MIN_POOLED_DF", "ProcessJob", "between_estimates",
           "combine_processes", "default_budget", "measure_builds", "measure_replicated",
           "pool_run_prior", "process_settings", "rounds_per_build", "run_in_process",
           "run_worker_process", "with_prior"]

# a prior pooled over a run's groups replaces the default once it is worth this many degrees
# of freedom (the default's own: DEFAULT_BETWEEN_DF)
MIN_POOLED_DF = 4.0

# a worker's build, warm-up and memory child come on top of its rounds
_WORKER_SLACK_S = 900.0
# the shuffle seed of build b in a process is the process's seed + b * _BUILD_SEED_STRIDE
_BUILD_SEED_STRIDE = 7919


@dataclass(frozen=True)
class ProcessJob:
    """What one worker process is asked to do (:mod:`profiler.measure.timing.group_worker`)."""

    specs: tuple[BenchSpec, ...]
    settings: PairingSettings
    baseline: int
    names: tuple[str, ...]
    kind: GroupKind
    index: int | None
    seed: int
    time_left: float | None
    measure_memory: bool
    memory_limit: int | None
    memory_method: str = "tensor"
    rounds_per_build: int = DEFAULT_ROUNDS_PER_BUILD
    guarded_batches: tuple[int | None, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"specs": [s.to_dict() for s in self.specs], "settings": self.settings.to_dict(),
                "baseline": self.baseline, "names": list(self.names), "kind": self.kind,
                "index": self.index, "seed": self.seed, "time_left": self.time_left,
                "measure_memory": self.measure_memory, "memory_limit": self.memory_limit,
                "memory_method": self.memory_method, "rounds_per_build": self.rounds_per_build,
                "guarded_batches": (None if self.guarded_batches is None
                                    else list(self.guarded_batches)),
                # CLOCK_MONOTONIC is system-wide: the worker charges its own start-up to time_left
                "written_monotonic": time.monotonic()}


# one process's answer: its builds (a single measurement: one build)
ProcessAnswer = GroupMeasurement | Sequence[GroupMeasurement]
RunProcess = Callable[[ProcessJob], ProcessAnswer]
MeasureGroup = Callable[..., GroupMeasurement]


def default_budget(settings: PairingSettings, processes: int = DEFAULT_PROCESSES) -> GroupBudget:
    """``processes`` processes splitting ``settings``' group time and rounds
    (:meth:`GroupBudget.split`)."""
    return GroupBudget.split(settings.group_time, settings.min_rounds, settings.max_rounds,
                             processes)


def _build_over(builds: Sequence[GroupMeasurement], baseline: int) -> bool:
    """No further build: the last one failed, or its baseline or every other member did."""
    group = builds[-1].group
    if group.status != "ok" or not group.rounds or not group.members:
        return True
    ok = [m.status == "ok" for m in group.members]
    return not ok[baseline] or sum(ok) < 2


def rounds_per_build(builds: Sequence[GroupMeasurement], least: int) -> int:
    """Rounds for the next build: at least ``least``, and enough that rebuilding (the second
    build's warm-up, which includes building: the first one's also warms the process) costs
    no more than the rounds between two builds (the plan's rule,
    :func:`profiler.plan.costs.rounds_between_builds`, on what this process measured);
    ``least`` until a rebuild was seen."""
    if len(builds) < 2:
        return least
    return rounds_between_builds(builds[1].group.warmup_s, _round_s(builds), least)


def _round_s(builds: Sequence[GroupMeasurement]) -> float:
    """The process's mean round time so far (0 before any round)."""
    done = [b.group for b in builds if b.group.rounds]
    rounds = sum(g.rounds for g in done)
    return sum(g.rounds_s for g in done) / rounds if rounds else 0.0


def _next_build_s(builds: Sequence[GroupMeasurement], count: int) -> float:
    """What one more build of ``count`` rounds is expected to cost: the last rebuild's
    warm-up (before one was seen, as much as the rounds it brings: the rule that chose the
    rounds per build) and ``count`` rounds at the process's mean round time."""
    round_s = _round_s(builds)
    rebuild = builds[-1].group.warmup_s if len(builds) > 1 else count * round_s
    return rebuild + count * round_s


def _rebuilt_batches(builds: Sequence[GroupMeasurement]) -> tuple[int | None, ...] | None:
    """What a rebuild runs each member at: the batch the first build ran it at (the memory
    guard's answer then); None for the first build, and for a member that failed there (it
    is built, guarded and warmed up in full again)."""
    return _guarded_batches(builds[0]) if builds else None


def _guarded_batches(first: GroupMeasurement) -> tuple[int | None, ...]:
    """Each member's batch in ``first`` (a process's first build, which asked the memory
    guard), None for a member that did not run there."""
    return tuple(m.batch if m.status == "ok" and m.batch > 0 else None
                 for m in first.group.members)


def _first_build(answer: ProcessAnswer | str) -> GroupMeasurement | None:
    if isinstance(answer, str):
        return None
    if isinstance(answer, GroupMeasurement):
        return answer
    return answer[0] if answer else None


def measure_builds(job: ProcessJob, measure: MeasureGroup | None = None,
                   now: Callable[[], float] = time.monotonic) -> tuple[GroupMeasurement, ...]:
    """The job's builds, in this process (see the module doc): each builds every member
    afresh and runs :func:`rounds_per_build` rounds (``job.rounds_per_build`` at least; fewer
    at the end), until the process has run ``settings.max_rounds`` rounds, or at least
    ``settings.min_rounds`` and one more build (a rebuild and its rounds,
    :func:`_next_build_s`) would not fit in what is left of its ``settings.group_time``
    seconds or ``job.time_left``: a build of many rounds started near the end would overrun
    by all of them. ``group_time`` counts the rounds and the rebuilds (the warm-ups after the
    first, which the planner counts per round). Only the first build measures memory and consults
    the memory guard; a rebuild runs its members at the first build's batches with the
    warm-up's mandatory steps only (:class:`~profiler.measure.timing.members.InProcessMember`).
    ``measure`` times one build (default :func:`profiler.measure.timing.group.measure_group`).
    """
    if measure is None:
        from profiler.measure.timing.group import measure_group as measure
    settings, started = job.settings, now()
    builds: list[GroupMeasurement] = []
    rounds, spent_s = 0, 0.0
    while rounds < settings.max_rounds:
        elapsed = now() - started
        count = min(rounds_per_build(builds, job.rounds_per_build), settings.max_rounds - rounds)
        if builds and _build_over(builds, job.baseline):
            break
        if builds and rounds >= settings.min_rounds:
            left = settings.group_time - spent_s
            if job.time_left is not None:
                left = min(left, job.time_left - elapsed)
            if _next_build_s(builds, count) > left:
                break
        part = replace(settings, min_rounds=count, max_rounds=count,
                       group_time=max(0.0, settings.group_time - spent_s))
        builds.append(measure(
            job.specs, part, baseline=job.baseline, names=job.names, kind=job.kind,
            index=job.index, seed=job.seed + _BUILD_SEED_STRIDE * len(builds),
            time_left=None if job.time_left is None else max(0.0, job.time_left - elapsed),
            memory_limit=job.memory_limit, measure_memory=job.measure_memory and not builds,
            memory_method=job.memory_method, rebuilt_batches=_rebuilt_batches(builds),
            guarded_batches=None if builds else job.guarded_batches))
        rounds += builds[-1].group.rounds
        spent_s += builds[-1].group.rounds_s + (builds[-1].group.warmup_s if len(builds) > 1
                                                else 0.0)
    return tuple(builds)


def process_settings(budget: GroupBudget, settings: PairingSettings) -> PairingSettings:
    """One process's rounds settings: ``settings`` with the budget's share of rounds and time."""
    return replace(settings, group_time=budget.seconds_per_process,
                   min_rounds=budget.min_rounds_per_process,
                   max_rounds=budget.max_rounds_per_process)


def run_in_process(job: ProcessJob) -> tuple[GroupMeasurement, ...]:
    """The job's builds in this process (:func:`measure_builds`)."""
    return measure_builds(job)


def _measurement(data: dict[str, Any]) -> GroupMeasurement:
    return GroupMeasurement(GroupResult.from_dict(data["group"]),
                            tuple(CaseRecord.from_dict(r) for r in data["records"]))


def _worker_timeout(job: ProcessJob) -> float:
    rounds = job.settings.group_time if job.time_left is None else min(
        job.settings.group_time, job.time_left)
    return _WORKER_SLACK_S + 2.0 * rounds


def run_worker_process(job: ProcessJob) -> tuple[GroupMeasurement, ...]:
    """The job's builds in a fresh worker process; MeasurementError when it dies without an
    answer."""
    with tempfile.TemporaryDirectory(prefix="attnprof-group-") as tmp:
        job_path, out_path = Path(tmp) / "job.json", Path(tmp) / "out.json"
        job_path.write_text(json.dumps(job.to_dict()), encoding="utf-8")
        command = [sys.executable, "-m", "profiler.measure.timing.group_worker",
                   str(job_path), str(out_path)]
        env = child_environment(job.specs[0].threads)
        timeout = _worker_timeout(job)
        try:
            proc = run_child(command, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            raise MeasurementError(f"worker timed out after {timeout:.0f} s") from None
        except OSError as exc:
            raise MeasurementError(f"cannot start a worker: {exc}") from None
        if not out_path.exists():
            lines = [line for line in proc.stderr.splitlines() if line.strip()]
            tail = lines[-1] if lines else f"exit status {proc.returncode}"
            raise MeasurementError(f"worker died: {tail}")
        data = json.loads(out_path.read_text(encoding="utf-8"))
    if "error" in data:
        raise MeasurementError(str(data["error"]))
    return tuple(_measurement(b) for b in data["builds"])


def _failure_text(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def measure_replicated(specs: Sequence[BenchSpec], budget: GroupBudget | None = None,
                       settings: PairingSettings | None = None, *,
                       baseline: int | None = None, names: Sequence[str] | None = None,
                       kind: GroupKind = "comparison", index: int | None = None,
                       seed: int | None = None, time_left: float | None = None,
                       memory_limit: int | None = None, memory_method: str = "tensor",
                       prior: BetweenPrior | None = None,
                       run_process: RunProcess | None = None,
                       now: Callable[[], float] = time.monotonic) -> GroupMeasurement:
    """Time ``specs`` in ``budget.processes`` processes and combine them (see the module doc).

    ``settings`` gives the block time, target, order and confidence (default
    :class:`PairingSettings`); ``budget`` the processes and each one's rounds and seconds
    (default :func:`default_budget` of ``settings``). ``time_left`` (seconds) ends the rounds
    of the running process and starts no further one once spent, nor one whose minimum (its
    start, first build and minimum rounds, as the processes before it took) would not fit in
    what is left (:func:`_next_process_s`): a group never overruns its share by a whole
    process. ``prior``: the
    between-process prior for ratios timed in fewer than 10 processes (None: the default).
    ``memory_method``: the CPU's peak-memory measure (``tensor``, in the worker; ``child``: a
    child process per member, as for a case timed alone).
    ``run_process`` runs one process's job (default: a worker process, or in this process
    for one process).
    """
    check_groupable(specs, kind)
    if memory_method not in MEMORY_METHODS:
        raise InvalidOptionError(f"unknown memory method {memory_method!r}; valid: "
                                 f"{', '.join(MEMORY_METHODS)}")
    settings = settings or PairingSettings()
    budget = budget or default_budget(settings)
    names = tuple(names) if names is not None else tuple(s.workload.label for s in specs)
    base = default_baseline(specs) if baseline is None else baseline
    if run_process is None:
        run_process = run_in_process if budget.processes == 1 else run_worker_process
    seed = random.SystemRandom().randrange(2**31) if seed is None else seed
    started, clock = utc_now(), time.perf_counter()
    deadline = None if time_left is None else now() + time_left
    each = process_settings(budget, settings)
    runs: list[ProcessAnswer | str] = []
    begun: list[float] = []
    guarded: tuple[int | None, ...] | None = None
    for process in range(budget.processes):
        begun.append(now())
        left = None if deadline is None else deadline - begun[-1]
        if left is not None and process > 0 and left < _next_process_s(
                runs, _walls(begun), each.min_rounds):
            break
        job = ProcessJob(tuple(specs), each, base, names, kind, index, seed + process,
                         left, budget.measure_memory and process == 0, memory_limit,
                         memory_method, budget.rounds_per_build, guarded)
        try:
            runs.append(run_process(job))
        except MeasurementError as exc:
            runs.append(_failure_text(exc))
        first = _first_build(runs[-1]) if guarded is None else None
        allowed = None if first is None else _guarded_batches(first)
        if allowed is not None and any(b is not None for b in allowed):
            guarded = allowed  # later processes skip the memory guard
    return combine_processes(runs, specs, names, kind=kind, index=index, baseline=base,
                             settings=each, seed=seed, prior=prior, started=started,
                             duration=time.perf_counter() - clock)


def _walls(begun: Sequence[float]) -> list[float]:
    """The wall time of each finished process, from when each began."""
    return [b - a for a, b in pairwise(begun)]


def _next_process_s(runs: Sequence[ProcessAnswer | str], walls: Sequence[float],
                    min_rounds: int) -> float:
    """What a further process needs at least, from the processes that ran: its start and
    first build (a process's wall time less its rounds, rebuilds and peak memory, which only
    the first process measures) plus ``min_rounds`` rounds at their pace; the cheapest such
    process. 0 when none ran (nothing to go by: the budget decides)."""
    needs: list[float] = []
    for run, wall in zip(runs, walls, strict=False):
        builds = _builds(run)
        if isinstance(builds, str):
            continue
        done = [b.group for b in builds]
        rounds = sum(g.rounds for g in done)
        rounds_s = sum(g.rounds_s for g in done)
        rebuilds_s = sum(g.warmup_s for g in done[1:])
        memory_s = sum(g.memory_s for g in done)
        first = max(0.0, wall - rounds_s - rebuilds_s - memory_s)
        needs.append(first + min_rounds * (rounds_s / rounds if rounds else 0.0))
    return min(needs, default=0.0)


# --- combining the processes ----------------------------------------------------------------


def _builds(run: ProcessAnswer | str) -> tuple[GroupMeasurement, ...] | str:
    """A process's answer as its builds (a failure: its message)."""
    if isinstance(run, str | GroupMeasurement):
        return run if isinstance(run, str) else (run,)
    return tuple(run)


def _process_run(process: int, run: tuple[GroupMeasurement, ...] | str) -> ProcessRun:
    if isinstance(run, str):
        return ProcessRun(process, status="error", error=run)
    ok = [b.group for b in run if b.group.status == "ok"]
    if not ok:
        failed = run[0].group if run else None
        error = "no build ran" if failed is None else failed.error or failed.status
        return ProcessRun(process, status="error", error=error)
    return ProcessRun(process, rounds=sum(g.rounds for g in ok),
                      steps_per_round=ok[0].steps_per_round, seed=ok[0].seed,
                      stopped=ok[-1].stopped, warmup_s=sum(g.warmup_s for g in ok),
                      rounds_s=sum(g.rounds_s for g in ok), builds=len(ok))


@dataclass(frozen=True)
class _Unit:
    """One build that ran: its process, its build index in that process, its record."""

    process: int
    build: int
    group: GroupResult


def _ok_units(runs: Sequence[tuple[GroupMeasurement, ...] | str]) -> list[_Unit]:
    return [_Unit(p, b, m.group) for p, run in enumerate(runs) if not isinstance(run, str)
            for b, m in enumerate(run) if m.group.status == "ok"]


def _member(index: int, spec: BenchSpec, name: str, units: Sequence[_Unit]) -> GroupMember:
    parts = [u.group.members[index] for u in units]
    failed = next((m for m in parts if m.status != "ok"), None)
    times = tuple(block for m in parts for block in m.times)
    return GroupMember(case_id=spec.case_id, name=name, label=spec.label,
                       batch=parts[0].batch if parts else spec.batch,
                       status="ok" if failed is None else failed.status,
                       error=None if failed is None else failed.error,
                       warmup_steps=parts[0].warmup_steps if parts else 0, times=times)


@dataclass(frozen=True)
class _Named:
    """What :func:`_ratio` reads of a spec: its case id."""

    case_id: str


@dataclass(frozen=True)
class _Found:
    """A ratio's two-level interval over its processes, and its builds: each build's
    estimate and the spread between builds inside a process (None: no process had two)."""

    two_level: TwoLevelInterval
    build_ratios: tuple[float, ...]
    between_build_sd: float | None


def _disturbed_pairs(member: GroupMember, base: GroupMember, disturbed: Sequence[bool]) -> int:
    """Rounds both ran that were left out of their ratio as disturbed
    (:func:`profiler.telemetry.rounds.counted_blocks`)."""
    kept = counted_blocks(member.times, disturbed)
    return sum(1 for a, b, k in zip(member.times, base.times, kept, strict=False)
               if a and b and k is None)


def _ratio(index: int, spec: BenchSpec | _Named, name: str,
           found: _Found | None, disturbed: int = 0) -> GroupRatio:
    if found is None:
        return GroupRatio(member=index, case_id=spec.case_id, name=name, throughput_ratio=None,
                          ci_low=None, ci_high=None, rounds=0)
    two = found.two_level
    interval, within = two.interval, two.within
    return GroupRatio(member=index, case_id=spec.case_id, name=name,
                      throughput_ratio=interval.ratio, ci_low=interval.low,
                      ci_high=interval.high, rounds=interval.rounds,
                      process_ratios=tuple(p.ratio for p in two.processes),
                      within_sd=two.within_sd, between_sd=two.between_sd,
                      within_ci_low=within.low, within_ci_high=within.high,
                      rounds_disturbed=disturbed, build_ratios=found.build_ratios,
                      between_build_sd=found.between_build_sd)


def _builds_view(by_build: Sequence[Sequence[float]], build_process: Sequence[int]
                 ) -> tuple[tuple[float, ...], float | None]:
    """Each build's estimate (exp of its Hodges-Lehmann log ratio) and the pooled SD of the
    builds' log estimates about their own process's mean."""
    logs = {u: hodges_lehmann([math.log(r) for r in ratios])
            for u, ratios in enumerate(by_build) if ratios}
    by_process: dict[int, list[float]] = {}
    for unit, value in logs.items():
        by_process.setdefault(build_process[unit], []).append(value)
    return (tuple(math.exp(v) for v in logs.values()),
            pooled_within_sd(list(by_process.values())))


def _intervals(members: Sequence[GroupMember], baseline: int, processes: Sequence[int],
               builds: Sequence[int] | None, prior: BetweenPrior | None, confidence: float,
               disturbed: Sequence[bool] = ()) -> list[_Found | None]:
    """Per member, its ratio's interval with ``processes[r]`` the process of round ``r``,
    and ``builds[r]`` its build as one index over the group (None: no build tags); None for
    the baseline and for members no counted round paired."""
    base = members[baseline]
    found: list[_Found | None] = []
    for i, member in enumerate(members):
        if i == baseline:
            found.append(None)
            continue
        mine = counted_blocks(member.times, disturbed)
        theirs = counted_blocks(base.times, disturbed)
        size, base_size = member.batch or 1, base.batch or 1
        grouped = round_ratios_by_process(mine, theirs, size, base_size, processes)
        if not any(grouped):
            found.append(None)
            continue
        two = two_level_interval(grouped, prior, confidence)
        if builds is None:
            found.append(_Found(two, (), None))
            continue
        owner: dict[int, int] = {}
        for build, process in zip(builds, processes, strict=True):
            owner.setdefault(build, process)
        by_build = round_ratios_by_process(mine, theirs, size, base_size, builds)
        found.append(_Found(two, *_builds_view(by_build, [owner.get(u, -1)
                                                          for u in range(len(by_build))])))
    return found


def _combined_record(index: int, spec: BenchSpec, units: Sequence[GroupMeasurement],
                     failures: Sequence[str], group: str, started: str,
                     duration: float) -> CaseRecord:
    records = [m.records[index] for m in units if len(m.records) > index]
    ok = [r for r in records if r.status == "ok" and isinstance(r.result, BenchResult)]
    if not ok:
        failed = next((r for r in records if r.status != "ok"), None)
        error = (failed.error if failed is not None and failed.error else
                 next(iter(failures), "no process ran"))
        status = failed.status if failed is not None else "error"
        return CaseRecord(spec=spec, status=status, error=error,  # type: ignore[arg-type]
                          started_utc=started, duration_s=duration, group_id=group)
    results = [r.result for r in ok if isinstance(r.result, BenchResult)]
    first = next((r for r in results if r.memory_method not in ("", "skipped")), results[0])
    samples = [t for r in results for t in r.samples]
    summary = summarize(samples, first.batch)
    result = replace(first, images_per_sec=summary.images_per_sec,
                     images_per_sec_iqr=summary.images_per_sec_iqr,
                     images_per_sec_cv=summary.images_per_sec_cv,
                     step_ms_median=summary.step_ms_median, step_ms_iqr=summary.step_ms_iqr,
                     noisy=summary.noisy, samples=samples,
                     repeats=sum(r.repeats for r in results))
    return CaseRecord(spec=spec, status="ok", result=result, started_utc=started,
                      duration_s=duration, group_id=group)


def combine_processes(runs: Sequence[ProcessAnswer | str], specs: Sequence[BenchSpec],
                      names: Sequence[str], *, kind: GroupKind, index: int | None,
                      baseline: int, settings: PairingSettings, seed: int,
                      prior: BetweenPrior | None, started: str,
                      duration: float) -> GroupMeasurement:
    """One group record and one case record per member from the processes' builds (a
    string: that process failed, with this message); see the module doc."""
    ident = group_id(kind, [s.case_id for s in specs], baseline)
    answers = [_builds(r) for r in runs]
    process_runs = tuple(_process_run(p, r) for p, r in enumerate(answers))
    units = _ok_units(answers)
    share = duration / len(specs)
    if not units:
        error = next((p.error for p in process_runs if p.error), "no process ran")
        records = tuple(CaseRecord(spec=s, status="error", error=error, index=None,
                                   started_utc=started, duration_s=share, group_id=ident)
                        for s in specs)
        return GroupMeasurement(GroupResult(group_id=ident, kind=kind, status="error",
                                            error=error, index=index, started_utc=started,
                                            duration_s=duration, processes=len(runs),
                                            process_runs=process_runs),
                                () if kind == "calibration" else records)
    prior = prior or DEFAULT_BETWEEN_PRIOR
    members = tuple(_member(i, s, names[i], units) for i, s in enumerate(specs))
    round_process = tuple(u.process for u in units for _ in u.group.orders)
    round_build = tuple(u.build for u in units for _ in u.group.orders)
    round_unit = tuple(n for n, u in enumerate(units) for _ in u.group.orders)
    telemetry = (tuple(t for u in units for t in u.group.telemetry)
                 if all(len(u.group.telemetry) == u.group.rounds for u in units) else ())
    disturbed = disturbed_mask(telemetry, len(round_unit))
    found = _intervals(members, baseline, round_process, round_unit, prior,
                       settings.confidence, disturbed)
    ratios = tuple(_ratio(i, s, names[i], found[i],
                          _disturbed_pairs(members[i], members[baseline], disturbed))
                   for i, s in enumerate(specs) if i != baseline)
    first = next((f for f in found if f is not None), None)
    detectable = (min_detectable_change(first.two_level.interval)
                  if kind == "calibration" and first is not None else None)
    groups = [u.group for u in units]
    group = GroupResult(
        group_id=ident, kind=kind, members=members, baseline=baseline, ratios=ratios,
        method=TWO_LEVEL_METHOD, confidence=settings.confidence, settings=settings.to_dict(),
        seed=seed, steps_per_round=groups[0].steps_per_round,
        orders=tuple(o for g in groups for o in g.orders), stopped=groups[-1].stopped,
        index=index, started_utc=started, duration_s=duration,
        warmup_s=sum(g.warmup_s for g in groups), rounds_s=sum(g.rounds_s for g in groups),
        memory_s=sum(g.memory_s for g in groups),
        min_detectable_slowdown=detectable, processes=len(runs), round_process=round_process,
        process_runs=process_runs,
        interval_method="" if first is None else first.two_level.variance_source,
        telemetry=telemetry,
        telemetry_absent=tuple(dict.fromkeys(a for g in groups for a in g.telemetry_absent)),
        between_prior_sd=prior.sd, between_prior_df=prior.df, between_prior_source=prior.source,
        round_build=round_build)
    if kind == "calibration":
        return GroupMeasurement(group, ())
    measured = [m for r in answers if not isinstance(r, str) for m in r]
    failures = [r for r in answers if isinstance(r, str)]
    records = tuple(_combined_record(i, s, measured, failures, ident, started, share)
                    for i, s in enumerate(specs))
    return GroupMeasurement(group, records)


def between_estimates(group: GroupResult) -> list[tuple[float, int]]:
    """Each ratio's between-process variance and degrees of freedom (processes that paired
    it, minus 1), for :func:`profiler.stats.pooled_between_prior` over a run's groups
    (ratios of one process give none)."""
    return [(r.between_sd ** 2, len(r.process_ratios) - 1) for r in group.ratios
            if r.between_sd is not None and len(r.process_ratios) > 1]


def with_prior(group: GroupResult, prior: BetweenPrior) -> GroupResult:
    """``group`` with every ratio's interval recomputed from its tagged rounds under
    ``prior`` (a group without process tags, or not ``ok``, is returned as it is)."""
    if group.status != "ok" or not group.interval_method:
        return group
    processes = group.round_process or tuple(0 for _ in group.orders)
    found = _intervals(group.members, group.baseline, processes,
                       group.round_unit if group.round_build else None, prior,
                       group.confidence or CONFIDENCE, group.disturbed)
    ratios = tuple(_ratio(r.member, _Named(r.case_id), r.name, found[r.member],
                          _disturbed_pairs(group.members[r.member],
                                           group.members[group.baseline], group.disturbed))
                   for r in group.ratios)
    first = next((f for f in found if f is not None), None)
    return replace(group, ratios=ratios,
                   interval_method=group.interval_method if first is None
                   else first.two_level.variance_source,
                   between_prior_sd=prior.sd, between_prior_df=prior.df,
                   between_prior_source=prior.source)


def pool_run_prior(groups: Sequence[GroupResult],
                   calibrated: BetweenPrior | None = None) -> tuple[GroupResult, ...]:
    """A run's groups with one prior: ``calibrated`` for every comparison group when given;
    else the between-process variance pooled over the comparison groups (each ratio gives
    processes - 1 degrees of freedom: :func:`between_estimates`), once it has
    :data:`MIN_POOLED_DF`, for the groups timed under the default or an earlier pooled prior
    (a group timed under a calibration keeps it). Other groups are returned as they are."""
    comparison = [g for g in groups if g.kind == "comparison"]
    if calibrated is not None:
        return tuple(with_prior(g, calibrated) if g.kind == "comparison" else g for g in groups)
    prior = pooled_between_prior([e for g in comparison for e in between_estimates(g)])
    if prior is None or prior.df < MIN_POOLED_DF:
        return tuple(groups)
    return tuple(with_prior(g, prior) if g.kind == "comparison" and g.between_prior_source in (
        "default", "pooled") else g for g in groups)
