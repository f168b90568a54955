"""What ``bench --vs`` and ``calibrate`` share: the rounds budget flags, the ``--vs`` members,
and the table / JSON of a measured group."""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

from tabulate import tabulate

from profiler.commands._common import finite_float, parse_key_values
from profiler.errors import InvalidOptionError, one_line
from profiler.measure.timing.calibration_store import load_prior, machine_key
from profiler.output.display import ratio_with_interval
from profiler.plan.budget import DEFAULT_PROCESSES, GroupBudget
from profiler.report.interference import disturbed_share
from profiler.results.bench import BenchResult
from profiler.results.envelope import CaseRecord
from profiler.results.group import GroupResult
from profiler.rounds import (
    DEFAULT_BLOCK_TIME,
    DEFAULT_GROUP_TIME,
    DEFAULT_MAX_ROUNDS,
    DEFAULT_MIN_ROUNDS,
    DEFAULT_TARGET_HALF_WIDTH,
    ORDERS,
    PairingSettings,
)
from profiler.spec import BenchSpec, Workload, thaw_options
from profiler.stats import BetweenPrior

__all__ = [
    "add_pairing_arguments",
    "budget_from_args",
    "comparison_json",
    "comparison_table",
    "member_name",
    "pairing_from_args",
    "pairing_given",
    "rounds_line",
    "split_member",
    "stored_prior",
    "variance_text",
    "vs_specs",
]


_FLAGS = {"block_time": "--block-time", "min_rounds": "--min-rounds",
          "max_rounds": "--max-rounds", "group_time": "--group-time", "target": "--target",
          "order": "--order", "seed": "--seed", "processes": "--processes"}


def add_pairing_arguments(parser: argparse.ArgumentParser) -> None:
    """The rounds engine's budget: block and group time, rounds, target, order, seed (None
    when not given: :func:`pairing_from_args` fills the engine's defaults)."""
    group = parser.add_argument_group("interleaved rounds (--vs, calibrate)")
    group.add_argument("--block-time", type=finite_float, metavar="S",
                       help=f"seconds of steps per member per round (default "
                       f"{DEFAULT_BLOCK_TIME:g}; at least one step)")
    group.add_argument("--min-rounds", type=int, metavar="N",
                       help=f"rounds always run (default {DEFAULT_MIN_ROUNDS})")
    group.add_argument("--max-rounds", type=int, metavar="N",
                       help=f"rounds at most (default {DEFAULT_MAX_ROUNDS})")
    group.add_argument("--group-time", type=finite_float, metavar="S",
                       help=f"seconds of rounds before stopping short of the target (default "
                       f"{DEFAULT_GROUP_TIME:g})")
    group.add_argument("--target", type=finite_float, metavar="PP",
                       help="stop once every ratio's 95%% interval is narrower than +-PP "
                       f"percentage points (default {100 * DEFAULT_TARGET_HALF_WIDTH:g})")
    group.add_argument("--order", choices=ORDERS,
                       help="member order per round: shuffled afresh (default) or alternating")
    group.add_argument("--seed", type=int, metavar="N",
                       help="seed of the shuffle (default: drawn, and recorded)")
    group.add_argument("--processes", type=int, metavar="N",
                       help=f"fresh worker processes timing the group one after another, "
                       f"splitting --group-time (default {DEFAULT_PROCESSES} for --vs, 1 for "
                       "calibrate); 1 times in this process. The interval is built on the "
                       "per-process ratios, widened by the between-process spread from "
                       "'calibrate --processes' (or a default) below 10 processes")


def pairing_given(args: argparse.Namespace) -> list[str]:
    """The rounds flags given on the command line."""
    return [flag for name, flag in _FLAGS.items() if getattr(args, name, None) is not None]


def budget_from_args(args: argparse.Namespace, settings: PairingSettings,
                     default: int = DEFAULT_PROCESSES) -> GroupBudget:
    """The group's budget: ``--processes`` (default ``default``) splitting the settings'
    group time and rounds (:meth:`GroupBudget.split`)."""
    processes = default if args.processes is None else args.processes
    if processes < 1:
        raise InvalidOptionError(f"--processes {processes}: need at least 1 process")
    return GroupBudget.split(settings.group_time, settings.min_rounds, settings.max_rounds,
                             processes)


