"""How attnprof writes a value for people: one home for the words and numbers every output shares.

Percentages, a ratio with its confidence interval, the names of the timing modes, the marks
of a status or decision and the text formats of a table are written here once, so that a
report, ``compare``, ``gate`` and the commands' terminal lines say the same thing the same
way. No torch: every layer may import it (the reading side, ``gate`` before it loads a side).
JSON fields are not formatted here: result files keep raw numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tabulate import tabulate

__all__ = [
    "FORMATS",
    "MODE_NAMES",
    "STATUS_MARKS",
    "mark",
    "marked",
    "mode_name",
    "percent",
    "percent_sig",
    "ratio_with_interval",
    "table",
]

#: The text formats of a command's table output (``--format``), each with tabulate's style:
#: ``table`` for a terminal, ``markdown`` for ``$GITHUB_STEP_SUMMARY`` and pull requests.
FORMATS = {"table": "simple", "markdown": "github"}

#: How a timing mode is written in every report, table title, plot and terminal line.
MODE_NAMES = {"infer": "inference", "train": "training"}

#: The mark in front of a status or a decision, wherever one is shown with a mark: a report's
#: verdicts (``n.a.`` has none: "–" means "not measured" in a report), ``compare``'s outcomes
#: and ``gate``'s decisions.
STATUS_MARKS = {
    "pass": "✅", "fail": "❌", "partial": "◐", "inconclusive": "❔",
    "regression": "❌", "improved": "⬆", "unchanged": "✅", "error": "⚠",
}


def mode_name(mode: str) -> str:
    """``infer`` -> ``inference``, ``train`` -> ``training``; any other mode unchanged."""
    return MODE_NAMES.get(mode, mode)


def mark(status: str) -> str:
    """The mark alone: ``pass`` -> ``✅`` (a status without one: empty)."""
    return STATUS_MARKS.get(status, "")


def marked(status: str) -> str:
    """The status after its mark: ``regression`` -> ``❌ regression``."""
    found = mark(status)
    return f"{found} {status}" if found else status


def percent(value: float | None, digits: int = 1, *, signed: bool = False) -> str:
    """A fraction in percent: ``0.973`` -> ``97.3%``; ``signed`` for a change (``+3.2%``);
    ``–`` for None."""
    if value is None:
        return "–"
    return f"{100 * value:{'+' if signed else ''}.{digits}f}%"


def percent_sig(value: float | None, digits: int = 2) -> str:
    """A signed change with ``digits`` significant figures: ``+9.9%``, ``+0.00031%``."""
    if value is None:
        return "–"
    return "+0%" if value == 0 else f"{100 * value:+.{digits}g}%"


def ratio_with_interval(value: float | None, low: float | None, high: float | None) -> str:
    """A ratio and its confidence interval, in percent of the reference: ``97.3% [95.1, 99.0]``
    (``[no interval]`` when there are too few rounds for one). Every human-readable output
    writes a ratio with its interval this way."""
    if value is None:
        return "–"
    if low is None or high is None:
        return f"{percent(value)} [no interval]"
    return f"{percent(value)} [{100 * low:.1f}, {100 * high:.1f}]"


def table(rows: Iterable[Sequence[str]], headers: Sequence[str], fmt: str = "table") -> str:
    """``rows`` under ``headers`` in format ``fmt`` (:data:`FORMATS`); the cells are text, kept
    as they are (a markdown cell's ``|`` escaped)."""
    if fmt == "markdown":
        rows = [[cell.replace("|", "\\|") for cell in row] for row in rows]
    return tabulate(list(rows), headers=list(headers), tablefmt=FORMATS[fmt],
                    disable_numparse=True)

