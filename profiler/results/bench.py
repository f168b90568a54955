"""The record a timing run produces (throughput, step times, peak memory, bandwidth)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from profiler.results.fields import known_fields

__all__ = ["BenchResult", "RankResult"]


@dataclass(frozen=True)
class RankResult:
    """One data-parallel rank's own figures (``--nproc``): its batch, its step times."""

    rank: int
    batch: int
    images_per_sec: float
    step_ms_median: float
    samples: list[float] = field(default_factory=list)
    peak_memory_bytes: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RankResult:
        return cls(**known_fields(cls, data))


@dataclass(frozen=True)
class BenchResult:
    """Throughput and memory of one workload in one mode.

    ``samples`` are the raw per-step times in seconds; statistics derive from them
    (images/s per sample = ``batch`` / step time; median, IQR, CV; ``noisy`` when IQR/median of
    images/s > :data:`~profiler.stats.NOISY_IQR_RATIO`). ``batch`` is the batch
    actually run (smaller than ``requested_batch`` after an OOM retry). With ``nproc`` > 1,
    ``batch`` is per rank, a sample is the slowest rank's time for that step and
    ``images_per_sec`` counts the images of all ranks; ``per_rank`` has each rank's own
    figures.

    Memory, in bytes: ``peak_memory_bytes`` is the peak the workload needed, measured as
    ``memory_method`` says (``cuda_max_memory_allocated``: the CUDA caching allocator's peak;
    ``cpu_rss_hwm_child``: RSS high-water mark of a child process running the step, minus
    its RSS before building the model; ``unavailable: <why>``/``skipped``: not measured).
    ``static_memory_bytes`` = parameters + buffers + gradients + optimizer state;
    ``activation_memory_bytes`` = how far memory rises inside a step above what is held
    between steps (activations, saved tensors, workspaces, gradients alive at the peak).

    Single blocks: ``min_bytes`` is the least memory traffic the block needs
    (``min_bytes_formula``), ``achieved_gbps`` = min_bytes / median step time,
    ``copy_gbps`` the device's measured copy bandwidth and ``fraction_of_copy`` their ratio.

    ``memory_estimate_bytes``: the CPU memory guard's estimate of the peak at ``batch``
    (:mod:`profiler.measure.memory.guard`; None on CUDA), to set beside the measured peak.
    """

    images_per_sec: float
    images_per_sec_iqr: float
    step_ms_median: float
    samples: list[float] = field(default_factory=list)
    batch: int = 0
    peak_memory_bytes: int | None = None
    memory_method: str = ""
    images_per_sec_cv: float = 0.0
    step_ms_iqr: float = 0.0
    noisy: bool = False
    clock: str = ""
    warmup_steps: int = 0
    steps_per_repeat: int = 0
    repeats: int = 0
    requested_batch: int = 0
    static_memory_bytes: int | None = None
    activation_memory_bytes: int | None = None
    reserved_memory_bytes: int | None = None
    nproc: int = 1
    per_rank: tuple[RankResult, ...] = ()
    min_bytes: int | None = None
    min_bytes_formula: str = ""
    achieved_gbps: float | None = None
    copy_gbps: float | None = None
    fraction_of_copy: float | None = None
    memory_estimate_bytes: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["per_rank"] = [r.to_dict() for r in self.per_rank]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BenchResult:
        kwargs = known_fields(cls, data)
        kwargs["per_rank"] = tuple(RankResult.from_dict(r) for r in data.get("per_rank") or [])
        if "samples" in kwargs:
            kwargs["samples"] = [float(s) for s in kwargs["samples"]]
        return cls(**kwargs)
