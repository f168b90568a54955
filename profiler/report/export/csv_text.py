"""An efficiency table as CSV: one row per case, for pandas or a spreadsheet.

``pandas.read_csv(path)`` loads it without options: a header line, commas, ``"`` quoting
where a name holds a comma, empty fields for figures not measured. Figures are unrounded
(``repr`` of the float): the numbers of the result file, divided into the table's units.

Columns: ``backbone``, ``method`` (labels), ``model``, ``attention``, ``options`` (as
recorded), then per figure its value and, with intervals, its spread or bounds:

- ``params_<unit>``, ``flops_<unit>`` (unit ``M``/``G``, or ``Mi``/``Gi`` in binary units);
- ``<mode>_fps`` and ``<mode>_fps_iqr`` (images/s, median and IQR of the raw samples);
- ``<mode>_share_pct``, ``<mode>_share_low_pct``, ``<mode>_share_high_pct`` (% of the
  backbone's throughput and its 95% interval) and ``<mode>_share_paired`` (True when paired
  over interleaved rounds);
- ``<mode>_memory_mib`` (peak memory);

then the machine: ``device``, ``device_name``, ``torch_version``, ``threads``,
``<mode>_batch``, ``dtype``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from profiler.report.export.model import MODES, Cell, Column, EfficiencyTable, Row

__all__ = ["render_csv"]


def _number(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def _fields(column: Column, intervals: bool) -> list[str]:
    if column.kind == "count":
        return [f"{column.id}_{column.unit}"]
    if column.kind == "fps":
        return [column.id, *([f"{column.id}_iqr"] if intervals else [])]
    if column.kind == "share":
        return [f"{column.id}_pct", *([f"{column.id}_low_pct", f"{column.id}_high_pct",
                                       f"{column.id}_paired"] if intervals else [])]
    return [f"{column.id}_mib"]


def _values(cell: Cell, column: Column, intervals: bool) -> list[str]:
    if column.kind == "fps" and intervals:
        return [_number(cell.value), _number(cell.spread)]
    if column.kind == "share" and intervals:
        paired = "" if cell.paired is None else str(cell.paired)
        return [_number(cell.value), _number(cell.low), _number(cell.high), paired]
    return [_number(cell.value)]


def _machine(table: EfficiencyTable, row: Row) -> list[str]:
    env = next((e for e in table.machines if e.summary == row.machine), None)
    batches = [str(row.batches.get(mode, "")) for mode in MODES]
    if env is None:
        return ["", "", "", "", *batches, row.dtype]
    return [row.device or env.device, env.device_name, env.torch_version,
            str(env.torch_threads or ""), *batches, row.dtype]


def _lines(table: EfficiencyTable, intervals: bool) -> Iterator[list[str]]:
    yield ["backbone", "method", "model", "attention", "options",
           *(f for c in table.columns for f in _fields(c, intervals)),
           "device", "device_name", "torch_version", "threads",
           *(f"{mode}_batch" for mode in MODES), "dtype"]
    for row in table.rows:
        yield [row.backbone, row.method, row.model, row.method_name, row.options,
               *(v for c in table.columns for v in _values(row.cells[c.id], c, intervals)),
               *_machine(table, row)]


def render_csv(table: EfficiencyTable, *, intervals: bool = True) -> str:
    """The table as CSV text (``\\n`` line ends)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(_lines(table, intervals))
    return buffer.getvalue()
