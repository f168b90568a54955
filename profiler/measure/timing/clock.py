"""Clocks that time steps: perf_counter on the CPU, CUDA events on a GPU, a fake one for tests.

A clock runs a step ``count`` times and returns each step's duration in seconds. The CUDA
clock synchronizes the device before the first step (so no earlier work is charged to it),
records a start and an end event around each step on the current stream, and synchronizes
once after the last step before reading ``elapsed_time``: the steps run back to back, as in
training, and the host never waits inside the measured span.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import torch

__all__ = ["Clock", "CudaEventClock", "FakeClock", "PerfCounterClock", "clock_for"]

Step = Callable[[], object]


@runtime_checkable
class Clock(Protocol):
    """Times steps. ``name`` says how (recorded in results); ``now`` is wall time in seconds."""

    name: str

    def now(self) -> float: ...

    def time_steps(self, step: Step, count: int) -> list[float]: ...


class PerfCounterClock:
    """Host wall time around each step (``time.perf_counter``); for CPU work."""

    name = "perf_counter"

    def now(self) -> float:
        return time.perf_counter()

    def time_steps(self, step: Step, count: int) -> list[float]:
        times: list[float] = []
        for _ in range(count):
            start = time.perf_counter()
            step()
            times.append(time.perf_counter() - start)
        return times


class CudaEventClock:
    """CUDA events around each step on ``device``'s current stream; one sync per call."""

    name = "cuda_events"

    def __init__(self, device: torch.device) -> None:
        self.device = device

    def now(self) -> float:
        return time.perf_counter()

    def time_steps(self, step: Step, count: int) -> list[float]:
        with torch.cuda.device(self.device):
            torch.cuda.synchronize(self.device)
            pairs = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
                     for _ in range(count)]
            for start, end in pairs:
                start.record()
                step()
                end.record()
            torch.cuda.synchronize(self.device)
            return [start.elapsed_time(end) / 1e3 for start, end in pairs]


class FakeClock:
    """A scripted clock: step ``i`` (counted over all calls) takes ``durations[i]`` seconds.

    ``durations`` is a sequence (its last value repeats once it runs out) or a function of the
    step index. The step itself is still called unless ``call_step`` is False. ``now`` advances
    by the scripted durations only, so time budgets are deterministic.
    """

    name = "fake"

    def __init__(self, durations: Sequence[float] | Callable[[int], float],
                 call_step: bool = True) -> None:
        if not callable(durations) and not durations:
            raise ValueError("a FakeClock needs at least one duration")
        self._durations = durations
        self._call_step = call_step
        self.steps = 0
        self.elapsed = 0.0

    def _duration(self, index: int) -> float:
        if callable(self._durations):
            return float(self._durations(index))
        return float(self._durations[min(index, len(self._durations) - 1)])

    def now(self) -> float:
        return self.elapsed

    def time_steps(self, step: Step, count: int) -> list[float]:
        times: list[float] = []
        for _ in range(count):
            if self._call_step:
                step()
            duration = self._duration(self.steps)
            self.steps += 1
            self.elapsed += duration
            times.append(duration)
        return times


def clock_for(device: torch.device) -> Clock:
    """The clock that times work on ``device``: CUDA events on a GPU, perf_counter otherwise."""
    return CudaEventClock(device) if device.type == "cuda" else PerfCounterClock()
