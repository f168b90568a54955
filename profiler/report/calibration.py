"""The report's note on machine noise, from the A/A calibrations a result file holds.

``attnprof calibrate --into RESULT.json`` times one workload against itself and stores the
A/A group in the file; the report then says how far this machine's noise moves a ratio at
the budget used, and the smallest slowdown that budget detects, so that a reader can weigh
the throughput verdicts.
"""

from __future__ import annotations

from profiler.output.display import percent, ratio_with_interval
from profiler.report.data import ReportData
from profiler.report.ratios import stored_interval
from profiler.results.group import GroupResult

__all__ = ["calibration_line", "calibration_section"]


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
    return (f"- `{label}` against itself: {shown} over {ratio.rounds} interleaved rounds "
            f"({group.started_utc or 'time unknown'}); the interval {verdict}{detectable}.")


def calibration_section(data: ReportData) -> str | None:
    """``## Machine noise (A/A calibration)``, or None when no input holds a calibration."""
    if not data.calibrations:
        return None
    lines = "\n".join(calibration_line(g) for g in data.calibrations)
    return ("## Machine noise (A/A calibration)\n\n"
            "`attnprof calibrate` timed one workload against itself in interleaved rounds: "
            "the A/A throughput ratio and its 95% interval show how far this machine's noise "
            "moves a ratio at this budget.\n\n" + lines + "\n")
