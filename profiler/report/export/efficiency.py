"""The efficiency table of a paper (params, FLOPs, training and inference throughput), as data.

:func:`build_efficiency_table` turns merged result files into an :class:`EfficiencyTable`:
one :class:`Row` per case (backbone x method, and per timing variant and machine), each cell a
:class:`Cell` holding the unrounded figure, its spread or interval, and the parts a renderer
prints (:mod:`~profiler.report.export.latex`, :mod:`~profiler.report.export.csv_text`,
:mod:`~profiler.report.export.markdown`). Figures come from the report's own extraction, so
they print as in the report's Table 3:

- parameters and FLOPs per image from :class:`~profiler.report.data.CountEntry` under one
  counter (fvcore's by default; another recorded in the counts with ``counter``), in SI units
  (M = 10^6, G = 10^9) or in the paper's units (the prefixes of the counting convention that
  ``attnprof conventions`` found for the results' claims: 2^20 and 2^30 for eca-cvpr2020);
- throughput: images/s as median ± IQR of the raw samples, and each method's share of its
  own backbone's throughput with its 95% interval from
  :func:`~profiler.report.ratios.ratio_between` (paired over interleaved rounds where the
  cases were timed together, else the unpaired interval, marked);
- peak memory in MiB (2^20 bytes) of each timed mode.

Rows follow the paper's order when the results name claims (Table 3's backbones and methods),
else first appearance; the plain backbone comes first in its group. Nothing here prints:
columns that cannot be filled are dropped and said in :attr:`EfficiencyTable.dropped`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from profiler.claims.paper import Claims, load_claims
from profiler.compare.machines import Machine
from profiler.errors import AttnprofError, InvalidOptionError
from profiler.report.data import PAPER_INPUT, BenchEntry, CountEntry, ReportData, collect
from profiler.report.export.figures import (
    PREFIXES,
    count_cells,
    fps_cell,
    memory_cell,
    share_cell,
)
from profiler.report.export.model import (
    DEFAULT_COUNTER,
    MODE_WORDS,
    MODES,
    Column,
    EfficiencyTable,
    Row,
    TableOptions,
)
from profiler.report.names import NO_ATTENTION, backbone_label, method_label
from profiler.report.tables import Variant, variant, variant_label
from profiler.report.verdicts.findings import load_claims_findings
from profiler.results.envelope import ResultFile, Spec
from profiler.results.environment import Environment
from profiler.spec import Workload, thaw_options

__all__ = ["build_efficiency_table"]


# --- units and labels -------------------------------------------------------------------------

def _units_system(choice: str, data: ReportData) -> str:
    """``si``, or the units of the paper-wide counting convention of the results' claims."""
    if choice == "si":
        return "si"
    if data.claims_id is None:
        raise InvalidOptionError("--units paper needs a paper's counting convention, and "
                                 "these results name no claims (their suite has none); use "
                                 "--units si")
    claims = load_claims(data.claims_id)  # claims that cannot be read: their one-line error
    convention = load_claims_findings(claims).convention
    if convention is None:
        raise InvalidOptionError(f"--units paper: no counting convention found for "
                                 f"{claims.id} ('attnprof conventions --write'); use --units si")
    return convention.hypothesis.units


def _claims(data: ReportData) -> Claims | None:
    """The results' claims, for the paper's row order only: claims this checkout does not
    have leave the rows in file order (the figures do not depend on them)."""
    if data.claims_id is None:
        return None
    try:
        return load_claims(data.claims_id)
    except AttnprofError:
        return None


def _options_text(workload: Workload) -> str:
    options = thaw_options(workload.options)
    return " ".join(f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}"
                    for k, v in options.items())


def _method_name(workload: Workload) -> str:
    return workload.attention or NO_ATTENTION


def _labels(workload: Workload, names: Mapping[str, str]) -> tuple[str, str]:
    """(backbone, method) labels: a ``--name`` mapping, else the report's labels (a user
    model or block ``module:attr`` by its attribute, the class name)."""
    model = workload.model or ""
    backbone = names.get(model) or (model.rpartition(":")[2] if ":" in model
                                     else backbone_label(model))
    if workload.input_shape != PAPER_INPUT:
        backbone += f" @{'x'.join(str(d) for d in workload.input_shape[1:])}"
    method = _method_name(workload)
    label = names.get(method) or ("baseline" if method == NO_ATTENTION
                                  else method_label(method))
    options = _options_text(workload)
    return backbone, f"{label} ({options})" if options else label


# --- rows -------------------------------------------------------------------------------------

