"""``attnprof run SUITE``: run a suite into a result file, with progress and a summary.

The run is planned (:mod:`profiler.plan`): a probe of the machine, then the budget
(``--max-minutes``) spread so that every case is measured; the plan is printed first and plan
vs actual at the end. ``--plan`` prints the plan alone (stdout) and measures nothing.
Progress goes to stderr: a rich progress bar (current case, ETA) on a terminal, one plain line
per case otherwise, nothing with ``--quiet``. The summary and the output path go to stdout.
Exit status: 0 when the run completed (failed cases are listed and recorded in the file),
1 with ``--strict`` if any case is not ``ok``, 2 on bad input, a result file another run is
writing (its PID is named) or a failed write (disk full: the file keeps every case written
before), 130 on Ctrl-C, 143/129 on SIGTERM/SIGHUP (the file then holds every case finished
before it; ``--resume`` continues). On the CPU a case whose estimated memory exceeds
``--max-memory`` (default: the memory available) is recorded ``oom`` without running.
With ``--executor local|slurm`` the suite runs in jobs (:mod:`profiler.commands._cluster`,
:mod:`profiler.cluster`): exit 1 when a job's cases are missing (``--resume`` resubmits them).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from profiler.commands._cluster import (
    add_cluster_arguments,
    cluster_options,
    cluster_summary_lines,
    run_cluster,
)
from profiler.commands._common import finite_float, warn_interference
from profiler.commands._safety import add_max_memory_argument, memory_limit, output_path
from profiler.errors import AttnprofError
from profiler.output.display import ratio_with_interval
from profiler.plan.planner import RunSchedule
from profiler.results.envelope import CaseRecord, Shard
from profiler.results.group import GroupResult
from profiler.signals import Terminated
from profiler.suites import RunOptions, RunSummary, available_suites, load_suite, run_suite
from profiler.suites import runner as suite_runner
from profiler.suites.runner import (
    NullObserver,
    PlannedCase,
    PlannedGroup,
    RunObserver,
    RunPlan,
    estimated_seconds,
    schedule_run,
)
from profiler.suites.schedule import actual_lines, plan_lines

__all__ = ["PlainObserver", "RichObserver", "group_line", "make_observer", "print_plan",
           "register", "run", "summary_lines"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run", help="run a benchmark suite into a result file",
        description="Run every case of SUITE (a name from 'attnprof list' or a .toml path) and "
        "write the result file after each case. Exit 0 when the run completes (failed cases "
        "are recorded and listed), 1 with --strict if any case failed, 2 on bad input.")
    parser.add_argument("suite", metavar="SUITE", help="suite name or path to a .toml file")
    parser.add_argument("-o", "--output", metavar="RESULT.json", type=output_path,
                        help="result file (default results/<suite>-<device>.json)")
    parser.add_argument("--device", metavar="DEVICE",
                        help="override the suite's device: auto, cpu, cuda, cuda:N")
    parser.add_argument("--resume", action="store_true",
                        help="continue an existing result file: keep its ok cases, run the "
                        "rest (error, oom and skipped cases run again)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing result file")
    parser.add_argument("--force", action="store_true",
                        help="with --resume: accept a file written by another version of the "
                        "suite (its cases no longer in the suite are dropped)")
    parser.add_argument("--shard", metavar="I/N",
                        help="run only shard I of N (round-robin over the cases); join the "
                        "parts with 'attnprof merge'")
    parser.add_argument("--max-minutes", metavar="M", type=finite_float,
                        help="wall-clock budget, planned: every case is measured, a slower "
                        "machine gets fewer rounds and processes; a case whose minimum does not "
                        "fit is recorded as skipped, naming the budget that would fit it "
                        "(default: the suite's budget; 0 = no limit)")
    parser.add_argument("--plan", action="store_true",
                        help="probe this machine (a few seconds), print the run's plan and its "
                        "estimated time, and exit without measuring or writing anything")
    parser.add_argument("--unpaired", action="store_true",
                        help="time every case alone (default: cases that differ only in their "
                        "attention are timed together in interleaved rounds)")
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 if any case ended other than ok")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress output, only the summary")
    add_max_memory_argument(parser)
    add_cluster_arguments(parser)
    parser.set_defaults(func=run, input_args=('suite',))


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def group_line(group: PlannedGroup, result: GroupResult) -> str:
    """One line per group: each member's throughput share of the baseline with its interval."""
    if result.status != "ok":
        return f"  group of {len(group.members)}: {result.status}: {result.error}"
    base = group.members[group.baseline].spec.workload.label
    shares = "; ".join(f"{r.name} {ratio_with_interval(r.throughput_ratio, r.ci_low, r.ci_high)}"
                       for r in result.ratios)
    return (f"  paired, {result.rounds} rounds ({result.stopped}), throughput vs {base}: "
            f"{shares}")


