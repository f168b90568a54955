"""``attnprof bench``: time one model (or one attention block) in one mode on one device.

Defaults (:mod:`profiler.defaults`): ``--mode infer --device cpu --batch 32 --dtype fp32
--min-time 1 --repeats 5 --warmup 3``, cuDNN benchmark on, torch's default CPU thread count,
memory measured. The timing rules are those of :mod:`profiler.measure.timing.loop`.
``--format json`` prints one JSON object: the result fields (``images_per_sec``,
``images_per_sec_iqr``, ``step_ms_median``, ``samples`` in seconds, ``peak_memory_bytes``,
...), plus ``case_id``, ``spec`` and ``environment``. ``-o`` writes a result file with this
one case, in the suite runner's schema (an existing file only with ``--overwrite``; if it
cannot be written, its content goes to stdout). On the CPU the memory guard refuses a step
whose estimated peak exceeds ``--max-memory`` (default: the available memory) before it runs.
Exit 0 on success, 2 with a one-line message on bad input, a missing device or out of memory
(with ``-o`` the file then records the case as ``oom``).

``--vs B`` (repeatable) times MODEL with ``--attention A`` and with each B as one comparison
group, in interleaved rounds (:mod:`profiler.rounds`), and prints each B's
``throughput_ratio`` to A with its 95% interval; ``--format json`` gives ``{"baseline": {...},
"comparisons": [{"attention", "throughput_ratio", "ci_low", "ci_high", "rounds", ...}],
"group": {...}}``. A member that fails or runs out of memory (the memory guard's refusal
included, and one whose model calls ``sys.exit``) is listed with its status and the others
are still measured; the table (or JSON) is printed, then one error line names the failed
members and the exit status is 2. Members are built once before anything is timed, so that a
bad member option is refused like ``--attention-option``'s (exit 2, nothing timed).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from tabulate import tabulate

from profiler import defaults
from profiler.commands._common import (
    add_workload_arguments,
    finite_float,
    warn_interference,
    workload_from_args,
    write_single_case,
)
from profiler.commands._paired import (
    add_pairing_arguments,
    comparison_json,
    comparison_table,
    member_name,
    pairing_from_args,
    pairing_given,
    vs_specs,
)
from profiler.commands._safety import (
    add_case_output_arguments,
    add_max_memory_argument,
    check_output_argument,
    memory_limit,
)
from profiler.devices import MEASURE_CHOICES
from profiler.errors import InvalidOptionError, MeasurementError, OutOfMemoryError
from profiler.measure.case import run_case
from profiler.results.bench import BenchResult
from profiler.results.envelope import CaseRecord, utc_now
from profiler.results.environment import Environment
from profiler.spec import DTYPES, MODES, BenchSpec
from profiler.stats import NOISY_IQR_RATIO
from profiler.units import scale

__all__ = ["add_run_arguments", "register", "render_table", "run", "spec_from_args"]

def add_run_arguments(parser: argparse.ArgumentParser,
                      batch: int = defaults.TIMING_BATCH) -> None:
    """How a step runs: mode, device, batch, dtype, layout, compile, cuDNN, threads."""
    parser.add_argument("--mode", choices=MODES, default=defaults.MODE,
                        help="infer (eval, inference_mode) or train (forward, cross-entropy, "
                        f"backward, SGD); default {defaults.MODE}")
    parser.add_argument("--device", default=defaults.DEVICE, metavar="DEVICE",
                        help=f"{MEASURE_CHOICES} (default {defaults.DEVICE})")
    parser.add_argument("--batch", type=int, default=batch, metavar="N",
                        help=f"batch size (per process with --nproc; default {batch})")
    parser.add_argument("--dtype", choices=DTYPES, default=defaults.DTYPE,
                        help="fp32, or fp16/bf16 mixed precision (autocast; a --block is cast "
                        f"to the dtype); default {defaults.DTYPE}")
    parser.add_argument("--channels-last", action="store_true",
                        help="model and input in torch.channels_last memory format")
    parser.add_argument("--compile", action="store_true",
                        help="torch.compile the model (warm-up runs past compilation)")
    parser.add_argument("--cudnn-benchmark", action=argparse.BooleanOptionalAction, default=True,
                        help="cuDNN autotuning during the run (default on; restored after)")
    parser.add_argument("--threads", type=int, metavar="N",
                        help="CPU threads (torch.set_num_threads; restored after)")
    add_max_memory_argument(parser)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench", help="time training or inference throughput and peak memory",
        description="Time MODEL (or one --block) with warm-up until settled, CUDA events or "
        "perf_counter, raw samples with median/IQR/CV, and peak memory. Exit 2 with one line "
        "on bad input, a missing device, or out of memory.")
    add_workload_arguments(parser)
    add_run_arguments(parser)
    parser.add_argument("--min-time", type=finite_float, default=defaults.MIN_TIME, metavar="S",
                        help=f"seconds of measured steps per repeat (default "
                        f"{defaults.MIN_TIME:g})")
    parser.add_argument("--repeats", type=int, default=defaults.REPEATS, metavar="R",
                        help=f"independent repeats of --min-time (default {defaults.REPEATS})")
    parser.add_argument("--warmup", type=int, default=defaults.WARMUP, metavar="N",
                        help="warm-up steps at least; more until step times settle (default "
                        f"{defaults.WARMUP})")
    parser.add_argument("--nproc", type=int, default=1, metavar="N",
                        help="data-parallel training on N processes (torchrun + DDP; gloo on "
                        "cpu, NCCL on cuda, rank i on cuda:i); --batch is per process")
    parser.add_argument("--oom-retry", action="store_true",
                        help="after out of memory, halve the batch until it fits")
    parser.add_argument("--memory", action=argparse.BooleanOptionalAction, default=True,
                        help="measure peak memory (on cpu: one extra short run in a child "
                        "process; default on)")
    parser.add_argument("--vs", action="append", metavar="B",
                        help="also time B and compare: MODEL with --attention A and with B "
                        "timed together in interleaved rounds; prints B's throughput ratio to "
                        "A with its 95%% interval. Repeatable. B: an attention block, none, "
                        "MODEL+block or package.module:attr, with its own options as "
                        "B[KEY=VALUE;KEY=VALUE] (quote it: 'eca[k_size=3,5,5,7]'; "
                        "--attention-option applies to A only); with --block, another block at "
                        "the same shape")
    parser.add_argument("--format", choices=("table", "json"), default="table",
                        help="table (default) or one JSON object")
    add_case_output_arguments(parser)
    add_pairing_arguments(parser)
    parser.set_defaults(func=run)


def spec_from_args(args: argparse.Namespace) -> BenchSpec:
    """The BenchSpec the arguments describe (bench-only ones default when absent)."""
    return BenchSpec(
        workload=workload_from_args(args), mode=args.mode, device=args.device,
        batch=args.batch, dtype=args.dtype, channels_last=args.channels_last,
        compile=args.compile, cudnn_benchmark=args.cudnn_benchmark, threads=args.threads,
        min_time=getattr(args, "min_time", defaults.MIN_TIME),
        repeats=getattr(args, "repeats", defaults.REPEATS),
        warmup=getattr(args, "warmup", defaults.WARMUP), nproc=getattr(args, "nproc", 1),
        memory=getattr(args, "memory", True), oom_retry=getattr(args, "oom_retry", False),
    )


def _environment(spec: BenchSpec) -> Environment:
    from profiler.measure.device import cudnn_benchmark, torch_threads  # torch: import when run
    from profiler.measure.env import collect_environment

    with torch_threads(spec.threads), cudnn_benchmark(spec.cudnn_benchmark):
        return collect_environment(spec.device)


def _number(value: float) -> str:
    return f"{value:.4g}"


def _bytes(value: int | None) -> str:
    if value is None:
        return "-"
    number, prefix = scale(value, "binary")
    return f"{number:.3g} {prefix}B"


def _rows(result: BenchResult) -> list[tuple[str, str]]:
    count = len(result.samples)
    rows = [
        ("images/s (median)", _number(result.images_per_sec)),
        ("images/s IQR", f"{_number(result.images_per_sec_iqr)} (CV "
                         f"{result.images_per_sec_cv:.1%})"),
        ("step time (median)", f"{_number(result.step_ms_median)} ms (IQR "
                               f"{_number(result.step_ms_iqr)} ms)"),
        ("samples", f"{count} = {result.repeats} repeats x {result.steps_per_repeat} steps, "
                    f"after {result.warmup_steps} warm-up steps ({result.clock})"),
        ("batch", str(result.batch) if result.batch == result.requested_batch
         else f"{result.batch} (asked {result.requested_batch}; lowered to fit in memory)"),
        ("peak memory", f"{_bytes(result.peak_memory_bytes)} ({result.memory_method})"),
        ("static memory", _bytes(result.static_memory_bytes)),
        ("activation memory", _bytes(result.activation_memory_bytes)),
    ]
    if result.reserved_memory_bytes is not None:
        rows.append(("reserved memory", _bytes(result.reserved_memory_bytes)))
    if result.min_bytes_formula:
        rows.append(("min bytes moved", f"{_bytes(result.min_bytes)} "
                                        f"({result.min_bytes_formula})"))
    if result.achieved_gbps is not None:
        rows.append(("achieved bandwidth", f"{_number(result.achieved_gbps)} GB/s"))
    if result.copy_gbps is not None:
        rows.append(("copy bandwidth", f"{_number(result.copy_gbps)} GB/s"))
    if result.fraction_of_copy is not None:
        rows.append(("fraction of copy", f"{result.fraction_of_copy:.1%}"))
    for rank in result.per_rank:
        rows.append((f"rank {rank.rank}", f"{_number(rank.images_per_sec)} images/s, "
                                          f"{_number(rank.step_ms_median)} ms/step, peak "
                                          f"{_bytes(rank.peak_memory_bytes)}"))
    return rows


def render_table(spec: BenchSpec, result: BenchResult, environment: Environment) -> str:
    """A plain-text table of one result (units in the cells)."""
    title = spec.label + (f" x{result.nproc} processes" if result.nproc > 1 else "")
    lines = [title, tabulate(_rows(result), headers=("metric", "value"), tablefmt="simple"),
             environment.summary]
    if result.noisy:
        lines.append(f"noisy: IQR/median of images/s > {NOISY_IQR_RATIO:.0%}; rerun on a "
                     "quieter machine or with more --repeats")
    return "\n".join(lines)


def _json(spec: BenchSpec, result: BenchResult, environment: Environment) -> str:
    data: dict[str, Any] = {**result.to_dict(), "case_id": spec.case_id,
                            "spec": spec.to_dict(), "environment": environment.to_dict()}
    return json.dumps(data, indent=2)


def _run_group(args: argparse.Namespace, spec: BenchSpec) -> int:
    from profiler.measure.timing.group import measure_group
    from profiler.results.envelope import ResultFile, write_result_file

    specs = vs_specs(spec, list(args.vs))
    measured = measure_group(specs, pairing_from_args(args), baseline=0,
                             names=[member_name(s.workload) for s in specs], seed=args.seed,
                             memory_limit=memory_limit(args))
    environment = _environment(spec)
    if args.output is not None:
        from profiler.provenance import git_commit, tool_version

        written = ResultFile(environment=environment, tool_version=tool_version(),
                             git_commit=git_commit()).with_group(measured.group, measured.records)
        write_result_file(written, args.output, overwrite=args.overwrite)
        print(f"wrote {args.output}", file=sys.stderr)
    base = measured.records[0]
    if base.status != "ok":
        message = f"baseline {spec.workload.label}: {base.error}"
        raise (OutOfMemoryError(message, batch=spec.batch) if base.status == "oom"
               else MeasurementError(message))
    if args.format == "json":
        data = {**comparison_json(measured.group, measured.records),
                "environment": environment.to_dict()}
        print(json.dumps(data, indent=2))
    else:
        print(f"{spec.mode} b{spec.batch} {spec.dtype} {spec.device}: "
              f"{spec.workload.label} vs {', '.join(s.workload.label for s in specs[1:])}")
        print(comparison_table(measured.group, measured.records))
        print(environment.summary)
    warn_interference([measured.group.telemetry])
    failed = [f"{m.name}: {m.error or m.status}" for m in measured.group.members
              if m.status != "ok"]
    if failed:  # the table is printed; the exit status says a member failed
        raise MeasurementError(f"{len(failed)} member(s) of the group failed: "
                               + "; ".join(failed))
    return 0


def run(args: argparse.Namespace) -> int:
    spec = spec_from_args(args)
    check_output_argument(args.output, args)
    if args.vs:
        return _run_group(args, spec)
    given = pairing_given(args)
    if given:
        raise InvalidOptionError(f"{', '.join(given)} apply with --vs (interleaved rounds of a "
                                 "comparison group), not to one workload timed alone")
    started, clock = utc_now(), time.perf_counter()
    try:
        record = run_case(spec, catch=False, memory_limit=memory_limit(args))
    except OutOfMemoryError as exc:
        if args.output is not None:
            oom = CaseRecord(spec=spec, status="oom", error=str(exc), started_utc=started,
                             duration_s=time.perf_counter() - clock)
            write_single_case(args.output, oom, _environment(spec), args.overwrite)
        raise
    environment = _environment(spec)
    if args.output is not None:
        write_single_case(args.output, record, environment, args.overwrite)
    assert isinstance(record.result, BenchResult)
    if args.format == "json":
        print(_json(spec, record.result, environment))
    else:
        print(render_table(spec, record.result, environment))
    return 0
