"""Render a :class:`~profiler.compare.judge.Comparison` as a terminal table or markdown.

Both list every regression together first, then every other compared metric. The markdown
form suits ``$GITHUB_STEP_SUMMARY``: a heading, a one-line summary, the regressions table and
the full comparison in a collapsed section.
"""

from __future__ import annotations

from collections.abc import Sequence

from profiler.compare.judge import Comparison, MetricComparison
from profiler.compare.machines import machine_line
from profiler.compare.metrics import format_value
from profiler.output.display import FORMATS, mark, marked, percent, table

__all__ = ["FORMATS", "render", "summary_line"]

HEADERS = ("Case", "Metric", "Baseline", "New", "Change", "Rule", "Test", "Result")


def _change(row: MetricComparison) -> str:
    return percent(row.change, 2, signed=True)


def _value(row: MetricComparison, value: float | None) -> str:
    if row.metric == "status":
        return "–"
    return format_value(row.metric, value)


def _cells(row: MetricComparison, markdown: bool) -> list[str]:
    result = marked(row.outcome) if markdown else row.outcome.upper() if row.regression \
        else row.outcome
    if row.note:
        result += f" ({row.note})"
    return [row.case, row.metric, _value(row, row.baseline), _value(row, row.new),
            _change(row), row.rule, row.test, result]


def _table(rows: Sequence[MetricComparison], markdown: bool) -> str:
    return table([_cells(r, markdown) for r in rows], HEADERS,
                 "markdown" if markdown else "table")


def summary_line(comparison: Comparison) -> str:
    """``3 regressions in 54 metrics of 18 matched cases (2 matched by workload)``."""
    regressions = len(comparison.regressions)
    noun = "regression" if regressions == 1 else "regressions"
    loose = (f" ({comparison.loose_matched} matched by workload)"
             if comparison.loose_matched else "")
    noisy = sum(1 for r in comparison.rows if r.outcome == "inconclusive")
    noise = f", {noisy} inconclusive (past the limit but within the noise)" if noisy else ""
    return (f"{regressions} {noun} in {len(comparison.rows)} metrics of {comparison.matched} "
            f"matched cases{loose}{noise}")


def _unmatched(comparison: Comparison) -> list[str]:
    lines = []
    for title, labels in (("only in the baseline (not compared)", comparison.only_baseline),
                          ("only in the new file (not compared)", comparison.only_new),
                          ("not ok in the baseline (not compared)",
                           comparison.failed_baseline)):
        if labels:
            lines.append(f"{title}: {', '.join(labels)}")
    return lines


def _first_lines(comparison: Comparison) -> list[str]:
    found = machine_line(comparison.machine_differences)
    return [] if found is None else [found]


def _as_table(comparison: Comparison) -> str:
    lines = [*_first_lines(comparison),
             f"compare {comparison.baseline} -> {comparison.new}: {summary_line(comparison)}"]
    if comparison.rows:
        lines += ["", _table(comparison.rows, markdown=False)]
    extra = _unmatched(comparison)
    return "\n".join(lines + (["", *extra] if extra else [])) + "\n"


def _as_markdown(comparison: Comparison) -> str:
    verdict = mark("regression" if comparison.regressions else "unchanged")
    lines = [*(f"⚠ {line}" for line in _first_lines(comparison)), "## attnprof compare", "",
             f"{verdict} {summary_line(comparison)}: `{comparison.new}` against "
             f"`{comparison.baseline}`.", ""]
    if comparison.regressions:
        lines += ["### Regressions", "", _table(comparison.regressions, markdown=True), ""]
    others = [r for r in comparison.rows if not r.regression]
    if others:
        lines += ["<details><summary>All other comparisons</summary>", "",
                  _table(others, markdown=True), "", "</details>", ""]
    for line in _unmatched(comparison):
        lines += [f"- {line}"]
    lines += ["", "Timing metrics regress only when past the rule's limit and significantly "
              "worse (Mann-Whitney U on the raw samples at p < 0.002, or non-overlapping 99% "
              "median intervals when there are too few samples); exact metrics on any change "
              "past the limit."]
    return "\n".join(lines) + "\n"


def render(comparison: Comparison, form: str) -> str:
    """The comparison as ``table`` (terminal) or ``markdown`` text."""
    return _as_markdown(comparison) if form == "markdown" else _as_table(comparison)
