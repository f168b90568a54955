"""The gate's use of paired, interleaved timing: base and head as one group of two members.

A *member* is anything with ``name``, ``batch`` and ``time_block(steps) -> list[float]`` (the
paired engine's member protocol); the gate's members are workers
(:class:`~profiler.gate.side.WorkerMember`). :func:`time_pair` runs the two in rounds whose
order alternates (ABBA: base first, then head first, ...), each member timing one block of
``steps_per_block`` steps per round, until the head/base throughput ratio's 95% interval is
at most ``budget.target`` wide on either side of the ratio (after ``MIN_ROUNDS``), or the
case's time budget is spent.

TEMPORARY: the rounds loop and the interval below stand in for the paired engine
(``profiler.measure.paired`` and ``profiler.measure.stats`` of issue #9) until it lands;
then this module keeps only the adapter from the engine's outcome to :class:`PairOutcome`.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "BLOCK_SECONDS",
    "MIN_ROUNDS",
    "Member",
    "PairBudget",
    "PairOutcome",
    "TimePair",
    "abba_first",
    "steps_per_block",
    "time_pair",
]

# One block of steps lasts about this long (seconds) at the warm-up's step time.
BLOCK_SECONDS = 0.25
MIN_ROUNDS = 6
MAX_ROUNDS = 10_000


class Member(Protocol):
    """What the paired engine times: ``time_block(steps)`` returns ``steps`` step seconds."""

    name: str
    batch: int
    step_s: float | None

    def time_block(self, steps: int) -> list[float]: ...


@dataclass(frozen=True)
class PairBudget:
    """A case's time budget (seconds of rounds) and the interval half-width that ends it."""

    seconds: float
    target: float


@dataclass(frozen=True)
class PairOutcome:
    """Head/base throughput ratio and its interval, and every round's raw block times."""

    ratio: float
    ci_low: float
    ci_high: float
    rounds: int
    steps_per_block: int
    seconds: float
    first: tuple[str, ...]
    blocks: dict[str, tuple[tuple[float, ...], ...]]
    method: str


TimePair = Callable[[Sequence[Member], PairBudget], PairOutcome]


def abba_first(round_index: int) -> int:
    """Which member (0 = base, 1 = head) goes first in round ``round_index``: 0, 1, 0, 1..."""
    return round_index % 2


def steps_per_block(step_estimates: Sequence[float | None],
                    block_seconds: float = BLOCK_SECONDS) -> int:
    """Steps that fill ``block_seconds`` at the slower member's step time (>= 1)."""
    known = [s for s in step_estimates if s is not None and s > 0]
    if not known:
        return 1
    return max(1, math.ceil(block_seconds / max(known)))


def _throughput(batch: int, times: Sequence[float]) -> float:
    return batch * len(times) / sum(times)


def _ratio_interval(ratios: Sequence[float], resamples: int = 2000,
                    seed: int = 0) -> tuple[float, float, float]:
    """Median of per-round ratios and its 95% percentile-bootstrap interval (TEMPORARY)."""
    ordered = sorted(ratios)
    n = len(ordered)

    def median(values: Sequence[float]) -> float:
        values = sorted(values)
        middle = len(values) // 2
        return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2

    draw = random.Random(seed)
    medians = sorted(median([ordered[draw.randrange(n)] for _ in range(n)])
                     for _ in range(resamples))
    low = medians[int(0.025 * (resamples - 1))]
    high = medians[math.ceil(0.975 * (resamples - 1))]
    return median(ordered), low, high


def time_pair(members: Sequence[Member], budget: PairBudget,
              clock: Callable[[], float] = time.monotonic) -> PairOutcome:
    """Time ``members`` = (base, head) in ABBA rounds (module doc); errors propagate."""
    if len(members) != 2:
        raise ValueError("a gate pairs exactly two members: base and head")
    base, head = members
    steps = steps_per_block([base.step_s, head.step_s])
    blocks: list[list[tuple[float, ...]]] = [[], []]
    first: list[str] = []
    ratios: list[float] = []
    start = clock()
    interval = (1.0, 0.0, math.inf)
    while len(ratios) < MAX_ROUNDS:
        leader = abba_first(len(ratios))
        for position in (leader, 1 - leader):
            blocks[position].append(tuple(members[position].time_block(steps)))
        first.append(members[leader].name)
        ratios.append(_throughput(head.batch, blocks[1][-1])
                      / _throughput(base.batch, blocks[0][-1]))
        if len(ratios) < MIN_ROUNDS:
            continue
        interval = _ratio_interval(ratios)
        ratio, low, high = interval
        if max(ratio - low, high - ratio) <= budget.target or clock() - start >= budget.seconds:
            break
    ratio, low, high = interval
    return PairOutcome(ratio=ratio, ci_low=low, ci_high=high, rounds=len(ratios),
                       steps_per_block=steps, seconds=clock() - start, first=tuple(first),
                       blocks={base.name: tuple(blocks[0]), head.name: tuple(blocks[1])},
                       method="median of per-round ratios, 95% percentile bootstrap")
