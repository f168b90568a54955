"""Profiled windows for breakdowns: one profiler configuration, module ranges, step labels.

A breakdown profiles a model and calibrates the profiler's per-event cost on a probe
(:mod:`profiler.measure.breakdown.overhead`); both go through :func:`profile_window`, so the two are
recorded the same way: CPU activity (and CUDA on a GPU), input shapes recorded (the traffic of
loose ops and the rescale rule of :mod:`profiler.measure.breakdown.attribution` read them), one
thrown-away step (the profiler's start), then ``steps`` steps, each inside a
:data:`~profiler.measure.breakdown.attribution.STEP_LABEL` range and timed by the caller's clock.

**The profiler's first window in a process is slow.** The memory the profiler records events
into comes fresh from the kernel the first time: measured on a 2-core AMD EPYC (torch
2.13.0+cpu, ResNet-50 with SE, batch 2, 1 thread), the first profiled window's steps took
17,000-26,000 page faults each and ran 10-25% longer than the plain steps, while later
windows took none and ran within ~1-3%. glibc keeps the freed memory (attnprof fixes its
thresholds: :mod:`profiler.measure.allocator`), so :func:`warm_profiler` runs one whole
window and throws it away, as warm-up steps are thrown away, before any window that counts.

Kineto's log lines are filtered off file descriptor 2 around every profiled window
(:func:`profiler.measure.kineto.quiet_kineto`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import torch
from torch import nn
from torch.autograd.profiler import record_function
from torch.profiler import ProfilerActivity, profile, schedule

from profiler.errors import MeasurementError
from profiler.measure.breakdown.attribution import MODULE_RANGE, STEP_LABEL, OpEvent
from profiler.measure.kineto import quiet_kineto
from profiler.measure.timing.clock import Clock

__all__ = [
    "labelled",
    "module_ranges",
    "op_events",
    "profile_events",
    "profile_window",
    "warm_profiler",
]

T = TypeVar("T")
Step = Callable[[], None]

@contextmanager
def module_ranges(model: nn.Module) -> Iterator[None]:
    """A profiler range ``MODULE_RANGE + path`` around every module's forward (hooks removed,
    and any range left open by an exception closed, on exit)."""
    open_ranges: list[record_function] = []
    handles = []
    for path, module in model.named_modules():
        def enter(module: nn.Module, args: Any, name: str = MODULE_RANGE + path) -> None:
            context = record_function(name)
            context.__enter__()
            open_ranges.append(context)

        def leave(module: nn.Module, args: Any, output: Any) -> None:
            if open_ranges:
                open_ranges.pop().__exit__(None, None, None)

        handles.append(module.register_forward_pre_hook(enter))
        handles.append(module.register_forward_hook(leave, always_call=True))
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()
        while open_ranges:
            open_ranges.pop().__exit__(None, None, None)


def labelled(step: Step) -> Step:
    """``step`` inside a :data:`STEP_LABEL` range (cheap without a profiler): timed steps run
    this too, so that the profiler is the only difference from the profiled ones."""

    def run() -> None:
        with record_function(STEP_LABEL):
            step()

    return run


def _shapes(values: Sequence[Any]) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(int(d) for d in v) if isinstance(v, list)
                 and all(isinstance(d, int) for d in v) else () for v in values)


def op_events(events: Sequence[Any], device_time: bool) -> list[OpEvent]:
    """The profiler's CPU-side events as :class:`OpEvent` (kernels counted on their op)."""
    found = []
    for event in events:
        if getattr(event, "device_type", None) not in (None, torch.autograd.DeviceType.CPU):
            continue
        parent = event.cpu_parent
        own = event.self_device_time_total if device_time else event.self_cpu_time_total
        found.append(OpEvent(
            index=int(event.id), name=str(event.name),
            parent=None if parent is None else int(parent.id),
            start_us=float(event.time_range.start), end_us=float(event.time_range.end),
            self_us=float(own), thread=int(event.thread),
            sequence_nr=int(event.sequence_nr), fwd_thread=int(event.fwd_thread or 0),
            input_shapes=_shapes(event.input_shapes or ()),
            input_dtypes=tuple(str(d) for d in (getattr(event, "input_dtypes", None) or ()))))
    return found


def profile_window(step: Step, device: torch.device, steps: int, clock: Clock,
                   read: Callable[[Any], T] | None) -> tuple[T | None, list[float]]:
    """Run one thrown-away step and ``steps`` steps under the profiler (module doc).

    Each step runs inside a :data:`STEP_LABEL` range and is timed by ``clock``. ``read`` gets
    the profiler when the window's trace is ready (events are gone once the profiler exits);
    None reads nothing. Returns what ``read`` returned and the clock's times (s) of the
    ``steps`` steps.
    """
    activities = [ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(ProfilerActivity.CUDA)
    ready: list[T] = []
    run = labelled(step)
    times: list[float] = []
    with warnings.catch_warnings(), quiet_kineto():
        warnings.filterwarnings("ignore", message=".*Profiler clears events")
        with profile(activities=activities, record_shapes=True,
                     schedule=schedule(wait=0, warmup=1, active=steps, repeat=1),
                     on_trace_ready=None if read is None
                     else lambda prof: ready.append(read(prof))) as prof:
            for _ in range(steps + 1):
                times.extend(clock.time_steps(run, 1))
                prof.step()
    if read is not None and not ready:
        raise MeasurementError("the profiler returned no trace for the profiled window")
    return (ready[0] if ready else None), times[1:]


def warm_profiler(step: Step, device: torch.device, steps: int, clock: Clock) -> None:
    """Profile one window of ``steps`` steps and throw it away: the profiler's memory comes
    from the kernel the first time (module doc), not during a window that counts."""
    profile_window(step, device, steps, clock, None)


def profile_events(step: Step, device: torch.device, steps: int, clock: Clock
                   ) -> tuple[list[OpEvent], list[float]]:
    """The events of one profiled window (one thrown-away step, then ``steps`` steps) and the
    clock's times of those steps."""
    device_time = device.type == "cuda"
    events, times = profile_window(step, device, steps, clock,
                                   lambda prof: op_events(prof.events(), device_time))
    assert events is not None
    return events, times
