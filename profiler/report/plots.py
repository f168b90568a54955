"""Report plots (matplotlib, Agg backend, PNG), each made only when the data has what it shows.

- ``throughput-vs-params.png``: images/s (median, IQR as error bars) against parameters, per
  mode, one marker per backbone and one colour per attention method (log-log);
- ``attention-overhead.png``: what each method adds to its backbone: parameters %, FLOPs %
  (all operators) and throughput lost per mode %;
- ``block-time-vs-channels.png``: single blocks' median step time against channels, with
  the memory-bandwidth floor (least traffic / measured copy bandwidth) of each;
- ``time-vs-flops.png``: per backbone and mode, for each method a bar of its step time by
  part beside a bar of its FLOPs by part (stacked shares, from breakdown cases);
- ``throughput-share-forest.png``: per backbone and mode, each method's share of the
  backbone's throughput with its 95% interval (a dot and a bar; filled when paired over
  interleaved rounds, hollow when the two were timed apart) beside the paper's share (a
  diamond) with the verdicts' tolerance band. A dotted line marks 100%.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from profiler.claims.paper import Claims
from profiler.errors import InvalidOptionError
from profiler.output import check_output, write_output
from profiler.output.display import MODE_NAMES
from profiler.report.breakdown import GROUPS, group_shares
from profiler.report.breakdown import panels as breakdown_panels
from profiler.report.data import BenchEntry, CountEntry, ReportData, method_of
from profiler.report.names import backbone_label, method_label
from profiler.report.ratios import is_paired, machines_apart, ratio_between
from profiler.report.verdicts.speed import RATIO_TOLERANCE
from profiler.stats import RatioInterval

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["FOREST_NAME", "Plot", "check_plot_outputs", "make_plots", "throughput_share_forest"]

_MARKERS = "osD^vP*X"
_DPI = 110


@dataclass(frozen=True)
class Plot:
    """A plot written to ``path``, with the caption the report shows under it."""

    path: Path
    title: str
    caption: str


@functools.cache
def _pyplot() -> ModuleType:
    """matplotlib's pyplot on the Agg backend, imported on first use: a command that draws
    no plot (every command builds the CLI's parser, which imports this module) does not pay
    for matplotlib's import (about 0.7 s on the README's CPU)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot

    return matplotlib.pyplot


def _subplots(rows: int, columns: int, figsize: tuple[float, float]) -> tuple[Figure, Any]:
    """A figure with a ``rows`` x ``columns`` grid of axes (always 2-D)."""
    return _pyplot().subplots(rows, columns, figsize=figsize, squeeze=False)


def _colors(methods: Sequence[str]) -> dict[str, str]:
    from matplotlib.colors import to_hex

    palette = _pyplot().get_cmap("tab10").colors
    return {m: to_hex(palette[i % len(palette)]) for i, m in enumerate(methods)}


def _save(figure: Figure, path: Path) -> Path:
    """Render ``figure`` and write it through :func:`profiler.output.write_output` (the
    target was checked by :func:`make_plots` before any plot was drawn)."""
    buffer = io.BytesIO()
    try:
        figure.tight_layout()
        figure.savefig(buffer, dpi=_DPI, format="png")
    finally:
        _pyplot().close(figure)
    return write_output(path, buffer.getvalue(), overwrite=True)


def _scale(axis: Axes, xs: Sequence[float], ys: Sequence[float], base_x: float = 10) -> None:
    """Log axes where the values span more than a decade (plain tick labels), else linear."""
    from matplotlib.ticker import FuncFormatter, NullFormatter, ScalarFormatter

    plain = FuncFormatter(lambda value, _: f"{value:g}")
    for values, set_scale, which, base in ((xs, axis.set_xscale, axis.xaxis, base_x),
                                           (ys, axis.set_yscale, axis.yaxis, 10)):
        positive = [v for v in values if v > 0]
        if positive and max(positive) / min(positive) > 10:
            set_scale("log", base=base)
            which.set_major_formatter(plain)
            which.set_minor_formatter(NullFormatter())
        else:
            which.set_major_formatter(ScalarFormatter(useOffset=False))


