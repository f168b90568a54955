"""The timing loop: every rule about how attnprof times a step lives here.

:func:`profiler.measure.timing.bench.bench` measures one :class:`~profiler.spec.BenchSpec` and
returns a :class:`~profiler.results.BenchResult`. The rules, in order:

1. Resolve the device (``cuda`` without CUDA: DeviceUnavailableError). Set the CPU thread
   count (``spec.threads``) and cuDNN's benchmark flag for the run; both are restored after.
2. Build the workload and its synthetic input on the device (:mod:`profiler.measure.steps`:
   inference under ``torch.inference_mode()`` in eval mode, training = forward,
   cross-entropy, backward, SGD).
3. Warm up: at least ``spec.warmup`` steps, then more until the step time settles (median of
   the last ``settle_window`` steps within ``settle_tolerance`` of the median of the window
   before, see :func:`profiler.stats.is_settled`), capped by ``max_warmup_steps`` and
   by ``max_settle_seconds`` spent after the mandatory steps. Slow first steps (lazy init,
   cuDNN autotuning, ``torch.compile``) keep the windows apart, so warm-up runs past them.
   (A slow phase that has itself gone flat for two windows looks settled: raise ``warmup``
   past a known long one.)
4. Calibrate: steps per repeat = enough steps of the settled step time to fill
   ``spec.min_time`` seconds, at least ``min_steps_per_repeat``.
5. Time ``spec.repeats`` repeats of that many steps with the device's clock (CUDA events
   around each step and one synchronize per repeat on a GPU; ``perf_counter`` on the CPU) and
   keep every step's time as a raw sample.
6. Memory (``spec.memory``): CUDA allocator counters around the run, or one extra short run in
   a child process on the CPU (:mod:`profiler.measure.memory.peak`).
7. A single block also gets its memory-traffic floor and achieved bandwidth against the
   device's copy bandwidth (:mod:`profiler.measure.timing.bandwidth`).

Out of memory (CUDA, or the CPU allocator refusing) becomes
:class:`~profiler.errors.OutOfMemoryError` with the batch and the free memory; with
``spec.oom_retry`` the batch is halved until it fits (the result keeps ``requested_batch``).
On the CPU, where the kernel's OOM killer would decide instead, the memory guard
(:mod:`profiler.measure.memory.guard`) first estimates the step's peak from a probe step and
refuses a batch that would exceed ``memory_limit`` (default: the available memory); with
``spec.oom_retry`` it starts at the largest batch that fits. ``memory_estimate_bytes`` keeps
the estimate.
``spec.nproc`` > 1 runs data-parallel training through torchrun
(:mod:`profiler.measure.timing.distributed`), with these same rules on every rank.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeVar

import torch

from profiler.errors import (
    AttnprofError,
    InvalidOptionError,
    MeasurementError,
    OutOfMemoryError,
    one_line,
)
from profiler.measure.device import (
    cudnn_benchmark,
    free_memory_bytes,
    torch_threads,
)
from profiler.measure.memory.peak import CudaMemoryProbe, MemoryFigures, measure_cpu_memory
from profiler.measure.steps import PreparedStep, prepare_step, static_memory_bytes, tensor_bytes
from profiler.measure.timing.bandwidth import achieved_gbps, copy_bandwidth, min_bytes
from profiler.measure.timing.clock import Clock, clock_for
from profiler.results.bench import BenchResult
from profiler.spec import BenchSpec
from profiler.stats import is_settled, median, steps_for_budget, summarize

__all__ = [
    "DEFAULT_POLICY",
    "BlockFigures",
    "TimingOutcome",
    "TimingPolicy",
    "bench_in_process",
    "bench_once",
    "bench_result",
    "block_figures",
    "child_memory",
    "is_oom",
    "oom_error",
    "run_guarded",
    "run_timing",
    "validate",
    "warm_up",
    "with_oom_retry",
]

Step = Callable[[], object]
Agree = Callable[[int], int]
_TORCH_OOM: type[BaseException] = getattr(torch, "OutOfMemoryError",
                                          torch.cuda.OutOfMemoryError)
_DTYPE_HINTS = ("not implemented for", "Half", "BFloat16", "autocast")


@dataclass(frozen=True)
class TimingPolicy:
    """The knobs of warm-up and calibration that a BenchSpec does not carry.

    ``max_settle_seconds`` None means ``max(1.0, 2 * min_time)``. ``memory_steps`` is how many
    steps the CPU memory child runs after its first one.
    """

    settle_window: int = 3
    settle_tolerance: float = 0.05
    max_warmup_steps: int = 10_000
    max_settle_seconds: float | None = None
    min_steps_per_repeat: int = 3
    memory_steps: int = 2

    def settle_seconds(self, min_time: float) -> float:
        if self.max_settle_seconds is not None:
            return self.max_settle_seconds
        return max(1.0, 2.0 * min_time)


DEFAULT_POLICY = TimingPolicy()


@dataclass(frozen=True)
class TimingOutcome:
    """Raw times of one run: warm-up steps, then ``repeats`` x ``steps_per_repeat`` samples."""

    warmup_times: tuple[float, ...]
    samples: tuple[float, ...]
    steps_per_repeat: int
    repeats: int


def _same(value: int) -> int:
    return value


def warm_up(clock: Clock, step: Step, minimum: int, min_time: float,
            policy: TimingPolicy = DEFAULT_POLICY, agree: Agree = _same) -> list[float]:
    """Run warm-up steps (rule 3 of the module doc); returns their times.

    ``agree`` makes data-parallel ranks take rank 0's decision, so that every rank runs the
    same number of steps (a collective per step would otherwise deadlock).
    """
    times: list[float] = []
    for _ in range(minimum):
        times.extend(clock.time_steps(step, 1))
    settle_start, cap = clock.now(), policy.settle_seconds(min_time)
    while True:
        done = (is_settled(times, policy.settle_window, policy.settle_tolerance)
                or len(times) >= max(minimum, policy.max_warmup_steps)
                or clock.now() - settle_start >= cap)
        if agree(int(done)):
            return times
        times.extend(clock.time_steps(step, 1))


def run_timing(clock: Clock, step: Step, *, warmup: int, min_time: float, repeats: int,
               policy: TimingPolicy = DEFAULT_POLICY, agree: Agree = _same,
               on_steady: Callable[[], None] | None = None) -> TimingOutcome:
    """Warm up, calibrate and time ``repeats`` repeats of ``step`` (rules 3-5)."""
    warm = warm_up(clock, step, warmup, min_time, policy, agree)
    estimate = median(warm[-policy.settle_window:]) if warm else 0.0
    steps = agree(steps_for_budget(min_time, estimate, policy.min_steps_per_repeat))
    if on_steady is not None:
        on_steady()
    samples: list[float] = []
    for _ in range(repeats):
        samples.extend(clock.time_steps(step, steps))
    return TimingOutcome(tuple(warm), tuple(samples), steps, repeats)


def validate(spec: BenchSpec) -> None:
    """Reject combinations no harness runs (one-line InvalidOptionError)."""
    if spec.nproc > 1 and spec.mode != "train":
        raise InvalidOptionError("--nproc > 1 measures data-parallel training; use --mode train")
    if spec.nproc > 1 and spec.device not in ("cpu", "cuda"):
        raise InvalidOptionError(f"--nproc > 1 puts rank i on cuda:i; give --device cuda or cpu, "
                                 f"not {spec.device!r}")


_ALLOCATE = re.compile(r"(?:tried|Tried) to allocate ([\d.]+ ?[KMGTP]?i?B|\d+ bytes)")


def is_oom(exc: BaseException) -> bool:
    """True for CUDA's OutOfMemoryError and for the CPU allocator refusing an allocation."""
    if isinstance(exc, _TORCH_OOM):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and ("can't allocate memory" in text
                                              or "not enough memory" in text)


