"""The record a timing run produces (throughput, step times, peak memory)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = ["BenchResult"]


@dataclass(frozen=True)
class BenchResult:
    """Throughput and memory of one workload in one mode.

    ``samples`` are the raw per-step times in seconds; statistics derive from them.
    ``batch`` is the batch actually run (smaller than asked after an OOM retry).
    """

    images_per_sec: float
    images_per_sec_iqr: float
    step_ms_median: float
    samples: list[float] = field(default_factory=list)
    batch: int = 0
    peak_memory_bytes: int | None = None
    memory_method: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BenchResult:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