def _count_of(data: ReportData, entry: BenchEntry) -> CountEntry | None:
    w = entry.workload
    return next((c for c in data.model_counts if c.workload.model == w.model
                 and c.workload.attention == w.attention and c.workload.options == w.options
                 and c.workload.input_shape == w.input_shape), None)


def throughput_vs_params(data: ReportData, path: Path) -> Plot | None:
    points = [(b, c) for b in data.model_benches if (c := _count_of(data, b)) is not None]
    modes = [m for m in MODE_NAMES if any(b.spec.mode == m for b, _ in points)]
    if not modes:
        return None
    methods = list(dict.fromkeys(method_of(b.workload) for b, _ in points))
    models = list(dict.fromkeys(b.workload.model or "" for b, _ in points))
    colors = _colors(methods)
    figure, axes = _subplots(1, len(modes), figsize=(5.5 * len(modes), 4.2))
    for axis, mode in zip(axes[0], modes, strict=True):
        mine = [(b, c) for b, c in points if b.spec.mode == mode]
        for bench, count in mine:
            method = method_of(bench.workload)
            result = bench.result
            axis.errorbar(count.result.params / 1e6, result.images_per_sec,
                          yerr=result.images_per_sec_iqr / 2, color=colors[method],
                          marker=_MARKERS[models.index(bench.workload.model or "") %
                                          len(_MARKERS)], markersize=6, capsize=2)
        _scale(axis, [c.result.params / 1e6 for _, c in mine],
               [b.result.images_per_sec for b, _ in mine])
        axis.set_xlabel("parameters (M = 10^6)")
        axis.set_ylabel("images/s (median, IQR bars)")
        axis.set_title(MODE_NAMES[mode])
        axis.grid(True, which="both", alpha=0.3)
    _legend(axes[0][-1], methods, models, colors)
    _save(figure, path)
    return Plot(path, "Throughput vs parameters",
                "Each point is one network; colour = attention method, marker = backbone. "
                "Attention adds few parameters but moves throughput: points shift down, "
                "hardly right.")


def _legend(axis: Axes, methods: Sequence[str], models: Sequence[str],
            colors: dict[str, str]) -> None:
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=colors[m], marker="o", linestyle="",
                      label=method_label(m) if m != "none" else "no attention")
               for m in methods]
    handles += [Line2D([], [], color="black", marker=_MARKERS[i % len(_MARKERS)],
                       linestyle="", label=backbone_label(m)) for i, m in enumerate(models)]
    axis.legend(handles=handles, fontsize=7, loc="best")


@dataclass(frozen=True)
class _Overhead:
    backbone: str
    method: str
    values: tuple[float | None, ...]


def _overheads(data: ReportData) -> list[_Overhead]:
    found: list[_Overhead] = []
    for count in data.model_counts:
        model, method = count.workload.model or "", method_of(count.workload)
        if method == "none":
            continue
        base = data.count_for(model, "none", (), count.workload.input_shape)
        if base is None:
            continue
        values: list[float | None] = [
            100 * (count.result.params / base.result.params - 1),
            100 * (count.flops_all / base.flops_all - 1) if base.flops_all else None,
        ]
        for mode in ("train", "infer"):
            mine = data.bench_for(model, method, mode, count.workload.options,
                                  count.workload.input_shape)
            ref = data.bench_for(model, "none", mode, (), count.workload.input_shape)
            values.append(None if mine is None or ref is None
                          or machines_apart(data, mine, ref) else
                          100 * (1 - mine.result.images_per_sec / ref.result.images_per_sec))
        found.append(_Overhead(model, method, tuple(values)))
    return found