def oom_error(device: torch.device, batch: int, detail: str) -> OutOfMemoryError:
    """Free what can be freed and describe the failure (batch, free memory) in one line."""
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
    free = free_memory_bytes(device)
    found = _ALLOCATE.search(detail)
    asked = f"tried to allocate {found.group(1)}, " if found else ""
    free_text = "free memory unknown" if free is None else f"{free / 2**30:.2f} GiB free"
    return OutOfMemoryError(f"out of memory on {device} at batch {batch}: {asked}{free_text}",
                            batch=batch, free_bytes=free)


def child_memory(spec: BenchSpec, batch: int, static: int, step_seconds: float,
                 policy: TimingPolicy) -> MemoryFigures:
    """The CPU figures from a child process (``skipped`` when ``spec.memory`` is off)."""
    if not spec.memory:
        return MemoryFigures(method="skipped", static_bytes=static)
    # generous: the child imports torch, builds the model and (with compile) compiles it
    timeout = 120.0 + 20.0 * step_seconds * (policy.memory_steps + 1)
    if spec.compile:
        timeout += 600.0
    figures = measure_cpu_memory(spec.to_dict(), batch, policy.memory_steps, timeout,
                                 threads=spec.threads)
    return replace(figures, static_bytes=static if figures.static_bytes is None
                   else figures.static_bytes)


@dataclass(frozen=True)
class BlockFigures:
    """A single block's memory-traffic floor and achieved bandwidth (empty for models)."""

    min_bytes: int | None = None
    formula: str = ""
    achieved: float | None = None
    copy: float | None = None

    @property
    def fraction(self) -> float | None:
        if self.achieved is None or not self.copy:
            return None
        return self.achieved / self.copy


def block_figures(spec: BenchSpec, device: torch.device, prepared: PreparedStep,
                  step_seconds: float) -> BlockFigures:
    if not spec.workload.is_block or spec.workload.block is None:
        return BlockFigures()
    c, h, w = spec.workload.input_shape
    params = sum(tensor_bytes(p) for p in prepared.module.parameters())
    floor = min_bytes(spec.workload.block, (prepared.batch, c, h, w),
                      prepared.inputs.element_size(), params, spec.mode)
    return BlockFigures(floor.bytes, floor.formula, achieved_gbps(floor.bytes, step_seconds),
                         copy_bandwidth(device))


