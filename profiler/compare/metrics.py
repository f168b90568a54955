"""The metrics ``attnprof compare`` knows, and which way each one is better.

- exact metrics (counts: ``params``, ``attention_params``, ``flops``, ``flops_all``) have no
  better direction: any change is a change of the model, gated exactly by default;
- ``higher`` metrics (``images_per_sec``, pytest-benchmark's ``ops``) regress when they drop;
- ``lower`` metrics (``step_ms_median``, ``peak_memory_bytes``, pytest-benchmark's times
  ``median``/``mean``/``min``/``max``, ``time`` = ``median``) regress when they rise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from profiler.errors import InvalidOptionError

__all__ = ["ALIASES", "METRICS", "Direction", "Metric", "format_value", "metric"]

Direction = Literal["exact", "higher", "lower"]


@dataclass(frozen=True)
class Metric:
    """A comparable figure: its name, better direction and unit."""

    name: str
    direction: Direction
    unit: str
    description: str

    @property
    def exact(self) -> bool:
        return self.direction == "exact"


METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("params", "exact", "", "parameters"),
    Metric("attention_params", "exact", "", "parameters of the attention modules"),
    Metric("flops", "exact", "FLOPs", "FLOPs, fvcore's convention"),
    Metric("flops_all", "exact", "FLOPs", "FLOPs with all operators"),
    Metric("images_per_sec", "higher", "images/s", "median throughput"),
    Metric("step_ms_median", "lower", "ms", "median step time"),
    Metric("peak_memory_bytes", "lower", "B", "peak memory"),
    Metric("median", "lower", "s", "pytest-benchmark median time"),
    Metric("mean", "lower", "s", "pytest-benchmark mean time"),
    Metric("min", "lower", "s", "pytest-benchmark minimum time"),
    Metric("max", "lower", "s", "pytest-benchmark maximum time"),
    Metric("ops", "higher", "ops/s", "pytest-benchmark operations per second"),
)}
ALIASES: dict[str, str] = {"time": "median"}


def metric(name: str) -> Metric:
    """The metric called ``name`` (or an alias); InvalidOptionError listing valid names."""
    known = METRICS.get(ALIASES.get(name, name))
    if known is None:
        valid = ", ".join([*METRICS, *ALIASES])
        raise InvalidOptionError(f"unknown metric {name!r}; valid: {valid}")
    return known


def _seconds(value: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if abs(value) >= scale:
            return f"{value / scale:.4g} {unit}"
    return f"{value / 1e-9:.4g} ns"


def format_value(name: str, value: float | None) -> str:
    """``value`` of metric ``name`` for a table cell, with its unit."""
    if value is None:
        return "–"
    unit = metric(name).unit
    if metric(name).exact:
        return f"{round(value):,}"
    if unit == "B":
        return f"{value / 2**20:.1f} MiB"
    if unit == "s":
        return _seconds(value)
    return f"{value:.4g} {unit}"
