"""The cluster flags of ``run`` and ``reproduce``, and how their jobs are shown.

``--executor local|slurm`` runs the suite in jobs (:mod:`profiler.cluster`); the other flags
need it (``--slurm-*`` need ``slurm``). Progress goes to stderr: a rich table of the jobs
(state, cases measured, log) on a terminal, one line per job event otherwise, nothing with
``--quiet``. The summary lists every job that did not finish with its error and log.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.live import Live
from rich.table import Table

from profiler.cluster.executors import SlurmSettings
from profiler.cluster.jobs import Job
from profiler.cluster.submit import (
    EXECUTORS,
    ClusterDisplay,
    ClusterOptions,
    ClusterSummary,
    run_on_cluster,
)
from profiler.devices import check_device
from profiler.errors import InvalidOptionError
from profiler.results.jobs import JobInfo
from profiler.suites import RunOptions
from profiler.suites.definition import Suite
from profiler.suites.runner import RunPlan

__all__ = ["PlainClusterDisplay", "RichClusterDisplay", "add_cluster_arguments",
           "cluster_options", "cluster_summary_lines", "run_cluster"]

_SLURM_FLAGS = (("slurm_partition", "--slurm-partition"),
                ("slurm_gpus_per_node", "--slurm-gpus-per-node"),
                ("slurm_time", "--slurm-time"), ("slurm_account", "--slurm-account"),
                ("slurm_option", "--slurm-option"))


def add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("running in jobs (local subprocesses or Slurm)")
    group.add_argument("--executor", metavar="local|slurm",
                       help="run the suite in jobs: a whole comparison group per job, count "
                       "and other lone cases in batches; local runs them as subprocesses "
                       "here one at a time, slurm submits them with sbatch (needs submitit: "
                       "pip install -e \".[cluster]\")")
    group.add_argument("--jobs", metavar="N", type=int,
                       help="how many count-only jobs to form and, locally, run at once "
                       "(default 1; timing jobs always run alone)")
    group.add_argument("--slurm-partition", metavar="P", help="sbatch --partition")
    group.add_argument("--slurm-gpus-per-node", metavar="G", type=int,
                       help="sbatch --gpus-per-node (the device is resolved on the nodes: "
                       "--device auto means cuda with this flag, else cpu)")
    group.add_argument("--slurm-time", metavar="MIN", type=int,
                       help="sbatch --time in minutes: a job still running then is stopped "
                       "(timeout; --resume resubmits its unmeasured cases)")
    group.add_argument("--slurm-account", metavar="A", help="sbatch --account")
    group.add_argument("--slurm-option", metavar="KEY=VALUE", action="append",
                       help="any other sbatch option, e.g. qos=high or constraint=a100 "
                       "(repeatable)")
    group.add_argument("--logs", metavar="DIR", type=Path,
                       help="job logs and parts (default: results/<name>-jobs/ beside the "
                       "result file; on Slurm a folder every node can write)")


def _positive(value: int | None, flag: str) -> None:
    if value is not None and value < 1:
        raise InvalidOptionError(f"{flag} must be a positive integer, got {value}")


def _slurm_options(given: Sequence[str] | None) -> tuple[tuple[str, str], ...]:
    found = []
    for text in given or ():
        key, sep, value = text.partition("=")
        if not sep or not key.strip() or not value:
            raise InvalidOptionError(f"--slurm-option {text!r}: expected KEY=VALUE, e.g. "
                                     "qos=high")
        found.append((key.strip().lstrip("-"), value))
    return tuple(found)


def cluster_options(args: argparse.Namespace) -> ClusterOptions | None:
    """The cluster options of ``args`` (None: a plain run); InvalidOptionError on bad input."""
    executor = args.executor
    slurm_given = [flag for name, flag in _SLURM_FLAGS if getattr(args, name) is not None]
    if executor is None:
        others = [flag for name, flag in (("jobs", "--jobs"), ("logs", "--logs"))
                  if getattr(args, name) is not None]
        if slurm_given or others:
            needs = "--executor slurm" if slurm_given else "--executor local or slurm"
            raise InvalidOptionError(f"{(slurm_given or others)[0]} needs {needs}")
        return None
    if executor not in EXECUTORS:
        raise InvalidOptionError(f"unknown executor {executor!r}; choose one of "
                                 f"{', '.join(EXECUTORS)}")
    if executor != "slurm" and slurm_given:
        raise InvalidOptionError(f"{slurm_given[0]} needs --executor slurm, not {executor}")
    for value, flag in ((args.jobs, "--jobs"), (args.slurm_gpus_per_node,
                                                "--slurm-gpus-per-node"),
                        (args.slurm_time, "--slurm-time")):
        _positive(value, flag)
    slurm = SlurmSettings(partition=args.slurm_partition, gpus_per_node=args.slurm_gpus_per_node,
                          time_min=args.slurm_time, account=args.slurm_account,
                          options=_slurm_options(args.slurm_option))
    return ClusterOptions(executor=executor, jobs=args.jobs or 1, logs=args.logs, slurm=slurm)


def _where(info: JobInfo) -> str:
    bits = [f"slurm {info.slurm_job_id}"] if info.slurm_job_id else []
    if info.hostname:
        bits.append(f"on {info.machine}")
    return f" ({', '.join(bits)})" if bits else ""


class NullClusterDisplay:
    def submitted(self, plan: RunPlan, jobs: Sequence[Job], logs: Path, reused: int) -> None:
        return None

    def job_update(self, job: Job, state: str, cases_done: int, log: Path | None) -> None:
        return None

    def job_ended(self, job: Job, info: JobInfo) -> None:
        return None


class PlainClusterDisplay:
    """One line per job event on ``stream`` (for logs and CI)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.states: dict[int, str] = {}
        self.total = 0

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def submitted(self, plan: RunPlan, jobs: Sequence[Job], logs: Path, reused: int) -> None:
        self.total = len(jobs)
        earlier = f", {reused} cases done earlier" if reused else ""
        self._print(f"running suite {plan.suite.name} on {plan.device} in {len(jobs)} jobs"
                    f"{earlier} -> {plan.output} (logs in {logs})")

    def job_update(self, job: Job, state: str, cases_done: int, log: Path | None) -> None:
        if self.states.get(job.number) != state:
            self.states[job.number] = state
            where = f"; log {log}" if log is not None and state == "queued" else ""
            self._print(f"job {job.number}/{self.total} {state}: {job.description}{where}")

    def job_ended(self, job: Job, info: JobInfo) -> None:
        self.states[job.number] = info.status
        error = f": {info.error}" if info.error else ""
        self._print(f"job {job.number}/{self.total} {info.status}{_where(info)}: "
                    f"{job.description}{error}")


