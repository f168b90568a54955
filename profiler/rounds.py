"""The rounds engine: time a group of members together, in interleaved rounds.

A *member* is anything that can warm itself up and then run a block of N steps and return
the N step times (:class:`Member`): an in-process model on this machine
(:mod:`profiler.measure.timing.members`), or a worker process driven over a pipe (one per git tree,
for gating a change against its base). The engine knows nothing else about them: no torch,
no device, no process; it is tested with scripted members on fake clocks.

:func:`run_rounds`, in order:

1. **Warm-up**: every member warms up (its own rules: for in-process members those of
   :mod:`profiler.measure.timing.loop`) before round 1; a member whose warm-up fails is recorded
   with its status (``oom`` for :class:`~profiler.errors.OutOfMemoryError`, else ``error``)
   and leaves the group.
2. **Block size**: steps per block = enough steps of the slowest member's settled step time
   (median of its last three warm-up steps) to fill ``block_time`` seconds, at least
   ``min_steps``; every member runs the same number of steps in every round.
3. **Rounds**: each round runs one block of every member still in the group, in an order that
   is freshly shuffled per round (``order = "shuffle"``, a seeded RNG whose seed is recorded)
   or alternates forward and backward (``"alternate"``: AB, BA, AB, ... for two members). A
   member failing in a round is recorded and leaves; the others go on.
4. **Ratios**: per round, each member's throughput over the baseline's (the baseline is
   ``none`` or the first member: the caller says which), estimated with its 95% interval by
   :func:`profiler.stats.ratio_interval` (Hodges-Lehmann + Wilcoxon signed-rank).
5. **Telemetry**: a sampler (:mod:`profiler.telemetry`; on unless
   ``settings.telemetry`` is False; a caller or a test may pass its own) brackets every
   round and says whether another process, steal time or a throttled GPU disturbed it.
   Disturbed rounds are kept but left out of the ratios and their intervals
   (:func:`profiler.telemetry.rounds.counted_ratios`: the one rule of which rounds
   count); ``comparisons_all`` keeps the intervals on all rounds as a diagnostic.
6. **Stopping rule**: after at least ``min_rounds`` rounds, stop when there are enough clean
   rounds for an interval and every ratio's interval
   half-width is below ``target_half_width`` (2 percentage points by default:
   :data:`DEFAULT_TARGET_HALF_WIDTH`), when the rounds have used ``group_time`` seconds or
   the caller's ``deadline`` has passed, or after ``max_rounds``. ``stopped`` says which.

The result (:class:`RoundsOutcome`) keeps every round's raw step times per member, the
orders, the seed and the settings, so that any ratio (also between two non-baseline members)
can be recomputed from it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from profiler.errors import InvalidOptionError, OutOfMemoryError, one_line
from profiler.results.fields import known_fields
from profiler.results.telemetry import RoundTelemetry, disturbed_mask
from profiler.signals import user_code
from profiler.stats import (
    CONFIDENCE,
    MIN_ROUNDS_FOR_INTERVAL,
    RatioInterval,
    median,
    ratio_interval,
    steps_for_budget,
)
from profiler.telemetry import RoundSampler, default_sampler
from profiler.telemetry.rounds import clean_count, counted_ratios

__all__ = [
    "DEFAULT_BLOCK_TIME",
    "DEFAULT_GROUP_TIME",
    "DEFAULT_MAX_ROUNDS",
    "DEFAULT_MIN_ROUNDS",
    "DEFAULT_TARGET_HALF_WIDTH",
    "ORDERS",
    "STOP_REASONS",
    "Member",
    "MemberOutcome",
    "PairingSettings",
    "RoundsOutcome",
    "paired_interval",
    "run_rounds",
]

DEFAULT_TARGET_HALF_WIDTH = 0.02
DEFAULT_MIN_ROUNDS = 8
DEFAULT_MAX_ROUNDS = 200
DEFAULT_BLOCK_TIME = 0.5
DEFAULT_GROUP_TIME = 60.0
ORDERS: tuple[str, ...] = ("shuffle", "alternate")
Stop = Literal["converged", "time budget", "max rounds", "nothing to compare"]
STOP_REASONS: tuple[str, ...] = ("converged", "time budget", "max rounds", "nothing to compare")
_ESTIMATE_STEPS = 3


@runtime_checkable
class Member(Protocol):
    """One thing being compared. ``name`` labels it; ``batch`` is its images per step.

    ``warm_up()`` runs its warm-up and returns the warm-up step times (seconds);
    ``time_block(steps)`` runs ``steps`` steps back to back and returns each one's time.
    Either may raise: :class:`~profiler.errors.OutOfMemoryError` is recorded as ``oom``, any
    other exception as ``error``, ``sys.exit`` in it too
    (:func:`profiler.signals.user_code`: a real Ctrl-C propagates).
    """

    name: str
    batch: int

    def warm_up(self) -> Sequence[float]: ...

    def time_block(self, steps: int) -> Sequence[float]: ...


@dataclass(frozen=True)
class PairingSettings:
    """How long and how finely a group is timed (see the module doc for each rule)."""

    block_time: float = DEFAULT_BLOCK_TIME
    min_steps: int = 1
    min_rounds: int = DEFAULT_MIN_ROUNDS
    max_rounds: int = DEFAULT_MAX_ROUNDS
    group_time: float = DEFAULT_GROUP_TIME
    target_half_width: float = DEFAULT_TARGET_HALF_WIDTH
    confidence: float = CONFIDENCE
    order: str = "shuffle"
    telemetry: bool = True

    def __post_init__(self) -> None:
        if self.order not in ORDERS:
            raise InvalidOptionError(f"unknown round order {self.order!r}; valid: "
                                     f"{', '.join(ORDERS)}")
        if self.min_steps < 1 or self.min_rounds < 1 or self.max_rounds < self.min_rounds:
            raise InvalidOptionError("need min_steps >= 1 and 1 <= min_rounds <= max_rounds")
        if self.block_time < 0 or self.group_time < 0 or self.target_half_width <= 0:
            raise InvalidOptionError("block_time and group_time must be >= 0, "
                                     "target_half_width > 0")
        if not 0.0 < self.confidence < 1.0:
            raise InvalidOptionError("confidence must lie strictly between 0 and 1")

    @classmethod
    def given(cls, **values: Any) -> PairingSettings:
        """Settings from the values a user gave (None: the default); without ``max_rounds``,
        at least ``min_rounds``."""
        chosen = {k: v for k, v in values.items() if v is not None}
        if "max_rounds" not in chosen and "min_rounds" in chosen:
            chosen["max_rounds"] = max(DEFAULT_MAX_ROUNDS, chosen["min_rounds"])
        return cls(**chosen)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PairingSettings:
        return cls(**known_fields(cls, data))


Rounds = tuple[tuple[float, ...] | None, ...]


@dataclass(frozen=True)
class MemberOutcome:
    """One member's part: how it ended and its raw times (``times[r]`` None: not run in
    round ``r``, because it had failed before)."""

    name: str
    batch: int
    status: str = "ok"
    error: str | None = None
    warmup_times: tuple[float, ...] = ()
    times: Rounds = ()

    @property
    def samples(self) -> tuple[float, ...]:
        """Every timed step of every round, in order."""
        return tuple(t for block in self.times if block for t in block)

    @property
    def rounds_run(self) -> int:
        return sum(1 for block in self.times if block)


def paired_interval(member: MemberOutcome, baseline: MemberOutcome,
                    confidence: float = CONFIDENCE,
                    disturbed: Sequence[bool] | None = None) -> RatioInterval | None:
    """``member``'s throughput over ``baseline``'s from the rounds both ran that count
    (``disturbed``: per round; None: all count) (None: no round paired them)."""
    ratios = counted_ratios(member.times, baseline.times, member.batch, baseline.batch,
                            disturbed)
    return ratio_interval(ratios, confidence) if ratios else None


@dataclass(frozen=True)
class RoundsOutcome:
    """Everything a group's rounds produced. ``comparisons[i]`` is member ``i``'s ratio to
    the baseline (None for the baseline itself and when no round paired them), on the rounds
    that count; ``comparisons_all`` the same on every round (a diagnostic). ``telemetry`` has
    one entry per round (empty: telemetry off or absent, ``telemetry_absent`` says why)."""

    members: tuple[MemberOutcome, ...]
    baseline: int
    settings: PairingSettings
    seed: int
    steps_per_round: int
    orders: tuple[tuple[int, ...], ...]
    comparisons: tuple[RatioInterval | None, ...]
    stopped: str
    warmup_s: float
    rounds_s: float
    comparisons_all: tuple[RatioInterval | None, ...] = ()
    telemetry: tuple[RoundTelemetry, ...] = ()
    telemetry_absent: tuple[str, ...] = ()

    @property
    def rounds(self) -> int:
        return len(self.orders)

    @property
    def disturbed(self) -> tuple[bool, ...]:
        """Per round, whether telemetry found it disturbed."""
        return disturbed_mask(self.telemetry, self.rounds)


def _failure(exc: Exception) -> tuple[str, str]:
    """(status, one-line message): attnprof's errors speak for themselves, others get their
    type name in front."""
    if isinstance(exc, OutOfMemoryError):
        return "oom", one_line(exc, typed=False)
    return "error", one_line(exc)


class _State:
    """Mutable bookkeeping of one group while it runs."""

    def __init__(self, members: Sequence[Member]) -> None:
        self.status = ["ok"] * len(members)
        self.errors: list[str | None] = [None] * len(members)
        self.warmups: list[tuple[float, ...]] = [() for _ in members]
        self.times: list[list[tuple[float, ...] | None]] = [[] for _ in members]
        self.telemetry: list[RoundTelemetry] = []

    def active(self) -> list[int]:
        return [i for i, s in enumerate(self.status) if s == "ok"]

    def fail(self, index: int, exc: Exception) -> None:
        self.status[index], self.errors[index] = _failure(exc)

    def outcomes(self, members: Sequence[Member]) -> tuple[MemberOutcome, ...]:
        return tuple(MemberOutcome(m.name, m.batch, self.status[i], self.errors[i],
                                   self.warmups[i], tuple(self.times[i]))
                     for i, m in enumerate(members))


def _steps_per_block(state: _State, settings: PairingSettings) -> int:
    estimates = [median(w[-_ESTIMATE_STEPS:]) for i, w in enumerate(state.warmups)
                 if w and state.status[i] == "ok"]
    slowest = max(estimates) if estimates else 0.0
    return steps_for_budget(settings.block_time, slowest, settings.min_steps)


def _order(active: list[int], round_index: int, settings: PairingSettings,
           rng: random.Random) -> list[int]:
    if settings.order == "alternate":
        return active if round_index % 2 == 0 else active[::-1]
    shuffled = list(active)
    rng.shuffle(shuffled)
    return shuffled


def _comparisons(outcomes: Sequence[MemberOutcome], baseline: int, confidence: float,
                 disturbed: Sequence[bool] | None) -> tuple[RatioInterval | None, ...]:
    base = outcomes[baseline]
    return tuple(None if i == baseline else paired_interval(o, base, confidence, disturbed)
                 for i, o in enumerate(outcomes))


def _converged(state: _State, members: Sequence[Member], baseline: int,
               settings: PairingSettings) -> bool:
    disturbed = disturbed_mask(state.telemetry, len(state.telemetry))
    if state.telemetry and clean_count(disturbed) < MIN_ROUNDS_FOR_INTERVAL:
        return False  # too few clean rounds yet: go on while the budget lasts
    outcomes = state.outcomes(members)
    wanted = [i for i in state.active() if i != baseline]
    for i in wanted:
        interval = paired_interval(outcomes[i], outcomes[baseline], settings.confidence,
                                   disturbed or None)
        if interval is None or not interval.half_width < settings.target_half_width:
            return False
    return True


def _run_round(state: _State, members: Sequence[Member], order: list[int], steps: int,
               sampler: RoundSampler | None) -> None:
    """One block of every member in ``order``, bracketed by the telemetry sampler."""
    for i in range(len(members)):
        state.times[i].append(None)
    if sampler is not None:
        sampler.begin()
    try:
        for i in order:
            try:
                with user_code(members[i].name):
                    block = tuple(float(t) for t in members[i].time_block(steps))
            except Exception as exc:
                state.fail(i, exc)
                continue
            state.times[i][-1] = block
    finally:  # also on Ctrl-C: the sampler's thread ends with the round
        if sampler is not None:
            state.telemetry.append(sampler.end())


def run_rounds(members: Sequence[Member], settings: PairingSettings | None = None, *,
               baseline: int = 0, seed: int | None = None,
               now: Callable[[], float] = time.monotonic,
               deadline: float | None = None,
               sampler: RoundSampler | None = None) -> RoundsOutcome:
    """Warm up every member, then time them in interleaved rounds (see the module doc).

    ``now`` is the clock of the time budgets (seconds); ``deadline`` (in ``now``'s units) ends
    the rounds early, for a caller with a budget of its own, once ``min_rounds`` have run.
    ``sampler`` brackets every round (None: this machine's, from the members' ``device``
    attributes where they have one, unless ``settings.telemetry`` is False).
    """
    settings = settings or PairingSettings()
    if len(members) < 2:
        raise InvalidOptionError("a comparison group needs at least two members")
    if not 0 <= baseline < len(members):
        raise InvalidOptionError(f"baseline {baseline} is not a member index")
    seed = random.SystemRandom().randrange(2**32) if seed is None else seed
    rng = random.Random(seed)
    state = _State(members)
    if sampler is None and settings.telemetry:
        sampler = default_sampler([str(getattr(m, "device", "")) for m in members])
    absent = ("telemetry off",) if sampler is None else sampler.absent
    start = now()
    for i, member in enumerate(members):
        try:
            with user_code(member.name):
                state.warmups[i] = tuple(float(t) for t in member.warm_up())
        except Exception as exc:
            state.fail(i, exc)
    steps = _steps_per_block(state, settings)
    rounds_start = now()
    end = rounds_start + settings.group_time
    if deadline is not None:
        end = min(end, deadline)
    orders: list[tuple[int, ...]] = []
    stopped: str = "max rounds"
    while len(orders) < settings.max_rounds:
        active = state.active()
        if not active:
            stopped = "nothing to compare"
            break
        order = _order(active, len(orders), settings, rng)
        _run_round(state, members, order, steps, sampler)
        orders.append(tuple(order))
        if len(orders) < settings.min_rounds:
            continue
        comparable = state.status[baseline] == "ok" and len(state.active()) >= 2
        if not comparable:
            stopped = "nothing to compare"
            break
        if _converged(state, members, baseline, settings):
            stopped = "converged"
            break
        if now() >= end:
            stopped = "time budget"
            break
    outcomes = state.outcomes(members)
    finished = now()
    disturbed = disturbed_mask(state.telemetry, len(orders))
    return RoundsOutcome(
        members=outcomes, baseline=baseline, settings=settings, seed=seed,
        steps_per_round=steps, orders=tuple(orders),
        comparisons=_comparisons(outcomes, baseline, settings.confidence, disturbed),
        stopped=stopped, warmup_s=rounds_start - start, rounds_s=finished - rounds_start,
        comparisons_all=_comparisons(outcomes, baseline, settings.confidence, None),
        telemetry=tuple(state.telemetry), telemetry_absent=tuple(absent))
