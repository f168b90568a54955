"""Throughput claims: each method's FPS as a ratio to its backbone's, and orderings.

Absolute FPS depend on the hardware, so the paper's Table 3 is read as ratios: ECA-Net on
ResNet-50 keeps 1805 / 1855 = 97.3% of the plain backbone's inference FPS. Ours is the ratio of
the two median throughputs. Rules:

- ratio: ``pass`` when ours is within :data:`RATIO_TOLERANCE` (5 percentage points) of the
  paper's; ``inconclusive`` when either measurement is noisy (IQR/median above
  :data:`~profiler.measure.stats.NOISY_IQR_RATIO`) or the
  difference exceeds the tolerance by less than the ratio's spread (the sum of both
  measurements' relative half-IQRs); otherwise ``fail``, with an explanation.
- ordering ("ECA-Net is faster than SENet", per backbone and mode, for every pair of methods
  the paper times): ``pass`` when our medians are in the paper's order and the two
  interquartile ranges [q1, q3] of images/s do not overlap; ``fail`` when they are in the
  opposite order without overlap; ``inconclusive`` when they overlap or either is noisy.
- methods the paper prints N/A for (GCNet) get an ``n.a.`` verdict that still states ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

from profiler.devices import device_type
from profiler.measure.stats import NOISY_IQR_RATIO, quantile
from profiler.report.breakdown import measured_cost, measured_order
from profiler.report.cells import points, ratio, sig
from profiler.report.claims import Claims, Table3Row
from profiler.report.data import BenchEntry, ReportData
from profiler.report.explain import Setting, order_mismatch, ratio_mismatch
from profiler.report.names import backbone_label
from profiler.report.verdicts import Verdict
from profiler.results.environment import Environment

__all__ = ["MODE_NAMES", "RATIO_TOLERANCE", "Rates", "ordering_verdicts", "ratio_verdicts",
           "setting_of"]

RATIO_TOLERANCE = 0.05
NOISY_TEXT = f"noisy measurement (IQR/median > {NOISY_IQR_RATIO:.0%})"
MODE_NAMES = {"infer": "inference", "train": "training"}


@dataclass(frozen=True)
class Rates:
    """Images/s of one timing: median and quartiles of the raw samples."""

    median: float
    q1: float
    q3: float
    noisy: bool

    @classmethod
    def of(cls, entry: BenchEntry) -> Rates:
        values = entry.rates()
        result = entry.result
        if len(values) >= 2:
            return cls(result.images_per_sec, quantile(values, 0.25), quantile(values, 0.75),
                       result.noisy)
        half = result.images_per_sec_iqr / 2
        return cls(result.images_per_sec, result.images_per_sec - half,
                   result.images_per_sec + half, result.noisy)

    @property
    def relative_half_iqr(self) -> float:
        return (self.q3 - self.q1) / (2 * self.median) if self.median else 0.0

    def overlaps(self, other: Rates) -> bool:
        return self.q1 <= other.q3 and other.q1 <= self.q3


def setting_of(data: ReportData, entry: BenchEntry) -> Setting:
    """The hardware and settings ``entry`` was timed with."""
    device = device_type(entry.spec.device)
    environments = [r.environment for r in data.runs]
    environment = next((e for e in environments if device_type(e.device) == device),
                       environments[0] if environments else None)
    return Setting.of(environment or Environment(device=device), device, entry.batch,
                      entry.spec.dtype, entry.spec.mode)


def _missing(data: ReportData, backbone: str, methods: tuple[str, ...], mode: str) -> str:
    for method in methods:
        for record in data.unfinished_for(backbone, method):
            if getattr(record.spec, "mode", None) == mode:
                return f"not measured: {method} case {record.status}: {record.error}"
    return "not measured: no such timing case in the results"


def _where(entry: BenchEntry) -> str:
    return f"batch {entry.batch}, {entry.spec.dtype}, {entry.spec.device}"


def _ratio_verdict(data: ReportData, row: Table3Row, base: Table3Row,
                   mode: str) -> Verdict | None:
    subject = f"{backbone_label(row.backbone)} / {row.label}"
    mine = data.bench_for(row.backbone, row.method, mode, row.options)
    theirs = data.bench_for(row.backbone, "none", mode, base.options)
    paper_fps, base_fps = row.fps(mode), base.fps(mode)
    name = MODE_NAMES[mode]
    if paper_fps is None or base_fps is None:
        if mine is None or theirs is None:
            return None
        ours_ratio = mine.result.images_per_sec / theirs.result.images_per_sec
        return Verdict("throughput", subject, f"{name} FPS relative to the backbone", "n.a.",
                       "N/A (not timed in the paper)", f"{ratio(ours_ratio)} ({_where(mine)})",
                       "the paper prints no FPS for this row, so there is nothing to check")
    paper_ratio = paper_fps / base_fps
    claim = f"{name} keeps {ratio(paper_ratio)} of the backbone's FPS"
    paper = f"{paper_fps:g} / {base_fps:g} = {ratio(paper_ratio)}"
    if mine is None or theirs is None:
        return Verdict("throughput", subject, claim, "n.a.", paper, "–",
                       _missing(data, row.backbone, (row.method, "none"), mode))
    a, b = Rates.of(mine), Rates.of(theirs)
    ours_ratio = a.median / b.median
    spread = ours_ratio * (a.relative_half_iqr + b.relative_half_iqr)
    delta = ours_ratio - paper_ratio
    ours = (f"{sig(a.median)} / {sig(b.median)} = {ratio(ours_ratio)} ± {100 * spread:.1f} pp "
            f"({_where(mine)})")
    tolerance = f"{100 * RATIO_TOLERANCE:.0f} pp"
    if a.noisy or b.noisy:
        return Verdict("throughput", subject, claim, "inconclusive", paper, ours,
                       f"{NOISY_TEXT}: a difference of {points(delta)} cannot be judged")
    if abs(delta) <= RATIO_TOLERANCE:
        return Verdict("throughput", subject, claim, "pass", paper, ours,
                       f"{points(delta)} from the paper, within ±{tolerance}")
    if abs(delta) - spread <= RATIO_TOLERANCE:
        return Verdict("throughput", subject, claim, "inconclusive", paper, ours,
                       f"{points(delta)} from the paper: outside ±{tolerance} by less than the "
                       f"measured spread (±{100 * spread:.1f} pp)")
    count = data.count_for(row.backbone, row.method, row.options)
    share = None
    if count is not None and count.flops_all:
        share = count.attention_flops_all / count.flops_all
    why = ratio_mismatch(row.label, row.method, ours_ratio, paper_ratio, share,
                         setting_of(data, mine),
                         measured_cost(data, row.backbone, row.method, mode, row.options))
    return Verdict("throughput", subject, claim, "fail", paper, ours,
                   f"{points(delta)} from the paper (tolerance ±{tolerance}); {why}")


def _ratio_brief(data: ReportData, row: Table3Row, base: Table3Row,
                 mode: str) -> tuple[str, str]:
    """The paper's share of the backbone's FPS and ours, as percentages ("N/A", "–")."""
    paper_fps, base_fps = row.fps(mode), base.fps(mode)
    mine = data.bench_for(row.backbone, row.method, mode, row.options)
    theirs = data.bench_for(row.backbone, "none", mode, base.options)
    paper = "N/A" if paper_fps is None or base_fps is None else ratio(paper_fps / base_fps)
    ours = ("–" if mine is None or theirs is None
            else ratio(mine.result.images_per_sec / theirs.result.images_per_sec))
    return paper, ours


def ratio_verdicts(claims: Claims, data: ReportData) -> list[Verdict]:
    """One verdict per buildable Table 3 method (backbones excluded) and mode."""
    verdicts: list[Verdict] = []
    for backbone in claims.backbones():
        base = claims.baseline(backbone)
        if base is None:
            continue
        for row in claims.rows(backbone):
            if row.method == "none" or not row.buildable:
                continue
            for mode in MODE_NAMES:
                verdict = _ratio_verdict(data, row, base, mode)
                if verdict is not None:
                    verdicts.append(verdict.in_column(f"{MODE_NAMES[mode].capitalize()} FPS kept",
                                                      *_ratio_brief(data, row, base, mode)))
    return verdicts


def _order_verdict(data: ReportData, first: Table3Row, second: Table3Row,
                   mode: str) -> Verdict:
    paper_first, paper_second = first.fps(mode), second.fps(mode)
    assert paper_first is not None and paper_second is not None
    fast, slow = (first, second) if paper_first > paper_second else (second, first)
    paper_fast, paper_slow = max(paper_first, paper_second), min(paper_first, paper_second)
    subject = f"{backbone_label(first.backbone)}, {MODE_NAMES[mode]}"
    claim = f"{fast.label} is faster than {slow.label}"
    paper = f"{paper_fast:g} vs {paper_slow:g} images/s"
    entries = (data.bench_for(fast.backbone, fast.method, mode, fast.options),
               data.bench_for(slow.backbone, slow.method, mode, slow.options))
    if entries[0] is None or entries[1] is None:
        return Verdict("ordering", subject, claim, "n.a.", paper, "–",
                       _missing(data, fast.backbone, (fast.method, slow.method), mode))
    a, b = Rates.of(entries[0]), Rates.of(entries[1])
    ours = f"{sig(a.median)} vs {sig(b.median)} images/s ({_where(entries[0])})"
    if a.noisy or b.noisy:
        return Verdict("ordering", subject, claim, "inconclusive", paper, ours,
                       NOISY_TEXT)
    if a.overlaps(b):
        return Verdict("ordering", subject, claim, "inconclusive", paper, ours,
                       f"the interquartile ranges overlap ([{sig(a.q1)}, {sig(a.q3)}] vs "
                       f"[{sig(b.q1)}, {sig(b.q3)}]): the difference is within the noise")
    if a.median > b.median:
        return Verdict("ordering", subject, claim, "pass", paper, ours,
                       f"{fast.label} is {100 * (a.median / b.median - 1):.1f}% faster here")
    measured = measured_order(data, fast.backbone, mode,
                              (fast.label, fast.method, fast.options),
                              (slow.label, slow.method, slow.options))
    why = order_mismatch(fast.label, slow.label, (a.median, b.median),
                         (paper_fast, paper_slow), setting_of(data, entries[0]), measured)
    return Verdict("ordering", subject, claim, "fail", paper, ours, why)


def _untimed_verdict(data: ReportData, row: Table3Row, reference: Table3Row,
                     mode: str) -> Verdict | None:
    mine = data.bench_for(row.backbone, row.method, mode, row.options)
    other = data.bench_for(reference.backbone, reference.method, mode, reference.options)
    if mine is None or other is None:
        return None
    a, b = Rates.of(mine), Rates.of(other)
    word = "faster" if a.median > b.median else "slower"
    return Verdict("ordering", f"{backbone_label(row.backbone)}, {MODE_NAMES[mode]}",
                   f"{row.label} vs {reference.label}", "n.a.", "N/A (not timed in the paper)",
                   f"{sig(a.median)} vs {sig(b.median)} images/s ({_where(mine)})",
                   f"the paper prints no FPS for {row.label}; here it is "
                   f"{abs(100 * (a.median / b.median - 1)):.1f}% {word} than {reference.label}")


def ordering_verdicts(claims: Claims, data: ReportData) -> list[Verdict]:
    """Pairwise orderings of the attention methods the paper times, per backbone and mode."""
    focus = claims.abstract.method if claims.abstract is not None else "eca"
    verdicts: list[Verdict] = []
    for backbone in claims.backbones():
        rows = [r for r in claims.rows(backbone) if r.buildable and r.method != "none"]
        reference = next((r for r in rows if r.method == focus), None)
        for mode in MODE_NAMES:
            timed = [r for r in rows if r.fps(mode) is not None]
            for first, second in combinations(timed, 2):
                if first.fps(mode) != second.fps(mode):
                    verdicts.append(_order_verdict(data, first, second, mode))
            for row in rows:
                if row.fps(mode) is None and reference is not None and row is not reference:
                    verdict = _untimed_verdict(data, row, reference, mode)
                    if verdict is not None:
                        verdicts.append(verdict)
    return verdicts