class PlainObserver:
    """One line per finished case on ``stream`` (for logs and CI)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.total = 0
        self.done = 0

    def run_started(self, plan: RunPlan, pending: Sequence[PlannedCase], reused: int) -> None:
        self.total, self.done = len(plan.cases), reused
        earlier = f", {reused} done earlier" if reused else ""
        print(f"running suite {plan.suite.name} on {plan.device}: {self.total} cases{earlier}"
              f" -> {plan.output}", file=self.stream, flush=True)

    def case_started(self, case: PlannedCase) -> None:
        return None

    def case_finished(self, case: PlannedCase, record: CaseRecord) -> None:
        self.done += 1
        width = len(str(self.total))
        tail = f": {record.error}" if record.error else ""
        print(f"[{self.done:>{width}}/{self.total}] {record.status:<7} {record.duration_s:6.1f}s"
              f"  {case.spec.label}{tail}", file=self.stream, flush=True)

    def group_finished(self, group: PlannedGroup, result: GroupResult) -> None:
        print(group_line(group, result), file=self.stream, flush=True)

    def plan_ready(self, schedule: RunSchedule) -> None:
        print("\n".join(plan_lines(schedule)), file=self.stream, flush=True)


class RichObserver:
    """A rich progress bar on stderr: current case, cases done, elapsed time and ETA.

    Progress advances by each case's :func:`estimated_seconds`, so that the ETA weighs a
    training step of ResNet-152 more than a parameter count. Use as a context manager.
    """

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
            TextColumn("{task.fields[done]}/{task.fields[cases]}"), TimeElapsedColumn(),
            TextColumn("eta"), TimeRemainingColumn(), console=console, transient=False)
        self.task: TaskID | None = None
        self.done = 0
        self.cases = 0
        self.name = ""

    def __enter__(self) -> RichObserver:
        self.progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.progress.stop()

    def run_started(self, plan: RunPlan, pending: Sequence[PlannedCase], reused: int) -> None:
        self.done, self.cases, self.name = reused, len(plan.cases), plan.suite.name
        total = sum(estimated_seconds(c.spec) for c in pending) or 1.0
        self.task = self.progress.add_task(plan.suite.name, total=total, done=reused,
                                           cases=len(plan.cases))
        self.console.print(f"suite {plan.suite.name} on {plan.device} -> {plan.output}")

    def case_started(self, case: PlannedCase) -> None:
        if self.task is not None:
            self.progress.update(self.task, description=_short(case.spec.label))

    def case_finished(self, case: PlannedCase, record: CaseRecord) -> None:
        self.done += 1
        if self.task is not None:
            self.progress.update(self.task, advance=estimated_seconds(case.spec), done=self.done)
            if self.done >= self.cases:
                self.progress.update(self.task, description=f"{self.name} done")
        if record.status != "ok":
            self.console.print(f"[red]{record.status}[/red] {case.spec.label}: {record.error}",
                               markup=True, highlight=False)

    def group_finished(self, group: PlannedGroup, result: GroupResult) -> None:
        self.console.print(group_line(group, result), markup=False, highlight=False)

    def plan_ready(self, schedule: RunSchedule) -> None:
        self.console.print("\n".join(plan_lines(schedule)), markup=False, highlight=False)


def make_observer(quiet: bool, stream: TextIO | None = None) -> RunObserver:
    """The observer the CLI uses: rich on a terminal, plain lines otherwise, none if quiet.

    A :class:`RichObserver` must be entered (``with``) before use; callers can test for it.
    """
    stream = stream or sys.stderr
    if quiet:
        return NullObserver()
    if stream.isatty():
        return RichObserver(Console(file=stream))
    return PlainObserver(stream)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _suite_argument(plan: RunPlan) -> str:
    """How to name the plan's suite on the command line: its name if that finds it."""
    found = available_suites().get(plan.suite.name)
    same = found is not None and found.resolve() == plan.suite.path.resolve()
    return plan.suite.name if same else str(plan.suite.path)


