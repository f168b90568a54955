"""``attnprof calibrate``: how noisy is this machine? An A/A run of one workload.

The same workload (default: ResNet-18 inference at batch 8) is built twice and timed against
itself as one comparison group, in interleaved rounds with the default budget
(:mod:`profiler.rounds`). Its throughput ratio should be 1: the printed interval is
how far this machine's noise moves a ratio at this budget, and ``min_detectable_slowdown``
the smallest slowdown such a run detects in 80% of runs (:func:`~profiler.stats.
min_detectable_change`: 1.43 interval half-widths). An interval that excludes 1 means the
machine drifted unevenly (or is busy in bursts): rerun, and distrust small differences.

``-o FILE`` writes a result file holding the calibration; ``--into RESULT.json`` adds it to an
existing result file (replacing an earlier calibration of the same workload), so that
``attnprof report`` prints it beside the figures it qualifies. Exit 0, or 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from profiler.commands._common import add_workload_arguments, workload_from_args
from profiler.commands._paired import add_pairing_arguments, pairing_from_args, rounds_line
from profiler.commands._safety import (
    add_overwrite_argument,
    check_output_argument,
    memory_limit,
    output_path,
)
from profiler.commands.bench import add_run_arguments
from profiler.errors import MeasurementError
from profiler.output import hold_lock
from profiler.report.cells import ratio_with_interval
from profiler.report.ratios import stored_interval
from profiler.results.envelope import ResultFile, load_result_file, write_result_file
from profiler.results.group import GroupResult
from profiler.spec import BenchSpec

__all__ = ["DEFAULT_MODEL", "calibration_json", "register", "run"]

DEFAULT_MODEL = "resnet18"
DEFAULT_BATCH = 8


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "calibrate", help="A/A run: this machine's timing noise at the default budget",
        description="Time one workload against itself (the same model built twice, "
        "interleaved rounds) and report the A/A throughput ratio's 95% interval and the "
        "smallest slowdown the default budget can detect here. Both copies run in this "
        "process: differences between processes (a few points on some machines) are not "
        "in it. Default workload: "
        f"{DEFAULT_MODEL} inference at batch {DEFAULT_BATCH}.",
        epilog="-o FILE writes a result file holding the calibration; --into RESULT.json adds "
        "it to an existing result file (replacing an earlier calibration of the same "
        "workload), and 'attnprof report' prints it beside the figures it qualifies. Exit 0, "
        "or 2 on bad input.")
    add_workload_arguments(parser)
    add_run_arguments(parser, batch=DEFAULT_BATCH)
    parser.add_argument("--warmup", type=int, default=3, metavar="N",
                        help="warm-up steps at least; more until step times settle (default 3)")
    parser.add_argument("--format", choices=("table", "json"), default="table",
                        help="table (default) or one JSON object")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("-o", "--output", type=output_path, metavar="RESULT.json",
                     help="write a result file holding this calibration")
    out.add_argument("--into", type=output_path, metavar="RESULT.json",
                     help="add this calibration to an existing result file (its report then "
                     "prints it)")
    add_overwrite_argument(parser)
    add_pairing_arguments(parser)
    parser.set_defaults(func=run)


def _spec(args: argparse.Namespace) -> BenchSpec:
    if args.model is None and args.block is None:
        args.model = DEFAULT_MODEL
    return BenchSpec(workload=workload_from_args(args), mode=args.mode, device=args.device,
                     batch=args.batch, dtype=args.dtype, channels_last=args.channels_last,
                     compile=args.compile, cudnn_benchmark=args.cudnn_benchmark,
                     threads=args.threads, warmup=args.warmup, memory=False)


def calibration_json(group: GroupResult) -> dict[str, Any]:
    """The calibration's figures (``significant``: the A/A interval excludes 1)."""
    (ratio,) = group.ratios
    interval = stored_interval(ratio, group)
    significant = interval is not None and interval.side_of(1.0) != 0
    return {"workload": group.members[0].label, "throughput_ratio": ratio.throughput_ratio,
            "ci_low": ratio.ci_low, "ci_high": ratio.ci_high, "half_width": ratio.half_width,
            "rounds": ratio.rounds, "significant": significant,
            "min_detectable_slowdown": group.min_detectable_slowdown,
            "steps_per_round": group.steps_per_round, "stopped": group.stopped,
            "seed": group.seed, "settings": dict(group.settings)}


def _table(group: GroupResult) -> str:
    data = calibration_json(group)
    verdict = ("SIGNIFICANT: the interval excludes 100%: this machine's noise is uneven at this "
               "budget; rerun, and distrust differences this small" if data["significant"]
               else "no significant difference (the interval contains 100%)")
    detectable = data["min_detectable_slowdown"]
    lines = [f"calibrate: {data['workload']} against itself (A/A)",
             "A/A throughput ratio: " + ratio_with_interval(
                 data["throughput_ratio"], data["ci_low"], data["ci_high"]) + f" — {verdict}",
             "smallest slowdown this budget detects (80% of runs): "
             + ("– (too few rounds for an interval)" if detectable is None
                else f"{100 * detectable:.1f}%"),
             rounds_line(group)]
    return "\n".join(lines)


def _write(target: Path, base: ResultFile | None, group: GroupResult, spec: BenchSpec,
           overwrite: bool) -> None:
    from profiler.measure.env import collect_environment
    from profiler.provenance import git_commit, tool_version

    if base is None:
        base = ResultFile(environment=collect_environment(spec.device),
                          tool_version=tool_version(), git_commit=git_commit())
    write_result_file(base.with_group(group), target, overwrite=overwrite)
    print(f"wrote {target}", file=sys.stderr)


def _calibrate(args: argparse.Namespace, spec: BenchSpec) -> GroupResult:
    from profiler.measure.timing.group import measure_group

    measured = measure_group([spec, spec], pairing_from_args(args), kind="calibration",
                             names=["A", "A'"], seed=args.seed, memory_limit=memory_limit(args))
    failed = next((m for m in measured.group.members if m.status != "ok"), None)
    if failed is not None:
        raise MeasurementError(f"calibrate {spec.workload.label}: {failed.status}: "
                               f"{failed.error}")
    return measured.group


def run(args: argparse.Namespace) -> int:
    spec = _spec(args)
    if args.into is not None:
        # the file is read, measured into and rewritten under its lock: no other writer between
        with hold_lock(args.into):
            base = load_result_file(args.into)
            group = _calibrate(args, spec)
            _write(args.into, base, group, spec, overwrite=True)
    else:
        check_output_argument(args.output, args)
        group = _calibrate(args, spec)
        if args.output is not None:
            _write(args.output, None, group, spec, overwrite=args.overwrite)
    if args.format == "json":
        print(json.dumps(calibration_json(group), indent=2))
    else:
        print(_table(group))
    return 0
