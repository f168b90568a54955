"""Run one spec and turn its outcome into a :class:`~profiler.results.CaseRecord`.

This is the single place where a spec meets its harness: ``CountSpec`` goes to
:func:`profiler.measure.count.counting.count`, ``BenchSpec`` to
:func:`profiler.measure.timing.bench.bench`,
``BreakdownSpec`` to :func:`profiler.measure.breakdown.harness.breakdown`.
The suite runner and the single-case commands (``count -o``, ``bench -o``) both use it, so a
case measured alone and a case measured in a suite produce the same record.
"""

from __future__ import annotations

import time

from profiler.errors import OutOfMemoryError, one_line
from profiler.results.bench import BenchResult
from profiler.results.breakdown import BreakdownResult
from profiler.results.count import CountResult
from profiler.results.envelope import CaseRecord, utc_now
from profiler.signals import user_code
from profiler.spec import BenchSpec, BreakdownSpec, CountSpec

__all__ = ["measure", "run_case"]


def measure(spec: CountSpec | BenchSpec | BreakdownSpec,
            memory_limit: int | None = None) -> CountResult | BenchResult | BreakdownResult:
    """Measure ``spec`` with its harness; errors propagate (``SystemExit`` from a user's model
    becomes a MeasurementError: a model cannot end the program;
    :func:`profiler.signals.user_code`)."""
    with user_code(f"{spec.label} failed"):
        if isinstance(spec, CountSpec):
            from profiler.measure.count.counting import count

            return count(spec)
        if isinstance(spec, BreakdownSpec):
            from profiler.measure.breakdown.harness import breakdown

            return breakdown(spec, memory_limit=memory_limit)
        from profiler.measure.timing.bench import bench

        return bench(spec) if memory_limit is None else bench(spec, memory_limit=memory_limit)


def run_case(spec: CountSpec | BenchSpec | BreakdownSpec, *, catch: bool = True,
             memory_limit: int | None = None) -> CaseRecord:
    """Measure ``spec`` and record the outcome.

    With ``catch`` (the suite runner's way), an out-of-memory error (the CPU memory guard's
    refusal included, with its estimate) becomes an ``oom`` record and any other failure an
    ``error`` record carrying its one-line message, so that a suite goes on. Without it,
    errors propagate (the single-case commands' way: exit 2). ``memory_limit`` bounds the CPU
    memory guard (bytes; None: the available memory).
    """
    started, clock = utc_now(), time.perf_counter()
    try:
        # one argument without a limit: ``measure(spec)`` is what stand-ins replace
        result = measure(spec) if memory_limit is None else measure(spec, memory_limit)
    except OutOfMemoryError as exc:
        if not catch:
            raise
        return CaseRecord(spec=spec, status="oom", error=str(exc), started_utc=started,
                          duration_s=time.perf_counter() - clock)
    except Exception as exc:
        if not catch:
            raise
        return CaseRecord(spec=spec, status="error", error=one_line(exc), started_utc=started,
                          duration_s=time.perf_counter() - clock)
    return CaseRecord(spec=spec, status="ok", result=result, started_utc=started,
                      duration_s=time.perf_counter() - clock)
