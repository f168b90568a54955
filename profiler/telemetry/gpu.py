"""GPU telemetry through NVML (the ``pynvml`` module of NVIDIA's ``nvidia-ml-py``). Torch-free.

:class:`GpuSampler` samples one device during a round: at ``begin()``, then every
``interval`` seconds from a daemon thread (:data:`DEFAULT_INTERVAL`, 50 ms; NVML calls
release the GIL and take microseconds), then at ``end()``. A round's
:class:`~profiler.results.telemetry.GpuRound` has the min and median SM and memory clocks
over those samples, the median power, the max temperature, the OR of the clocks-event-reason
bits and the most other processes seen with a compute context on the device.

:func:`gpu_environment` reads, once per run: driver, persistence mode, power limit, ECC and
MIG state, UUID and the clock policy found (attnprof never changes clocks: it only reports
whether application clocks differ from their defaults). Without NVML (no package, no
driver, no device) the run goes on: :func:`load_nvml` and :func:`gpu_sampler` say why.
The NVML module is a parameter everywhere, so tests inject a fake one.
"""

from __future__ import annotations

import os
import threading
from statistics import median
from typing import Any

from profiler.results.telemetry import GpuRound

__all__ = ["DEFAULT_INTERVAL", "GpuSample", "GpuSampler", "gpu_environment", "gpu_sampler",
           "load_nvml", "nvml_index", "summarize"]

DEFAULT_INTERVAL = 0.05


def load_nvml() -> tuple[Any | None, str | None]:
    """(pynvml, None) with NVML initialised, or (None, why not)."""
    try:
        import pynvml  # type: ignore[import-not-found]
    except ImportError:
        return None, "gpu: pynvml not installed (pip install 'attnprof[gpu]')"
    try:
        pynvml.nvmlInit()
    except Exception as exc:  # pynvml.NVMLError and its many subclasses
        return None, f"gpu: NVML did not start ({exc})"
    return pynvml, None


def nvml_index(cuda_index: int, visible: str | None = None) -> int:
    """NVML's index of CUDA device ``cuda_index`` under ``CUDA_VISIBLE_DEVICES`` (a list of
    integers; UUIDs or none: the same index)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES") if visible is None else visible
    entries = [v.strip() for v in (visible or "").split(",") if v.strip()]
    if cuda_index < len(entries) and entries[cuda_index].isdigit():
        return int(entries[cuda_index])
    return cuda_index


def _try(call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except Exception:  # NVMLError_NotSupported and friends: the figure is unknown
        return None


class GpuSample:
    """One reading: clocks (MHz), power (W), temperature (C), reason bits, other processes."""

    __slots__ = ("mem", "others", "power", "reasons", "sm", "temperature")

    def __init__(self, nvml: Any, handle: Any, pid: int) -> None:
        self.sm = _try(nvml.nvmlDeviceGetClockInfo, handle, nvml.NVML_CLOCK_SM)
        self.mem = _try(nvml.nvmlDeviceGetClockInfo, handle, nvml.NVML_CLOCK_MEM)
        milliwatts = _try(nvml.nvmlDeviceGetPowerUsage, handle)
        self.power = None if milliwatts is None else milliwatts / 1000.0
        self.temperature = _try(nvml.nvmlDeviceGetTemperature, handle,
                                nvml.NVML_TEMPERATURE_GPU)
        reasons = getattr(nvml, "nvmlDeviceGetCurrentClocksEventReasons", None) or \
            getattr(nvml, "nvmlDeviceGetCurrentClocksThrottleReasons", None)
        self.reasons = (_try(reasons, handle) if reasons else None) or 0
        processes = _try(nvml.nvmlDeviceGetComputeRunningProcesses, handle) or []
        self.others = sum(1 for p in processes if getattr(p, "pid", None) != pid)


def _low_mid(values: list[float]) -> tuple[float | None, float | None]:
    return (min(values), float(median(values))) if values else (None, None)


def summarize(samples: list[GpuSample]) -> GpuRound:
    """A round's figures from its samples (see the module doc)."""
    def present(name: str) -> list[float]:
        return [float(v) for s in samples if (v := getattr(s, name)) is not None]

    sm_low, sm_mid = _low_mid(present("sm"))
    mem_low, mem_mid = _low_mid(present("mem"))
    power, temperature = present("power"), present("temperature")
    reasons = 0
    for sample in samples:
        reasons |= int(sample.reasons)
    return GpuRound(samples=len(samples), sm_clock_min_mhz=sm_low, sm_clock_median_mhz=sm_mid,
                    mem_clock_min_mhz=mem_low, mem_clock_median_mhz=mem_mid,
                    power_w=float(median(power)) if power else None,
                    temperature_c=max(temperature) if temperature else None,
                    reasons=reasons, other_processes=max((s.others for s in samples), default=0))


