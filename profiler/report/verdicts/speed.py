"""Throughput claims: each method's FPS as a ratio to its backbone's, and orderings.

Absolute FPS depend on the hardware, so the paper's Table 3 is read as ratios: ECA-Net on
ResNet-50 keeps 1805 / 1855 = 97.3% of the plain backbone's inference FPS. Ours is the
throughput ratio with its 95% confidence interval (:func:`profiler.report.ratios.
ratio_between`: paired over interleaved rounds when the two were timed in one comparison
group, else unpaired and marked so). Rules, judged on the interval:

- ratio: ``pass`` when the interval overlaps the paper's share ± :data:`RATIO_TOLERANCE`
  (5 percentage points); ``fail`` when it lies wholly outside that band, with an explanation;
  ``inconclusive`` when there is no interval (too few rounds or samples), or when it overlaps
  the band but is itself wider than it (half-width > the tolerance: the run was too noisy to
  confirm anything at that precision, which is how a busy machine shows).
- ordering ("ECA-Net is faster than SENet", per backbone and mode, for every pair of methods
  the paper times): the interval of our A/B throughput ratio; ``pass`` when it excludes 1 on
  the paper's side, ``fail`` when it excludes 1 on the other side, ``inconclusive`` when it
  contains 1 (the difference is within what this run can resolve).
- an ``inconclusive`` verdict says what would decide it
  (:mod:`profiler.report.verdicts.decide`): more rounds, more processes or a quieter machine,
  with the estimated extra minutes (extrapolated from the group's half-width, rounds and
  time: half-width ~ 1/sqrt(n)).
- methods the paper prints N/A for (GCNet) get an ``n.a.`` verdict that still states ours.
"""

from __future__ import annotations

from itertools import combinations

from profiler.claims.paper import Claims, Table3Row
from profiler.devices import device_type
from profiler.output.display import MODE_NAMES, percent
from profiler.report.breakdown import measured_cost, measured_order
from profiler.report.cells import points, sig
from profiler.report.data import BenchEntry, ReportData
from profiler.report.names import backbone_label
from profiler.report.ratios import (
    group_between,
    is_paired,
    machines_apart,
    ratio_between,
    ratio_cell,
)
from profiler.report.verdicts.decide import effort_of, what_would_decide
from profiler.report.verdicts.explain import Setting, order_mismatch, ratio_mismatch
from profiler.report.verdicts.verdict import Verdict
from profiler.results.environment import Environment
from profiler.stats import RatioInterval, intervals_overlap

__all__ = ["RATIO_TOLERANCE", "ordering_verdicts", "ratio_verdicts",
           "setting_of"]

RATIO_TOLERANCE = 0.05


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


def _how(interval: RatioInterval) -> str:
    if is_paired(interval):
        return f"paired over {interval.rounds} interleaved rounds"
    return "unpaired: timed apart, drift between the two is not seen"


def _no_interval(interval: RatioInterval) -> str:
    return (f"no {100 * interval.confidence:g}% interval: too few rounds or samples "
            f"({interval.rounds}) to judge; to decide: more rounds")


def _to_decide(data: ReportData, mine: BenchEntry, reference: BenchEntry,
               found: RatioInterval, needed: float, reached: float | None = None) -> str:
    """What would decide an inconclusive verdict (:mod:`profiler.report.verdicts.decide`): bring
    ``reached`` (default: the half-width) down to ``needed``."""
    group = group_between(data, mine, reference)
    effort = (None if group is None or not is_paired(found)
              else effort_of(group, mine.spec.case_id))
    return what_would_decide(found.half_width if reached is None else reached, needed, effort)


def _near_side(found: RatioInterval) -> float:
    """How far the interval reaches from the estimate towards 100% (intervals need not be
    symmetric): it excludes 100% once this is below ``|ratio - 1|``."""
    assert found.low is not None and found.high is not None
    return found.ratio - found.low if found.ratio >= 1 else found.high - found.ratio


