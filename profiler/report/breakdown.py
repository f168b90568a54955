"""The report's "Where the time goes" section, from breakdown cases (``kind = "breakdown"``).

Per backbone and mode: one table of each part's share of the measured step beside its share
of the FLOPs, one column per attention method; a table of what the attention ops cost (time,
FLOPs, minimal traffic, achieved bandwidth) beside the throughput the method loses, 1 - its
paired ratio with the interval (:mod:`profiler.report.ratios`); and
:func:`measured_cost`, the sentence the timing verdicts cite instead of generic prose.
Formatting only: the numbers are the breakdown results'.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from profiler.output.display import mode_name, percent
from profiler.report.cells import sig
from profiler.report.data import BreakdownEntry, ReportData, method_of
from profiler.report.names import backbone_label, method_label
from profiler.report.ratios import UNPAIRED_MARK, cost_cell, ratio_between
from profiler.report.tables import Table
from profiler.results.breakdown import (
    AGREEMENT_TOLERANCE,
    ATTENTION_PARTS,
    BreakdownResult,
    part_label,
)
from profiler.spec import Options

__all__ = ["GROUPS", "Panel", "breakdown_section", "breakdown_tables", "group_shares",
           "measured_cost",
           "measured_order", "panels"]

# Rows of the table and stacks of the plot: a label and the parts it sums.
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("convolution", ("convolution",)),
    ("batch norm", ("batch_norm",)),
    ("activation", ("activation",)),
    ("pooling", ("pooling",)),
    ("classifier", ("classifier",)),
    ("attention", ATTENTION_PARTS),
    ("other model ops", ("other_ops",)),
    ("loss", ("loss",)),
    ("optimizer", ("optimizer",)),
    ("unattributed", ("unattributed",)),
)


@dataclass(frozen=True)
class Panel:
    """The breakdowns of one backbone in one mode (same batch, dtype, device, input)."""

    backbone: str
    mode: str
    entries: tuple[BreakdownEntry, ...]

    @property
    def title(self) -> str:
        first = self.entries[0].spec
        return (f"{backbone_label(self.backbone)}, {mode_name(self.mode)} "
                f"(batch {first.batch}, {first.dtype}, {first.device})")


def panels(data: ReportData) -> list[Panel]:
    """Model breakdowns grouped by backbone and mode, the plain backbone first."""
    groups: dict[tuple[object, ...], list[BreakdownEntry]] = {}
    for entry in data.breakdowns:
        if entry.workload.is_block or entry.workload.model is None:
            continue
        spec = entry.spec
        key = (entry.workload.model, spec.mode, spec.batch, spec.dtype, spec.device,
               entry.workload.input_shape)
        groups.setdefault(key, []).append(entry)
    found = []
    for key, entries in groups.items():
        ordered = sorted(entries, key=lambda e: method_of(e.workload) != "none")
        found.append(Panel(str(key[0]), str(key[1]), tuple(ordered)))
    return found


def group_shares(result: BreakdownResult, parts: Sequence[str]) -> tuple[float, float]:
    """(time share, FLOPs share) of the parts of one group."""
    chosen = [p for p in result.parts if p.part in parts]
    return sum(p.time_share for p in chosen), sum(p.flops_share for p in chosen)


def _cell(time: float, flops: float) -> str:
    return f"{percent(time)} ({sig(100 * flops, 2)}%)" if flops else percent(time)


def _method(entry: BreakdownEntry) -> str:
    method = method_of(entry.workload)
    return "no attention" if method == "none" else method_label(method)


def _share_table(panel: Panel) -> Table:
    results = [e.result for e in panel.entries]
    rows: list[tuple[str, ...]] = []
    for label, parts in GROUPS:
        shares = [group_shares(r, parts) for r in results]
        if not any(t or f for t, f in shares):
            continue
        rows.append((label, *(_cell(t, f) for t, f in shares)))
        if parts == ATTENTION_PARTS:
            for part in parts:
                sub = [group_shares(r, (part,)) for r in results]
                if any(t for t, _ in sub):
                    rows.append((f"· {part_label(part).split(': ', 1)[1]}",
                                 *(_cell(t, f) for t, f in sub)))
    compensated = any(r.overhead_ms for r in results)
    if compensated:
        rows.append(("profiler's cost taken out (ms)", *(sig(r.overhead_ms) for r in results)))
    rows.append(("step time, no profiler (ms)", *(sig(r.step_ms) for r in results)))
    rows.append(("parts vs that step", *(_leftover(r) for r in results)))
    taken = (" less the profiler's own cost (calibrated per recorded event in the same run, "
             "taken out of each event's parent part)" if compensated else "")
    units = ("Share of the profiled step's time per part (in brackets: share of the model's "
             f"FLOPs, fvcore, forward pass). The parts add up to the profiled step{taken}; the "
             "last row compares that with the step timed without the profiler (±"
             f"{100 * AGREEMENT_TOLERANCE:.0f}% agrees).")
    return Table(f"Where the time goes: {panel.title}", units,
                 ("Part", *(_method(e) for e in panel.entries)), tuple(rows))


def _leftover(result: BreakdownResult) -> str:
    mark = "" if result.agrees else " ⚠"
    return f"{100 * result.leftover_share:+.1f}%{mark}"


def _paired_cost(data: ReportData, entry: BreakdownEntry) -> str:
    """1 - the timing cases' throughput ratio (variant / plain backbone) with its interval,
    when both were timed at the breakdown's batch, dtype and device."""
    workload, spec = entry.workload, entry.spec
    if workload.model is None:
        return "–"
    mine = data.bench_for(workload.model, method_of(workload), spec.mode, workload.options,
                          workload.input_shape)
    base = data.bench_for(workload.model, "none", spec.mode, (), workload.input_shape)
    if mine is None or base is None or not base.result.images_per_sec or any(
            (b.spec.batch, b.spec.dtype, b.spec.device) != (spec.batch, spec.dtype, spec.device)
            for b in (mine, base)):
        return "–"
    return cost_cell(ratio_between(data, mine, base))