class RichClusterDisplay:
    """A live rich table on stderr: per job its state, cases measured and log."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.rows: dict[int, tuple[str, str, str, str]] = {}
        self.live = Live(self._table(), console=console, transient=False)

    def __enter__(self) -> RichClusterDisplay:
        self.live.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.live.stop()

    def _table(self) -> Table:
        table = Table("job", "state", "cases", "what", "log", box=None)
        colours = {"done": "green", "failed": "red", "timeout": "red", "cancelled": "yellow"}
        for number, (state, cases, what, log) in sorted(self.rows.items()):
            colour = colours.get(state, "cyan")
            table.add_row(str(number), f"[{colour}]{state}[/{colour}]", cases, what, log)
        return table

    def submitted(self, plan: RunPlan, jobs: Sequence[Job], logs: Path, reused: int) -> None:
        for job in jobs:
            self.rows[job.number] = ("waiting", f"0/{len(job.cases)}", job.description, "")
        self.console.print(f"suite {plan.suite.name} on {plan.device} in {len(jobs)} jobs -> "
                           f"{plan.output} (logs in {logs})", markup=False, highlight=False)
        self.live.update(self._table())

    def job_update(self, job: Job, state: str, cases_done: int, log: Path | None) -> None:
        self.rows[job.number] = (state, f"{cases_done}/{len(job.cases)}", job.description,
                                 "" if log is None else str(log))
        self.live.update(self._table())

    def job_ended(self, job: Job, info: JobInfo) -> None:
        total = len(job.cases)
        cases = f"{total}/{total}" if info.status == "done" else self.rows[job.number][1]
        self.rows[job.number] = (info.status, cases, job.description, info.log)
        self.live.update(self._table())


def _display(quiet: bool, stream: TextIO | None = None) -> ClusterDisplay:
    stream = stream or sys.stderr
    if quiet:
        return NullClusterDisplay()
    if stream.isatty():
        return RichClusterDisplay(Console(file=stream))
    return PlainClusterDisplay(stream)


def cluster_summary_lines(summary: ClusterSummary, retry: str) -> list[str]:
    """Status counts, the file, every job that did not finish; how to resume (``retry``)."""
    plan, counts = summary.plan, summary.result.status_counts()
    done = ", ".join(f"{n} {status}" for status, n in counts.items())
    kept = f", {summary.reused} cases kept from before" if summary.reused else ""
    finished = sum(1 for j in summary.jobs if j.status == "done")
    lines = [f"suite {plan.suite.name} on {plan.device}: {done} ({finished} of "
             f"{len(summary.jobs)} jobs done{kept})",
             f"wrote {plan.output} (job logs in {summary.logs})"]
    for info in summary.jobs:
        if info.status != "done":
            lines.append(f"  job {info.number} {info.status}{_where(info)}: {info.error}; "
                         f"log: {info.log or 'none'}")
    if summary.missing:
        lines.append(f"{len(summary.missing)} case(s) missing; resubmit only them with: "
                     f"{retry} --resume")
    return lines


def run_cluster(suite: Suite, options: RunOptions, cluster: ClusterOptions, quiet: bool
                ) -> ClusterSummary:
    """Run through :func:`run_on_cluster` with the CLI's display."""
    if cluster.executor == "slurm":
        device = options.device or suite.device
        if device == "auto":
            device = "cuda" if cluster.slurm.gpus_per_node else "cpu"
        options = replace(options, device=check_device(device), check_device=False)
    display = _display(quiet)
    if isinstance(display, RichClusterDisplay):
        with display:
            return run_on_cluster(suite, options, cluster, display)
    return run_on_cluster(suite, options, cluster, display)
