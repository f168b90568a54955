"""``attnprof reproduce``: run the ``eca-paper`` suite here and write the paper report.

The README's main command. It runs the suite on the available device (``auto``: CUDA if
present, else the CPU) within a planned budget (``--max-minutes``, default 15 on a CPU, 10 on
a GPU): a probe of the machine first, then a plan that measures every case, a slower machine
getting fewer rounds and processes (a case whose minimum does not fit is recorded ``skipped``
with the budget that would fit it; ``--resume`` measures it later); ``--plan`` prints the plan
alone. Then it renders the report with the suite's claims:

- results: ``results/<suite>-<device>.json``
- report: ``reports/<suite>-<device>.md``, plots in ``reports/<suite>-<device>/``

Exit status: 0 when the report was written, 2 on bad input (an existing result file, report or
plot without ``--resume``/``--overwrite``, CUDA asked for where there is none, a malformed
suite), 130 on Ctrl-C (the result file keeps every finished case; ``--resume`` continues).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from profiler.commands._cluster import (
    add_cluster_arguments,
    cluster_options,
    cluster_summary_lines,
    run_cluster,
)
from profiler.commands._common import finite_float
from profiler.commands._safety import add_max_memory_argument, memory_limit, output_path
from profiler.commands.report import write_text
from profiler.commands.run import RichObserver, make_observer, print_plan, summary_lines
from profiler.output import check_output
from profiler.suites import RunOptions, RunSummary, default_output, load_suite, run_suite
from profiler.suites import runner as suite_runner
from profiler.suites.definition import Suite
from profiler.suites.runner import RunObserver

__all__ = ["CPU_MINUTES", "DEFAULT_SUITE", "GPU_MINUTES", "default_budget", "default_paths",
           "register", "run"]

DEFAULT_SUITE = "eca-paper"
CPU_MINUTES = 15.0
GPU_MINUTES = 10.0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "reproduce", help="run the eca-paper suite here and write the report",
        description="Reproduce the ECA-Net paper's Table 3 on this machine: run the eca-paper "
        "suite on the available device within its time budget, then write the markdown "
        "report (paper vs ours, a verdict per claim) and its plots.")
    parser.add_argument("--device", default="auto", metavar="DEVICE",
                        help="auto (default: cuda if available, else cpu), cpu, cuda, cuda:N")
    parser.add_argument("-o", "--output", metavar="REPORT.md", type=output_path,
                        help="report file (default reports/<suite>-<device>.md)")
    parser.add_argument("--results", metavar="RESULT.json", type=output_path,
                        help="result file (default results/<suite>-<device>.json)")
    parser.add_argument("--plots", metavar="DIR", type=Path,
                        help="plot folder (default: the report's name without .md)")
    parser.add_argument("--resume", action="store_true",
                        help="continue an existing result file (its ok cases are kept)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing result file, report and plots (--resume "
                        "replaces the report and plots too)")
    parser.add_argument("--suite", default=DEFAULT_SUITE, metavar="NAME|PATH",
                        help=f"suite to run (default {DEFAULT_SUITE})")
    parser.add_argument("--max-minutes", metavar="M", type=finite_float,
                        help="wall-clock budget, planned so that every case is measured "
                        f"(default {CPU_MINUTES:g} on a CPU, {GPU_MINUTES:g} on a GPU; "
                        "0 = no limit)")
    parser.add_argument("--plan", action="store_true",
                        help="probe this machine, print the run's plan and estimated time, and "
                        "exit without measuring or writing anything")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    add_max_memory_argument(parser)
    add_cluster_arguments(parser)
    parser.set_defaults(func=run, input_args=('suite',))


def default_paths(suite: str, device: str) -> tuple[Path, Path, Path]:
    """Result file, report and plot folder for ``suite`` on ``device``."""
    results = default_output(suite, device)
    report = Path("reports") / f"{results.stem}.md"
    return results, report, report.with_suffix("")


def default_budget(device: str) -> float:
    """reproduce's budget in minutes when ``--max-minutes`` is not given."""
    return GPU_MINUTES if device.startswith("cuda") else CPU_MINUTES


def _run(suite: Suite, options: RunOptions, observer: RunObserver) -> RunSummary:
    if isinstance(observer, RichObserver):
        with observer:
            return run_suite(suite, options, observer=observer,
                             probe=suite_runner.default_probe)
    return run_suite(suite, options, observer=observer, probe=suite_runner.default_probe)


def _command(args: argparse.Namespace, device: str) -> str:
    """This command as a user would retype it (device resolved, explicit paths kept)."""
    parts = ["attnprof reproduce", f"--device {device}"]
    if args.suite != DEFAULT_SUITE:
        parts.append(f"--suite {args.suite}")
    for flag, value in (("--results", args.results), ("-o", args.output),
                        ("--plots", args.plots)):
        if value is not None:
            parts.append(f"{flag} {value}")
    return " ".join(parts)


def run(args: argparse.Namespace) -> int:
    from profiler.measure.device import available_device

    cluster = cluster_options(args)
    suite = load_suite(args.suite)
    if cluster is not None and cluster.executor == "slurm":
        device = args.device if args.device != "auto" else \
            ("cuda" if cluster.slurm.gpus_per_node else "cpu")
    else:
        device = available_device(args.device)
    results, report, plots = default_paths(suite.name, device)
    results = args.results or results
    report = args.output or report
    plots = args.plots or (report.with_suffix("") if args.output else plots)
    minutes = default_budget(device) if args.max_minutes is None else args.max_minutes
    options = RunOptions(output=results, device=device, resume=args.resume,
                         overwrite=args.overwrite, max_minutes=minutes,
                         max_memory=memory_limit(args))
    if args.plan:
        print_plan(args.suite, options)
        return 0
    from profiler.report.build import ReportRequest, build_report  # matplotlib: import late
    from profiler.report.plots import check_plot_outputs

    replace_report = args.overwrite or args.resume
    again = "--resume (or --overwrite to start again)"
    check_output(report, overwrite=replace_report, inputs=(results,), flag=again)
    check_plot_outputs(plots, replace_report, flag=again)
    missing = 0
    if cluster is not None:
        done = run_cluster(suite, options, cluster, args.quiet)
        missing = len(done.missing)
        retry = f"{_command(args, device)} --executor {args.executor}"
        print("\n".join(cluster_summary_lines(done, retry)))
    else:
        summary = _run(suite, options, make_observer(args.quiet))
        print("\n".join(summary_lines(summary)))
    built = build_report(ReportRequest(results=(results,), output=report, plots_dir=plots,
                                       reproduce=(_command(args, device),),
                                       overwrite=replace_report))
    write_text(built.markdown, report, replace_report)
    check = f"; claims: {built.check.summary()}" if built.check else ""
    print(f"wrote {report} ({len(built.plots)} plots in {plots}){check}")
    return 1 if missing else 0
