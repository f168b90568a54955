"""``attnprof calibrate``: how noisy is this machine? An A/A run of one workload.

The same workload (default: ResNet-18 inference at batch 8) is built twice and timed against
itself as one comparison group, in interleaved rounds with the default budget
(:mod:`profiler.rounds`). Its throughput ratio should be 1: the printed interval is
how far this machine's noise moves a ratio at this budget, and ``min_detectable_slowdown``
the smallest slowdown such a run detects in 80% of runs (:func:`~profiler.stats.
min_detectable_change`: 1.43 interval half-widths). An interval that excludes 1 means the
machine drifted unevenly (or is busy in bursts): rerun, and distrust small differences.

``-o FILE`` writes a result file holding the calibration; ``--into RESULT.json`` adds it to an
existing result file, so that ``attnprof report`` prints it beside the figures it qualifies.
``--into`` keeps every calibration the file holds (one per workload and date, newest first:
a second calibration of the same workload is added, not swapped in), keeps every field of the
file this version does not know (top level, cases, environment), and refuses (exit 2) a file
measured on another machine or device (CPU model, device, GPU, torch version: the difference
is named) unless ``--force``: its report would show this machine's noise as that file's.
Exit 0, or 2 on bad input or when the workload fails (``sys.exit`` in it included).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from profiler.commands._common import (
    add_workload_arguments,
    warn_interference,
    workload_from_args,
)
from profiler.commands._paired import (
    add_pairing_arguments,
    budget_from_args,
    pairing_from_args,
    rounds_line,
)
from profiler.commands._safety import (
    add_overwrite_argument,
    check_output_argument,
    memory_limit,
    output_path,
)
from profiler.commands.bench import add_run_arguments
from profiler.errors import InvalidOptionError, MeasurementError
from profiler.measure.timing.calibration_store import machine_key, store_prior
from profiler.output import hold_lock, write_output
from profiler.output.display import ratio_with_interval
from profiler.report.ratios import stored_interval
from profiler.results.envelope import (
    ResultFile,
    load_result_file,
    read_json_file,
    utc_now,
    write_result_file,
)
from profiler.results.environment import Environment
from profiler.results.group import GroupResult
from profiler.spec import BenchSpec
from profiler.stats import BetweenPrior

__all__ = ["DEFAULT_MODEL", "between_prior", "calibration_json", "machine_difference",
           "register", "run"]

DEFAULT_MODEL = "resnet18"
DEFAULT_BATCH = 8


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "calibrate", help="A/A run: this machine's timing noise at the default budget",
        description="Time one workload against itself (the same model built twice, "
        "interleaved rounds) and report the A/A throughput ratio's 95% interval and the "
        "smallest slowdown the default budget can detect here. By default both copies run in "
        "this process: differences between processes (a few points on some machines) are not "
        "in it; --processes N (N >= 2) times the pair in N fresh processes one after another, "
        "measures the between-process spread and stores it for this machine "
        "($XDG_CACHE_HOME/attnprof/between-process.json), where 'bench --vs' and suite runs "
        "take it for groups timed in fewer than 10 processes. Default workload: "
        f"{DEFAULT_MODEL} inference at batch {DEFAULT_BATCH}.",
        epilog="-o FILE writes a result file holding the calibration; --into RESULT.json adds "
        "it to an existing result file (keeping every earlier calibration, newest first, and "
        "every field it holds), and 'attnprof report' prints it beside the figures it "
        "qualifies; a file from another machine or device is refused unless --force. Exit 0, "
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
    parser.add_argument("--force", action="store_true",
                        help="with --into: add the calibration even though the file was "
                        "measured on another machine or device")
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
            "rounds": ratio.rounds, "rounds_disturbed": ratio.rounds_disturbed,
            "significant": significant,
            "min_detectable_slowdown": group.min_detectable_slowdown,
            "steps_per_round": group.steps_per_round, "stopped": group.stopped,
            "seed": group.seed, "settings": dict(group.settings),
            "processes": group.processes,
            "process_ratios": list(ratio.process_ratios) or None,
            "within_sd": ratio.within_sd, "between_sd": ratio.between_sd}


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
    if data["between_sd"] is not None:
        lines.insert(3, f"between-process SD of a ratio: {100 * data['between_sd']:.2g}% over "
                     f"{group.processes} processes (within one process, one round: "
                     f"{100 * (data['within_sd'] or 0.0):.2g}%)")
    return "\n".join(lines)


def _write(target: Path, group: GroupResult, spec: BenchSpec, overwrite: bool) -> None:
    from profiler.measure.env import collect_environment
    from profiler.provenance import git_commit, tool_version

    base = ResultFile(environment=collect_environment(spec.device),
                      tool_version=tool_version(), git_commit=git_commit())
    write_result_file(base.with_group(group), target, overwrite=overwrite)
    print(f"wrote {target}", file=sys.stderr)


# What makes a file another machine's: (field, how it is named in the error).
_MACHINE_FIELDS: tuple[tuple[str, str], ...] = (
    ("device", "device"), ("cpu_model", "CPU model"), ("device_name", "device model"),
    ("torch_version", "torch version"))


def machine_difference(theirs: Environment, ours: Environment) -> str | None:
    """How the file's machine differs from this one (None: the same, as far as recorded)."""
    for name, what in _MACHINE_FIELDS:
        a, b = str(getattr(theirs, name) or ""), str(getattr(ours, name) or "")
        if name == "device":
            a, b = a.partition(":")[0], b.partition(":")[0]
        if a and b and a != b:
            return f"{what} {a!r} in the file, {b!r} here"
    return None


