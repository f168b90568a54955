"""The gate's use of the paired engine: base and head as one group of two members.

The rounds themselves are :func:`profiler.measure.paired.run_rounds` (warm-up, block size,
rounds, the head/base ratio's interval from :func:`profiler.measure.stats.ratio_interval`,
stopping rule); this module only chooses the gate's settings and reads the outcome:

- the base is the group's baseline (member 0), so each ratio is head / base throughput;
- rounds alternate which side runs first (``order = "alternate"``: base-head, head-base, ...
  the ABBA order asv's ``continuous`` uses), so neither side always runs on a machine the
  other one has just warmed or cooled;
- rounds stop once the interval's half-width is at most ``target`` (``TARGET_SHARE`` of the
  limit by default: narrow enough to tell a ratio 3 points from 1 at a 5% limit) or when the
  case's share of the gate's time budget is spent;
- block time and round counts are the suite's (``[budget] block_time``, ``min_rounds``,
  ``max_rounds``), else the engine's defaults; the suite's ``group_time`` and
  ``target_half_width`` give way to the gate's budget and limit.

:func:`timing_case` turns the outcome into the gate's record with its decision
(:mod:`profiler.gate.decision`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from profiler.gate.decision import decide, seconds_needed
from profiler.gate.result import SideTiming, TimingCase
from profiler.measure.paired import (
    Member,
    MemberOutcome,
    PairingSettings,
    RoundsOutcome,
    run_rounds,
)
from profiler.measure.stats import median

__all__ = ["GATE_ORDER", "TARGET_SHARE", "gate_settings", "time_pair", "timing_case"]

GATE_ORDER = "alternate"
TARGET_SHARE = 0.4


def gate_settings(seconds: float, target: float,
                  suite: PairingSettings | None = None) -> PairingSettings:
    """The engine's settings for one case: the suite's (block time, round counts; the
    engine's defaults without them) with ``seconds`` of rounds at most, stopping early at
    half-width ``target``, in ABBA order."""
    return replace(suite or PairingSettings(), group_time=seconds, target_half_width=target,
                   order=GATE_ORDER)


def time_pair(members: Sequence[Member], settings: PairingSettings,
              now: Callable[[], float] = time.monotonic) -> RoundsOutcome:
    """Run ``members`` = (base, head) as one group; base is the baseline (``now``: the
    clock of the time budget)."""
    if len(members) != 2:
        raise ValueError("a gate pairs exactly two members: base and head")
    return run_rounds(members, settings, baseline=0, seed=0, now=now)


def _side(member: MemberOutcome) -> SideTiming:
    warm = member.warmup_times
    return SideTiming(batch=member.batch, warmup_steps=len(warm),
                      step_s=median(warm[-3:]) if warm else None,
                      blocks=tuple(block or () for block in member.times),
                      error=member.error if member.status != "ok" else None)


def timing_case(case_id: str, label: str, outcome: RoundsOutcome, limit: float) -> TimingCase:
    """The gate's record of one timed case (decision ``error`` when a side failed)."""
    base, head = outcome.members
    names = [m.name for m in outcome.members]
    case = TimingCase(case_id=case_id, label=label, decision="inconclusive", base=_side(base),
                      head=_side(head), rounds=outcome.rounds,
                      steps_per_block=outcome.steps_per_round, seconds=outcome.rounds_s,
                      first=tuple(names[order[0]] for order in outcome.orders),
                      stopped=outcome.stopped)
    failed = [f"{m.name}: {m.error or m.status}" for m in outcome.members if m.status != "ok"]
    if failed:
        return replace(case, decision="error", error="; ".join(failed))
    interval = outcome.comparisons[1]
    if interval is None:
        return case
    case = replace(case, ratio=interval.ratio, method=interval.method)
    if interval.low is None or interval.high is None:
        return case
    decision = decide(interval.low, interval.high, limit)
    case = replace(case, decision=decision, ci_low=interval.low, ci_high=interval.high)
    if decision != "inconclusive":
        return case
    needed = seconds_needed(interval.ratio, interval.low, interval.high, interval.rounds, limit,
                            outcome.rounds_s)
    return replace(case, needed_rounds=needed.rounds, needed_seconds=needed.seconds)