def stored_prior(spec: BenchSpec) -> BetweenPrior | None:
    """This machine's between-process spread from ``calibrate --processes`` (None: none)."""
    return load_prior(machine_key(spec.device, spec.threads))


def pairing_from_args(args: argparse.Namespace) -> PairingSettings:
    target = None if args.target is None else args.target / 100.0
    return PairingSettings.given(block_time=args.block_time, min_rounds=args.min_rounds,
                                 max_rounds=args.max_rounds, group_time=args.group_time,
                                 target_half_width=target, order=args.order)


def member_name(workload: Workload) -> str:
    """``none``, the attention or the block: how a member is named in tables and JSON."""
    name = workload.block if workload.block is not None else workload.attention or "none"
    return f"{name}[{workload.options_text}]" if workload.options else name


def split_member(value: str) -> tuple[str, dict[str, Any]]:
    """``NAME`` or ``NAME[KEY=VALUE;KEY=VALUE]`` -> the name and its options (values as
    ``--attention-option`` reads them: ``k_size=3,5,5,7`` is a list)."""
    name, bracket, rest = value.partition("[")
    if not bracket:
        return value, {}
    if not rest.endswith("]") or not name or "[" in rest or "]" in rest[:-1]:
        raise InvalidOptionError(f"--vs {value}: malformed member; expected NAME or "
                                 "NAME[KEY=VALUE;KEY=VALUE], like eca[k_size=3,5,5,7]")
    items = [item.strip() for item in rest[:-1].split(";") if item.strip()]
    return name, parse_key_values(items, f"--vs {value}")


def _model_member(spec: BenchSpec, value: str) -> Workload:
    from profiler.models import MODELS

    value, options = split_member(value)
    model, plus, attention = value.partition("+")
    if plus:
        if model != spec.workload.model:
            raise InvalidOptionError(f"--vs {value}: a different model ({model!r}); --vs "
                                     f"compares attention on {spec.workload.model!r}: give an "
                                     "attention block, none or module:attr")
        value = attention
    elif value in MODELS and not _is_block(value):
        raise InvalidOptionError(f"--vs {value}: {value!r} is a model, not an attention block; "
                                 f"--vs compares attention on {spec.workload.model!r}")
    name = None if value.lower() == "none" else value
    if name is not None:
        _check_block_name(name)
        _check_member_options(value, name, options)
    elif options:
        raise InvalidOptionError("--vs none[...]: no attention takes no options")
    assert spec.workload.model is not None
    return Workload.for_model(spec.workload.model, name, options or None,
                              spec.workload.input_shape)


def _built(workload: Workload, text: str | None) -> str | None:
    """Build ``workload`` once, before anything is timed, and return what it built as text
    (``repr``: layers and every registry block's options, like ``reduction=16``).

    A member (``text``: its ``--vs`` value) that cannot be built is refused: its options are
    checked exactly as ``--attention-option``'s (one line, exit 2), and a block with a wrong
    signature or calling ``sys.exit`` too. The baseline (``text`` None) is not refused here:
    its timing run reports its failure. None also for a user's own block, whose ``repr`` need
    not show its options (two such members are never taken for the same module)."""
    from profiler.measure.workload import build_module
    from profiler.registry import is_import_path
    from profiler.signals import user_code

    try:
        with user_code(text or workload.label):
            module = build_module(workload)
    except Exception as exc:
        if text is None:
            return None
        if isinstance(exc, InvalidOptionError):
            raise InvalidOptionError(f"--vs {text}: {exc}") from None
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidOptionError(f"--vs {text}: cannot be built: {first}") from None
    name = workload.block if workload.block is not None else workload.attention
    return None if name is not None and is_import_path(name) else repr(module)


def _is_block(name: str) -> bool:
    from profiler.blocks import BLOCKS

    return name in BLOCKS


def _check_block_name(name: str) -> None:
    from profiler.blocks import BLOCKS
    from profiler.registry import is_import_path, load_object

    if is_import_path(name):
        load_object(name)
        return
    if name not in BLOCKS:
        raise InvalidOptionError(f"--vs {name}: unknown attention block {name!r}; valid: "
                                 f"{', '.join(BLOCKS.names())}, none or package.module:attr")


