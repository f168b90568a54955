"""An efficiency table as markdown: the report's Table 3 cells, alone.

Cells are the report's (:mod:`profiler.report.tables`): ``4.35 ± 0.05`` for throughput,
``93.2% [89.3, 95.7]`` for a share with its interval (``‡`` unpaired), ``†`` for a noisy
timing; the caption and the units line above the table, as every report table has them.
"""

from __future__ import annotations

from profiler.report.cells import NOISY_MARK
from profiler.report.export.model import Cell, Column, EfficiencyTable
from profiler.report.export.words import caption_text
from profiler.report.ratios import UNPAIRED_MARK
from profiler.report.tables import Table

__all__ = ["render_markdown"]

_MARKS = {"noisy": NOISY_MARK, "unpaired": UNPAIRED_MARK}


def _cell(cell: Cell, column: Column, intervals: bool) -> str:
    if cell.value is None:
        return "–"
    if intervals or column.kind not in ("fps", "share"):
        return cell.markdown
    text = f"{cell.text}%" if column.kind == "share" else cell.text
    return text + (f" {_MARKS[cell.mark]}" if cell.mark else "")


def render_markdown(table: EfficiencyTable, *, intervals: bool = True,
                    caption: str = "") -> str:
    """The units line (after ``caption``, if any) and the table."""
    headers = ("Backbone", "Method", *(["Machine"] if table.mixed else []),
               *(c.header for c in table.columns))
    rows = tuple((row.backbone, row.method, *([row.machine] if table.mixed else []),
                  *(_cell(row.cells[c.id], c, intervals) for c in table.columns))
                 for row in table.rows)
    return Table("", caption_text(table, caption, intervals), headers, rows).to_markdown()
