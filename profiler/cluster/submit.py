"""Run a suite's pending units in jobs and merge their parts into one result file.

:func:`run_on_cluster` plans the run as :func:`profiler.suites.run_suite` does (same rules for
``--resume``/``--overwrite``/``--force``, same lock on the output), cuts the pending units into
jobs (:func:`~profiler.cluster.jobs.make_jobs`), submits them through an executor and polls
them. The local executor runs one job at a time, or up to ``jobs`` count-only jobs together
(timing jobs never share the machine's cores); Slurm gets every job at once.

After each job ends, the result file is rewritten from the parts so far: records kept by the
merge rule of :mod:`profiler.results.merge_rule` (an ``ok`` record wins), the suite's order,
each part under ``parts``, each job under ``jobs`` (:class:`~profiler.results.jobs.JobInfo`:
host, GPU/CPU, Slurm id, log, error). The cases a failed, timed-out or cancelled job did not
measure are recorded ``error`` with the job's error, so that ``--resume`` resubmits only them.
Ctrl-C (or SIGTERM, or a failed write) cancels every submitted job, writes what finished,
and propagates.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from profiler.cluster.executors import (
    END_STATES,
    Executor,
    JobHandle,
    LocalExecutor,
    SlurmExecutor,
    SlurmSettings,
    wait_briefly,
)
from profiler.cluster.job import HostInfo, JobRequest, host_path, read_host
from profiler.cluster.jobs import Job, make_jobs
from profiler.errors import AttnprofError, InvalidOptionError
from profiler.output import check_output, hold_lock
from profiler.results.envelope import (
    CaseRecord,
    PartInfo,
    ResultFile,
    load_result_file,
    utc_now,
    write_result_file,
)
from profiler.results.environment import Environment
from profiler.results.jobs import JobInfo
from profiler.results.merge_rule import keep_ok_groups, keep_ok_records
from profiler.suites.definition import Suite
from profiler.suites.runner import RunOptions, RunPlan, pending_units, plan_run, starting_file

__all__ = ["EXECUTORS", "ClusterDisplay", "ClusterOptions", "ClusterSummary", "default_logs",
           "make_executor", "run_on_cluster"]

EXECUTORS = ("local", "slurm")


@dataclass(frozen=True)
class ClusterOptions:
    """How to run the jobs: ``executor`` (local or slurm), how many count-only jobs
    (``jobs``), where logs and parts go (``logs``; None: :func:`default_logs`)."""

    executor: str = "local"
    jobs: int = 1
    logs: Path | None = None
    slurm: SlurmSettings = field(default_factory=SlurmSettings)
    poll_s: float = 2.0

    def __post_init__(self) -> None:
        if self.executor not in EXECUTORS:
            raise InvalidOptionError(f"unknown executor {self.executor!r}; choose one of "
                                     f"{', '.join(EXECUTORS)}")
        if self.jobs < 1:
            raise InvalidOptionError(f"--jobs must be a positive integer, got {self.jobs}")


class ClusterDisplay(Protocol):
    """Told about the jobs; the CLI renders it (a rich table, plain lines or nothing)."""

    def submitted(self, plan: RunPlan, jobs: Sequence[Job], logs: Path, reused: int) -> None:
        ...

    def job_update(self, job: Job, state: str, cases_done: int, log: Path | None) -> None:
        ...

    def job_ended(self, job: Job, info: JobInfo) -> None:
        ...


@dataclass(frozen=True)
class ClusterSummary:
    """How a cluster run ended: the file written, every job of this submission, and the
    ``missing`` cases: those no job recorded (a job that failed, timed out or was cancelled
    first), which the file holds as ``error``."""

    plan: RunPlan
    result: ResultFile
    jobs: tuple[JobInfo, ...]
    reused: int
    elapsed_s: float
    logs: Path
    missing: tuple[str, ...] = ()


def default_logs(output: Path) -> Path:
    """``results/<name>-jobs/`` beside ``results/<name>.json``: logs and parts."""
    return output.with_name(f"{output.stem}-jobs")


def make_executor(options: ClusterOptions, logs: Path) -> Executor:
    """The executor ``options`` name (raises InvalidOptionError: no submitit, no Slurm)."""
    if options.executor == "slurm":
        return SlurmExecutor(logs, options.slurm)
    return LocalExecutor(logs)


def _cases_done(part: Path) -> int:
    try:
        return len(json.loads(part.read_text(encoding="utf-8")).get("cases") or [])
    except (OSError, ValueError, AttributeError):
        return 0


@dataclass
class _Run:
    """The state of one submission: its jobs, their handles and how the ended ones ended."""

    plan: RunPlan
    start: ResultFile
    resumed: bool
    executor: Executor
    parts: Path
    jobs: tuple[Job, ...]
    handles: dict[int, JobHandle] = field(default_factory=dict)
    ended: dict[int, JobInfo] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)

    def part(self, job: Job) -> Path:
        return self.parts / f"job-{job.number}.json"

    def request(self, job: Job, options: RunOptions) -> JobRequest:
        return JobRequest(suite=str(self.plan.suite.path.resolve()), part=str(self.part(job)),
                          units=job.unit_ids, device=self.plan.device, paired=options.paired,
                          max_minutes=options.max_minutes, max_memory=options.max_memory,
                          force=options.force, suite_hash=self.plan.suite.hash)

    def info(self, job: Job, status: str, error: str | None = None) -> JobInfo:
        """How ``job`` ended; ``error`` None: ask its handle (its result, or its error)."""
        handle = self.handles.get(job.number)
        result, found = None, error
        if handle is not None and error is None:
            result, found = handle.outcome()
        host = result.host if result is not None else read_host(self.part(job)) or HostInfo()
        slurm = (handle.slurm_job_id if handle is not None else "") or host.slurm_job_id
        return JobInfo(number=job.number, status=status,  # type: ignore[arg-type]
                       executor=self.executor.name, case_ids=job.case_ids,
                       hostname=host.hostname, gpu=host.gpu, gpu_uuid=host.gpu_uuid,
                       cpu=host.cpu, slurm_job_id=slurm,
                       log="" if handle is None else str(handle.log),
                       error=None if status == "done" else (found or status))


def _merged(run: _Run) -> ResultFile:
    """The result file from the starting file and every part written so far."""
    parts: list[tuple[Path, ResultFile]] = []
    for job in run.jobs:
        path = run.part(job)
        if path.exists():
            try:
                parts.append((path, load_result_file(path)))
            except AttnprofError:
                continue  # a part cut mid-write cannot be: writes are atomic; stay safe
    records = keep_ok_records([*run.start.cases, *(c for _, p in parts for c in p.cases)])
    groups = keep_ok_groups([*run.start.groups, *(g for _, p in parts for g in p.groups)])
    for job in run.jobs:
        info = run.ended.get(job.number)
        if info is None:
            continue
        why = info.error if info.status != "done" else "ended without recording it"
        for case in job.cases:
            if case.spec.case_id not in records:
                run.missing.add(case.spec.case_id)
                records[case.spec.case_id] = CaseRecord(
                    spec=case.spec, status="error", index=case.index,
                    error=f"job {job.number} {info.status}: {why}; --resume resubmits it")
    environment: Environment = run.start.environment
    if not run.resumed and parts:
        environment = parts[0][1].environment
    infos = tuple(PartInfo(source=str(path), environment=p.environment, cases=len(p.cases),
                           git_commit=p.git_commit, created_utc=p.created_utc)
                  for path, p in parts)
    kept_jobs = tuple(j for j in run.start.jobs if j.status == "done")
    return replace(
        run.start, environment=environment, suite=run.plan.info, updated_utc=utc_now(),
        cases=tuple(sorted(records.values(), key=lambda c: (c.index is None, c.index or 0))),
        groups=tuple(sorted(groups.values(), key=lambda g: (g.index is None, g.index or 0))),
        parts=(*run.start.parts, *infos),
        jobs=(*kept_jobs, *sorted(run.ended.values(), key=lambda j: j.number)))


def _save(run: _Run) -> ResultFile:
    result = _merged(run)
    write_result_file(result, run.plan.output, overwrite=True)
    return result


def _may_start(job: Job, running: Sequence[Job], executor: Executor, jobs: int) -> bool:
    if executor.name != "local" or not running:
        return True
    return job.count_only and all(r.count_only for r in running) and len(running) < jobs


def _poll(run: _Run, waiting: list[Job], options: RunOptions, cluster: ClusterOptions,
          display: ClusterDisplay) -> None:
    """Submit what may start, then look at every running job once."""
    running = [j for j in run.jobs if j.number in run.handles and j.number not in run.ended]
    while waiting and _may_start(waiting[0], running, run.executor, cluster.jobs):
        job = waiting.pop(0)
        timing = not job.count_only
        for stale in (run.part(job), host_path(run.part(job))):  # of an earlier submission
            stale.unlink(missing_ok=True)
        run.handles[job.number] = run.executor.submit(run.request(job, options), job.number,
                                                      timing)
        running.append(job)
        display.job_update(job, "queued", 0, run.handles[job.number].log)
    for job in running:
        state = run.handles[job.number].state()
        if state in END_STATES:
            run.ended[job.number] = run.info(job, state)
            _save(run)
            display.job_ended(job, run.ended[job.number])
        else:
            display.job_update(job, state, _cases_done(run.part(job)),
                               run.handles[job.number].log)


def _cancel_all(run: _Run) -> None:
    """Cancel every job still queued or running; jobs never submitted end ``cancelled``."""
    for job in run.jobs:
        if job.number in run.ended:
            continue
        handle = run.handles.get(job.number)
        if handle is None:
            run.ended[job.number] = run.info(job, "cancelled", "not submitted: interrupted")
            continue
        handle.cancel()
        state = handle.state()
        run.ended[job.number] = run.info(job, state if state in END_STATES else "cancelled",
                                         None if state == "done" else "cancelled: interrupted")


def run_on_cluster(suite: Suite, options: RunOptions, cluster: ClusterOptions,
                   display: ClusterDisplay, *, executor: Executor | None = None,
                   environment: Callable[[str], Environment] | None = None,
                   clock: Callable[[], float] = time.monotonic) -> ClusterSummary:
    """Run ``suite``'s pending units in jobs; see the module docstring."""
    from profiler.measure.env import collect_environment

    plan = plan_run(suite, options)
    logs = (cluster.logs or default_logs(plan.output)).resolve()
    executor = executor or make_executor(cluster, logs)
    check_output(plan.output, overwrite=True)
    resumed = options.resume and plan.output.exists()
    plan.output.parent.mkdir(parents=True, exist_ok=True)
    with hold_lock(plan.output):
        start = starting_file(plan, options, environment or collect_environment)
        offset = max((j.number for j in start.jobs), default=0)
        jobs = tuple(replace(j, number=j.number + offset)
                     for j in make_jobs(pending_units(plan, start), cluster.jobs))
        run = _Run(plan, start, resumed, executor, logs / "parts", jobs)
        result = _save(run)
        reused = len(plan.cases) - sum(len(j.cases) for j in jobs)
        display.submitted(plan, jobs, logs, reused)
        began = clock()
        waiting = list(jobs)
        try:
            while waiting or len(run.ended) < len(jobs):
                _poll(run, waiting, options, cluster, display)
                if waiting or len(run.ended) < len(jobs):
                    wait_briefly(cluster.poll_s)
        except BaseException:  # Ctrl-C, SIGTERM, a failed write: no job left behind
            _cancel_all(run)
            with contextlib.suppress(AttnprofError):
                _save(run)
            raise
        result = _save(run)
        ended = tuple(sorted(run.ended.values(), key=lambda j: j.number))
        missing = tuple(c.spec.case_id for j in jobs for c in j.cases
                        if c.spec.case_id in run.missing)
        return ClusterSummary(plan=plan, result=result, jobs=ended, reused=reused,
                              elapsed_s=clock() - began, logs=logs, missing=missing)
