"""``attnprof breakdown``: where one step's time goes, part by part, beside FLOPs and bytes.

Warms the step up under the timing harness's rules, times a few steps without the profiler
(``step_ms``, the cross-check; half before and half after the profiled window), then profiles
a short window (torch.profiler; CPU, and CUDA on a GPU) and attributes every operation's self
time to a part of the model: layers by kind (convolution, batch norm, activation, pooling,
classifier), the operations inside attention blocks (pooling, 1-D conv / FC, sigmoid, rescale,
other), other model ops, loss, optimizer and unattributed time
(:mod:`profiler.measure.breakdown.harness`). On the CPU the profiler's cost per recorded event is
calibrated on a probe network in the same run and taken out of the parts
(:mod:`profiler.measure.breakdown.compensation`). Each part also gets its share of the FLOPs
(fvcore, forward) and of the minimal memory traffic (:mod:`profiler.measure.breakdown.traffic`).

Defaults: ``--mode infer --device cpu --batch 4 --dtype fp32 --warmup 3 --timed-steps 3
--profiled-steps 2``. ``--format json`` prints one object: ``step_ms``, ``parts`` (each with
``part``, ``ms``, ``time_share``, ``flops_share``, ``bytes_share``, ...),
``attention_time_share``, ``attention_flops_share`` and the rest of the result, plus
``case_id``, ``spec`` and ``environment``; ``-o`` writes a result file with this one case.
Exit 0 on success, 2 with one line on bad input (``--compile``, ``--nproc``...), a missing
device or out of memory.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from tabulate import tabulate

from profiler import defaults
from profiler.commands._common import (
    add_workload_arguments,
    workload_from_args,
    write_single_case,
)
from profiler.commands._safety import (
    add_case_output_arguments,
    check_output_argument,
    memory_limit,
)
from profiler.commands.bench import _environment as bench_environment
from profiler.commands.bench import add_run_arguments
from profiler.errors import InvalidOptionError
from profiler.measure.case import run_case
from profiler.output.display import FORMATS, percent
from profiler.results.breakdown import AGREEMENT_TOLERANCE, BreakdownResult
from profiler.results.environment import Environment
from profiler.spec import BreakdownSpec

__all__ = ["register", "render", "run", "spec_from_args"]



def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "breakdown", help="where a step's time goes: time vs FLOPs vs bytes per part",
        description="Profile a short window of MODEL's (or one --block's) steps after warm-up "
        "and split the step time among the model's parts (layers by kind, the operations "
        "inside attention blocks, loss, optimizer, unattributed), each beside its share of "
        "the FLOPs and of the minimal memory traffic. The profiler's own cost per recorded "
        "event is calibrated on a probe network in the same run and taken out of the parts "
        "(CPU). The step is also timed without the profiler: the parts must add up to it "
        "within 5%.")
    add_workload_arguments(parser)
    add_run_arguments(parser, batch=defaults.BREAKDOWN_BATCH)
    parser.add_argument("--warmup", type=int, default=defaults.WARMUP, metavar="N",
                        help="warm-up steps at least; more until step times settle "
                        f"(default {defaults.WARMUP})")
    parser.add_argument("--timed-steps", type=int, default=defaults.BREAKDOWN_TIMED_STEPS,
                        metavar="N", help="steps timed without the profiler: the cross-check "
                        f"(default {defaults.BREAKDOWN_TIMED_STEPS}, at most "
                        f"{defaults.MAX_TIMED_STEPS})")
    parser.add_argument("--profiled-steps", type=int, default=defaults.BREAKDOWN_PROFILED_STEPS,
                        metavar="N", help="steps profiled and attributed, after a window "
                        f"thrown away (default {defaults.BREAKDOWN_PROFILED_STEPS}, at most "
                        f"{defaults.MAX_PROFILED_STEPS}: each keeps its profiler events in "
                        "memory, counted by the memory guard)")
    parser.add_argument("--blocks", action="store_true",
                        help="also list every attention module of the model")
    parser.add_argument("--format", choices=("table", "markdown", "json"), default="table",
                        help="table (default), markdown, or one JSON object")
    add_case_output_arguments(parser)
    parser.set_defaults(func=run)


def spec_from_args(args: argparse.Namespace) -> BreakdownSpec:
    """The BreakdownSpec the arguments describe."""
    if args.compile:
        raise InvalidOptionError("--compile does not apply to breakdown: compiled graphs fuse "
                                 "operations across modules; breakdown attributes eager ops")
    return BreakdownSpec(
        workload=workload_from_args(args), mode=args.mode, device=args.device,
        batch=args.batch, dtype=args.dtype, channels_last=args.channels_last,
        cudnn_benchmark=args.cudnn_benchmark, threads=args.threads, warmup=args.warmup,
        timed_steps=args.timed_steps, profiled_steps=args.profiled_steps)


def _gbps(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def _part_rows(result: BreakdownResult) -> list[tuple[str, ...]]:
    rows = [(p.label, f"{p.ms:.4g}", percent(p.time_share), percent(p.flops_share),
             percent(p.bytes_share), _gbps(p.achieved_gbps)) for p in result.parts]
    if result.attention_parts:
        rows.append(("attention, all operations", f"{result.attention_ms:.4g}",
                     percent(result.attention_time_share), percent(result.attention_flops_share),
                     percent(result.attention_bytes_share), _gbps(result.attention_gbps)))
    if result.overhead_ms:
        rows.append(("profiled step, raw", f"{result.profiled_step_ms:.4g}", "-", "-", "-",
                     "-"))
        rows.append(("profiler overhead taken out", f"{-result.overhead_ms:.4g}", "-", "-",
                     "-", "-"))
    rows.append(("parts, in all" if result.overhead_ms else "profiled step",
                 f"{result.parts_ms:.4g}", "100%", "100%", "100%", "-"))
    return rows


def _block_rows(result: BreakdownResult) -> list[tuple[str, ...]]:
    return [(b.path or "(the block)", f"{b.ms:.4g}", percent(b.time_share), percent(b.flops_share),
             f"{b.bytes / 2**20:.3g}") for b in result.blocks]


def _notes(result: BreakdownResult) -> list[str]:
    within = "within" if result.agrees else "OUTSIDE"
    lines = [
        f"step time without the profiler: {result.step_ms:.4g} ms (median of "
        f"{len(result.samples)} steps around the profiled window); the parts add up to "
        f"{result.parts_ms:.4g} ms over {result.profiled_steps} profiled steps; leftover "
        f"{result.leftover_ms:+.3g} ms ({100 * result.leftover_share:+.1f}%, {within} "
        f"±{100 * AGREEMENT_TOLERANCE:.0f}%: drift between the timed and the profiled steps, "
        "calibration error)",
        _overhead_note(result),
        f"time: {result.time_source.replace('_', ' ')} per op, ms per step; FLOPs: fvcore, "
        "forward pass; bytes: least memory traffic per step (traffic model in "
        "profiler/measure/breakdown/traffic.py)",
    ]
    if result.attention_gbps is not None and result.copy_gbps:
        lines.append(f"attention ops move their least traffic at {result.attention_gbps:.3g} "
                     f"GB/s, {percent(result.attention_gbps / result.copy_gbps)} of this device's "
                     f"copy bandwidth ({result.copy_gbps:.3g} GB/s)")
    if not result.attention_parts:
        lines.append("no attention modules in this model: attention share 0")
    return lines


def _overhead_note(result: BreakdownResult) -> str:
    cost = result.profiler_overhead_us_per_op
    if cost is None:
        return ("profiler overhead: not taken out (parts are device kernel times); raw "
                f"profiled step {result.profiled_step_ms:.4g} ms")
    return (f"profiler overhead: {cost:.3g} µs per recorded event (median of "
            f"{len(result.overhead_rounds_us)} calibration rounds on a probe network), "
            f"{result.events_per_step:.0f} events per step: {result.overhead_ms:.3g} ms taken "
            f"out of the raw profiled step of {result.profiled_step_ms:.4g} ms, each event's "
            "cost from its parent's own time (leftover before: "
            f"{100 * result.raw_leftover_share:+.1f}%)")


def render(spec: BreakdownSpec, result: BreakdownResult, environment: Environment,
           fmt: str = "table", blocks: bool = False) -> str:
    """The breakdown as a plain-text (``table``) or markdown table with notes."""
    tablefmt = FORMATS[fmt]
    headers = ("part", "ms/step", "time", "FLOPs", "bytes", "GB/s")
    parts = [spec.label, tabulate(_part_rows(result), headers=headers, tablefmt=tablefmt,
                                  disable_numparse=True)]
    if blocks and result.blocks:
        parts.append(tabulate(_block_rows(result), headers=("attention module", "ms/step",
                                                            "time", "FLOPs", "MiB moved"),
                              tablefmt=tablefmt, disable_numparse=True))
    bullet = "- " if fmt == "markdown" else ""
    parts.append("\n".join(f"{bullet}{line}" for line in _notes(result)))
    parts.append(environment.summary)
    return "\n\n".join(parts) if fmt == "markdown" else "\n".join(parts)


def _json(spec: BreakdownSpec, result: BreakdownResult, environment: Environment) -> str:
    data: dict[str, Any] = {**result.to_dict(), "case_id": spec.case_id,
                            "spec": spec.to_dict(), "environment": environment.to_dict()}
    return json.dumps(data, indent=2)


def run(args: argparse.Namespace) -> int:
    spec = spec_from_args(args)
    check_output_argument(args.output, args)
    record = run_case(spec, catch=False, memory_limit=memory_limit(args))
    environment = bench_environment(spec.bench_spec())  # same threads, cuDNN flag, device
    if args.output is not None:
        write_single_case(args.output, record, environment, args.overwrite)
    assert isinstance(record.result, BreakdownResult)
    if args.format == "json":
        print(_json(spec, record.result, environment))
    else:
        print(render(spec, record.result, environment, args.format, args.blocks))
    return 0
