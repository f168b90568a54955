"""The efficiency table of a paper, exported: LaTeX, CSV and markdown (``attnprof table``).

:mod:`~profiler.report.export.efficiency` takes the figures from the report's extraction
(counts, throughput, paired shares); one module per format renders them. Nothing here
measures or imports torch.
"""

from __future__ import annotations

from collections.abc import Callable

from profiler.report.export.csv_text import render_csv
from profiler.report.export.efficiency import (
    COLUMNS,
    DEFAULT_COLUMNS,
    THROUGHPUT,
    UNITS,
    EfficiencyTable,
    TableOptions,
    build_efficiency_table,
    parse_columns,
    parse_names,
)
from profiler.report.export.latex import render_latex
from profiler.report.export.markdown import render_markdown

__all__ = [
    "COLUMNS",
    "DEFAULT_COLUMNS",
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
