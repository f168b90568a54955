"""Replication across processes: a comparison group timed in several fresh worker processes.

:func:`measure_replicated` times a group under a :class:`~profiler.plan.budget.GroupBudget`:
``budget.processes`` processes, **one after another** (timing jobs never share the cores),
each a fresh ``python -m profiler.measure.timing.group_worker``
(:mod:`~profiler.measure.timing.group_worker`) that builds and warms every member and runs
interleaved rounds (:func:`profiler.rounds.run_rounds`) with ``seconds_per_process`` of
rounds, ``min/max_rounds_per_process`` rounds, and the shuffle seed ``seed + p``. Peak memory
is measured by the first process only (when ``budget.measure_memory``): on the CPU by default
as the peak of tensor bytes inside the worker (``memory_method = "tensor"``,
:func:`profiler.measure.memory.peak.cpu_tensor_memory`), no process per case. The parent
waits on each child through :func:`profiler.measure.children.run_child`: Ctrl-C / SIGTERM
(made exceptions by :mod:`profiler.signals`) end the child's process group before they go
on. A worker that dies (a crash, a timeout) is recorded in ``process_runs`` as ``error`` and
the next one starts; a member failing inside a worker is that member's ``error``/``oom``, as
in-process.

:func:`combine_processes` joins the processes' records into one group record: every round
kept and tagged with its process (``round_process``), per ratio the per-process estimates,
within- and between-process spreads and the headline two-level interval with the process as
a random effect (:func:`profiler.stats.two_level_interval`, under the between-process
``prior`` for ratios timed in fewer than 4 processes), and one case record per member with
the statistics of all its samples. ``budget.processes == 1`` runs in this process
(:func:`run_in_process`: tests, ``--processes 1``), with the same statistics.

The planner gives each group its budget; without one, :func:`default_budget` splits the
suite's ``group_time`` over :data:`DEFAULT_PROCESSES` processes.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
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
from profiler.plan.budget import DEFAULT_PROCESSES, GroupBudget
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
    min_detectable_change,
    pooled_between_prior,
    round_ratios_by_process,
    summarize,
    two_level_interval,
)

__all__ = ["DEFAULT_PROCESSES", "MIN_POOLED_DF", "ProcessJob", "between_estimates",
           "combine_processes", "default_budget", "measure_replicated", "pool_run_prior",
           "process_settings", "run_in_process", "run_worker_process", "with_prior"]

# a prior pooled over a run's groups replaces the default once it is worth this many degrees
# of freedom (the default's own: DEFAULT_BETWEEN_DF)
MIN_POOLED_DF = 4.0

# a worker's build, warm-up and memory child come on top of its rounds
_WORKER_SLACK_S = 900.0


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

    def to_dict(self) -> dict[str, Any]:
        return {"specs": [s.to_dict() for s in self.specs], "settings": self.settings.to_dict(),
                "baseline": self.baseline, "names": list(self.names), "kind": self.kind,
                "index": self.index, "seed": self.seed, "time_left": self.time_left,
                "measure_memory": self.measure_memory, "memory_limit": self.memory_limit,
                "memory_method": self.memory_method,
                # CLOCK_MONOTONIC is system-wide: the worker charges its own start-up to time_left
                "written_monotonic": time.monotonic()}


RunProcess = Callable[[ProcessJob], GroupMeasurement]


def default_budget(settings: PairingSettings, processes: int = DEFAULT_PROCESSES) -> GroupBudget:
    """``processes`` processes splitting ``settings``' group time and rounds
    (:meth:`GroupBudget.split`)."""
    return GroupBudget.split(settings.group_time, settings.min_rounds, settings.max_rounds,
                             processes)


def process_settings(budget: GroupBudget, settings: PairingSettings) -> PairingSettings:
    """One process's rounds settings: ``settings`` with the budget's share of rounds and time."""
    return replace(settings, group_time=budget.seconds_per_process,
                   min_rounds=budget.min_rounds_per_process,
                   max_rounds=budget.max_rounds_per_process)


def run_in_process(job: ProcessJob) -> GroupMeasurement:
    """The job in this process (:func:`profiler.measure.timing.group.measure_group`)."""
    from profiler.measure.timing.group import measure_group

    return measure_group(job.specs, job.settings, baseline=job.baseline, names=job.names,
                         kind=job.kind, index=job.index, seed=job.seed,
                         time_left=job.time_left, memory_limit=job.memory_limit,
                         measure_memory=job.measure_memory, memory_method=job.memory_method)


def _worker_timeout(job: ProcessJob) -> float:
    rounds = job.settings.group_time if job.time_left is None else min(
        job.settings.group_time, job.time_left)
    return _WORKER_SLACK_S + 2.0 * rounds


def run_worker_process(job: ProcessJob) -> GroupMeasurement:
    """The job in a fresh worker process; MeasurementError when it dies without an answer."""
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
    return GroupMeasurement(GroupResult.from_dict(data["group"]),
                            tuple(CaseRecord.from_dict(r) for r in data["records"]))


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
    of the running process and starts no further one once spent. ``prior``: the
    between-process prior for ratios timed in fewer than 4 processes (None: the default).
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
    runs: list[GroupMeasurement | str] = []
    for process in range(budget.processes):
        left = None if deadline is None else deadline - now()
        if left is not None and left <= 0 and process > 0:
            break
        job = ProcessJob(tuple(specs), each, base, names, kind, index, seed + process,
                         left, budget.measure_memory and process == 0, memory_limit,
                         memory_method)
        try:
            runs.append(run_process(job))
        except MeasurementError as exc:
            runs.append(_failure_text(exc))
    return combine_processes(runs, specs, names, kind=kind, index=index, baseline=base,
                             settings=each, seed=seed, prior=prior, started=started,
                             duration=time.perf_counter() - clock)


# --- combining the processes ----------------------------------------------------------------


def _process_run(process: int, run: GroupMeasurement | str) -> ProcessRun:
    if isinstance(run, str):
        return ProcessRun(process, status="error", error=run)
    group = run.group
    if group.status != "ok":
        return ProcessRun(process, status="error", error=group.error or group.status)
    return ProcessRun(process, rounds=group.rounds, steps_per_round=group.steps_per_round,
                      seed=group.seed, stopped=group.stopped, warmup_s=group.warmup_s,
                      rounds_s=group.rounds_s)


def _ok_groups(runs: Sequence[GroupMeasurement | str]) -> list[tuple[int, GroupResult]]:
    return [(p, r.group) for p, r in enumerate(runs)
            if not isinstance(r, str) and r.group.status == "ok"]


def _member(index: int, spec: BenchSpec, name: str,
            groups: Sequence[tuple[int, GroupResult]]) -> GroupMember:
    parts = [g.members[index] for _, g in groups]
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


def _disturbed_pairs(member: GroupMember, base: GroupMember, disturbed: Sequence[bool]) -> int:
    """Rounds both ran that were disturbed (left out of their ratio)."""
    return sum(1 for r, (a, b) in enumerate(zip(member.times, base.times, strict=False))
               if a and b and r < len(disturbed) and disturbed[r])


def _ratio(index: int, spec: BenchSpec | _Named, name: str,
           found: TwoLevelInterval | None, disturbed: int = 0) -> GroupRatio:
    if found is None:
        return GroupRatio(member=index, case_id=spec.case_id, name=name, throughput_ratio=None,
                          ci_low=None, ci_high=None, rounds=0)
    interval, within = found.interval, found.within
    return GroupRatio(member=index, case_id=spec.case_id, name=name,
                      throughput_ratio=interval.ratio, ci_low=interval.low,
                      ci_high=interval.high, rounds=interval.rounds,
                      process_ratios=tuple(p.ratio for p in found.processes),
                      within_sd=found.within_sd, between_sd=found.between_sd,
                      within_ci_low=within.low, within_ci_high=within.high,
                      rounds_disturbed=disturbed)


def _counted(times: Sequence[tuple[float, ...] | None],
             disturbed: Sequence[bool]) -> list[tuple[float, ...] | None]:
    """``times`` with disturbed rounds left out (None), as within-process ratios do."""
    return [None if r < len(disturbed) and disturbed[r] else block
            for r, block in enumerate(times)]


def _intervals(members: Sequence[GroupMember], baseline: int, tags: Sequence[int],
               prior: BetweenPrior | None, confidence: float,
               disturbed: Sequence[bool] = ()) -> list[TwoLevelInterval | None]:
    base = members[baseline]
    found: list[TwoLevelInterval | None] = []
    for i, member in enumerate(members):
        grouped = ([] if i == baseline else round_ratios_by_process(
            _counted(member.times, disturbed), _counted(base.times, disturbed),
            member.batch or 1, base.batch or 1, tags))
        found.append(two_level_interval(grouped, prior, confidence) if any(grouped) else None)
    return found


def _combined_record(index: int, spec: BenchSpec, runs: Sequence[GroupMeasurement | str],
                     group: str, started: str, duration: float) -> CaseRecord:
    records = [r.records[index] for r in runs
               if not isinstance(r, str) and len(r.records) > index]
    ok = [r for r in records if r.status == "ok" and isinstance(r.result, BenchResult)]
    if not ok:
        failed = records[0] if records else None
        error = (failed.error if failed is not None and failed.error else
                 next((r for r in runs if isinstance(r, str)), "no process ran"))
        status = failed.status if failed is not None and failed.status != "ok" else "error"
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


def combine_processes(runs: Sequence[GroupMeasurement | str], specs: Sequence[BenchSpec],
                      names: Sequence[str], *, kind: GroupKind, index: int | None,
                      baseline: int, settings: PairingSettings, seed: int,
                      prior: BetweenPrior | None, started: str,
                      duration: float) -> GroupMeasurement:
    """One group record and one case record per member from the processes' measurements
    (a string: that process failed, with this message); see the module doc."""
    ident = group_id(kind, [s.case_id for s in specs], baseline)
    process_runs = tuple(_process_run(p, r) for p, r in enumerate(runs))
    groups = _ok_groups(runs)
    share = duration / len(specs)
    if not groups:
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
    members = tuple(_member(i, s, names[i], groups) for i, s in enumerate(specs))
    tags = tuple(p for p, g in groups for _ in g.orders)
    telemetry = (tuple(t for _, g in groups for t in g.telemetry)
                 if all(len(g.telemetry) == g.rounds for _, g in groups) else ())
    disturbed = disturbed_mask(telemetry, len(tags))
    found = _intervals(members, baseline, tags, prior, settings.confidence, disturbed)
    ratios = tuple(_ratio(i, s, names[i], found[i],
                          _disturbed_pairs(members[i], members[baseline], disturbed))
                   for i, s in enumerate(specs) if i != baseline)
    first = next((f for f in found if f is not None), None)
    detectable = (min_detectable_change(first.interval)
                  if kind == "calibration" and first is not None else None)
    group = GroupResult(
        group_id=ident, kind=kind, members=members, baseline=baseline, ratios=ratios,
        method=TWO_LEVEL_METHOD, confidence=settings.confidence, settings=settings.to_dict(),
        seed=seed, steps_per_round=groups[0][1].steps_per_round,
        orders=tuple(o for _, g in groups for o in g.orders), stopped=groups[-1][1].stopped,
        index=index, started_utc=started, duration_s=duration,
        warmup_s=sum(g.warmup_s for _, g in groups), rounds_s=sum(g.rounds_s for _, g in groups),
        min_detectable_slowdown=detectable, processes=len(runs), round_process=tags,
        process_runs=process_runs, interval_method="" if first is None else first.variance_source,
        telemetry=telemetry,
        telemetry_absent=tuple(dict.fromkeys(a for _, g in groups for a in g.telemetry_absent)),
        between_prior_sd=prior.sd, between_prior_df=prior.df, between_prior_source=prior.source)
    if kind == "calibration":
        return GroupMeasurement(group, ())
    records = tuple(_combined_record(i, s, runs, ident, started, share)
                    for i, s in enumerate(specs))
    return GroupMeasurement(group, records)


def between_estimates(group: GroupResult) -> list[tuple[float, int]]:
    """Each ratio's between-process variance and degrees of freedom (processes that paired
    it, minus 1), for :func:`profiler.stats.pooled_between_prior` over a run's
    groups (ratios of one process give none)."""
    return [(r.between_sd ** 2, len(r.process_ratios) - 1) for r in group.ratios
            if r.between_sd is not None and len(r.process_ratios) > 1]


def with_prior(group: GroupResult, prior: BetweenPrior) -> GroupResult:
    """``group`` with every ratio's interval recomputed from its tagged rounds under
    ``prior`` (a group without process tags, or not ``ok``, is returned as it is)."""
    if group.status != "ok" or not group.interval_method:
        return group
    tags = group.round_process or tuple(0 for _ in group.orders)
    found = _intervals(group.members, group.baseline, tags, prior,
                       group.confidence or CONFIDENCE, group.disturbed)
    ratios = tuple(_ratio(r.member, _Named(r.case_id), r.name, found[r.member],
                          _disturbed_pairs(group.members[r.member],
                                           group.members[group.baseline], group.disturbed))
                   for r in group.ratios)
    first = next((f for f in found if f is not None), None)
    return replace(group, ratios=ratios,
                   interval_method=group.interval_method if first is None
                   else first.variance_source,
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