def _output_shape(workload: Workload) -> tuple[int, ...]:
    import torch

    from profiler.measure.workload import build_module
    from profiler.signals import user_code

    channels, height, width = workload.input_shape
    try:
        with user_code(f"block {workload.block!r}"), torch.no_grad():
            module = build_module(workload).eval()
            out = module(torch.zeros(1, channels, height, width))
    except Exception as exc:
        raise InvalidOptionError(f"block {workload.block!r} cannot run at C={channels}, "
                                 f"{height}x{width}: {one_line(exc, typed=False)}") from None
    return tuple(out.shape)


def _check_member_options(text: str, name: str, options: dict[str, Any]) -> None:
    """A member's options, checked before anything is built (one line naming the valid ones)."""
    from profiler.blocks import check_block_options
    from profiler.models.placement import STAGES_OPTION

    try:
        check_block_options(name, [key for key in options if key != STAGES_OPTION])
    except InvalidOptionError as exc:
        raise InvalidOptionError(f"--vs {text}: {exc}") from None


def _block_member(spec: BenchSpec, value: str, reference: tuple[int, ...]) -> Workload:
    value, options = split_member(value)
    if value.lower() == "none":
        raise InvalidOptionError("--vs none needs a MODEL (a block alone has no 'no attention' "
                                 "to compare with); give another block")
    _check_block_name(value)
    _check_member_options(value, value, options)
    workload = spec.workload
    assert workload.channels is not None
    other = Workload.for_block(value, workload.channels, workload.input_shape[1:],  # type: ignore[arg-type]
                               options or None)
    shape = _output_shape(other)
    if shape != reference:
        raise InvalidOptionError(f"--vs {value}: incompatible block shape: it maps "
                                 f"{(1, *workload.input_shape)} to {shape}, "
                                 f"{workload.block!r} to {reference}")
    return other


def vs_specs(spec: BenchSpec, values: list[str]) -> list[BenchSpec]:
    """The group: ``spec`` (the baseline) then one spec per ``--vs`` value (see the command's
    help for what is accepted); InvalidOptionError for anything that cannot be compared."""
    if spec.nproc > 1:
        raise InvalidOptionError("--vs times the members together in one process; it does not "
                                 "combine with --nproc")
    if spec.workload.is_block:
        reference = _output_shape(spec.workload)
        workloads = [_block_member(spec, v, reference) for v in values]
    else:
        workloads = [_model_member(spec, v) for v in values]
    specs = [spec, *(replace(spec, workload=w) for w in workloads)]
    seen: dict[str, str] = {}
    for member, text in zip(specs, ["the baseline", *(f"--vs {v}" for v in values)],
                            strict=True):
        if member.case_id in seen:
            raise InvalidOptionError(f"{text} is the same workload as {seen[member.case_id]} "
                                     f"({member.workload.label}): a group needs two different "
                                     "members")
        seen[member.case_id] = text
    _check_distinct_modules(specs, values)
    return specs


def _check_distinct_modules(specs: list[BenchSpec], values: list[str]) -> None:
    """Every member is built (:func:`_built`); two that build the same module (a default
    option spelled out: ``se`` and ``se[reduction=16]``) are refused like identical ones."""
    seen: dict[str, str] = {}
    for member, value in zip(specs, [None, *values], strict=True):
        signature = _built(member.workload, value)
        text = "the baseline" if value is None else f"--vs {value}"
        if signature is None:
            continue
        if signature in seen:
            raise InvalidOptionError(f"{text} builds the same module as {seen[signature]} "
                                     f"({member.workload.label}): a group needs two different "
                                     "members")
        seen[signature] = text


def rounds_line(group: GroupResult) -> str:
    """How the group was timed, in one line."""
    order = group.settings.get("order", "shuffle")
    how = f"shuffled, seed {group.seed}" if order == "shuffle" else "alternating"
    target = 100 * float(group.settings.get("target_half_width", DEFAULT_TARGET_HALF_WIDTH))
    timed = (f"interleaved: {group.rounds} rounds of {group.steps_per_round} step(s) per member "
             f"({how}), stopped: {group.stopped} (target ±{target:g} pp, "
             f"{group.rounds_s:.1f} s of rounds)")
    disturbed = f"; disturbed rounds: {disturbed_share(group)}"
    if not group.interval_method:
        return (f"{timed}; ratios: Hodges-Lehmann with the {100 * group.confidence:g}% "
                f"Wilcoxon signed-rank interval over rounds{disturbed}")
    builds = sum(p.builds for p in group.process_runs if p.status == "ok")
    rebuilt = (f" ({builds} fresh builds of the members)"
               if group.round_build and builds > group.processes else "")
    return (f"{timed} in {group.processes} process(es){rebuilt}; ratios: mean of per-process "
            f"Hodges-Lehmann estimates, "
            f"{100 * group.confidence:g}% t-interval with the process as a random effect; "
            f"{variance_text(group)}{disturbed}")