def _stamped(group: GroupResult, taken: set[str]) -> GroupResult:
    """The calibration under an id of its own when the file holds one of the same workload
    (keyed by workload and date: ``group-<hash>-<UTC time>``)."""
    if group.group_id not in taken:
        return group
    stamp = "".join(ch for ch in group.started_utc if ch.isalnum()) or str(len(taken))
    candidate, n = f"{group.group_id}-{stamp}", 1
    while candidate in taken:
        candidate, n = f"{group.group_id}-{stamp}-{n}", n + 1
    return replace(group, group_id=candidate)


def _keep_unknown(written: dict[str, Any], original: dict[str, Any]) -> dict[str, Any]:
    """``written`` with every field of ``original`` it lacks: top level, environment, and
    each case's (matched by case id)."""
    merged = {**written, **{k: v for k, v in original.items() if k not in written}}
    env = original.get("environment")
    if isinstance(env, dict) and isinstance(merged.get("environment"), dict):
        merged["environment"] = {**merged["environment"],
                                 **{k: v for k, v in env.items() if k not in merged["environment"]}}
    old_cases = {c.get("case_id"): c for c in original.get("cases") or [] if isinstance(c, dict)}
    merged["cases"] = [{**case, **{k: v for k, v in old_cases.get(case.get("case_id"), {}).items()
                                   if k not in case}} for case in merged.get("cases") or []]
    return merged


def _add_into(target: Path, base: ResultFile, group: GroupResult) -> None:
    """Add ``group`` to ``target`` before its earlier calibrations, keeping everything else."""
    original = read_json_file(target)
    group = _stamped(group, {g.group_id for g in base.groups})
    first = next((i for i, g in enumerate(base.groups) if g.kind == "calibration"),
                 len(base.groups))
    groups = (*base.groups[:first], group, *base.groups[first:])
    updated = replace(base, groups=groups, updated_utc=utc_now())
    data = _keep_unknown(updated.to_dict(), original)
    text = json.dumps(data, indent=2) + "\n"
    write_output(target, text, overwrite=True, unsaved=text)
    print(f"wrote {target}", file=sys.stderr)


def _check_machine(target: Path, base: ResultFile, spec: BenchSpec, force: bool) -> None:
    from profiler.measure.env import collect_environment

    difference = machine_difference(base.environment, collect_environment(spec.device))
    if difference is not None and not force:
        raise InvalidOptionError(f"--into {target}: the file was measured on another machine "
                                 f"or device ({difference}); its report would show this "
                                 "machine's noise as that file's: pass --force to add it anyway")


def _measure(args: argparse.Namespace, spec: BenchSpec) -> GroupResult:
    settings = pairing_from_args(args)
    budget = budget_from_args(args, settings, default=1)
    if budget.processes == 1:
        from profiler.measure.timing.group import measure_group

        return measure_group([spec, spec], settings, kind="calibration", names=["A", "A'"],
                             seed=args.seed, memory_limit=memory_limit(args)).group
    from profiler.measure.timing.replicate import measure_replicated

    return measure_replicated([spec, spec], replace(budget, measure_memory=False), settings,
                              kind="calibration", names=["A", "A'"], seed=args.seed,
                              memory_limit=memory_limit(args)).group


def between_prior(group: GroupResult) -> BetweenPrior | None:
    """The between-process spread a calibration across processes measured (None: one
    process, or its processes gave no spread)."""
    (ratio,) = group.ratios
    timed = sum(1 for run in group.process_runs if run.status == "ok" and run.rounds)
    if ratio.between_sd is None or timed < 2:
        return None
    return BetweenPrior(ratio.between_sd, float(timed - 1), "calibration")


def _calibrate(args: argparse.Namespace, spec: BenchSpec) -> GroupResult:
    group = _measure(args, spec)
    failed = next((m for m in group.members if m.status != "ok"), None)
    if group.status != "ok" or failed is not None:
        why = (f"{failed.status}: {failed.error}" if failed is not None
               else f"{group.status}: {group.error}")
        raise MeasurementError(f"calibrate {spec.workload.label}: {why}")
    prior = between_prior(group)
    if prior is not None:
        stored = store_prior(machine_key(spec.device, spec.threads), prior, spec.label,
                             group.started_utc)
        print(f"stored this machine's between-process spread in {stored}", file=sys.stderr)
    return group


def run(args: argparse.Namespace) -> int:
    spec = _spec(args)
    if args.into is not None:
        # the file is read, measured into and rewritten under its lock: no other writer between
        with hold_lock(args.into):
            base = load_result_file(args.into)
            _check_machine(args.into, base, spec, args.force)
            group = _calibrate(args, spec)
            _add_into(args.into, base, group)
    else:
        check_output_argument(args.output, args)
        group = _calibrate(args, spec)
        if args.output is not None:
            _write(args.output, group, spec, overwrite=args.overwrite)
    if args.format == "json":
        print(json.dumps(calibration_json(group), indent=2))
    else:
        print(_table(group))
    warn_interference([group.telemetry])
    return 0
