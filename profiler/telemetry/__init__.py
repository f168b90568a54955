"""Per-round telemetry: what the machine did while a round of a comparison group ran.

The rounds engine (:func:`profiler.rounds.run_rounds`) calls a :class:`RoundSampler`
around every round: ``begin()`` before the round's first block, ``end()`` after its last,
which returns the round's :class:`~profiler.results.telemetry.RoundTelemetry` with its
verdict (:func:`profiler.telemetry.rounds.disturbances`). :func:`default_sampler`
builds the sampler of this machine: CPU figures from ``/proc`` (:mod:`.cpu`) and, when a
member runs on a CUDA device and NVML is there, GPU figures (:mod:`.gpu`). What could not be
sampled is said in ``absent``. Torch-free.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from profiler.results.telemetry import RoundTelemetry
from profiler.telemetry.cpu import CpuSampler, cpu_sampler, frequency_source
from profiler.telemetry.gpu import GpuSampler, gpu_environment, gpu_sampler
from profiler.telemetry.rounds import disturbances

__all__ = ["MachineSampler", "RoundSampler", "cuda_index", "default_sampler",
           "telemetry_environment"]


@runtime_checkable
class RoundSampler(Protocol):
    """Brackets one round; ``absent`` says which telemetry is missing and why."""

    absent: tuple[str, ...]

    def begin(self) -> None: ...

    def end(self) -> RoundTelemetry: ...


class MachineSampler:
    """CPU (and optionally GPU) telemetry of this machine; ``cost_s`` of each round is the
    time ``begin()`` and ``end()`` took in the timing thread."""

    def __init__(self, cpu: CpuSampler | None, gpu: GpuSampler | None,
                 absent: Sequence[str] = (),
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.cpu, self.gpu, self.absent, self.clock = cpu, gpu, tuple(absent), clock
        self._cost = 0.0

    def begin(self) -> None:
        start = self.clock()
        if self.gpu is not None:
            self.gpu.begin()
        if self.cpu is not None:
            self.cpu.begin(self.clock())
        self._cost = self.clock() - start

    def end(self) -> RoundTelemetry:
        start = self.clock()
        cpu = None if self.cpu is None else self.cpu.end(start)
        gpu = None if self.gpu is None else self.gpu.end()
        cost = self._cost + self.clock() - start
        return RoundTelemetry(cpu=cpu, gpu=gpu, disturbed_by=disturbances(cpu, gpu),
                              cost_s=cost)


def cuda_index(device: str) -> int | None:
    """The CUDA index of a device name (``cuda`` is 0), None for any other device."""
    found = re.fullmatch(r"cuda(?::(\d+))?", device.strip())
    if found is None:
        return None
    return int(found.group(1) or 0)


def default_sampler(devices: Sequence[str] = ()) -> MachineSampler:
    """This machine's sampler: CPU always (where ``/proc`` allows), GPU for the first CUDA
    device among ``devices`` (where NVML allows)."""
    cpu, why_cpu = cpu_sampler()
    absent = [why_cpu] if why_cpu else []
    gpu = None
    index = next((i for d in devices if (i := cuda_index(d)) is not None), None)
    if index is not None:
        gpu, why_gpu = gpu_sampler(index)
        absent.extend([why_gpu] if why_gpu else [])
    return MachineSampler(cpu, gpu, absent)


def telemetry_environment(device: str) -> dict[str, Any]:
    """Once per run: the CPU telemetry's sources (or why it is absent) and, for a CUDA
    device, the GPU's facts from NVML (:func:`.gpu.gpu_environment`)."""
    _, why = cpu_sampler()
    found: dict[str, Any] = {"cpu": why or f"/proc/stat; frequency: {frequency_source()}"}
    index = cuda_index(device)
    if index is not None:
        found["gpu"] = gpu_environment(index)
    return found
