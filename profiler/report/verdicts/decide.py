"""What would decide an inconclusive throughput verdict, and roughly how long it would take.

An interval's half-width shrinks as 1/sqrt(n) in the replicates of the level whose variance
dominates it: rounds when the group ran in one process (or the spread between its processes
is small beside that within them), processes otherwise (the between-process spread does not
shrink with more rounds; Kalibera & Jones, "Rigorous benchmarking in reasonable time", ISMM
2013). So a verdict that needs a half-width ``h*`` where the run reached ``h`` needs about
``n (h / h*)^2`` replicates where it had ``n``; the extra ones cost what the group's recorded
ones cost on average (``rounds_s / rounds``, or ``duration_s / processes``). When that is more
than :data:`QUIET_MINUTES`, the answer is a quieter machine: this run's noise is too large for
any budget worth spending. Torch-free.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from profiler.results.group import GroupResult
from profiler.stats import estimate_variance

__all__ = ["QUIET_MINUTES", "Effort", "effort_of", "what_would_decide"]

QUIET_MINUTES = 60.0


@dataclass(frozen=True)
class Effort:
    """What a group spent: ``rounds`` in all, ``rounds_s`` seconds of them, ``processes``
    worker processes and ``duration_s`` in all; ``between_dominates`` says whether the
    spread between processes dominates the interval (None: unknown, one process)."""

    rounds: int
    rounds_s: float
    processes: int = 1
    duration_s: float = 0.0
    between_dominates: bool | None = None


def effort_of(group: GroupResult, case_id: str | None = None) -> Effort:
    """A group record's effort. For a group timed in several processes, whether the spread
    between them dominates ``case_id``'s ratio: the between-process variance against the
    variance of one process's estimate from its rounds (:func:`profiler.stats.estimate_variance`).
    Files of one process give rounds only."""
    processes = max(1, group.processes)
    ratio = None if case_id is None else group.ratio_for(case_id)
    between = None
    if (processes > 1 and ratio is not None and ratio.between_sd is not None
            and ratio.within_sd is not None):
        per_process = max(1, round(group.rounds / processes))
        between = ratio.between_sd ** 2 > estimate_variance(per_process, ratio.within_sd)
    return Effort(rounds=group.rounds, rounds_s=group.rounds_s or group.duration_s,
                  processes=processes, duration_s=group.duration_s, between_dominates=between)


def _minutes(seconds: float) -> str:
    minutes = seconds / 60.0
    return f"~{minutes:.0f} min" if minutes >= 10 else f"~{max(minutes, 0.1):.1f} min"


def what_would_decide(half_width: float, needed: float, effort: Effort | None) -> str:
    """A sentence: what would bring the half-width from ``half_width`` to ``needed`` (both as
    fractions), with the estimated extra minutes; ``effort`` None: the two were not timed
    together (no rounds to extrapolate from)."""
    if effort is None:
        return ("to decide: time them together in one comparison group (attnprof run pairs "
                "cases that differ only in their attention), then more rounds if still needed")
    if needed <= 0 or half_width <= 0 or effort.rounds < 1:
        return "to decide: a quieter machine (the difference is within this run's resolution)"
    factor = (half_width / needed) ** 2
    by_processes = effort.processes > 1 and effort.between_dominates is True
    if by_processes:
        count, unit = effort.processes, "processes"
        each = effort.duration_s / effort.processes
    else:
        count, unit = effort.rounds, "rounds"
        each = effort.rounds_s / effort.rounds
    total = max(count + 1, math.ceil(count * factor))
    extra_s = max(0, total - count) * each
    if extra_s / 60.0 > QUIET_MINUTES:
        return (f"to decide: a quieter machine (at this run's noise it would take about "
                f"{total} {unit}, {_minutes(extra_s)} more; ±{100 * needed:.1f} pp is needed, "
                f"±{100 * half_width:.1f} pp was reached)")
    return (f"to decide: more {unit}: about {total} instead of {count} ({_minutes(extra_s)} "
            f"more) would narrow ±{100 * half_width:.1f} pp to ±{100 * needed:.1f} pp")