def _attention_table(data: ReportData, panel: Panel) -> Table | None:
    rows = []
    for entry in panel.entries:
        result = entry.result
        if not result.attention_parts:
            continue
        fraction = result.attention_fraction_of_copy
        rows.append((_method(entry), percent(result.attention_time_share),
                     f"{sig(100 * result.attention_flops_share, 2)}%",
                     percent(result.attention_bytes_share), sig(result.attention_gbps),
                     "–" if fraction is None else percent(fraction),
                     _paired_cost(data, entry)))
    if not rows:
        return None
    units = ("The attention operations together: share of the step's time, of the FLOPs and "
             "of the minimal memory traffic; achieved bandwidth = their minimal bytes / their "
             "time (GB/s = 10^9 B/s), and as a share of the device's measured copy "
             "bandwidth (a large buffer from memory; above 100% the blocks' data came from "
             "cache). Last column: what the method costs in throughput, 1 - its paired "
             "throughput ratio to the plain backbone (timed together in interleaved rounds "
             "at the same batch) with the 95% interval; the time share should fall near it. "
             f"{UNPAIRED_MARK}: timed apart, unpaired interval.")
    return Table(f"Attention cost: {panel.title}", units,
                 ("Method", "time", "FLOPs", "traffic", "GB/s", "of copy",
                  "throughput lost (1 - paired ratio) [95% CI]"), tuple(rows))


def breakdown_tables(data: ReportData) -> list[Table]:
    """The section's tables, per backbone and mode."""
    tables: list[Table] = []
    for panel in panels(data):
        tables.append(_share_table(panel))
        attention = _attention_table(data, panel)
        if attention is not None:
            tables.append(attention)
    return tables


def breakdown_section(data: ReportData) -> str | None:
    """The whole "Where the time goes" section (None without breakdown cases)."""
    tables = breakdown_tables(data)
    if not tables:
        return None
    intro = ("Measured with `attnprof breakdown`: a short torch.profiler window after warm-up; "
             "each operation's self time goes to the layer kind it runs in, or inside an "
             "attention block to its operation, backward ops to their forward op's part. "
             "Attention blocks do almost no arithmetic: compare their time share with their "
             "FLOPs share.")
    body = [intro] + [f"### {t.title}\n\n{t.to_markdown()}" for t in tables]
    return "## Where the time goes\n\n" + "\n\n".join(b.rstrip() for b in body) + "\n"


def _top_operations(result: BreakdownResult, count: int = 2) -> str:
    ops = sorted(result.attention_parts, key=lambda p: -p.time_share)[:count]
    return ", ".join(f"{part_label(p.part).split(': ', 1)[1]} {percent(p.time_share)}"
                     for p in ops if p.time_share > 0)


def measured_cost(data: ReportData, backbone: str, method: str, mode: str,
                  options: Options = ()) -> str | None:
    """What a method's attention ops were measured to cost here, in one clause (None when
    no breakdown of it was run)."""
    entry = data.breakdown_for(backbone, method, mode, options)
    if entry is None or not entry.result.attention_parts:
        return None
    result = entry.result
    fraction = result.attention_fraction_of_copy
    bandwidth = "" if result.attention_gbps is None else (
        f", moving their least traffic at {sig(result.attention_gbps)} GB/s"
        + ("" if fraction is None else f" ({percent(fraction)} of copy bandwidth)"))
    return (f"measured here, its attention ops take {percent(result.attention_time_share)} of "
            f"the {mode_name(mode)} step ({_top_operations(result)}) for "
            f"{sig(100 * result.attention_flops_share, 2)}% of the FLOPs{bandwidth}")


def measured_order(data: ReportData, backbone: str, mode: str,
                   first: tuple[str, str, Options], second: tuple[str, str, Options]
                   ) -> str | None:
    """Both methods' measured attention cost, for an ordering verdict; each method is
    (label, method, options). None unless both were broken down."""
    found = [data.breakdown_for(backbone, method, mode, options)
             for _, method, options in (first, second)]
    if any(e is None for e in found):
        return None
    a, b = (e.result for e in found if e is not None)
    return (f"measured here, attention ops take {percent(a.attention_time_share)} of the "
            f"{mode_name(mode)} step with {first[0]} and "
            f"{percent(b.attention_time_share)} with {second[0]} "
            f"({sig(100 * a.attention_flops_share, 2)}% and "
            f"{sig(100 * b.attention_flops_share, 2)}% of the FLOPs)")
