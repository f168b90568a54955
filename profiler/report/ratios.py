"""Throughput ratios between two timings of a report, with their confidence intervals.

:func:`ratio_between` is the one place the report gets "A keeps x% of B's throughput" from:

- when A and B were timed in the same comparison group (interleaved rounds), the paired
  ratio recomputed from the group's raw round times (Hodges-Lehmann with the Wilcoxon
  signed-rank interval: :func:`profiler.stats.ratio_interval`);
  in a group timed in several processes (``round_process`` tags, or ``interval_method`` set),
  the two-level interval with the process as a random effect and the group's stored
  between-process prior (:func:`profiler.stats.two_level_interval`);
- otherwise (files written before paired timing, or cases timed alone), the ratio of the two
  medians with the conservative unpaired interval of
  :func:`profiler.stats.unpaired_ratio_interval`, which cannot see drift between the
  two measurements; its ``method`` says so, and the report marks it;
- never across machines: when the inputs' cluster jobs say that A and B were measured on
  different machines (:meth:`ReportData.machine_of`), there is no ratio: the interval's
  ``method`` is :data:`CROSS_MACHINE`, its cells read "not compared", and verdicts refuse in
  one line (:func:`machines_apart`).
"""

from __future__ import annotations

import math

from profiler.output.display import ratio_with_interval
from profiler.report.data import BenchEntry, ReportData
from profiler.results.group import GroupRatio, GroupResult
from profiler.stats import (
    CONFIDENCE,
    PAIRED_METHOD,
    TWO_LEVEL_METHOD,
    BetweenPrior,
    RatioInterval,
    ratio_interval,
    round_ratios_by_process,
    two_level_interval,
    unpaired_ratio_interval,
)
from profiler.telemetry.rounds import counted_blocks, counted_ratios

__all__ = ["CROSS_MACHINE", "NOT_COMPARED", "UNPAIRED_MARK", "change_cell", "cost_cell",
           "group_between", "group_interval", "group_prior", "is_cross_machine", "is_paired",
           "is_two_level", "machines_apart", "ratio_between", "ratio_cell", "stored_interval"]

UNPAIRED_MARK = "‡"
CROSS_MACHINE = "not compared: measured on different machines"
NOT_COMPARED = "not compared (different machines)"


def machines_apart(data: ReportData, mine: BenchEntry, reference: BenchEntry) -> str | None:
    """``measured on different machines (A vs B): ...`` when the two were; else None."""
    first, second = data.machine_of(mine.spec.case_id), data.machine_of(reference.spec.case_id)
    if not first or not second or first == second:
        return None
    return (f"not compared: measured on different machines ({first} vs {second}); throughput "
            "is only compared within one machine")


def is_cross_machine(interval: RatioInterval) -> bool:
    return interval.method == CROSS_MACHINE


def group_interval(group: GroupResult, member: int, reference: int) -> RatioInterval | None:
    """Member ``member``'s throughput over member ``reference``'s, recomputed from the rounds
    both ran that count (disturbed ones left out: :func:`profiler.telemetry.rounds.
    counted_ratios`; any two members of the group); None when no round paired them."""
    a, b = group.members[member], group.members[reference]
    confidence = group.confidence or CONFIDENCE
    if is_two_level(group):
        disturbed = group.disturbed
        grouped = round_ratios_by_process(counted_blocks(a.times, disturbed),
                                          counted_blocks(b.times, disturbed), a.batch or 1,
                                          b.batch or 1, group.round_process)
        if not any(grouped):
            return None
        return two_level_interval(grouped, group_prior(group), confidence).interval
    ratios = counted_ratios(a.times, b.times, a.batch or 1, b.batch or 1, group.disturbed)
    return ratio_interval(ratios, confidence) if ratios else None


def is_two_level(group: GroupResult) -> bool:
    """True for a group whose intervals are two-level (timed by the replicated engine)."""
    return bool(group.round_process or group.interval_method)


