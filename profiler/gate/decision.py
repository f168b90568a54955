"""What a gate decides for one timing case, from its head/base throughput-ratio interval.

With ``limit`` L (``--fail-on images_per_sec:-5%`` gives L = 0.05) and the 95% interval
[low, high] of the ratio head / base:

- ``regression``: the interval lies wholly below 1 - L (``high < 1 - L``);
- ``improved``: wholly above 1 + L (``low > 1 + L``);
- ``unchanged``: wholly inside the band [1 - L, 1 + L];
- ``inconclusive``: anything else: it straddles a band edge, so this budget cannot tell.

The words are ``attnprof compare``'s too (:data:`profiler.results.gate.DECISIONS`).

An inconclusive case says what budget would decide it. An interval's half-width shrinks
about as 1 / sqrt(rounds), so if the ratio stays where it is, the decision needs a
half-width no larger than the ratio's distance to the band edge it straddles, that is
``rounds * (half_width / distance)**2`` rounds (:func:`rounds_needed`). A ratio exactly on
an edge can never be decided (None). Past :data:`EXTRAPOLATION_LIMIT` times the rounds run,
the extrapolation from a few noisy rounds means little: renderers say "too noisy" instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from profiler.results.gate import Decision

__all__ = ["EXTRAPOLATION_LIMIT", "Decision", "Needed", "decide", "rounds_needed",
           "seconds_needed"]

EXTRAPOLATION_LIMIT = 20


def decide(low: float, high: float, limit: float) -> Decision:
    """The decision for the interval [low, high] of head/base throughput (module doc)."""
    if low > high:
        raise ValueError(f"interval [{low}, {high}] is reversed")
    if not 0 <= limit < 1:
        raise ValueError(f"limit must be in [0, 1), got {limit}")
    if high < 1 - limit:
        return "regression"
    if low > 1 + limit:
        return "improved"
    if low >= 1 - limit and high <= 1 + limit:
        return "unchanged"
    return "inconclusive"


def _distance(ratio: float, limit: float) -> float:
    """How far ``ratio`` lies from the band edge on its side (the half-width that decides)."""
    below, above = 1 - limit, 1 + limit
    if ratio < below:
        return below - ratio
    if ratio > above:
        return ratio - above
    return min(ratio - below, above - ratio)


def rounds_needed(ratio: float, low: float, high: float, rounds: int,
                  limit: float) -> int | None:
    """Rounds that would likely decide the case (module doc); None when no budget would."""
    if rounds <= 0:
        raise ValueError("rounds must be positive")
    half = max(ratio - low, high - ratio)
    distance = _distance(ratio, limit)
    if distance <= 0:
        return None
    if half <= distance:
        return rounds
    return math.ceil(rounds * (half / distance) ** 2 - 1e-9)  # 80.00000001 is 80


@dataclass(frozen=True)
class Needed:
    """The budget an inconclusive case would need: rounds and seconds of timing."""

    rounds: int | None
    seconds: float | None


def seconds_needed(ratio: float, low: float, high: float, rounds: int, limit: float,
                   seconds: float) -> Needed:
    """:func:`rounds_needed`, and the timing seconds it takes at ``seconds`` per ``rounds``."""
    needed = rounds_needed(ratio, low, high, rounds, limit)
    if needed is None:
        return Needed(None, None)
    return Needed(needed, seconds * needed / rounds)
