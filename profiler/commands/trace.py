"""``attnprof trace``: record torch.profiler traces of a model's steps (Chrome trace JSON).

Runs ``(wait + warmup + active) * repeat`` steps of the same step ``attnprof bench`` times
under ``torch.profiler`` (shapes and memory recorded) and writes one Chrome trace per cycle
into ``--logdir`` with ``tensorboard_trace_handler``. Open a trace in https://ui.perfetto.dev,
analyse the folder with Holistic Trace Analysis, or ``tensorboard --logdir DIR`` where
torch-tb-profiler still installs (deprecated upstream). ``--memory`` (CUDA only; exit 2 on the
CPU) also dumps the CUDA allocator's history for https://pytorch.org/memory_viz. Defaults:
``--mode infer --device cpu --batch 8 --wait 1 --warmup 1 --active 3 --repeat 1``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from profiler.commands._common import add_workload_arguments
from profiler.commands._safety import memory_limit
from profiler.commands.bench import add_run_arguments, spec_from_args

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "trace", help="write torch.profiler traces (Perfetto, HTA, TensorBoard)",
        description="Profile MODEL's (or one --block's) steps with torch.profiler "
        "(schedule wait/warmup/active, shapes, memory) and write Chrome trace JSON to LOGDIR "
        "(open in https://ui.perfetto.dev; TensorBoard's torch-tb-profiler, deprecated "
        "upstream, reads the same files).")
    add_workload_arguments(parser)
    add_run_arguments(parser, batch=8)
    parser.add_argument("--logdir", type=Path, required=True, metavar="DIR",
                        help="folder for the *.pt.trace.json files (created if missing)")
    parser.add_argument("--wait", type=int, default=1, metavar="N",
                        help="steps run before profiling starts (default 1)")
    parser.add_argument("--warmup", type=int, default=1, metavar="N",
                        help="profiled steps thrown away (default 1)")
    parser.add_argument("--active", type=int, default=3, metavar="N",
                        help="steps recorded per cycle (default 3)")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="cycles, one trace file each (default 1)")
    parser.add_argument("--with-stack", action="store_true",
                        help="record Python stacks (larger traces)")
    parser.add_argument("--gzip", action="store_true", help="write .pt.trace.json.gz")
    parser.add_argument("--memory", action="store_true",
                        help="also write a CUDA memory snapshot (<worker>.memory-snapshot."
                        "pickle) for https://pytorch.org/memory_viz; CUDA only")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from profiler.measure.breakdown.trace import (  # torch: import when run
        TraceSchedule,
        record_trace,
    )

    spec = spec_from_args(args)
    schedule = TraceSchedule(wait=args.wait, warmup=args.warmup, active=args.active,
                             repeat=args.repeat)
    result = record_trace(spec, args.logdir, schedule, with_stack=args.with_stack,
                          gzip=args.gzip, memory_limit=memory_limit(args),
                          memory=args.memory)
    print(f"traced {spec.label}: {result.steps} steps, {schedule.active * schedule.repeat} "
          f"recorded")
    for path in result.files:
        print(f"wrote {path}")
    if result.snapshot is not None:
        print(f"wrote {result.snapshot} (memory snapshot: drop it on "
              "https://pytorch.org/memory_viz)")
    print("view: open a trace in https://ui.perfetto.dev, or HTA "
          f"(TraceAnalysis(trace_dir='{result.logdir}')), or tensorboard --logdir "
          f"{result.logdir} (torch-tb-profiler, deprecated upstream)")
    return 0
