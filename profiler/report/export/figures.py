"""The cells of an efficiency table, from the report's entries: the report's figures, unrounded
and as the report prints them.

Parameters and FLOPs per image of a :class:`~profiler.report.data.CountEntry` under one
counter and units; throughput (median ± IQR of the raw samples) of a
:class:`~profiler.report.data.BenchEntry`; its share of the backbone's throughput with the
interval of :func:`~profiler.report.ratios.ratio_between`; peak memory in MiB.
"""

from __future__ import annotations

from profiler.output.display import percent
from profiler.report.cells import giga, mib, sig, with_spread
from profiler.report.data import BenchEntry, CountEntry, ReportData
from profiler.report.export.model import DEFAULT_COUNTER, MISSING, Cell
from profiler.report.ratios import is_paired, ratio_between, ratio_cell

__all__ = ["PREFIXES", "count_cells", "fps_cell", "memory_cell", "share_cell"]

# units -> (params prefix, FLOPs prefix, params divisor, FLOPs divisor)
PREFIXES = {"si": ("M", "G", 10**6, 10**9), "binary": ("Mi", "Gi", 2**20, 2**30)}


def count_cells(count: CountEntry | None, counter: str, system: str) -> dict[str, Cell]:
    """``params`` and ``flops`` per image of ``count`` under ``counter`` (fvcore's: the exact
    parameter count and the report's FLOPs; another: as it reports them), in ``system``'s
    M and G, printed as the report prints them (``25.56``, ``4.11``, ``0.3142``)."""
    if count is None:
        return {"params": MISSING, "flops": MISSING}
    _, _, params_div, flops_div = PREFIXES[system]
    if counter == DEFAULT_COUNTER:
        params: float | None = count.result.params
        flops: float | None = count.flops
    else:
        params, flops = count.params_by(counter), count.flops_by(counter)
    cells = {}
    if params is not None:
        value = params / params_div
        cells["params"] = Cell(value, f"{value:.2f}", f"{value:.2f}")
    if flops is not None:
        value = flops / flops_div
        text = giga(value * 1e9)  # the report's rule: 2 decimals from 1 G up, 4 below
        cells["flops"] = Cell(value, text, text)
    return {"params": cells.get("params", MISSING), "flops": cells.get("flops", MISSING)}


def fps_cell(entry: BenchEntry | None) -> Cell:
    """Images/s: the median of the raw samples, its IQR, ``noisy`` as the result says."""
    if entry is None:
        return MISSING
    result = entry.result
    text = sig(result.images_per_sec)
    decimals = len(text.split(".")[1]) if "." in text and "e" not in text else 0
    return Cell(result.images_per_sec, text,
                with_spread(result.images_per_sec, result.images_per_sec_iqr, result.noisy),
                spread=result.images_per_sec_iqr,
                spread_text=f"{result.images_per_sec_iqr:.{decimals}f}",
                mark="noisy" if result.noisy else "")


def _percent(value: float | None) -> float | None:
    return None if value is None else 100 * value


def share_cell(data: ReportData, entry: BenchEntry | None, base: BenchEntry | None) -> Cell:
    """``entry``'s images/s as % of ``base``'s (its backbone) with the report's interval;
    the backbone itself is 100 by definition (no interval)."""
    if entry is None or base is None:
        return MISSING
    if entry is base:
        return Cell(100.0, "100.0", percent(1.0))
    interval = ratio_between(data, entry, base)
    paired = is_paired(interval)
    return Cell(100 * interval.ratio, f"{100 * interval.ratio:.1f}", ratio_cell(interval),
                low=_percent(interval.low), high=_percent(interval.high),
                low_text="" if interval.low is None else f"{100 * interval.low:.1f}",
                high_text="" if interval.high is None else f"{100 * interval.high:.1f}",
                mark="" if paired else "unpaired", paired=paired)


def memory_cell(entry: BenchEntry | None) -> Cell:
    """Peak memory of the timed step in MiB (None where not recorded)."""
    if entry is None or entry.result.peak_memory_bytes is None:
        return MISSING
    value = entry.result.peak_memory_bytes / 2**20
    return Cell(value, mib(entry.result.peak_memory_bytes), mib(entry.result.peak_memory_bytes))
