"""Profiler traces of a workload's steps: Chrome trace JSON for Perfetto, HTA and TensorBoard.

:func:`record_trace` runs the same step as the timing harness under ``torch.profiler`` with a
``schedule(wait, warmup, active, repeat)``: ``wait`` steps unprofiled, ``warmup`` steps
profiled and thrown away (the profiler's own start-up cost), then ``active`` steps recorded,
``repeat`` times. Each cycle is written as a Chrome trace ``<worker>.<time>.pt.trace.json``
(``.gz`` with ``gzip``; the names ``tensorboard_trace_handler`` gives) through
:func:`profiler.output.write_output`, with tensor shapes (``record_shapes``), allocations
(``profile_memory``) and, optionally, Python stacks. ``logdir`` is checked to be a writable
folder before any step runs, and a failed write is one error, not a silent loss; on the CPU
the memory guard (:mod:`profiler.measure.memory.guard`) checks the batch first.
The files are plain Chrome trace JSON (``{"traceEvents": [...]}``): https://ui.perfetto.dev
opens them, Holistic Trace Analysis reads the folder (``TraceAnalysis(trace_dir=LOGDIR)``),
and ``tensorboard --logdir LOGDIR`` shows them where torch-tb-profiler still installs (PyTorch
deprecated it; the file names are the ones it looks for). Each step is labelled
``attnprof_step`` (``record_function``). With ``memory`` (CUDA only) the CUDA allocator's
history over the run is dumped as ``<worker>.<time>.memory-snapshot.pickle`` for
https://pytorch.org/memory_viz (:mod:`profiler.measure.memory.snapshot`).
"""

from __future__ import annotations

import gzip
import platform
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile, record_function
from torch.profiler import schedule as make_schedule

from profiler.defaults import MAX_PROFILED_STEPS
from profiler.errors import (
    AttnprofError,
    InvalidOptionError,
    MeasurementError,
    OutputError,
    one_line,
)
from profiler.measure.device import cudnn_benchmark, resolve_device, torch_threads
from profiler.measure.kineto import quiet_kineto
from profiler.measure.memory.guard import MemoryPlan, check_profiler_memory, plan_memory
from profiler.measure.memory.snapshot import (
    SNAPSHOT_SUFFIX,
    check_snapshot_device,
    memory_history,
)
from profiler.measure.steps import prepare_step
from profiler.measure.timing.loop import is_oom, oom_error
from profiler.output import write_output
from profiler.signals import user_code
from profiler.spec import BenchSpec

__all__ = ["STEP_LABEL", "TraceResult", "TraceSchedule", "record_trace", "trace_files"]

STEP_LABEL = "attnprof_step"


@dataclass(frozen=True)
class TraceSchedule:
    """torch.profiler's schedule: steps skipped, warmed up and recorded, per cycle."""

    wait: int = 1
    warmup: int = 1
    active: int = 3
    repeat: int = 1

    def __post_init__(self) -> None:
        if self.wait < 0 or self.warmup < 0:
            raise InvalidOptionError("--wait and --warmup must be >= 0")
        if self.active < 1 or self.repeat < 1:
            raise InvalidOptionError("--active and --repeat must be >= 1")
        if self.steps > MAX_PROFILED_STEPS:
            raise InvalidOptionError(f"(--wait + --warmup + --active) x --repeat is "
                                     f"{self.steps} steps; at most {MAX_PROFILED_STEPS} are "
                                     "profiled (each step's events stay in memory)")

    @property
    def steps(self) -> int:
        return (self.wait + self.warmup + self.active) * self.repeat


@dataclass(frozen=True)
class TraceResult:
    """What a trace run wrote: the new trace files under ``logdir`` (and the CUDA memory
    snapshot, with ``memory``)."""

    logdir: Path
    files: tuple[Path, ...]
    steps: int
    worker: str
    snapshot: Path | None = None


def trace_files(logdir: Path) -> set[Path]:
    """The Chrome trace files in ``logdir`` (plain or gzipped)."""
    return set(logdir.glob("*.pt.trace.json")) | set(logdir.glob("*.pt.trace.json.gz"))