WorkloadKey = tuple[str, str, tuple[tuple[str, object], ...], tuple[int, int, int]]


def _key(workload: Workload) -> WorkloadKey:
    return (workload.model or "", _method_name(workload), workload.options,
            workload.input_shape)




def _order(keys: Sequence[WorkloadKey], claims: Claims | None) -> list[WorkloadKey]:
    """The paper's order: Table 3's backbones and methods where the claims list them, else
    first appearance; the plain backbone first in each backbone's group."""
    paper_backbones = list(claims.backbones()) if claims is not None else []
    paper_methods = ({(r.backbone, r.method): i for i, r in enumerate(claims.table3)}
                     if claims is not None else {})
    methods = list(dict.fromkeys(r.method for r in claims.table3)) if claims else []
    seen = list(dict.fromkeys([*paper_backbones, *(k[0] for k in keys)]))
    first = {k: i for i, k in enumerate(keys)}
    return sorted(keys, key=lambda k: (seen.index(k[0]), k[3] != PAPER_INPUT, k[3],
                                       k[1] != NO_ATTENTION,
                                       paper_methods.get((k[0], k[1]), len(paper_methods)),
                                       methods.index(k[1]) if k[1] in methods else len(methods),
                                       first[k]))


Owners = Mapping[Spec, str]


def _machines(loaded: Sequence[tuple[str, ResultFile]]) -> tuple[dict[Spec, str],
                                                                  dict[str, Environment]]:
    """Case spec -> machine label (the file whose record the merge keeps: the first ok one),
    and machine label -> its environment."""
    owner: dict[Spec, str] = {}
    environments: dict[str, Environment] = {}
    identity: dict[Machine, str] = {}
    for _, result in loaded:
        machine = Machine.of_environment(result.environment)
        label = identity.setdefault(machine, result.environment.summary)
        environments.setdefault(label, result.environment)
        for record in result.cases:
            if record.status == "ok":
                owner.setdefault(record.spec, label)
    return owner, environments


@dataclass(frozen=True)
class _Builder:
    data: ReportData
    options: TableOptions
    system: str
    owner: Owners

    def base_for(self, entry: BenchEntry) -> BenchEntry | None:
        """The plain backbone's timing of the same variant, mode, input and machine."""
        model, _, _, shape = _key(entry.workload)
        found = [b for b in self.data.model_benches if _key(b.workload) == (model, NO_ATTENTION,
                                                                            (), shape)
                 and b.spec.mode == entry.spec.mode and variant(b) == variant(entry)
                 and self.owner.get(b.spec) == self.owner.get(entry.spec)]
        return found[0] if found else None

    def row(self, key: WorkloadKey, count: CountEntry | None,
            timings: Mapping[str, BenchEntry], suffix: str, machine: str) -> Row:
        entry = count or next(iter(timings.values()))
        workload = entry.workload
        backbone, method = _labels(workload, dict(self.options.names))
        cells = count_cells(count, self.options.counter, self.system)
        for mode in MODES:
            bench = timings.get(mode)
            cells[f"{mode}_fps"] = fps_cell(bench)
            base = None if bench is None else self.base_for(bench)
            cells[f"{mode}_share"] = share_cell(self.data, bench, base)
            cells[f"{mode}_memory"] = memory_cell(bench)
        first = next(iter(timings.values()), None)
        return Row(backbone=backbone, method=method + suffix, model=key[0],
                   method_name=key[1], options=_options_text(workload), machine=machine,
                   cells=cells, batches={m: b.batch for m, b in timings.items()},
                   dtype=first.spec.dtype if first else "",
                   device=first.spec.device if first else "")

    def rows(self, claims: Claims | None) -> list[Row]:
        data = self.data
        counts = {_key(c.workload): c for c in reversed(data.model_counts)}
        timed: dict[tuple[WorkloadKey, Variant, str], dict[str, BenchEntry]] = {}
        for bench in data.model_benches:
            place = (_key(bench.workload), variant(bench),
                     self.owner.get(bench.spec, ""))
            timed.setdefault(place, {}).setdefault(bench.spec.mode, bench)
        variants = list(dict.fromkeys(v for _, v, _ in timed))
        keys = _order(list(dict.fromkeys([*counts, *(k for k, _, _ in timed)])), claims)
        rows = []
        for key in keys:
            count = counts.get(key)
            places = [p for p in timed if p[0] == key]
            for place in places:
                suffix = f" [{variant_label(place[1])}]" if len(variants) > 1 else ""
                rows.append(self.row(key, count, timed[place], suffix, place[2]))
            if not places and count is not None:
                rows.append(self.row(key, count, {}, "",
                                     self.owner.get(count.spec, "")))
        return rows