def attention_overhead(data: ReportData, path: Path) -> Plot | None:
    overheads = _overheads(data)
    if not overheads:
        return None
    titles = ("parameters added (%)", "FLOPs added, all operators (%)",
              "training throughput lost (%)", "inference throughput lost (%)")
    panels = [i for i in range(len(titles)) if any(o.values[i] is not None for o in overheads)]
    backbones = list(dict.fromkeys(o.backbone for o in overheads))
    methods = list(dict.fromkeys(o.method for o in overheads))
    colors = _colors(["none", *methods])
    width = 0.8 / max(1, len(methods))
    figure, axes = _subplots(1, len(panels), figsize=(4.2 * len(panels), 3.8))
    for axis, panel in zip(axes[0], panels, strict=True):
        for j, method in enumerate(methods):
            xs, ys = [], []
            for i, backbone in enumerate(backbones):
                match = next((o for o in overheads if o.backbone == backbone
                              and o.method == method), None)
                if match is not None and match.values[panel] is not None:
                    xs.append(i + (j - (len(methods) - 1) / 2) * width)
                    ys.append(match.values[panel])
            axis.bar(xs, ys, width=width, color=colors[method], label=method_label(method))
        axis.set_xticks(range(len(backbones)), [backbone_label(b) for b in backbones],
                        rotation=20, fontsize=8)
        axis.set_xlim(-0.5, len(backbones) - 0.5)
        axis.axhline(0, color="black", linewidth=0.6)
        axis.set_title(titles[panel], fontsize=9)
        axis.grid(True, axis="y", alpha=0.3)
    axes[0][0].legend(fontsize=7)
    _save(figure, path)
    return Plot(path, "Attention overhead per block",
                "What each attention method costs over its own backbone. Parameter and FLOP "
                "costs are small; the throughput cost is set by memory-bound passes, not "
                "FLOPs.")


def block_time_vs_channels(data: ReportData, path: Path) -> Plot | None:
    benches = data.block_benches
    modes = [m for m in MODE_NAMES if any(b.spec.mode == m for b in benches)]
    if not modes:
        return None
    blocks = list(dict.fromkeys(b.workload.block or "" for b in benches))
    colors = _colors(blocks)
    figure, axes = _subplots(1, len(modes), figsize=(5.5 * len(modes), 4.2))
    for axis, mode in zip(axes[0], modes, strict=True):
        for block in blocks:
            mine = sorted((b for b in benches if b.spec.mode == mode
                           and b.workload.block == block), key=lambda b: b.workload.input_shape)
            if not mine:
                continue
            channels = [b.workload.input_shape[0] for b in mine]
            axis.scatter(channels, [b.result.step_ms_median for b in mine], color=colors[block],
                         marker="o", label=f"{method_label(block)} measured")
            floors = [(c, b.result.min_bytes / (b.result.copy_gbps * 1e9) * 1e3)
                      for c, b in zip(channels, mine, strict=True)
                      if b.result.min_bytes and b.result.copy_gbps]
            if floors:
                axis.scatter([c for c, _ in floors], [f for _, f in floors],
                             color=colors[block], marker="_", s=160,
                             label=f"{method_label(block)} floor")
        times = [b.result.step_ms_median for b in benches if b.spec.mode == mode]
        _scale(axis, [b.workload.input_shape[0] for b in benches], times, base_x=2)
        axis.set_xlabel("channels C (feature-map sizes as in the table)")
        axis.set_ylabel("step time (ms, median)")
        axis.set_title(MODE_NAMES[mode])
        axis.grid(True, which="both", alpha=0.3)
    axes[0][-1].legend(fontsize=7)
    _save(figure, path)
    return Plot(path, "Block time vs channels against the bandwidth floor",
                "Dots: measured step time of each block alone; dashes: the floor, its least "
                "memory traffic moved at the device's measured copy bandwidth. The gap is what "
                "unfused kernels and launches cost.")


# one colour per part group of the breakdown (attention in red), in GROUPS order
_GROUP_COLORS = ("#1f77b4", "#17becf", "#2ca02c", "#9467bd", "#8c564b", "#d62728", "#7f7f7f",
                 "#e377c2", "#bcbd22", "#c7c7c7")