class GpuSampler:
    """Samples NVML device ``index`` during each round (see the module doc)."""

    def __init__(self, nvml: Any, index: int, interval: float = DEFAULT_INTERVAL) -> None:
        self.nvml, self.interval = nvml, interval
        self.handle = nvml.nvmlDeviceGetHandleByIndex(index)
        self.pid = os.getpid()
        self._samples: list[GpuSample] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        self._samples.append(GpuSample(self.nvml, self.handle, self.pid))

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def begin(self) -> None:
        self._samples = []
        self._sample()
        if self.interval > 0:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="attnprof-nvml",
                                            daemon=True)
            self._thread.start()

    def end(self) -> GpuRound:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
        self._sample()
        return summarize(self._samples)


def gpu_sampler(cuda_index: int, nvml: Any | None = None,
                interval: float = DEFAULT_INTERVAL) -> tuple[GpuSampler | None, str | None]:
    """A sampler of CUDA device ``cuda_index``, or None and why there is none."""
    reason = None
    if nvml is None:
        nvml, reason = load_nvml()
    if nvml is None:
        return None, reason
    try:
        return GpuSampler(nvml, nvml_index(cuda_index), interval), None
    except Exception as exc:
        return None, f"gpu: NVML has no device {nvml_index(cuda_index)} ({exc})"


def _text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


def _pair(value: Any) -> Any:
    """NVML's (current, pending) modes: the current one."""
    return value[0] if isinstance(value, (tuple, list)) else value


def gpu_environment(cuda_index: int, nvml: Any | None = None) -> dict[str, Any]:
    """Once-per-run facts of the device (see the module doc); ``{"absent": why}`` without
    NVML."""
    reason = None
    if nvml is None:
        nvml, reason = load_nvml()
    if nvml is None:
        return {"absent": reason}
    index = nvml_index(cuda_index)
    try:
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
    except Exception as exc:
        return {"absent": f"gpu: NVML has no device {index} ({exc})"}
    sm = nvml.NVML_CLOCK_SM
    applications = _try(nvml.nvmlDeviceGetApplicationsClock, handle, sm)
    default = _try(nvml.nvmlDeviceGetDefaultApplicationsClock, handle, sm)
    limit = _try(nvml.nvmlDeviceGetPowerManagementLimit, handle)
    policy = ("unknown" if applications is None or default is None else
              "default" if applications == default else "application clocks set")
    return {
        "nvml_index": index,
        "uuid": _text(_try(nvml.nvmlDeviceGetUUID, handle)),
        "name": _text(_try(nvml.nvmlDeviceGetName, handle)),
        "driver": _text(_try(nvml.nvmlSystemGetDriverVersion)),
        "persistence_mode": _try(nvml.nvmlDeviceGetPersistenceMode, handle),
        "power_limit_w": None if limit is None else limit / 1000.0,
        "ecc_mode": _pair(_try(nvml.nvmlDeviceGetEccMode, handle)),
        "mig_mode": _pair(_try(nvml.nvmlDeviceGetMigMode, handle)),
        "applications_clock_sm_mhz": applications,
        "default_applications_clock_sm_mhz": default,
        "max_clock_sm_mhz": _try(nvml.nvmlDeviceGetMaxClockInfo, handle, sm),
        "clock_policy": policy,
    }


