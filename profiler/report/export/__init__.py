"""The efficiency table of a paper, exported: LaTeX, CSV and markdown (``attnprof table``).

:mod:`~profiler.report.export.efficiency` builds the table (:mod:`~.model`) from the report's
extraction (:mod:`~.figures`: counts, throughput, paired shares); one module per format
renders it (:mod:`~.latex`, :mod:`~.csv_text`, :mod:`~.markdown`, with the caption of
:mod:`~.words`). Nothing here
measures or imports torch.
"""

from __future__ import annotations

from collections.abc import Callable

from profiler.report.export.csv_text import render_csv
from profiler.report.export.efficiency import build_efficiency_table
from profiler.report.export.latex import render_latex
from profiler.report.export.markdown import render_markdown
from profiler.report.export.model import (
    COLUMNS,
    DEFAULT_COLUMNS,
    DEFAULT_COUNTER,
    THROUGHPUT,
    UNITS,
    EfficiencyTable,
    TableOptions,
    parse_columns,
    parse_names,
)

__all__ = [
    "COLUMNS",
    "DEFAULT_COLUMNS",
    "DEFAULT_COUNTER",
    "FORMATS",
    "THROUGHPUT",
    "UNITS",
    "EfficiencyTable",
    "TableOptions",
    "build_efficiency_table",
    "parse_columns",
    "parse_names",
    "render",
]

FORMATS: tuple[str, ...] = ("latex", "csv", "markdown")


def render(table: EfficiencyTable, form: str, *, intervals: bool = True, caption: str = "",
           label: str | None = None) -> str:
    """``table`` in format ``form`` (one of :data:`FORMATS`)."""
    renderers: dict[str, Callable[[], str]] = {
        "latex": lambda: render_latex(table, intervals=intervals, caption=caption, label=label),
        "csv": lambda: render_csv(table, intervals=intervals),
        "markdown": lambda: render_markdown(table, intervals=intervals, caption=caption),
    }
    return renderers[form]()
