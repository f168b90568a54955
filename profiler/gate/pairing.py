"""The gate's use of the paired engine: base and head as one group of two members.

The rounds themselves are :func:`profiler.rounds.run_rounds` (warm-up, block size,
rounds, the head/base ratio's interval from :func:`profiler.stats.ratio_interval`,
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

**Confirmation in fresh processes** (:func:`confirm`). Rounds cancel what changes over time,
but not what differs between two processes: each side runs in its own worker, and the same
code can run at a different speed in another process (memory placement and the like, fixed
for the process's life). Measured on a 2-core AMD EPYC VM (torch 2.13.0+cpu): MobileNetV2
inference at batch 4 ran at 85-102 images/s from one process to the next, and three gates of
identical code gave head/base 0.875 [0.854, 0.892] and 0.920 [0.898, 0.936] (false
regressions) and 1.109 [1.086, 1.125] (a false improvement); two instances in one process
agreed within their intervals. So a regression or an improvement is measured again with both
workers started afresh, and the case is decided on the rounds of both attempts pooled, as asv
pools the samples of its two processes: the estimate then averages two pairs of processes
rather than trusting one. It stays a regression only when the pooled interval lies wholly
below ``1 - limit``; otherwise it is "not confirmed" (inconclusive or unchanged). In a
simulation with 20 rounds per attempt and intervals of about ±2%
(``tests/test_gate_pairing.py``): with a process-to-process spread of 5% (MobileNetV2 here),
false regressions of identical code fall from about 15% of gates to 5%; with a spread of 1.5%
a 9% slowdown is still found about as often as by one attempt (78% against 80%). Requiring
both attempts' intervals below the limit would cut false regressions to about 2% but find
only about 65%.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from profiler.gate.decision import Decision, decide, seconds_needed
from profiler.results.gate import SideTiming, TimingCase
from profiler.results.telemetry import RoundTelemetry, disturbed_mask
from profiler.rounds import (
    Member,
    MemberOutcome,
    PairingSettings,
    RoundsOutcome,
    run_rounds,
)
from profiler.stats import median, ratio_interval
from profiler.telemetry.rounds import counted_ratios

__all__ = ["CONFIRMED", "GATE_ORDER", "TARGET_SHARE", "combine_attempts", "confirm",
           "gate_settings", "needs_confirmation", "time_pair", "timing_case"]

GATE_ORDER = "alternate"
TARGET_SHARE = 0.4
# Decisions measured again in fresh worker processes before they stand.
CONFIRMED: tuple[str, ...] = ("regression", "improved")
CONFIRMATION_METHOD = ("a regression or improvement is measured again in fresh worker "
                       "processes: rounds of both attempts pooled")


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
                      stopped=outcome.stopped, telemetry=outcome.telemetry)
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


def needs_confirmation(case: TimingCase) -> bool:
    """Whether ``case``'s decision must be measured again in fresh processes (module doc)."""
    return case.decision in CONFIRMED


def _merged(first: SideTiming, second: SideTiming) -> SideTiming:
    """One side over both attempts: every block, the warm-ups added, the first error."""
    warm = [w for w in (first.warmup_steps, second.warmup_steps) if w is not None]
    return SideTiming(batch=first.batch or second.batch,
                      warmup_steps=sum(warm) if warm else None,
                      step_s=first.step_s if first.step_s is not None else second.step_s,
                      blocks=first.blocks + second.blocks, error=first.error or second.error)


def _pooled_telemetry(first: TimingCase, second: TimingCase) -> tuple[RoundTelemetry, ...]:
    """Both attempts' round telemetry, in round order; none when either attempt lacks it
    (its rounds could not be told apart)."""
    if len(first.telemetry) != first.rounds or len(second.telemetry) != second.rounds:
        return ()
    return first.telemetry + second.telemetry


def combine_attempts(first: TimingCase, second: TimingCase, limit: float) -> TimingCase:
    """``first`` (a regression or improvement) and its measurement ``second`` in fresh worker
    processes, as one case: the rounds of both pooled (module doc). A second attempt that
    failed makes the case an error with its one-line reason."""
    merged = replace(second, base=_merged(first.base, second.base),
                     head=_merged(first.head, second.head), rounds=first.rounds + second.rounds,
                     seconds=first.seconds + second.seconds, first=first.first + second.first,
                     needed_rounds=None, needed_seconds=None, attempts=(first, second),
                     confirmation="not confirmed", telemetry=_pooled_telemetry(first, second))
    if second.decision == "error":
        return merged
    base, head = merged.base, merged.head
    ratios = counted_ratios(list(head.blocks), list(base.blocks), head.batch or 1,
                            base.batch or 1, disturbed_mask(merged.telemetry, merged.rounds))
    interval = ratio_interval(ratios) if ratios else None
    if interval is None or interval.low is None or interval.high is None:
        return replace(merged, decision="inconclusive")
    decision: Decision = decide(interval.low, interval.high, limit)
    return replace(merged, decision=decision, ratio=interval.ratio, ci_low=interval.low,
                   ci_high=interval.high, method=f"{interval.method}; {CONFIRMATION_METHOD}",
                   confirmation="confirmed" if decision == first.decision else "not confirmed")


def confirm(first: TimingCase, again: Callable[[], TimingCase], limit: float) -> TimingCase:
    """``first`` itself, or, when its decision needs confirming, ``first`` combined with
    ``again()``: the case timed once more with both workers started afresh."""
    if not needs_confirmation(first):
        return first
    return combine_attempts(first, again(), limit)
