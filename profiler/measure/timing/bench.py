"""Time one :class:`~profiler.spec.BenchSpec`: in this process, or across torchrun ranks.

The entry point of timing (the rules are :mod:`profiler.measure.timing.loop`'s): validate the
spec, pin malloc's thresholds, let the CPU memory guard pick or refuse the batch, then time in
this process or, with ``spec.nproc`` > 1, with :mod:`profiler.measure.timing.distributed`;
an out-of-memory batch is halved with ``spec.oom_retry``.
"""

from __future__ import annotations

from dataclasses import replace

from profiler.measure.allocator import pin_malloc_thresholds
from profiler.measure.device import resolve_device
from profiler.measure.memory.guard import plan_memory
from profiler.measure.timing.distributed import bench_distributed
from profiler.measure.timing.loop import (
    DEFAULT_POLICY,
    TimingPolicy,
    bench_in_process,
    validate,
    with_oom_retry,
)
from profiler.results.bench import BenchResult
from profiler.spec import BenchSpec

__all__ = ["bench"]


def bench(spec: BenchSpec, policy: TimingPolicy = DEFAULT_POLICY,
          memory_limit: int | None = None) -> BenchResult:
    """Measure ``spec`` (see :mod:`profiler.measure.timing.loop` for every rule) and return
    its result.

    ``memory_limit`` (bytes) bounds the CPU memory guard's estimate; None: what is available.
    """
    validate(spec)
    pin_malloc_thresholds()
    plan = plan_memory(spec, memory_limit) if spec.device == "cpu" else None
    start = None if plan is None else plan.batch
    if spec.nproc > 1:
        result = with_oom_retry(spec, lambda batch: bench_distributed(spec, batch, policy),
                                start)
    else:
        device = resolve_device(spec.device)
        result = with_oom_retry(spec, lambda batch: bench_in_process(spec, device, batch, policy),
                                start)
    if plan is None:
        return result
    return replace(result, memory_estimate_bytes=plan.estimate.peak_bytes(result.batch))