def summary_lines(summary: RunSummary) -> list[str]:
    """The end-of-run summary: status counts, where the file is, then every failed case."""
    counts = summary.counts
    plan = summary.plan
    done = ", ".join(f"{n} {status}" for status, n in counts.items())
    kept = f", {summary.reused} kept from before" if summary.reused else ""
    shard = f" shard {plan.shard.label}" if plan.shard else ""
    lines = [f"suite {plan.suite.name}{shard} on {plan.device}: {done} "
             f"({summary.ran} run in {_duration(summary.elapsed_s)}{kept})",
             f"wrote {plan.output}"]
    for record in summary.failures:
        lines.append(f"  {record.status:<7} {record.spec.label}: {record.error}")
    if counts["skipped"]:
        lines.append(f"skipped cases ran out of the time budget; continue with: attnprof run "
                     f"{_suite_argument(plan)} -o {plan.output} --resume")
    if summary.schedule is not None:
        lines.extend(actual_lines(summary.schedule, summary.elapsed_s))
    return lines


def print_plan(suite_name: str, options: RunOptions) -> None:
    """``--plan``: probe, plan and print (stdout); nothing is measured or written."""
    plan, schedule = schedule_run(load_suite(suite_name), options,
                                  probe=suite_runner.default_probe)
    shard = f" shard {plan.shard.label}" if plan.shard else ""
    print(f"suite {plan.suite.name}{shard} on {plan.device}: {len(plan.cases)} cases "
          f"(nothing measured: --plan)")
    print("\n".join(plan_lines(schedule)))


def _warn(summary: RunSummary) -> None:
    """The interference warning over the groups of the file just written."""
    from profiler.results.envelope import load_result_file

    try:
        groups = load_result_file(summary.plan.output).groups
    except (OSError, AttnprofError):
        return  # nothing written (every case failed before): nothing to warn about
    warn_interference([g.telemetry for g in groups])


def _options(args: argparse.Namespace) -> RunOptions:
    return RunOptions(output=args.output, device=args.device, resume=args.resume,
                      overwrite=args.overwrite, force=args.force,
                      shard=None if args.shard is None else Shard.parse(args.shard),
                      max_minutes=args.max_minutes, max_memory=memory_limit(args),
                      paired=False if args.unpaired else None)


def _execute(args: argparse.Namespace, observer: RunObserver) -> RunSummary:
    return run_suite(load_suite(args.suite), _options(args), observer=observer,
                     probe=suite_runner.default_probe)


def _retry(args: argparse.Namespace, plan: RunPlan) -> str:
    """This cluster run as a user would retype it to resume it."""
    shard = f" --shard {args.shard}" if args.shard else ""
    return (f"attnprof run {_suite_argument(plan)} -o {plan.output} --executor "
            f"{args.executor}{shard}")


def run(args: argparse.Namespace) -> int:
    if args.plan:
        print_plan(args.suite, _options(args))
        return 0
    cluster = cluster_options(args)
    if cluster is not None:
        try:
            done = run_cluster(load_suite(args.suite), _options(args), cluster, args.quiet)
        except (KeyboardInterrupt, Terminated):
            print("attnprof: jobs were cancelled; cases finished before are in the result "
                  "file; continue with --resume", file=sys.stderr)
            raise
        print("\n".join(cluster_summary_lines(done, _retry(args, done.plan))))
        warn_interference([g.telemetry for g in done.result.groups])
        failed = any(c.status != "ok" for c in done.result.cases)
        return 1 if done.missing or (args.strict and failed) else 0
    observer = make_observer(args.quiet)
    try:
        if isinstance(observer, RichObserver):
            with observer:
                summary = _execute(args, observer)
        else:
            summary = _execute(args, observer)
    except (KeyboardInterrupt, Terminated):
        print("attnprof: cases finished before the interrupt are in the result file; continue "
              "with --resume", file=sys.stderr)
        raise
    print("\n".join(summary_lines(summary)))
    _warn(summary)
    return 1 if args.strict and summary.failures else 0