def time_vs_flops(data: ReportData, path: Path) -> Plot | None:
    """Stacked shares of time and FLOPs by part, one pair of bars per method."""
    found = breakdown_panels(data)
    if not found:
        return None
    colors = dict(zip([label for label, _ in GROUPS], _GROUP_COLORS, strict=True))
    figure, axes = _subplots(1, len(found), figsize=(max(4.5, 1.6 * max(
        len(p.entries) for p in found)) * len(found), 4.2))
    for axis, panel in zip(axes[0], found, strict=True):
        for i, entry in enumerate(panel.entries):
            bottoms = [0.0, 0.0]
            for label, parts in GROUPS:
                shares = group_shares(entry.result, parts)
                for j, share in enumerate(shares):
                    axis.bar(i + (j - 0.5) * 0.38, 100 * share, width=0.36, bottom=bottoms[j],
                             color=colors[label], edgecolor="white", linewidth=0.3,
                             label=label if i == 0 and j == 0 else None)
                    bottoms[j] += 100 * share
        labels = [method_label(method_of(e.workload)) for e in panel.entries]
        axis.set_xticks(range(len(labels)), [f"{m}\ntime | FLOPs" for m in labels],
                        fontsize=7)
        axis.set_ylim(0, 100)
        axis.set_ylabel("share of the step / of the FLOPs (%)")
        axis.set_title(panel.title, fontsize=9)
    handles, names = axes[0][0].get_legend_handles_labels()
    axes[0][-1].legend(handles[::-1], names[::-1], fontsize=7, loc="upper left",
                       bbox_to_anchor=(1.01, 1.0))
    _save(figure, path)
    return Plot(path, "Where the time goes: time share vs FLOPs share",
                "For each method, left bar: its measured step time split by part; right bar: "
                "its FLOPs (fvcore, forward) split the same way. Red is attention: a sliver of "
                "the FLOPs, a visible share of the time.")


# --- the forest plot of throughput shares -------------------------------------------------

FOREST_NAME = "throughput-share-forest.png"


@dataclass(frozen=True)
class _Row:
    method: str
    label: str
    ours: RatioInterval
    paper: float | None


def _paper_share(claims: Claims | None, backbone: str, method: str, mode: str) -> float | None:
    if claims is None:
        return None
    base = claims.baseline(backbone)
    row = next((r for r in claims.rows(backbone) if r.method == method and r.buildable), None)
    if base is None or row is None:
        return None
    fps, base_fps = row.fps(mode), base.fps(mode)
    return fps / base_fps if fps and base_fps else None


def _forest_panels(data: ReportData, claims: Claims | None) -> list[tuple[str, str, list[_Row]]]:
    panels = []
    backbones = list(dict.fromkeys(b.workload.model or "" for b in data.model_benches))
    for backbone in backbones:
        for mode in ("train", "infer"):
            rows = []
            for entry in data.model_benches:
                workload = entry.workload
                method = method_of(workload)
                if workload.model != backbone or entry.spec.mode != mode or method == "none":
                    continue
                base = data.bench_for(backbone, "none", mode, (), workload.input_shape)
                if base is None or base.spec.dtype != entry.spec.dtype \
                        or machines_apart(data, entry, base):
                    continue
                rows.append(_Row(method, method_label(method), ratio_between(data, entry, base),
                                 _paper_share(claims, backbone, method, mode)))
            if rows:
                panels.append((backbone, mode, rows))
    return panels