def group_prior(group: GroupResult) -> BetweenPrior | None:
    """The between-process prior a group's intervals had (None: the default)."""
    source = group.between_prior_source
    if group.between_prior_sd is None or not group.between_prior_df or source not in (
            "calibration", "pooled", "default"):
        return None
    return BetweenPrior(group.between_prior_sd, group.between_prior_df, source)


def stored_interval(ratio: GroupRatio, group: GroupResult) -> RatioInterval | None:
    """A ratio as the group record stored it (None when no round paired the two)."""
    if ratio.throughput_ratio is None:
        return None
    method = TWO_LEVEL_METHOD if is_two_level(group) else group.method or PAIRED_METHOD
    return RatioInterval(ratio.throughput_ratio, ratio.ci_low, ratio.ci_high, ratio.rounds,
                         group.confidence or CONFIDENCE, method)


def group_between(data: ReportData, mine: BenchEntry, reference: BenchEntry
                  ) -> GroupResult | None:
    """The comparison group that timed ``mine`` and ``reference`` together (None: none)."""
    for group in data.groups:
        if (group.kind == "comparison" and group.status == "ok"
                and group.member_index(mine.spec.case_id) is not None
                and group.member_index(reference.spec.case_id) is not None):
            return group
    return None


def _paired(data: ReportData, mine: BenchEntry, reference: BenchEntry) -> RatioInterval | None:
    mine_id, reference_id = mine.spec.case_id, reference.spec.case_id
    for group in data.groups:
        if group.kind != "comparison" or group.status != "ok":
            continue
        i, j = group.member_index(mine_id), group.member_index(reference_id)
        if i is not None and j is not None:
            found = group_interval(group, i, j)
            if found is not None:
                return found
    return None


def ratio_between(data: ReportData, mine: BenchEntry, reference: BenchEntry) -> RatioInterval:
    """``mine``'s images/s over ``reference``'s, with its interval (see the module doc)."""
    if machines_apart(data, mine, reference) is not None:
        return RatioInterval(math.nan, None, None, 0, method=CROSS_MACHINE)
    paired = _paired(data, mine, reference)
    if paired is not None:
        return paired
    rates, reference_rates = mine.rates(), reference.rates()
    if rates and reference_rates:
        return unpaired_ratio_interval(rates, reference_rates)
    value = mine.result.images_per_sec / reference.result.images_per_sec
    return RatioInterval(value, None, None, 0, method="ratio of medians, no samples")


def is_paired(interval: RatioInterval) -> bool:
    return interval.method in (PAIRED_METHOD, TWO_LEVEL_METHOD)


def ratio_cell(interval: RatioInterval) -> str:
    """``97.3% [95.1, 99.0]``, marked ``‡`` when unpaired (timed apart)."""
    if is_cross_machine(interval):
        return NOT_COMPARED
    text = ratio_with_interval(interval.ratio, interval.low, interval.high)
    return text if is_paired(interval) else f"{text} {UNPAIRED_MARK}"


def change_cell(interval: RatioInterval) -> str:
    """The ratio as a signed change with its interval: ``-2.7% [-4.9, -1.0]`` (``‡``
    unpaired)."""
    if is_cross_machine(interval):
        return NOT_COMPARED
    text = f"{100 * (interval.ratio - 1):+.1f}%"
    if interval.low is not None and interval.high is not None:
        text += f" [{100 * (interval.low - 1):+.1f}, {100 * (interval.high - 1):+.1f}]"
    return text if is_paired(interval) else f"{text} {UNPAIRED_MARK}"


def cost_cell(interval: RatioInterval) -> str:
    """The throughput lost, ``1 - ratio``, with its interval: ``12.7% [10.9, 14.0]`` (``‡``
    unpaired)."""
    if is_cross_machine(interval):
        return NOT_COMPARED
    text = ratio_with_interval(1 - interval.ratio,
                               None if interval.high is None else 1 - interval.high,
                               None if interval.low is None else 1 - interval.low)
    return text if is_paired(interval) else f"{text} {UNPAIRED_MARK}"
