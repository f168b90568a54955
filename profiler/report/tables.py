"""Report tables: our measurements in the paper's Table 3 layout, overheads, blocks, verdicts.

Each function returns a :class:`Table` (title, a units line, headers, rows of formatted
cells, numbered notes); :meth:`Table.to_markdown` renders it with tabulate. Cells stay short
(at most :data:`MAX_CELL` characters): a long explanation becomes a numbered note, listed
under its table, and the cell shows its number (:class:`Notes`). One unit per column, stated in the
units line: parameters in M = 10^6, FLOPs in G = 10^9 per image under fvcore's convention (one
multiply-add = one FLOP), throughput in images/s as median ± IQR of the raw samples, with the
batch, dtype and device; ``†`` marks a noisy measurement (IQR/median above
:data:`~profiler.stats.NOISY_IQR_RATIO`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tabulate import tabulate

from profiler.claims.paper import Claims, Table3Row
from profiler.devices import device_type
from profiler.output.display import marked, mode_name, percent, percent_sig
from profiler.report.calibration import interval_note
from profiler.report.cells import (
    NOISY_MARK,
    giga,
    mib,
    sig,
    with_spread,
)
from profiler.report.data import PAPER_INPUT, BenchEntry, CountEntry, ReportData, method_of
from profiler.report.names import backbone_label, method_label
from profiler.report.ratios import UNPAIRED_MARK, change_cell, ratio_between, ratio_cell
from profiler.report.verdicts.verdict import Verdict
from profiler.spec import Workload, thaw_options
from profiler.stats import NOISY_IQR_RATIO

__all__ = [
    "INLINE_LIMIT",
    "MAX_CELL",
    "Notes",
    "Table",
    "Variant",
    "block_table",
    "claims_table",
    "not_built_table",
    "overhead_table",
    "table3",
    "variant",
    "variant_label",
    "verdict_table",
]

MODES = ("train", "infer")
NOISY_NOTE = f"{NOISY_MARK} noisy: IQR/median of images/s above {NOISY_IQR_RATIO:.0%}."
MAX_CELL = 160  # no table cell is longer (characters)
INLINE_LIMIT = 80  # explanations up to this length stay in their cell; longer become notes


class Notes:
    """A table's numbered notes: each distinct text gets the next number once."""

    def __init__(self) -> None:
        self._numbers: dict[str, int] = {}

    def cell(self, text: str) -> str:
        """``text`` itself when short enough for a cell, else its note number ``[n]``."""
        if len(text) <= INLINE_LIMIT:
            return text
        number = self._numbers.setdefault(text, len(self._numbers) + 1)
        return f"[{number}]"

    def items(self) -> tuple[tuple[int, str], ...]:
        return tuple((n, text) for text, n in self._numbers.items())


@dataclass(frozen=True)
class Table:
    """A titled table with its units line and the notes its cells refer to."""

    title: str
    units: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    notes: tuple[tuple[int, str], ...] = ()

    def to_markdown(self) -> str:
        cells = [[c.replace("|", "\\|") for c in row] for row in self.rows]
        body = tabulate(cells, headers=list(self.headers), tablefmt="github",
                        disable_numparse=True)
        notes = "".join(f"\n- [{n}] {text}" for n, text in self.notes)
        text = f"{self.units}\n\n{body}\n" if self.units else f"{body}\n"
        return f"{text}{notes}\n" if notes else text


# --- helpers ---------------------------------------------------------------------------------

WorkloadKey = tuple[str, str, tuple[tuple[str, object], ...], tuple[int, int, int]]


def _key(workload: Workload) -> WorkloadKey:
    return (workload.model or "", method_of(workload), workload.options, workload.input_shape)


def _options_text(workload: Workload) -> str:
    options = thaw_options(workload.options)
    return " ".join(f"{k}={_value(v)}" for k, v in options.items())


def _value(value: object) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def _method_cell(workload: Workload) -> str:
    options = _options_text(workload)
    label = method_label(method_of(workload))
    return f"{label} ({options})" if options else label


def _backbone_cell(workload: Workload) -> str:
    label = backbone_label(workload.model or "")
    if workload.input_shape != PAPER_INPUT:
        label += f" @{'x'.join(str(d) for d in workload.input_shape[1:])}"
    return label


