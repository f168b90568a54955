"""Which counting convention reproduces each published params/FLOPs figure of a paper.

Efficiency tables rarely say how they counted. A FLOPs figure depends on the counter (which
operators count, and how much), on MACs vs FLOPs (1 or 2 per multiply-add) and on the prefix
(G = 10^9 or 2^30); a parameter figure on the prefix and on small implementation choices (SE's
FC biases, GC's ratio and stages, ECA's kernel sizes). This module makes those choices data:

- :class:`Convention` = counter x units x MACs-or-FLOPs; the counters are fvcore's default
  (``fvcore``), attnprof's ``all`` (:mod:`profiler.measure.flop_handles`), and the module-hook
  counters of :mod:`profiler.measure.thop_style` (``thop-2019``, the counter of the ECA
  repository's ``paras_flops.py``; ``thop-2019-once``; ``conv+fc``);
- :class:`Variant` = an implementation choice per method (:data:`VARIANTS`; the first is the
  model as attnprof builds it for the paper);
- :func:`find_conventions` keeps the candidates that print exactly the published figure at its
  printed precision; :func:`analyse` runs that for every figure of a claims file (Table 3's
  buildable rows and the abstract) and explains each in a :class:`ConventionFinding`.

``python -m profiler.measure.conventions --write suites/claims/eca-cvpr2020-conventions.toml``
regenerates the committed findings (about 100 s on 2 cores: 36 model variants counted at
224x224); :func:`load_findings` reads them for reports.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from profiler.errors import ResultFileError
from profiler.measure.units import unit as display_unit
from profiler.spec import Options, freeze_options, thaw_options

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

__all__ = [
    "FLOP_COUNTERS",
    "VARIANTS",
    "Candidate",
    "Convention",
    "ConventionFinding",
    "Figure",
    "FlopCounter",
    "Measured",
    "Variant",
    "analyse",
    "candidates",
    "conventions_for",
    "figures_from_claims",
    "find_conventions",
    "load_findings",
    "measure_variant",
    "paper_options",
    "summary",
    "variants_of",
    "write_findings",
]


@dataclass(frozen=True)
class FlopCounter:
    """A way of counting operations (multiply-adds as the unit)."""

    id: str
    description: str


FLOP_COUNTERS: tuple[FlopCounter, ...] = (
    FlopCounter("fvcore", "fvcore's default (conv/linear/matmul MACs, BN 2 per element, GAP 1 "
                "per input element, elementwise ops free)"),
    FlopCounter("all", "attnprof's all-ops (fvcore plus 1 per element of every elementwise "
                "op, reduction and pooling window)"),
    FlopCounter("thop-2019", "thop as in the ECA repository's paras_flops.py (module hooks: "
                "conv MACs + bias, BN 4 and ReLU 1 per element, pools, Linear 2*in-1; "
                "functional ops free)"),
    FlopCounter("thop-2019-once", "thop-2019 with a module called several times counted "
                "once (the shared ReLU of a ResNet block counts its last call only)"),
    FlopCounter("conv+fc", "convolution and Linear multiply-adds only"),
)
_COUNTER_IDS = tuple(c.id for c in FLOP_COUNTERS)
_UNIT_NAMES = {"si": "SI prefixes (10^3 steps)", "binary": "binary prefixes (2^10 steps)",
               "": "an exact count"}


@dataclass(frozen=True)
class Convention:
    """How a counted model becomes a printed figure: ``counter`` ("exact" for parameters),
    ``units`` ("si", "binary", or "" for an unprefixed count) and, for FLOPs, ``macs_as``
    (1: the figure counts multiply-adds; 2: FLOPs = 2 x MACs)."""

    quantity: str
    counter: str
    units: str
    macs_as: int = 1

    @property
    def id(self) -> str:
        """``exact/binary`` for parameters, ``thop-2019/binary/MACs`` for FLOPs."""
        parts = [self.counter, *([self.units] if self.units else [])]
        if self.quantity == "flops":
            parts.append("MACs" if self.macs_as == 1 else "2xMACs")
        return "/".join(parts)

    def describe(self) -> str:
        if self.quantity == "params":
            return f"exact parameter count, {_UNIT_NAMES[self.units]}"
        counter = next(c.description for c in FLOP_COUNTERS if c.id == self.counter)
        measure = "multiply-adds" if self.macs_as == 1 else "FLOPs = 2 x multiply-adds"
        return f"{counter}; {measure}; {_UNIT_NAMES[self.units]}"


def conventions_for(quantity: str, units: Sequence[str] = ("si", "binary")) -> list[Convention]:
    """Every candidate convention of ``quantity`` ("params" or "flops") in ``units``."""
    if quantity == "params":
        return [Convention("params", "exact", u) for u in units]
    return [Convention("flops", counter, u, macs_as)
            for counter in _COUNTER_IDS for u in units for macs_as in (1, 2)]


@dataclass(frozen=True)
class Variant:
    """An implementation choice: ``options`` override the attention options of the paper's
    model; ``functional_pools`` makes the thop counters skip the attention modules' pooling
    modules (the official CBAM pools with functional calls thop cannot see)."""

    id: str
    description: str
    options: Options = ()
    functional_pools: bool = False


def _variant(id_: str, description: str, options: Mapping[str, Any] | None = None,
             functional_pools: bool = False) -> Variant:
    return Variant(id_, description, freeze_options(options), functional_pools)


def variants_of(method: str) -> tuple[Variant, ...]:
    """The implementation variants analysed for ``method``; the first is the paper's model.
    A method without listed variants (a user block) is analysed as attnprof builds it."""
    return VARIANTS.get(method) or (_variant(method, f"{method} as attnprof builds it"),)


VARIANTS: dict[str, tuple[Variant, ...]] = {
    "none": (_variant("backbone", "the torchvision-layout backbone"),),
    "se": (_variant("se", "SE with FC biases (SENet release)"),
           _variant("se-nobias", "SE without FC biases (Table 2's 2C^2/r)", {"bias": False})),
    "cbam": (_variant("cbam", "CBAM with MLP biases (official code)"),
             _variant("cbam-nobias", "CBAM without MLP biases", {"bias": False}),
             _variant("cbam-functional-pools", "CBAM with its channel pooling invisible to "
                      "thop (the official ChannelGate calls F.avg_pool2d/F.max_pool2d)",
                      functional_pools=True),
             _variant("cbam-nobias-functional-pools", "CBAM without MLP biases and with its "
                      "channel pooling invisible to thop", {"bias": False}, True)),
    "gc": (_variant("gc-r16", "GC ratio 1/16 in stages c3-c5 (GCNet's r16)"),
           _variant("gc-r4", "GC ratio 1/4 in stages c3-c5 (GCNet's r4)", {"ratio": 0.25}),
           _variant("gc-r16-all", "GC ratio 1/16 in every stage", {"stages": [1, 2, 3, 4]}),
           _variant("gc-r4-all", "GC ratio 1/4 in every stage",
                    {"ratio": 0.25, "stages": [1, 2, 3, 4]})),
    "eca": (_variant("eca-released", "ECA with the released per-stage kernel sizes"),
            _variant("eca-adaptive", "ECA with the paper's adaptive psi(C) kernel sizes",
                     {"k_size": "adaptive"}),
            _variant("eca-k3", "ECA with k = 3 everywhere", {"k_size": 3})),
}


@dataclass(frozen=True)
class Figure:
    """One published figure: ``published`` as printed in ``unit`` ("", "M" or "G"), ``half``
    the rounding half-width of its printed precision, ``scope`` "model" or "attention" (the
    abstract's module figures), ``options`` the claims row's attention options."""

    table: str
    backbone: str
    method: str
    quantity: str
    published: float
    unit: str
    half: float
    scope: str = "model"
    options: Options = ()


@dataclass(frozen=True)
class Measured:
    """Counts of one variant at 1x3x224x224: multiply-adds per counter (whole model and inside
    the attention modules) and exact parameters."""

    variant: Variant
    params: int
    attention_params: int
    flops: tuple[tuple[str, int], ...]
    attention_flops: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Candidate:
    """What ``convention`` on ``variant`` prints in the figure's unit (``raw`` the count)."""

    variant: str
    convention: Convention
    value: float
    raw: int


def candidates(figure: Figure, measured: Iterable[Measured]) -> list[Candidate]:
    """Every (variant, convention) value of ``figure``'s quantity, in its printed unit."""
    out: list[Candidate] = []
    for m in measured:
        if figure.quantity == "params":
            raw = m.attention_params if figure.scope == "attention" else m.params
            units = ("",) if figure.unit == "" else ("si", "binary")
            out += [Candidate(m.variant.id, c, _in_unit(raw, c, figure.unit), raw)
                    for c in conventions_for("params", units)]
            continue
        counts = dict(m.attention_flops if figure.scope == "attention" else m.flops)
        for c in conventions_for("flops"):
            if c.counter in counts and (not m.variant.functional_pools
                                        or c.counter.startswith("thop")):
                raw = counts[c.counter] * c.macs_as
                out.append(Candidate(m.variant.id, c, _in_unit(raw, c, figure.unit), raw))
    return out


def _in_unit(raw: int, convention: Convention, unit: str) -> float:
    if not convention.units:
        return float(raw)
    return display_unit(unit or "", convention.units).convert(raw)


def find_conventions(published: Figure, found: Iterable[Candidate]) -> list[Candidate]:
    """The candidates that print ``published.published`` at its printed precision."""
    return [c for c in found
            if abs(c.value - published.published) <= published.half * (1 + 1e-9)]


# --- published figures ------------------------------------------------------------------------

def _half(value: float, minimum_decimals: int) -> float:
    """Half a unit of the last printed digit; ``4.7e-4`` (two significant digits) -> 5e-6."""
    text = f"{value:.10g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
        return 0.5 * 10.0 ** (int(exponent) - decimals)
    decimals = len(text.split(".")[1]) if "." in text else 0
    return 0.5 * 10.0 ** -max(decimals, minimum_decimals)


def figures_from_claims(claims: Mapping[str, Any]) -> list[Figure]:
    """The params/FLOPs figures of a claims mapping as the paper printed them.

    Table 3 prints parameters in M with two decimals ("3.40M") and FLOPs in G with two
    decimals, MobileNetV2's in M with one ("319.4M", stored as ``gflops = 0.3194``).
    """
    figures: list[Figure] = []
    for row in claims.get("table3", []):
        if row.get("buildable", True) is False:
            continue
        key = ("table3", str(row["backbone"]), str(row["method"]))
        options = freeze_options(row.get("options"))
        figures.append(Figure(*key, "params", float(row["params_m"]), "M",
                              _half(float(row["params_m"]), 2), options=options))
        gflops = float(row["gflops"])
        if gflops >= 1:
            figures.append(Figure(*key, "flops", gflops, "G", _half(gflops, 2), options=options))
        else:
            mflops = float(f"{gflops * 1000:.10g}")
            figures.append(Figure(*key, "flops", mflops, "M", _half(mflops, 1), options=options))
    abstract = claims.get("abstract")
    if abstract:
        backbone, method = str(abstract["backbone"]), str(abstract.get("method", "eca"))
        params_m, gflops = float(abstract["backbone_params_m"]), float(abstract["backbone_gflops"])
        module_gflops = float(abstract["module_gflops"])
        figures += [
            Figure("abstract", backbone, "none", "params", params_m, "M", _half(params_m, 2)),
            Figure("abstract", backbone, "none", "flops", gflops, "G", _half(gflops, 2)),
            Figure("abstract", backbone, method, "params", float(abstract["module_params"]), "",
                   0.5, scope="attention"),
            Figure("abstract", backbone, method, "flops", module_gflops, "G",
                   _half(module_gflops, 0), scope="attention"),
        ]
    return figures


# --- findings ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ConventionFinding:
    """How one published figure relates to attnprof's counts.

    ``ours`` is the value in ``published_unit`` under ``convention`` (an id such as
    ``thop-2019/binary/MACs``) on implementation ``variant`` when ``reproduced``; otherwise
    under the closest candidate, and ``convention`` is None. ``matches`` lists every
    ``convention @ variant`` that prints the published figure.
    """

    table: str
    backbone: str
    method: str
    quantity: str
    published: float
    published_unit: str
    ours: float
    convention: str | None
    reproduced: bool
    explanation: str
    variant: str = ""
    raw: int = 0
    matches: tuple[str, ...] = ()

    def to_toml(self) -> str:
        lines = ["[[finding]]"]
        for key in ("table", "backbone", "method", "quantity"):
            lines.append(f"{key} = {_toml_str(getattr(self, key))}")
        lines += [f"published = {self.published!r}",
                  f"published_unit = {_toml_str(self.published_unit)}",
                  f"ours = {self.ours!r}"]
        if self.convention is not None:
            lines.append(f"convention = {_toml_str(self.convention)}")
        lines += [f"reproduced = {'true' if self.reproduced else 'false'}",
                  f"variant = {_toml_str(self.variant)}",
                  f"raw = {self.raw}",
                  f"explanation = {_toml_str(self.explanation)}",
                  "matches = [" + ", ".join(_toml_str(m) for m in self.matches) + "]"]
        return "\n".join(lines)


def _toml_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


Measure = Callable[[str, str, Variant, Options], Measured]


def _label(candidate: Candidate) -> str:
    return f"{candidate.convention.id} @ {candidate.variant}"


def _show(value: float, figure: Figure) -> str:
    """``value`` with two more decimals than the figure was printed with."""
    if not figure.unit:
        return f"{value:,.0f}"
    if figure.published < 0.01:
        return f"{value:.3g}{figure.unit}"
    decimals = max(0, round(-math.log10(2 * figure.half)))
    return f"{value:.{decimals + 2}f}{figure.unit}"


def _printed(figure: Figure) -> str:
    """The figure as the paper printed it: ``3.40M``, ``319.4M``, ``0.00047G``, ``80``."""
    if not figure.unit:
        return f"{figure.published:g}"
    if figure.published < 0.01:
        return f"{figure.published:.2g}{figure.unit}"
    decimals = max(0, round(-math.log10(2 * figure.half)))
    return f"{figure.published:.{decimals}f}{figure.unit}"


class _Analysis:
    """The candidates of every figure, and the tallies that rank equally good matches."""

    def __init__(self, figures: Sequence[Figure],
                 measured: Mapping[Figure, list[Measured]]) -> None:
        self.figures = list(figures)
        self.found = {f: candidates(f, measured[f]) for f in self.figures}
        self.matches = {f: find_conventions(f, self.found[f]) for f in self.figures}
        self.hits: dict[str, int] = {}
        for f in self.figures:
            for conv_id in {m.convention.id for m in self.matches[f]}:
                self.hits[conv_id] = self.hits.get(conv_id, 0) + 1
        self.row_variants: dict[tuple[str, str, str], set[str]] = {}
        for f in self.figures:
            if f.quantity == "params" and f.scope == "model":
                self.row_variants[(f.table, f.backbone, f.method)] = {
                    m.variant for m in self.matches[f]}

    def dominant(self, quantity: str) -> str | None:
        """The convention that reproduces the most figures of ``quantity``."""
        ids = [c.id for c in conventions_for(quantity, ("si", "binary", ""))]
        ranked = [i for i in ids if self.hits.get(i)]
        return max(ranked, key=lambda i: self.hits[i]) if ranked else None

    def preferred(self, figure: Figure) -> Candidate:
        """Among the matches: the variant that also reproduces the row's parameters, then the
        convention that reproduces the most figures, then the paper's own model."""
        order = [v.id for v in variants_of(figure.method)]
        consistent = self.row_variants.get((figure.table, figure.backbone, figure.method), set())

        def rank(c: Candidate) -> tuple[int, int, int, int]:
            return (0 if c.variant in consistent else 1, -self.hits.get(c.convention.id, 0),
                    order.index(c.variant) if c.variant in order else len(order),
                    _COUNTER_IDS.index(c.convention.counter)
                    if c.convention.counter in _COUNTER_IDS else -1)

        return min(self.matches[figure], key=rank)

    def finding(self, figure: Figure) -> ConventionFinding:
        matches = self.matches[figure]
        if matches:
            best = self.preferred(figure)
            others = sorted({m.convention.id for m in matches} - {best.convention.id})
            text = _reproduced_text(figure, best, others, self.dominant(figure.quantity))
            return _finding(figure, best, True, text, tuple(sorted(map(_label, matches))))
        closest = min(self.found[figure], key=lambda c: abs(c.value - figure.published))
        text = _missed_text(figure, closest, len(self.found[figure]), self._dominant_value(figure))
        return _finding(figure, closest, False, text, ())

    def _dominant_value(self, figure: Figure) -> Candidate | None:
        dominant = self.dominant(figure.quantity)
        default = variants_of(figure.method)[0].id
        return next((c for c in self.found[figure]
                     if c.convention.id == dominant and c.variant == default), None)


def _variant_text(figure: Figure, variant_id: str) -> str:
    variants = variants_of(figure.method)
    if variant_id != variants[0].id:
        return next(v.description for v in variants if v.id == variant_id) + ": "
    return ""


def _division(candidate: Candidate, figure: Figure) -> str:
    """``4,142,713,880 multiply-adds (thop-2019-once) / 2^30`` and the like."""
    c = candidate.convention
    if c.quantity == "params":
        what = f"{candidate.raw:,} parameters"
    else:
        macs = candidate.raw // c.macs_as
        what = (f"{macs:,} multiply-adds" if c.macs_as == 1 else f"2 x {macs:,} multiply-adds")
        what += f" ({c.counter})"
    if not c.units or not figure.unit:
        return what
    power = " KMGT".index(figure.unit)
    base = "2^" + str(10 * power) if c.units == "binary" else "10^" + str(3 * power)
    return f"{what} / {base}"


def _reproduced_text(figure: Figure, best: Candidate, others: list[str],
                     dominant: str | None) -> str:
    text = (f"{_variant_text(figure, best.variant)}{_division(best, figure)} = "
            f"{_show(best.value, figure)}, printed {_printed(figure)}")
    margin = figure.half - abs(best.value - figure.published)
    if best.value and margin < 0.02 * figure.half:
        text += (f" (only {margin / best.value * best.raw:,.0f} below the rounding "
                 "boundary)")
    if dominant and best.convention.units and best.convention.id != dominant:
        text += f"; unlike most of the paper's {figure.quantity} figures ({dominant})"
    if others:
        text += f"; also {', '.join(others[:3])}" + (" and more" if len(others) > 3 else "")
    return text + "."


def _missed_text(figure: Figure, closest: Candidate, tried: int,
                 dominant: Candidate | None) -> str:
    gap = (closest.value / figure.published - 1) if figure.published else 0.0
    text = (f"None of {tried} candidates prints {_printed(figure)}: the closest is "
            f"{closest.convention.id} ({_variant_text(figure, closest.variant)}"
            f"{_division(closest, figure)} = {_show(closest.value, figure)}, {gap:+.2%})")
    if dominant is not None and abs(dominant.value - closest.value) > figure.half / 10:
        text += (f"; the paper's most common convention ({dominant.convention.id}) gives "
                 f"{_show(dominant.value, figure)}")
    return text + "."


def _finding(figure: Figure, candidate: Candidate, reproduced: bool, text: str,
             matches: tuple[str, ...]) -> ConventionFinding:
    return ConventionFinding(
        table=figure.table, backbone=figure.backbone, method=figure.method,
        quantity=figure.quantity, published=figure.published, published_unit=figure.unit,
        ours=candidate.value, convention=candidate.convention.id if reproduced else None,
        reproduced=reproduced, explanation=text, variant=candidate.variant, raw=candidate.raw,
        matches=matches)


def paper_options(backbone: str, method: str) -> dict[str, Any]:
    """The attention options of the paper's model: a preset's (``eca_resnet50`` is ECA with
    the released kernels k = 3,5,5,7), else the block's defaults."""
    from profiler.models.presets import PRESETS

    for preset in PRESETS:
        if preset.backbone == backbone and preset.attention == method:
            return thaw_options(preset.options)
    return {}


def analyse(figures: Sequence[Figure], measure: Measure | None = None) -> list[ConventionFinding]:
    """A finding for every figure; ``measure(backbone, method, variant, options)`` counts a
    variant (default :func:`measure_variant`; each variant is counted once)."""
    measure = measure or measure_variant
    cache: dict[tuple[str, str, str, Options], Measured] = {}
    measured: dict[Figure, list[Measured]] = {}
    for figure in figures:
        rows = []
        for variant in variants_of(figure.method):
            options = freeze_options({**paper_options(figure.backbone, figure.method),
                                      **thaw_options(figure.options),
                                      **thaw_options(variant.options)})
            key = (figure.backbone, figure.method, variant.id, options)
            if key not in cache:
                cache[key] = measure(figure.backbone, figure.method, variant, options)
            rows.append(cache[key])
        measured[figure] = rows
    analysis = _Analysis(figures, measured)
    return [analysis.finding(f) for f in figures]


def measure_variant(backbone: str, method: str, variant: Variant, options: Options) -> Measured:
    """Count ``backbone`` + ``method`` with ``options`` at 1x3x224x224: fvcore and all-ops
    from one trace (:func:`~profiler.measure.counting.count_module`), the thop-style counters
    from one hooked forward pass. One CPU thread; fresh random weights."""
    import torch

    from profiler.measure.counting import count_module
    from profiler.measure.device import torch_threads
    from profiler.measure.thop_style import hook_counts
    from profiler.models import attention_modules, build_model

    with torch_threads(1):
        model = build_model(backbone, None if method == "none" else method,
                            thaw_options(options) or None)
        inputs = torch.randn(1, 3, 224, 224)
        paths = [path for path, _ in attention_modules(model)]
        counted = count_module(model, inputs, paths, label=f"{backbone}+{method}")
        hooks = hook_counts(model, inputs, paths,
                            no_pools_under=paths if variant.functional_pools else ())
    flops = {"fvcore": counted.flops, "all": counted.flops_all,
             **{name: h.total for name, h in hooks.items()}}
    inside = {"fvcore": counted.attention_flops, "all": counted.attention_flops_all,
              **{name: h.attention for name, h in hooks.items()}}
    return Measured(variant, counted.params, counted.attention_params,
                    tuple(flops.items()), tuple(inside.items()))


# --- the findings file ------------------------------------------------------------------------

HEADER = """\
# Which counting convention reproduces each published params/FLOPs figure of {claims}.
# Generated by `python -m profiler.measure.conventions --write {path}`; do not edit by hand.
# Conventions and implementation variants: profiler/measure/conventions.py and thop_style.py.
# {summary}
"""


def summary(findings: Sequence[ConventionFinding]) -> str:
    """One line: how many figures reproduce, and the most common convention per quantity."""
    done = sum(f.reproduced for f in findings)
    parts = []
    for quantity in ("params", "flops"):
        tally: dict[str, int] = {}
        for f in findings:
            if f.quantity == quantity and f.convention:
                tally[f.convention] = tally.get(f.convention, 0) + 1
        if tally:
            best = max(tally, key=lambda k: tally[k])
            parts.append(f"{quantity} mostly {best} ({tally[best]})")
    return f"{done}/{len(findings)} figures reproduced; " + "; ".join(parts)


def write_findings(findings: Sequence[ConventionFinding], path: str | Path, claims: str) -> None:
    """Write ``findings`` as TOML (one ``[[finding]]`` table each) to ``path``."""
    text = HEADER.format(claims=claims, path=path, summary=summary(findings))
    text += "\n" + "\n\n".join(f.to_toml() for f in findings) + "\n"
    Path(path).write_text(text, encoding="utf-8")


def load_findings(path: str | Path) -> list[ConventionFinding]:
    """Read a findings file; a missing or malformed one raises a one-line ResultFileError."""
    source = Path(path)
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultFileError(f"{source}: no such findings file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultFileError(f"{source}: cannot read findings file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ResultFileError(f"{source}: invalid TOML: {exc}") from None
    rows = data.get("finding", [])
    if not isinstance(rows, list):
        raise ResultFileError(f"{source}: 'finding' must be an array of tables ([[finding]])")
    findings = []
    for index, row in enumerate(rows, start=1):
        try:
            findings.append(_parse_finding(row))
        except (KeyError, TypeError, ValueError) as exc:
            detail = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
            raise ResultFileError(f"{source}: malformed finding #{index}: {detail}") from None
    return findings


def _parse_finding(row: Mapping[str, Any]) -> ConventionFinding:
    if not isinstance(row, Mapping):
        raise TypeError("a finding must be a table")
    reproduced = row["reproduced"]
    if not isinstance(reproduced, bool):
        raise ValueError(f"reproduced must be true or false, got {reproduced!r}")
    return ConventionFinding(
        table=str(row["table"]), backbone=str(row["backbone"]), method=str(row["method"]),
        quantity=str(row["quantity"]), published=float(row["published"]),
        published_unit=str(row.get("published_unit", "")), ours=float(row["ours"]),
        convention=str(row["convention"]) if row.get("convention") else None,
        reproduced=reproduced, explanation=str(row.get("explanation", "")),
        variant=str(row.get("variant", "")), raw=int(row.get("raw", 0)),
        matches=tuple(str(m) for m in row.get("matches", ())),
    )


def _main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m profiler.measure.conventions",
        description="Find the counting convention of every published params/FLOPs figure.")
    parser.add_argument("--claims", default="suites/claims/eca-cvpr2020.toml", type=Path,
                        help="claims file (default suites/claims/eca-cvpr2020.toml)")
    parser.add_argument("--write", type=Path, metavar="FINDINGS.toml",
                        help="write the findings there (default: only print them)")
    args = parser.parse_args(argv)
    try:
        claims = tomllib.loads(args.claims.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        print(f"error: cannot read {args.claims}: {exc}", file=sys.stderr)
        return 2
    findings = analyse(figures_from_claims(claims))
    for f in findings:
        mark = "ok" if f.reproduced else "NO"
        print(f"{mark} {f.table:8} {f.backbone:12} {f.method:5} {f.quantity:6} "
              f"{f.published:g}{f.published_unit}: {f.explanation}")
    print(summary(findings))
    if args.write:
        write_findings(findings, args.write, str(args.claims))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_main())
