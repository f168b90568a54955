"""Statistics of raw step times, and the rules that decide when warm-up has settled.

Pure functions on lists of floats: no torch, no clock, so they are tested with made-up numbers.
Conventions (as ``torch.utils.benchmark``'s ``Measurement``):

- quantiles interpolate linearly between order statistics (numpy's default "linear" method);
- IQR = q(0.75) - q(0.25); CV = sample standard deviation / mean;
- a measurement is *noisy* when IQR / median of images/s exceeds :data:`NOISY_IQR_RATIO` (10%).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "NOISY_IQR_RATIO",
    "Summary",
    "cv",
    "iqr",
    "is_settled",
    "median",
    "quantile",
    "steps_for_budget",
    "summarize",
]

NOISY_IQR_RATIO = 0.10


def _checked(values: Sequence[float]) -> list[float]:
    if not values:
        raise ValueError("statistics of an empty sample")
    return sorted(float(v) for v in values)


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0 <= q <= 1), linear interpolation between order statistics."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile {q} is outside [0, 1]")
    ordered = _checked(values)
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: Sequence[float]) -> float:
    return quantile(values, 0.5)


def iqr(values: Sequence[float]) -> float:
    """Interquartile range: q(0.75) - q(0.25)."""
    return quantile(values, 0.75) - quantile(values, 0.25)


def cv(values: Sequence[float]) -> float:
    """Coefficient of variation (sample stdev / mean); 0 for fewer than two values."""
    ordered = _checked(values)
    if len(ordered) < 2:
        return 0.0
    mean = statistics.fmean(ordered)
    return statistics.stdev(ordered) / mean if mean else 0.0


@dataclass(frozen=True)
class Summary:
    """What the raw per-step times of one measurement say, for ``batch`` images per step."""

    images_per_sec: float
    images_per_sec_iqr: float
    images_per_sec_cv: float
    step_ms_median: float
    step_ms_iqr: float
    noisy: bool


def summarize(step_seconds: Sequence[float], batch: int) -> Summary:
    """Median/IQR/CV of images/s (``batch / t`` per sample) and of the step time in ms."""
    if any(t <= 0 for t in step_seconds):
        raise ValueError("step times must be positive")
    rates = [batch / t for t in step_seconds]
    rate_median, rate_iqr = median(rates), iqr(rates)
    steps_ms = [t * 1e3 for t in step_seconds]
    return Summary(
        images_per_sec=rate_median,
        images_per_sec_iqr=rate_iqr,
        images_per_sec_cv=cv(rates),
        step_ms_median=median(steps_ms),
        step_ms_iqr=iqr(steps_ms),
        noisy=rate_iqr / rate_median > NOISY_IQR_RATIO,
    )


def is_settled(times: Sequence[float], window: int, tolerance: float) -> bool:
    """True when the step times have stopped drifting.

    Compares the median of the last ``window`` times with the median of the ``window`` before
    them; settled when they differ by at most ``tolerance`` (relative). A slow first phase
    (lazy initialisation, cuDNN autotuning, compilation) keeps the two medians apart, so
    warm-up goes on past it; flat times settle after ``2 * window`` steps.
    """
    if window <= 0:
        raise ValueError("window must be positive")
    if len(times) < 2 * window:
        return False
    previous = median(times[-2 * window:-window])
    last = median(times[-window:])
    return abs(last - previous) <= tolerance * previous


def steps_for_budget(min_time: float, step_estimate: float, minimum: int) -> int:
    """Steps that fill ``min_time`` seconds at ``step_estimate`` seconds each (>= ``minimum``)."""
    if step_estimate <= 0:
        return max(1, minimum)
    return max(1, minimum, math.ceil(min_time / step_estimate))