def _describe(values: Iterable[str]) -> str:
    unique = list(dict.fromkeys(values))
    return " / ".join(unique) if unique else "–"


def _timing_units(benches: Sequence[BenchEntry], data: ReportData) -> str:
    parts = []
    for mode in MODES:
        found = [b for b in benches if b.spec.mode == mode]
        if found:
            batches = _describe(str(b.batch) for b in found)
            name = mode_name(mode)
            parts.append(f"{name} at batch {batches}")
    dtypes = _describe(b.spec.dtype for b in benches)
    devices = _describe(_device_name(b, data) for b in benches)
    if not parts:
        return ""
    return (f"FPS: images/s, median ± IQR of the raw samples; {', '.join(parts)}; {dtypes}; "
            f"{devices}. {NOISY_NOTE}")


def _device_name(entry: BenchEntry, data: ReportData) -> str:
    device = device_type(entry.spec.device)
    for run in data.runs:
        if device_type(run.environment.device) == device and run.environment.device_name:
            threads = (f", {run.environment.torch_threads} threads" if device == "cpu"
                       and run.environment.torch_threads else "")
            return f"{entry.spec.device} ({run.environment.device_name}{threads})"
    return entry.spec.device


def _fps_cell(entry: BenchEntry | None, mixed_batch: bool) -> str:
    if entry is None:
        return "–"
    result = entry.result
    text = with_spread(result.images_per_sec, result.images_per_sec_iqr, result.noisy)
    return f"{text} (b{entry.batch})" if mixed_batch else text


def _mixed(benches: Sequence[BenchEntry], mode: str) -> bool:
    return len({b.batch for b in benches if b.spec.mode == mode}) > 1


COUNT_UNITS = ("#Param: millions of parameters (M = 10^6). FLOPs: G = 10^9 per image at the "
               "input size shown (3x224x224 unless marked), fvcore's convention: one "
               "multiply-add counts as one FLOP.")


BACKWARD_UNITS = ("Train-step FLOPs: forward + backward of one training step per image, "
                  "from torch's FlopCounterMode (2 FLOPs per multiply-add; conv and matmul "
                  "only).")


# --- our measurements -------------------------------------------------------------------------

def _model_keys(data: ReportData, claims: Claims | None) -> list[WorkloadKey]:
    keys = list(dict.fromkeys([_key(c.workload) for c in data.model_counts]
                              + [_key(b.workload) for b in data.model_benches]))
    if claims is None:
        return keys
    order = {(r.backbone, r.method): i for i, r in enumerate(claims.table3)}
    backbones = {b: i for i, b in enumerate(claims.backbones())}
    return sorted(keys, key=lambda k: (backbones.get(k[0], len(backbones)),
                                       order.get((k[0], k[1]), len(order))))


Variant = tuple[str, bool, bool, str]


def variant(entry: BenchEntry) -> Variant:
    spec = entry.spec
    return (spec.dtype, spec.channels_last, spec.compile, spec.device)


def variant_label(variant: Variant) -> str:
    dtype, channels_last, compiled, device = variant
    flags = "".join(f" {f}" for f, on in (("channels_last", channels_last),
                                          ("compiled", compiled)) if on)
    return f"{dtype} {device}{flags}"