def variance_text(group: GroupResult) -> str:
    """Which between-process variance built the group's intervals, in a few words."""
    if group.interval_method == "processes":
        return "between-process variance from its processes"
    sd = group.between_prior_sd
    spread = "" if sd is None else f" (SD {100 * sd:.2g}%, {group.between_prior_df:g} df)"
    names = {"calibration": "this machine's 'calibrate --processes'", "pooled":
             "the run's groups, pooled", "default": "the default"}
    return (f"between-process variance from {names.get(group.interval_method, '?')}{spread}"
            " with the group's own")


def _result(record: CaseRecord) -> BenchResult | None:
    return record.result if isinstance(record.result, BenchResult) else None


def comparison_table(group: GroupResult, records: tuple[CaseRecord, ...]) -> str:
    """One row per member: throughput, step time, ratio to the baseline with its interval."""
    rows = []
    for i, (member, record) in enumerate(zip(group.members, records, strict=True)):
        result = _result(record)
        ratio = group.ratio_for(member.case_id) if i != group.baseline else None
        share = ("baseline" if i == group.baseline else "–" if ratio is None
                 else ratio_with_interval(ratio.throughput_ratio, ratio.ci_low, ratio.ci_high))
        rows.append((member.name,
                     "–" if result is None else f"{result.images_per_sec:.4g}",
                     "–" if result is None else f"{result.step_ms_median:.4g}",
                     share, str(member.status if member.status != "ok" else "ok")
                     + (f": {member.error}" if member.error else "")))
    base = group.members[group.baseline].name
    table = tabulate(rows, headers=("member", "images/s", "step ms", f"throughput vs {base} "
                                    f"[{100 * group.confidence:g}% CI]", "status"),
                     tablefmt="simple", disable_numparse=True)
    return f"{table}\n{rounds_line(group)}"


def _member_json(group: GroupResult, index: int, record: CaseRecord) -> dict[str, Any]:
    member = group.members[index]
    result = _result(record)
    workload = record.spec.workload
    plain = workload.block if workload.block is not None else workload.attention or "none"
    data: dict[str, Any] = {
        "attention": plain, "options": thaw_options(workload.options), "member": member.name,
        "label": record.spec.label, "case_id": member.case_id,
        "status": member.status, "error": member.error,
        "images_per_sec": None if result is None else result.images_per_sec,
        "step_ms_median": None if result is None else result.step_ms_median,
        "batch": member.batch,
    }
    if index != group.baseline:
        ratio = group.ratio_for(member.case_id)
        data.update({"throughput_ratio": None if ratio is None else ratio.throughput_ratio,
                     "ci_low": None if ratio is None else ratio.ci_low,
                     "ci_high": None if ratio is None else ratio.ci_high,
                     "rounds": 0 if ratio is None else ratio.rounds,
                     "half_width": None if ratio is None else ratio.half_width,
                     "rounds_disturbed": 0 if ratio is None else ratio.rounds_disturbed,
                     "ratio_all_rounds": None if ratio is None else ratio.ratio_all_rounds})
    return data


def comparison_json(group: GroupResult, records: tuple[CaseRecord, ...]) -> dict[str, Any]:
    """``{"baseline": {...}, "comparisons": [{"attention", "throughput_ratio", "ci_low",
    "ci_high", "rounds", ...}], "group": {...the group's record...}}``."""
    members = list(range(len(group.members)))
    return {
        "baseline": _member_json(group, group.baseline, records[group.baseline]),
        "comparisons": [_member_json(group, i, records[i]) for i in members
                        if i != group.baseline],
        "group": group.to_dict(),
    }