def _ratio_verdict(data: ReportData, row: Table3Row, base: Table3Row,
                   mode: str) -> Verdict | None:
    subject = f"{backbone_label(row.backbone)} / {row.label}"
    mine = data.bench_for(row.backbone, row.method, mode, row.options)
    theirs = data.bench_for(row.backbone, "none", mode, base.options)
    paper_fps, base_fps = row.fps(mode), base.fps(mode)
    name = MODE_NAMES[mode]
    if paper_fps is None or base_fps is None:
        if mine is None or theirs is None or machines_apart(data, mine, theirs):
            return None
        found = ratio_between(data, mine, theirs)
        return Verdict("throughput", subject, f"{name} FPS relative to the backbone", "n.a.",
                       "N/A (not timed in the paper)", f"{ratio_cell(found)} ({_where(mine)})",
                       "the paper prints no FPS for this row, so there is nothing to check")
    paper_ratio = paper_fps / base_fps
    claim = f"{name} keeps {percent(paper_ratio)} of the backbone's FPS"
    paper = f"{paper_fps:g} / {base_fps:g} = {percent(paper_ratio)}"
    if mine is None or theirs is None:
        return Verdict("throughput", subject, claim, "n.a.", paper, "–",
                       _missing(data, row.backbone, (row.method, "none"), mode))
    apart = machines_apart(data, mine, theirs)
    if apart is not None:
        return Verdict("throughput", subject, claim, "n.a.", paper, "–", apart)
    found = ratio_between(data, mine, theirs)
    ours = f"{ratio_cell(found)} ({_where(mine)})"
    delta = found.ratio - paper_ratio
    tolerance = f"{100 * RATIO_TOLERANCE:.0f} pp"
    if not found.has_interval:
        return Verdict("throughput", subject, claim, "inconclusive", paper, ours,
                       _no_interval(found))
    band = (paper_ratio - RATIO_TOLERANCE, paper_ratio + RATIO_TOLERANCE)
    assert found.low is not None and found.high is not None
    if intervals_overlap((found.low, found.high), band) and found.half_width > RATIO_TOLERANCE:
        return Verdict("throughput", subject, claim, "inconclusive", paper, ours,
                       f"the interval is wider than ±{tolerance} (±{100 * found.half_width:.1f}"
                       f" pp): too noisy to confirm or refute the paper's share ({_how(found)}); "
                       f"{_to_decide(data, mine, theirs, found, RATIO_TOLERANCE)}")
    if intervals_overlap((found.low, found.high), band):
        return Verdict("throughput", subject, claim, "pass", paper, ours,
                       f"{points(delta)} from the paper; the interval overlaps the paper's "
                       f"share ±{tolerance} ({_how(found)})")
    count = data.count_for(row.backbone, row.method, row.options)
    share = None
    if count is not None and count.flops_all:
        share = count.attention_flops_all / count.flops_all
    why = ratio_mismatch(row.label, row.method, found.ratio, paper_ratio, share,
                         setting_of(data, mine),
                         measured_cost(data, row.backbone, row.method, mode, row.options))
    return Verdict("throughput", subject, claim, "fail", paper, ours,
                   f"{points(delta)} from the paper; the whole interval lies outside its share "
                   f"±{tolerance} ({_how(found)}); {why}")


def _ratio_brief(data: ReportData, row: Table3Row, base: Table3Row,
                 mode: str) -> tuple[str, str]:
    """The paper's share of the backbone's FPS and ours, as percentages ("N/A", "–")."""
    paper_fps, base_fps = row.fps(mode), base.fps(mode)
    mine = data.bench_for(row.backbone, row.method, mode, row.options)
    theirs = data.bench_for(row.backbone, "none", mode, base.options)
    paper = "N/A" if paper_fps is None or base_fps is None else percent(paper_fps / base_fps)
    ours = ("–" if mine is None or theirs is None or machines_apart(data, mine, theirs)
            else percent(ratio_between(data, mine, theirs).ratio))
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
    apart = machines_apart(data, entries[0], entries[1])
    if apart is not None:
        return Verdict("ordering", subject, claim, "n.a.", paper, "–", apart)
    found = ratio_between(data, entries[0], entries[1])
    rates = (entries[0].result.images_per_sec, entries[1].result.images_per_sec)
    ours = (f"{fast.label}/{slow.label} = {ratio_cell(found)}; {sig(rates[0])} vs "
            f"{sig(rates[1])} images/s ({_where(entries[0])})")
    if not found.has_interval:
        return Verdict("ordering", subject, claim, "inconclusive", paper, ours,
                       _no_interval(found))
    side = found.side_of(1.0)
    if side == 0:
        decide = _to_decide(data, entries[0], entries[1], found, abs(found.ratio - 1),
                            _near_side(found))
        return Verdict("ordering", subject, claim, "inconclusive", paper, ours,
                       f"the interval contains 100%: the difference is within what this run "
                       f"resolves ({_how(found)}); {decide}")
    if side > 0:
        return Verdict("ordering", subject, claim, "pass", paper, ours,
                       f"{fast.label} is {100 * (found.ratio - 1):.1f}% faster here; the "
                       f"interval excludes 100% ({_how(found)})")
    measured = measured_order(data, fast.backbone, mode,
                              (fast.label, fast.method, fast.options),
                              (slow.label, slow.method, slow.options))
    why = order_mismatch(fast.label, slow.label, rates, (paper_fast, paper_slow),
                         setting_of(data, entries[0]), measured)
    return Verdict("ordering", subject, claim, "fail", paper, ours,
                   f"the interval lies wholly below 100% ({_how(found)}); {why}")


def _untimed_verdict(data: ReportData, row: Table3Row, reference: Table3Row,
                     mode: str) -> Verdict | None:
    mine = data.bench_for(row.backbone, row.method, mode, row.options)
    other = data.bench_for(reference.backbone, reference.method, mode, reference.options)
    if mine is None or other is None or machines_apart(data, mine, other):
        return None
    found = ratio_between(data, mine, other)
    word = "faster" if found.ratio > 1 else "slower"
    return Verdict("ordering", f"{backbone_label(row.backbone)}, {MODE_NAMES[mode]}",
                   f"{row.label} vs {reference.label}", "n.a.", "N/A (not timed in the paper)",
                   f"{row.label}/{reference.label} = {ratio_cell(found)} ({_where(mine)})",
                   f"the paper prints no FPS for {row.label}; here it is "
                   f"{abs(100 * (found.ratio - 1)):.1f}% {word} than {reference.label}")


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