def table3(data: ReportData, claims: Claims | None = None) -> Table | None:
    """Our figures in the paper's Table 3 layout, one row per network measured (and per timing
    variant — dtype, channels_last, compile, device — when the results hold several; of two
    timings of the same variant and mode, the first in file order is shown)."""
    keys = _model_keys(data, claims)
    if not keys:
        return None
    counts = {_key(c.workload): c for c in reversed(data.model_counts)}
    benches = {(_key(b.workload), variant(b), b.spec.mode): b
               for b in reversed(data.model_benches)}
    variants = list(dict.fromkeys(variant(b) for b in data.model_benches))
    several = len(variants) > 1
    backward = any(c.train_step_flops is not None for c in data.model_counts)
    mixed = {mode: _mixed(data.model_benches, mode) for mode in MODES}
    rows = []
    for key in keys:
        count = counts.get(key)
        timed = [v for v in variants if any((key, v, m) in benches for m in MODES)]
        for chosen in [*timed] or [None]:
            train = benches.get((key, chosen, "train"))
            infer = benches.get((key, chosen, "infer"))
            entry: CountEntry | BenchEntry | None = count or infer or train
            if entry is None:
                continue
            method = _method_cell(entry.workload)
            if several and chosen is not None:
                method += f" [{variant_label(chosen)}]"
            step = [] if not backward else [
                "–" if count is None or count.train_step_flops is None
                else giga(count.train_step_flops)]
            rows.append((
                method, _backbone_cell(entry.workload),
                "–" if count is None else f"{count.result.params / 1e6:.2f}",
                "–" if count is None else giga(count.flops), *step,
                _fps_cell(train, mixed["train"]), _fps_cell(infer, mixed["infer"]),
            ))
    units = " ".join(u for u in (COUNT_UNITS, BACKWARD_UNITS if backward else "",
                                 _timing_units(data.model_benches, data)) if u)
    return Table("Our measurements (Table 3 layout)", units,
                 ("Method", "Backbone", "#Param (M)", "FLOPs (G)",
                  *(["Train-step FLOPs (G)"] if backward else []), "Training FPS",
                  "Inference FPS"), tuple(rows))


def overhead_table(data: ReportData) -> Table | None:
    """What each attention method adds to its backbone: params, FLOPs, throughput lost."""
    rows = []
    for key in _model_keys(data, None):
        model, method, _, shape = key
        if method == "none":
            continue
        base_key: WorkloadKey = (model, "none", (), shape)
        count = next((c for c in data.model_counts if _key(c.workload) == key), None)
        base = next((c for c in data.model_counts if _key(c.workload) == base_key), None)
        cells: list[str] = []
        if count is not None and base is not None:
            extra = count.result.params - base.result.params
            cells += [f"{extra:+,}", percent_sig(extra / base.result.params),
                      percent_sig((count.flops - base.flops) / base.flops),
                      percent_sig((count.flops_all - base.flops_all) / base.flops_all)
                      if base.flops_all else "–"]
        else:
            cells += ["–"] * 4
        for mode in MODES:
            mine = next((b for b in data.model_benches if _key(b.workload) == key
                         and b.spec.mode == mode), None)
            ref = next((b for b in data.model_benches if _key(b.workload) == base_key
                        and b.spec.mode == mode), None)
            cells.append("–" if mine is None or ref is None
                         else change_cell(ratio_between(data, mine, ref)))
        workload = Workload(model=model, attention=None if method == "none" else method,
                            options=key[2], input_shape=shape)
        rows.append((_backbone_cell(workload), _method_cell(workload), *cells))
    if not rows:
        return None
    units = ("Change relative to the same backbone without attention: parameters (count and "
             "%), FLOPs per image under fvcore's convention and with all operators, and "
             "throughput (images/s; negative = slower) with its 95% interval, paired over "
             f"interleaved rounds ({UNPAIRED_MARK}: timed apart, unpaired). "
             + interval_note(data.groups))
    return Table("Attention overhead over each backbone", units,
                 ("Backbone", "Method", "Δ params", "Δ params %", "Δ FLOPs % (fvcore)",
                  "Δ FLOPs % (all)", "Δ training FPS", "Δ inference FPS"), tuple(rows))


def block_table(data: ReportData) -> Table | None:
    """Single blocks: counts and timings against the memory-bandwidth floor."""
    benches = data.block_benches
    counts = {(c.workload.block, c.workload.input_shape, c.workload.options): c
              for c in data.block_counts}
    rows = []
    for entry in benches:
        workload, result = entry.workload, entry.result
        count = counts.get((workload.block, workload.input_shape, workload.options))
        channels, height, width = workload.input_shape
        floor_ms = (None if not (result.min_bytes and result.copy_gbps)
                    else result.min_bytes / (result.copy_gbps * 1e9) * 1e3)
        rows.append((
            _method_cell(workload), str(channels), f"{height}x{width}", entry.spec.mode,
            str(entry.batch), "–" if count is None else f"{count.result.params:,}",
            with_spread(result.step_ms_median, result.step_ms_iqr, result.noisy),
            sig(floor_ms), sig(result.achieved_gbps),
            percent(result.fraction_of_copy) if result.fraction_of_copy is not None else "–",
            mib(result.peak_memory_bytes),
        ))
    if not rows:
        return None
    units = ("Step time in ms (median ± IQR of the raw samples) for the batch shown; floor = "
             "least memory traffic (min_bytes) / the device's measured copy bandwidth; "
             "achieved GB/s = min_bytes / median step time; % of copy = achieved / copy "
             f"bandwidth; peak memory in MiB (2^20 bytes). {NOISY_NOTE}")
    return Table("Attention blocks alone", units,
                 ("Block", "C", "HxW", "Mode", "Batch", "Params", "Step (ms)", "Floor (ms)",
                  "Achieved GB/s", "% of copy", "Peak MiB"), tuple(rows))