# --- columns ----------------------------------------------------------------------------------

def _columns(options: TableOptions, system: str) -> list[Column]:
    mega, giga_prefix, _, _ = PREFIXES[system]
    columns: list[Column] = []
    for name in options.columns:
        if name == "params":
            columns.append(Column("params", f"#Param ({mega})", mega, "count"))
        elif name == "flops":
            columns.append(Column("flops", f"FLOPs ({giga_prefix})", giga_prefix, "count"))
        elif name in MODES:
            word = MODE_WORDS[name].capitalize()
            if options.throughput in ("absolute", "both"):
                columns.append(Column(f"{name}_fps", f"{word} FPS", "images/s", "fps"))
            if options.throughput in ("share", "both"):
                columns.append(Column(f"{name}_share", f"{word} share (%)", "%", "share"))
        else:
            columns += [Column(f"{mode}_memory", f"{MODE_WORDS[mode].capitalize()} memory "
                               "(MiB)", "MiB", "memory") for mode in MODES]
    return columns


def _missing(column: Column) -> str:
    """What the results lack when ``column`` has no figure."""
    if column.kind == "count":
        return "no count"
    mode = MODE_WORDS[column.id.split("_")[0]]
    return f"no {mode} peak memory" if column.kind == "memory" else f"no {mode} timing"


def _keep(columns: list[Column], rows: Sequence[Row]) -> tuple[list[Column], list[str]]:
    """Columns with at least one figure, and the dropped ones by reason: ``Training FPS,
    Training share (%) (the results hold no training timing)``."""
    kept: list[Column] = []
    dropped: dict[str, list[str]] = {}
    for column in columns:
        if any(r.cells[column.id].value is not None for r in rows):
            kept.append(column)
        else:
            dropped.setdefault(_missing(column), []).append(column.header)
    return kept, [f"{', '.join(headers)} (the results hold {reason})"
                  for reason, headers in dropped.items()]


def _check_counter(data: ReportData, counter: str) -> None:
    if counter == DEFAULT_COUNTER or not data.model_counts:
        return
    recorded = {t.counter for c in data.model_counts for t in c.result.counters}
    if not all(c.result.counted(counter) for c in data.model_counts):
        valid = ", ".join(sorted(recorded | {DEFAULT_COUNTER}))
        raise InvalidOptionError(f"--counter {counter}: not recorded in every count of the "
                                 f"results; recorded: {valid} (count with 'attnprof count "
                                 f"--counter {counter}' or a suite's counters)")


def _check_names(names: Sequence[tuple[str, str]], rows: Sequence[Row]) -> None:
    known = {r.model for r in rows} | {r.method_name for r in rows}
    unknown = [k for k, _ in names if k not in known]
    if unknown:
        raise InvalidOptionError(f"--name {unknown[0]}=...: no backbone or method "
                                 f"{unknown[0]!r} in the results; they hold: "
                                 f"{', '.join(sorted(known))}")


def build_efficiency_table(loaded: Sequence[tuple[str, ResultFile]],
                           options: TableOptions) -> EfficiencyTable:
    """The table of ``loaded`` (``(source, result file)`` pairs, merged as the report does)."""
    data = collect(loaded)
    owner, environments = _machines(loaded)
    if len(environments) > 1 and not options.allow_mixed:
        found = list(environments)
        raise InvalidOptionError(f"the results come from {len(found)} machines "
                                 f"({'; '.join(found)}); throughput is not comparable across "
                                 "machines: pass --allow-mixed for one table with a machine "
                                 "column")
    _check_counter(data, options.counter)
    system = _units_system(options.units, data)
    rows = _Builder(data, options, system, owner).rows(_claims(data))
    if not rows:
        raise InvalidOptionError("the results hold no finished count or timing of a network "
                                 "(single blocks are not tabulated; see 'attnprof report')")
    _check_names(options.names, rows)
    columns, dropped = _keep(_columns(options, system), rows)
    if not columns:
        raise InvalidOptionError(f"none of the columns asked for ({', '.join(options.columns)})"
                                 " has a figure: " + "; ".join(dropped))
    used = list(dict.fromkeys(r.machine for r in rows))
    return EfficiencyTable(columns=tuple(columns), rows=tuple(rows), units=system,
                           machines=tuple(environments[m] for m in used if m in environments),
                           mixed=len(used) > 1, dropped=tuple(dropped),
                           sources=tuple(source for source, _ in loaded),
                           counter=options.counter)

