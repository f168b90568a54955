"""The report's note on machine noise, from the A/A calibrations a result file holds.

``attnprof calibrate --into RESULT.json`` times one workload against itself and stores the
A/A group in the file; the report then says how far this machine's noise moves a ratio at
the budget used, and the smallest slowdown that budget detects, so that a reader can weigh
the throughput verdicts.
"""

from __future__ import annotations

from collections.abc import Sequence

from profiler.output.display import percent, ratio_with_interval
from profiler.report.data import ReportData
from profiler.report.ratios import stored_interval
from profiler.results.group import GroupResult

__all__ = ["calibration_line", "calibration_section", "interval_note"]

_SOURCES = {"processes": "the group's own processes", "calibration":
            "this machine's 'calibrate --processes'", "pooled": "the run's groups, pooled",
            "default": "the documented default"}


def _source_text(source: str, groups: list[GroupResult]) -> str:
    text = _SOURCES.get(source, source)
    first = groups[0]
    if source != "processes" and first.between_prior_sd is not None:
        text += f" (SD {100 * first.between_prior_sd:.2g}%, {first.between_prior_df:g} df)"
    return f"{text}: {len(groups)} group{'s' if len(groups) != 1 else ''}"


def interval_note(groups: Sequence[GroupResult]) -> str:
    """One sentence: what the throughput intervals of a report's ``groups`` cover, and which
    between-process variance built them (README, Timing method)."""
    timed = [g for g in groups if g.kind == "comparison" and g.status == "ok"]
    replicated = [g for g in timed if g.interval_method]
    if not replicated:
        return ("The intervals cover the noise within this run, not what differs from one "
                "process to the next (a few points on some machines: README, Timing method).")
    by_source: dict[str, list[GroupResult]] = {}
    for group in replicated:
        by_source.setdefault(group.interval_method, []).append(group)
    counts = sorted({g.processes for g in replicated})
    processes = "-".join(str(n) for n in (counts[0], counts[-1]) if n) if len(counts) > 1 \
        else str(counts[0])
    older = len(timed) - len(replicated)
    built = (", its members built afresh every few rounds inside each"
             if all(g.round_build for g in replicated) else "")
    return (f"Intervals: each comparison group timed in {processes} fresh process(es){built}, "
            "the process a random effect (README, Timing method); between-process variance "
            "from "
            + "; ".join(_source_text(s, g) for s, g in by_source.items())
            + (f"; {older} group(s) timed in one process, within-process intervals only"
               if older else "") + ".")


def calibration_line(group: GroupResult) -> str:
    """One calibration in one sentence."""
    ratio = group.ratios[0] if group.ratios else None
    label = group.members[0].label if group.members else "?"
    if ratio is None or ratio.throughput_ratio is None:
        return f"- `{label}`: the A/A run did not complete ({group.stopped or group.status})."
    shown = ratio_with_interval(ratio.throughput_ratio, ratio.ci_low, ratio.ci_high)
    interval = stored_interval(ratio, group)
    verdict = ("contains 100%, as it should" if interval is None or interval.side_of(1.0) == 0
               else "EXCLUDES 100%: the machine's noise was uneven; distrust small differences")
    detectable = ("" if group.min_detectable_slowdown is None else
                  f"; the smallest slowdown this budget detects in 80% of runs: "
                  f"{percent(group.min_detectable_slowdown)}")
    spread = ("" if ratio.between_sd is None else
              f"; between-process SD of a ratio {100 * ratio.between_sd:.2g}% over "
              f"{len(ratio.process_ratios)} fresh processes")
    if ratio.between_build_sd is not None:
        spread += (f" (between builds inside a process: {100 * ratio.between_build_sd:.2g}% "
                   f"over {len(ratio.build_ratios)} builds)")
    return (f"- `{label}` against itself: {shown} over {ratio.rounds} interleaved rounds "
            f"({group.started_utc or 'time unknown'}); the interval {verdict}{detectable}"
            f"{spread}.")


def calibration_section(data: ReportData) -> str | None:
    """``## Machine noise (A/A calibration)``, or None when no input holds a calibration."""
    if not data.calibrations:
        return None
    lines = "\n".join(calibration_line(g) for g in data.calibrations)
    return ("## Machine noise (A/A calibration)\n\n"
            "`attnprof calibrate` timed one workload against itself in interleaved rounds: "
            "the A/A throughput ratio and its 95% interval show how far this machine's noise "
            "moves a ratio at this budget.\n\n" + lines + "\n")