# --- against the paper ------------------------------------------------------------------------

def _paper_fps(row: Table3Row, base: Table3Row | None, mode: str) -> str:
    fps = row.fps(mode)
    if fps is None:
        return "N/A"
    base_fps = base.fps(mode) if base is not None else None
    share = f" ({percent(fps / base_fps)})" if base_fps and row is not base else ""
    return f"{fps:g}{share}"


def _our_fps(data: ReportData, row: Table3Row, mode: str) -> str:
    entry = data.bench_for(row.backbone, row.method, mode, row.options)
    if entry is None:
        return "–"
    base = data.bench_for(row.backbone, "none", mode)
    result = entry.result
    text = with_spread(result.images_per_sec, result.images_per_sec_iqr, result.noisy)
    if base is not None and row.method != "none":
        text += f" ({ratio_cell(ratio_between(data, entry, base))})"
    return text


def claims_table(data: ReportData, claims: Claims) -> Table:
    """Table 3 with the paper's numbers beside ours (buildable rows)."""
    rows = []
    for row in claims.table3:
        if not row.buildable:
            continue
        count = data.count_for(row.backbone, row.method, row.options)
        base = claims.baseline(row.backbone)
        rows.append((
            backbone_label(row.backbone), row.label,
            f"{row.params_m:.2f}",
            "–" if count is None else f"{count.result.params / 1e6:.2f}",
            f"{row.gflops:g}", "–" if count is None else giga(count.flops),
            _paper_fps(row, base, "train"), _our_fps(data, row, "train"),
            _paper_fps(row, base, "infer"), _our_fps(data, row, "infer"),
        ))
    units = (f"Paper: as printed ({claims.source}); its FPS were measured on "
             f"{claims.fps_hardware}. Ours: #Param in M = 10^6, FLOPs in G = 10^9 under "
             "fvcore's convention (the paper's figures are judged under the paper-wide "
             "counting convention in the verdicts below); FPS as median ± IQR images/s. In "
             "parentheses: the share of the backbone's FPS kept, which is what carries across "
             "hardware, with its 95% interval (paired over interleaved rounds; "
             f"{UNPAIRED_MARK}: timed apart). " + NOISY_NOTE)
    return Table("Table 3: paper vs ours", units,
                 ("Backbone", "Method", "#Param paper", "#Param ours", "FLOPs paper",
                  "FLOPs ours", "Train FPS paper", "Train FPS ours", "Infer FPS paper",
                  "Infer FPS ours"), tuple(rows))


def not_built_table(claims: Claims) -> Table | None:
    """Table 3 rows attnprof cannot build, with the reason."""
    rows = tuple((backbone_label(r.backbone), r.label, f"{r.params_m:.2f}", f"{r.gflops:g}",
                  "not built", r.not_built_reason) for r in claims.table3 if not r.buildable)
    if not rows:
        return None
    return Table("Rows not built", "", ("Backbone", "Method", "#Param paper (M)",
                                        "FLOPs paper (G)", "Status", "Reason"), rows)


def verdict_table(title: str, verdicts: Sequence[Verdict]) -> Table | None:
    """One row per verdict: what was claimed, the paper's figure, ours, outcome and why (a
    long reason as a numbered note under the table)."""
    if not verdicts:
        return None
    notes = Notes()
    rows = tuple((v.subject, v.claim, v.paper, v.ours, marked(v.status),
                  notes.cell(v.explanation)) for v in verdicts)
    return Table(title, "", ("Subject", "Claim", "Paper", "Ours", "Verdict", "Why"), rows,
                 notes.items())