def bench_once(spec: BenchSpec, device: torch.device, batch: int,
               policy: TimingPolicy = DEFAULT_POLICY) -> BenchResult:
    """One measurement at ``batch`` on ``device``; torch's errors propagate as they are."""
    with torch_threads(spec.threads), cudnn_benchmark(spec.cudnn_benchmark):
        probe = CudaMemoryProbe(device) if spec.memory and device.type == "cuda" else None
        prepared = prepare_step(spec, device, batch)
        clock = clock_for(device)
        outcome = run_timing(clock, prepared.run, warmup=spec.warmup, min_time=spec.min_time,
                             repeats=spec.repeats, policy=policy,
                             on_steady=None if probe is None else probe.mark_steady)
        step_seconds = summarize(outcome.samples, batch).step_ms_median / 1e3
        static = static_memory_bytes(prepared, spec.mode)
        # read the allocator before the copy-bandwidth buffers exist
        cuda_figures = None if probe is None else probe.finish(static)
        block = block_figures(spec, device, prepared, step_seconds)
        del prepared
    memory = cuda_figures if cuda_figures is not None else \
        child_memory(spec, batch, static, step_seconds, policy)
    return bench_result(spec, batch, outcome, clock.name, memory, block)


def bench_result(spec: BenchSpec, batch: int, outcome: TimingOutcome, clock: str,
                 memory: MemoryFigures, block: BlockFigures) -> BenchResult:
    """The result record of one measurement: statistics of ``outcome``'s raw samples, plus
    its memory and (single blocks) bandwidth figures."""
    summary = summarize(outcome.samples, batch)
    return BenchResult(
        images_per_sec=summary.images_per_sec,
        images_per_sec_iqr=summary.images_per_sec_iqr,
        step_ms_median=summary.step_ms_median,
        samples=list(outcome.samples),
        batch=batch,
        peak_memory_bytes=memory.peak_bytes,
        memory_method=memory.method,
        images_per_sec_cv=summary.images_per_sec_cv,
        step_ms_iqr=summary.step_ms_iqr,
        noisy=summary.noisy,
        clock=clock,
        warmup_steps=len(outcome.warmup_times),
        steps_per_repeat=outcome.steps_per_repeat,
        repeats=outcome.repeats,
        requested_batch=spec.batch,
        static_memory_bytes=memory.static_bytes,
        activation_memory_bytes=memory.activation_bytes,
        reserved_memory_bytes=memory.reserved_bytes,
        min_bytes=block.min_bytes,
        min_bytes_formula=block.formula,
        achieved_gbps=block.achieved,
        copy_gbps=block.copy,
        fraction_of_copy=block.fraction,
    )


T = TypeVar("T")


def run_guarded(spec: BenchSpec, device: torch.device, batch: int,
                action: Callable[[], T]) -> T:
    """``action()`` with torch's failures turned into one-line attnprof errors: out of memory
    becomes :class:`OutOfMemoryError` (batch, free memory), a dtype the CPU build lacks an
    InvalidOptionError, anything else a MeasurementError naming ``spec``."""
    oom_detail: str | None = None
    try:
        return action()
    except AttnprofError:
        raise
    except Exception as exc:
        if not is_oom(exc):
            if device.type == "cpu" and spec.dtype != "fp32" and \
                    any(hint in str(exc) for hint in _DTYPE_HINTS):
                instead = "fp32 or bf16" if spec.dtype == "fp16" else "fp32"
                raise InvalidOptionError(
                    f"dtype {spec.dtype} does not run on cpu for {spec.workload.label} with this "
                    f"torch build ({one_line(exc, typed=False)}); use {instead}") from exc
            raise MeasurementError(f"{spec.label} failed: {one_line(exc, typed=True)}") from exc
        oom_detail = one_line(exc, typed=False)
    # Outside the except block: the traceback (and the tensors its frames hold) is gone.
    raise oom_error(device, batch, oom_detail)


def bench_in_process(spec: BenchSpec, device: torch.device, batch: int,
              policy: TimingPolicy) -> BenchResult:
    """:func:`bench_once` on ``device`` at ``batch``, torch's failures turned into one-line
    attnprof errors."""
    return run_guarded(spec, device, batch, lambda: bench_once(spec, device, batch, policy))


def with_oom_retry(spec: BenchSpec, attempt: Callable[[int], BenchResult],
                   start: int | None = None) -> BenchResult:
    """``attempt(batch)`` from ``start`` (default ``spec.batch``); after an OutOfMemoryError,
    halve the batch if ``spec.oom_retry``."""
    batch = spec.batch if start is None else start
    while True:
        try:
            result = attempt(batch)
        except OutOfMemoryError:
            if not spec.oom_retry or batch == 1:
                raise
            batch = max(1, batch // 2)
            continue
        return replace(result, requested_batch=spec.batch)