def _draw_forest(axis: Axes, rows: Sequence[_Row]) -> None:
    for y, row in enumerate(rows):
        ours = row.ours
        low = ours.low if ours.low is not None else ours.ratio
        high = ours.high if ours.high is not None else ours.ratio
        paired = is_paired(ours)
        axis.errorbar(100 * ours.ratio, y, xerr=[[100 * (ours.ratio - low)],
                                                 [100 * (high - ours.ratio)]],
                      fmt="o", color="tab:blue", mfc="tab:blue" if paired else "white",
                      capsize=3, label="ours (95% interval)" if y == 0 else None)
        if row.paper is not None:
            axis.plot([100 * (row.paper - RATIO_TOLERANCE), 100 * (row.paper + RATIO_TOLERANCE)],
                      [y + 0.25, y + 0.25], color="tab:red", alpha=0.35, linewidth=4)
            axis.plot(100 * row.paper, y + 0.25, "D", color="tab:red",
                      label="paper (± tolerance)" if y == 0 else None)
    axis.axvline(100, color="black", linestyle=":", linewidth=0.8)
    axis.set_yticks(range(len(rows)), [r.label for r in rows], fontsize=8)
    axis.set_ylim(-0.6, len(rows) - 0.2)
    axis.invert_yaxis()
    axis.set_xlabel("% of the backbone's throughput")
    axis.grid(True, axis="x", alpha=0.3)


def throughput_share_forest(data: ReportData, path: Path,
                            claims: Claims | None = None) -> Plot | None:
    """The forest plot (see the module doc); None when no method has a backbone to share."""
    panels = _forest_panels(data, claims)
    if not panels:
        return None
    columns = min(2, len(panels))
    rows_count = (len(panels) + columns - 1) // columns
    height = max(2.0, 0.45 * max(len(rows) for _, _, rows in panels) + 1.2)
    figure, axes = _subplots(rows_count, columns, figsize=(5.2 * columns, height * rows_count))
    for k, (backbone, mode, rows) in enumerate(panels):
        axis = axes[k // columns][k % columns]
        _draw_forest(axis, rows)
        axis.set_title(f"{backbone_label(backbone)}, {MODE_NAMES[mode]}", fontsize=9)
    for k in range(len(panels), rows_count * columns):
        axes[k // columns][k % columns].axis("off")
    handles, labels = axes[0][0].get_legend_handles_labels()
    if handles:
        axes[0][0].legend(handles, labels, fontsize=7, loc="best")
    _save(figure, path)
    return Plot(path, "Throughput share per method, with intervals",
                "Each method's throughput as a share of its own backbone's: our estimate with "
                "its 95% interval (filled: paired over interleaved rounds; hollow: timed "
                "apart), and the paper's share with the ±"
                f"{100 * RATIO_TOLERANCE:.0f} pp band the verdicts use. A bar that misses the "
                "band is a `fail`; one that crosses 100% cannot order the method against "
                "its backbone.")


PLOTS: tuple[tuple[str, Callable[[ReportData, Path], Plot | None]], ...] = (
    ("throughput-vs-params.png", throughput_vs_params),
    ("attention-overhead.png", attention_overhead),
    ("block-time-vs-channels.png", block_time_vs_channels),
    ("time-vs-flops.png", time_vs_flops),
)


def check_plot_outputs(directory: Path, overwrite: bool = False,
                       flag: str = "--overwrite") -> None:
    """Refuse plot files that must not be written (see :func:`profiler.output.check_output`)."""
    for name in (*(name for name, _ in PLOTS), FOREST_NAME):
        check_output(directory / name, overwrite=overwrite, flag=flag)


def make_plots(data: ReportData, directory: Path, overwrite: bool = False,
               claims: Claims | None = None) -> tuple[Plot, ...]:
    """Write every plot the data supports into ``directory`` (existing plot files are
    replaced only with ``overwrite``; every target is checked before any is drawn; with
    ``claims``, the forest plot shows the paper's shares too)."""
    check_plot_outputs(directory, overwrite)
    try:
        made = [draw(data, directory / name) for name, draw in PLOTS]
        made.append(throughput_share_forest(data, directory / FOREST_NAME, claims))
    except OSError as exc:
        _pyplot().close("all")
        raise InvalidOptionError(f"cannot write plots into {directory}: "
                                 f"{exc.strerror or exc}") from None
    except BaseException:
        _pyplot().close("all")
        raise
    return tuple(p for p in made if p is not None)