def _trace_writer(logdir: Path, worker: str, compress: bool) -> Callable[[profile], None]:
    """``on_trace_ready``: export the cycle's Chrome trace and write it into ``logdir``."""

    def write(prof: profile) -> None:
        name = f"{worker}.{time.time_ns()}.pt.trace.json" + (".gz" if compress else "")
        with tempfile.TemporaryDirectory(prefix="attnprof-trace-") as tmp:
            exported = Path(tmp) / "trace.json"
            prof.export_chrome_trace(str(exported))
            data = exported.read_bytes()
        write_output(logdir / name, gzip.compress(data) if compress else data)

    return write


def _check_logdir(folder: Path) -> None:
    """``folder`` exists (created if missing) and takes a new file."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise OutputError(f"cannot write traces into --logdir {str(folder)!r}: "
                          f"{exc.strerror or exc}") from None


def _record(spec: BenchSpec, device: torch.device, logdir: Path, schedule: TraceSchedule,
            worker: str, with_stack: bool, gzip: bool, snapshot: Path | None = None,
            plan: MemoryPlan | None = None) -> None:
    if snapshot is None:
        _profile(spec, device, logdir, schedule, worker, with_stack, gzip, plan)
        return
    with memory_history(snapshot):
        _profile(spec, device, logdir, schedule, worker, with_stack, gzip, plan)


def _profile(spec: BenchSpec, device: torch.device, logdir: Path, schedule: TraceSchedule,
             worker: str, with_stack: bool, gzip: bool, plan: MemoryPlan | None) -> None:
    activities = [ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(ProfilerActivity.CUDA)
    with torch_threads(spec.threads), cudnn_benchmark(spec.cudnn_benchmark), \
            warnings.catch_warnings(), quiet_kineto():
        # One file per cycle is the point of ``repeat``; torch warns that cycles do not
        # accumulate.
        warnings.filterwarnings("ignore", message=".*Profiler clears events")
        prepared = prepare_step(spec, device)
        # a cycle's recorded steps (warm-up and active) keep their events until it is written
        check_profiler_memory(spec, sum(1 for _ in prepared.module.modules()),
                              schedule.warmup + schedule.active, plan)
        with profile(
            activities=activities,
            schedule=make_schedule(wait=schedule.wait, warmup=schedule.warmup,
                                   active=schedule.active, repeat=schedule.repeat),
            on_trace_ready=_trace_writer(logdir, worker, gzip),
            record_shapes=True,
            profile_memory=True,
            with_stack=with_stack,
        ) as prof:
            for _ in range(schedule.steps):
                with record_function(STEP_LABEL):
                    prepared.run()
                prof.step()


def record_trace(spec: BenchSpec, logdir: str | Path, schedule: TraceSchedule | None = None,
                 with_stack: bool = False, gzip: bool = False,
                 worker: str | None = None, memory_limit: int | None = None,
                 memory: bool = False) -> TraceResult:
    """Profile ``schedule.steps`` steps of ``spec`` into ``logdir`` (created if missing);
    ``memory_limit`` bounds the CPU memory guard (bytes; None: the available memory);
    ``memory`` also writes a CUDA memory snapshot (a one-line error on another device)."""
    schedule = TraceSchedule() if schedule is None else schedule
    device = resolve_device(spec.device)
    if memory:
        check_snapshot_device(device)
    folder = Path(logdir)
    _check_logdir(folder)
    plan = plan_memory(spec, memory_limit) if device.type == "cpu" else None
    name = worker or f"{platform.node() or 'host'}_{spec.mode}"
    before = trace_files(folder)
    snapshot = folder / f"{name}.{time.time_ns()}{SNAPSHOT_SUFFIX}" if memory else None
    oom_detail: str | None = None
    try:
        with user_code(f"tracing {spec.label} failed"):
            _record(spec, device, folder, schedule, name, with_stack, gzip, snapshot, plan)
    except AttnprofError:
        raise
    except Exception as exc:
        if not is_oom(exc):
            raise MeasurementError(f"tracing {spec.label} failed: "
                                   f"{one_line(exc, typed=True)}") from exc
        oom_detail = one_line(exc, typed=False)
    if oom_detail is not None:
        raise oom_error(device, spec.batch, oom_detail)
    files = tuple(sorted(trace_files(folder) - before))
    return TraceResult(folder, files, schedule.steps, name, snapshot)
