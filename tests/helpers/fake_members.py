"""Scripted members for the rounds engine: step times from a formula on a shared fake clock.

Each step of a :class:`ScriptedMember` takes ``step(t)`` seconds, ``t`` being the shared
:class:`SharedClock`'s time when the step starts, and advances that clock by as much. So a
machine that drifts (``step = lambda t: 0.1 * (1 + t / 100)``) slows every member alike,
as a real one does, and time budgets are exact.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from profiler.errors import OutOfMemoryError

__all__ = ["ScriptedMember", "SharedClock", "noisy"]

StepTime = Callable[[float], float]


class SharedClock:
    """Fake seconds, advanced by the members' steps."""

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t


def noisy(step: StepTime, spread: float, seed: int) -> StepTime:
    """``step`` times a factor drawn uniformly from [1 - spread, 1 + spread] (seeded)."""
    rng = random.Random(seed)
    return lambda t: step(t) * (1.0 + rng.uniform(-spread, spread))


class ScriptedMember:
    """A member whose steps take ``step(t)`` seconds; it can fail at a given round.

    ``fail_at_round`` (0-based count of ``time_block`` calls) raises ``failure`` there;
    ``fail_in_warm_up`` raises it during warm-up instead.
    """

    def __init__(self, name: str, clock: SharedClock, step: StepTime | float, *,
                 batch: int = 1, warmup_steps: int = 3, fail_at_round: int | None = None,
                 fail_in_warm_up: bool = False,
                 failure: Exception | None = None) -> None:
        self.name = name
        self.batch = batch
        self.clock = clock
        self._step = step if callable(step) else (lambda t, d=float(step): d)
        self.warmup_steps = warmup_steps
        self.fail_at_round = fail_at_round
        self.fail_in_warm_up = fail_in_warm_up
        self.failure = failure or OutOfMemoryError(f"out of memory on cpu at batch {batch}",
                                                   batch=batch)
        self.blocks = 0

    def _run(self) -> float:
        duration = self._step(self.clock.t)
        self.clock.t += duration
        return duration

    def warm_up(self) -> list[float]:
        if self.fail_in_warm_up:
            raise self.failure
        return [self._run() for _ in range(self.warmup_steps)]

    def time_block(self, steps: int) -> list[float]:
        if self.fail_at_round is not None and self.blocks == self.fail_at_round:
            raise self.failure
        self.blocks += 1
        return [self._run() for _ in range(steps)]
