"""Which counting convention reproduces each published params/FLOPs figure of a paper.

Published efficiency tables rarely say how they counted. A FLOPs figure depends on the counter
(which operators count, and how much), on MACs vs FLOPs (1 or 2 per multiply-add), and on the
prefix (G = 1e9 or 2^30); a parameter figure on the prefix (M = 1e6 or 2^20) and on small
implementation choices (SE's FC biases, GC's ratio). This module makes those choices data:

- :class:`Components` splits one counted model into the operator quantities conventions weigh
  (convolution MACs, batch-norm elements, ReLU elements...), from one attnprof count;
- :data:`FLOP_CONVENTIONS` are candidate counters as weights over the components;
  :data:`UNITS` the candidate units; :data:`VARIANTS` the implementation variants per method;
- :func:`find_conventions` tells which candidates print exactly the published figure at its
  printed precision; :func:`analyse` runs that for every figure of a claims file, and the
  findings are written to ``suites/claims/<id>-conventions.toml`` (``python -m
  profiler.measure.conventions --write``) for reports to render with :func:`load_findings`.

The counters (weights per component, one multiply-add = 1):

``fvcore``      conv 1, linear 1, BN 2 per element, LayerNorm 5, GAP 1 per input element.
``all``         fvcore + every elementwise op 1 per element (ReLU, add, mul, sigmoid,
                reductions), softmax 3, max-pool window.
``thop``        the counter the official ECA code used (``thop``, 2019 releases): conv and
                linear MACs, BN 4 per element (subtract, divide, scale, shift), ReLU 1, GAP 1,
                nothing for functional ops (add, mul), sigmoid, LayerNorm, softmax or max-pool.
``thop-nofc``   ``thop`` without the final classifier.
``conv+fc``     convolution and linear MACs only (the textbook "multiply-adds").

Conv and linear biases are left out everywhere: they add at most ~1e-5 G to any model here,
below every printed precision.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import tomllib

from profiler.errors import ResultFileError
from profiler.results.count import CountResult

__all__ = [
    "FLOP_CONVENTIONS",
    "UNITS",
    "VARIANTS",
    "Candidate",
    "Components",
    "ConventionFinding",
    "FlopConvention",
    "ParamUnit",
    "analyse",
    "find_conventions",
    "load_findings",
    "write_findings",
]


@dataclass(frozen=True)
class Components:
    """Operator quantities of one model at batch 1 (elements, or MACs for conv/linear)."""

    conv: int = 0
    linear: int = 0
    bn: int = 0
    layer_norm: int = 0
    gap: int = 0
    relu: int = 0
    add: int = 0
    mul: int = 0
    sigmoid: int = 0
    reduce: int = 0
    softmax: int = 0
    maxpool: int = 0

    @classmethod
    def from_count(cls, result: CountResult) -> Components:
        ops = result.by_operator_all

        def total(*names: str) -> int:
            return sum(ops.get(n, 0) + ops.get(n + "_", 0) for n in names)

        return cls(
            conv=total("conv"),
            linear=total("linear", "addmm", "matmul", "mm"),
            bn=total("batch_norm") // 2,  # fvcore: 2 per element in eval with affine
            layer_norm=total("layer_norm") // 5,  # fvcore: 5 per element with affine
            gap=total("adaptive_avg_pool2d"),
            relu=total("relu", "hardtanh"),
            add=total("add"),
            mul=total("mul"),
            sigmoid=total("sigmoid"),
            reduce=total("mean", "amax", "max", "sum"),
            softmax=total("softmax", "_softmax") // 3,
            maxpool=total("max_pool2d"),
        )


@dataclass(frozen=True)
class FlopConvention:
    """A counter as weights over :class:`Components` (missing components weigh 0)."""

    id: str
    description: str
    weights: Mapping[str, float] = field(default_factory=dict)

    def macs(self, c: Components) -> float:
        return sum(weight * getattr(c, name) for name, weight in self.weights.items())


_FVCORE = {"conv": 1, "linear": 1, "bn": 2, "layer_norm": 5, "gap": 1}
_THOP = {"conv": 1, "linear": 1, "bn": 4, "relu": 1, "gap": 1}
FLOP_CONVENTIONS: tuple[FlopConvention, ...] = (
    FlopConvention("fvcore", "fvcore default", _FVCORE),
    FlopConvention("all", "fvcore + elementwise ops", {
        **_FVCORE, "relu": 1, "add": 1, "mul": 1, "sigmoid": 1, "reduce": 1, "softmax": 3,
        "maxpool": 1}),
    FlopConvention("thop", "thop (2019): conv/linear MACs, BN 4/element, ReLU, GAP", _THOP),
    FlopConvention("thop-nofc", "thop without the classifier",
                   {k: v for k, v in _THOP.items() if k != "linear"}),
    FlopConvention("conv+fc", "conv and linear MACs only", {"conv": 1, "linear": 1}),
)


@dataclass(frozen=True)
class FlopUnit:
    """``macs_as`` FLOPs per multiply-add, divided by ``divisor`` (``G`` or ``Gi``)."""

    id: str
    macs_as: int
    divisor: float


UNITS: tuple[FlopUnit, ...] = (
    FlopUnit("GMACs (1e9)", 1, 1e9),
    FlopUnit("GMACs (2^30)", 1, 2.0**30),
    FlopUnit("GFLOPs=2xMACs (1e9)", 2, 1e9),
    FlopUnit("GFLOPs=2xMACs (2^30)", 2, 2.0**30),
)


@dataclass(frozen=True)
class ParamUnit:
    id: str
    divisor: float


PARAM_UNITS: tuple[ParamUnit, ...] = (ParamUnit("M (1e6)", 1e6), ParamUnit("M (2^20)", 2.0**20))


@dataclass(frozen=True)
class Variant:
    """An implementation choice for a method: attention options given to build_model."""

    id: str
    options: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""


# Released ECA kernel lists per backbone (official repository).
_ECA_RELEASED = {"resnet50": [3, 5, 5, 7], "resnet101": [3, 3, 5, 7], "resnet152": [3, 3, 5, 7]}

VARIANTS: dict[str, tuple[Variant, ...]] = {
    "none": (Variant("backbone"),),
    "se": (Variant("se", {}, "SE with FC biases (SENet release)"),
           Variant("se-nobias", {"bias": False}, "SE without FC biases (2C^2/r)")),
    "cbam": (Variant("cbam", {}, "CBAM, r = 16, MLP biases (official code)"),
             Variant("cbam-nobias", {"bias": False}, "CBAM, r = 16, no MLP biases")),
    "gc": (Variant("gc-r16", {}, "GC ratio 1/16, stages c3-c5"),
           Variant("gc-r4", {"ratio": 0.25}, "GC ratio 1/4, stages c3-c5"),
           Variant("gc-r16-all", {"stages": [1, 2, 3, 4]}, "GC ratio 1/16, all stages"),
           Variant("gc-r4-all", {"ratio": 0.25, "stages": [1, 2, 3, 4]},
                   "GC ratio 1/4, all stages")),
    "eca": (Variant("eca-released", {}, "ECA with the released per-stage kernel sizes"),
            Variant("eca-adaptive", {"k_size": "adaptive"}, "ECA with adaptive psi(C)")),
}


def variant_options(backbone: str, method: str, variant: Variant,
                    extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Attention options of a variant on a backbone (released ECA kernels filled in)."""
    options = dict(extra or {})
    options.update(variant.options)
    if method == "eca" and variant.id == "eca-released" and backbone in _ECA_RELEASED:
        options.setdefault("k_size", _ECA_RELEASED[backbone])
    return options


@dataclass(frozen=True)
class Candidate:
    """One way of turning a counted model into a printed figure, and what it prints."""

    variant: str
    counter: str
    unit: str
    value: float

    @property
    def convention(self) -> str:
        return f"{self.counter}, {self.unit}, {self.variant}"


def printed_precision(published: float) -> float:
    """Half of the last printed digit: 3.86 -> 0.005, 0.3194 -> 0.00005, 4.7e-4 -> 5e-6."""
    text = repr(published)
    if "e" in text:
        mantissa, exponent = text.split("e")
        decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
        return 0.5 * 10.0 ** (int(exponent) - decimals)
    decimals = len(text.split(".")[1]) if "." in text else 0
    return 0.5 * 10.0**-decimals


def find_conventions(published: float, candidates: Iterable[Candidate]) -> list[Candidate]:
    """The candidates that print ``published`` at its printed precision."""
    half = printed_precision(published)
    return [c for c in candidates if abs(c.value - published) <= half * (1 + 1e-9)]


@dataclass(frozen=True)
class ConventionFinding:
    """How one published figure relates to attnprof's counts.

    ``ours`` is the value in ``published_unit`` under ``convention`` when ``reproduced``, else
    under the closest candidate (named in ``explanation``).
    """

    table: str
    backbone: str
    method: str
    quantity: str  # "params" | "flops"
    published: float
    published_unit: str
    ours: float
    convention: str | None
    reproduced: bool
    explanation: str
    matches: tuple[str, ...] = ()

    def to_toml(self) -> str:
        lines = [
            "[[finding]]",
            f"table = {_toml(self.table)}",
            f"backbone = {_toml(self.backbone)}",
            f"method = {_toml(self.method)}",
            f"quantity = {_toml(self.quantity)}",
            f"published = {self.published!r}",
            f"published_unit = {_toml(self.published_unit)}",
            f"ours = {self.ours!r}",
            f"convention = {_toml(self.convention or '')}",
            f"reproduced = {'true' if self.reproduced else 'false'}",
            f"explanation = {_toml(self.explanation)}",
            "matches = [" + ", ".join(_toml(m) for m in self.matches) + "]",
        ]
        return "\n".join(lines)


def _toml(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- the analysis -----------------------------------------------------------------------------

Counter_ = Callable[[str, str | None, Mapping[str, Any]], CountResult]


@dataclass(frozen=True)
class Figure:
    """One published figure to explain."""

    table: str
    backbone: str
    method: str
    quantity: str
    published: float
    unit: str
    options: Mapping[str, Any] = field(default_factory=dict)


def figures_from_claims(claims: Mapping[str, Any]) -> list[Figure]:
    """Every buildable params/FLOPs figure of a claims mapping (Table 3 and the abstract)."""
    figures: list[Figure] = []
    for row in claims.get("table3", []):
        if row.get("buildable", True) is False:
            continue
        options = row.get("options") or {}
        common = (row["backbone"], row["method"])
        figures.append(Figure("table3", *common, "params", float(row["params_m"]), "M",
                              options))
        figures.append(Figure("table3", *common, "flops", float(row["gflops"]), "G", options))
    abstract = claims.get("abstract")
    if abstract:
        backbone = abstract["backbone"]
        figures += [
            Figure("abstract", backbone, "none", "params", float(abstract["backbone_params_m"]),
                   "M"),
            Figure("abstract", backbone, "none", "flops", float(abstract["backbone_gflops"]), "G"),
            Figure("abstract", backbone, "eca", "module_params",
                   float(abstract["module_params"]), "1"),
            Figure("abstract", backbone, "eca", "module_flops",
                   float(abstract["module_gflops"]), "G"),
        ]
    return figures


def _candidates(figure: Figure, counts: Mapping[str, CountResult]) -> list[Candidate]:
    out: list[Candidate] = []
    for variant, result in counts.items():
        if figure.quantity == "params":
            out += [Candidate(variant, "exact", u.id, result.params / u.divisor)
                    for u in PARAM_UNITS]
        elif figure.quantity == "module_params":
            out.append(Candidate(variant, "exact", "parameters", float(result.attention_params)))
        else:
            whole = Components.from_count(result)
            for conv in FLOP_CONVENTIONS:
                macs = _module_macs(conv, result) if figure.quantity == "module_flops" \
                    else conv.macs(whole)
                out += [Candidate(variant, conv.id, u.id, macs * u.macs_as / u.divisor)
                        for u in UNITS]
    return out


def _module_macs(convention: FlopConvention, result: CountResult) -> float:
    """Attention-module MACs under a convention: fvcore's count inside the modules, or the
    elementwise-inclusive one (the components of a module are not split out per op)."""
    if convention.id == "fvcore":
        return float(result.attention_flops)
    if convention.id == "all":
        return float(result.attention_flops_all)
    # Counters without elementwise ops see only the module's convolutions and pooling:
    return float(result.attention_flops)


def explain(figure: Figure, candidates: list[Candidate]) -> ConventionFinding:
    """A finding: the reproducing conventions, or the nearest miss and by how much."""
    matches = find_conventions(figure.published, candidates)
    if matches:
        best = _preferred(matches)
        others = len(matches) - 1
        text = (f"reproduced: {best.convention} gives {best.value:.6g}"
                + (f" ({others} other conventions print the same figure)" if others else ""))
        return ConventionFinding(figure.table, figure.backbone, figure.method, figure.quantity,
                                 figure.published, figure.unit, best.value, best.convention,
                                 True, text, tuple(sorted({m.convention for m in matches})))
    nearest = min(candidates, key=lambda c: abs(c.value - figure.published))
    off = (nearest.value - figure.published) / figure.published if figure.published else 0.0
    text = (f"not reproduced by any candidate convention; nearest is {nearest.convention} "
            f"at {nearest.value:.6g} ({off:+.2%})")
    return ConventionFinding(figure.table, figure.backbone, figure.method, figure.quantity,
                             figure.published, figure.unit, nearest.value, None, False, text)


# Preference among equally good matches: the counter the paper's code used, then fvcore.
_COUNTER_ORDER = ("thop", "thop-nofc", "fvcore", "all", "conv+fc", "exact")


def _preferred(matches: Sequence[Candidate]) -> Candidate:
    def rank(c: Candidate) -> tuple[int, int]:
        variant_rank = 0 if c.variant in ("backbone", "se-nobias", "cbam-nobias", "gc-r16",
                                          "eca-released") else 1
        return (variant_rank, _COUNTER_ORDER.index(c.counter))

    return min(matches, key=rank)


def analyse(claims: Mapping[str, Any], counter: Counter_) -> list[ConventionFinding]:
    """Explain every figure of ``claims``; ``counter(backbone, method, options)`` counts.

    Each reproduced figure is then labelled with whether it follows the convention most of
    the paper's figures of that quantity follow (a lone match under another unit is weaker
    evidence than a match under the paper's dominant convention).
    """
    return _note_dominant(_analyse(claims, counter))


def _dominant(findings: Sequence[ConventionFinding], quantity: str) -> str | None:
    """The counter+unit (variant aside) that reproduces the most figures of ``quantity``."""
    tally: dict[str, int] = {}
    for f in findings:
        if f.quantity != quantity:
            continue
        for key in {_counter_unit(m) for m in f.matches}:
            tally[key] = tally.get(key, 0) + 1
    return max(tally, key=lambda k: tally[k]) if tally else None


def _counter_unit(convention: str) -> str:
    return ", ".join(convention.split(", ")[:2])


def _note_dominant(findings: list[ConventionFinding]) -> list[ConventionFinding]:
    out = []
    for f in findings:
        dominant = _dominant(findings, f.quantity)
        if f.reproduced and dominant is not None:
            follows = any(_counter_unit(m) == dominant for m in f.matches)
            note = (f"; also under the paper's most common {f.quantity} convention ({dominant})"
                    if follows else f"; not under the paper's most common {f.quantity} "
                    f"convention ({dominant})")
            f = replace(f, explanation=f.explanation + note)
        out.append(f)
    return out


def _analyse(claims: Mapping[str, Any], counter: Counter_) -> list[ConventionFinding]:
    cache: dict[tuple[str, str, str], CountResult] = {}
    findings = []
    for figure in figures_from_claims(claims):
        counts: dict[str, CountResult] = {}
        for variant in VARIANTS.get(figure.method, ()):
            key = (figure.backbone, figure.method, variant.id)
            if key not in cache:
                options = variant_options(figure.backbone, figure.method, variant,
                                          figure.options)
                method = None if figure.method == "none" else figure.method
                cache[key] = counter(figure.backbone, method, options)
            counts[variant.id] = cache[key]
        findings.append(explain(figure, _candidates(figure, counts)))
    return findings


def count_variant(backbone: str, method: str | None, options: Mapping[str, Any]) -> CountResult:
    """Count one backbone + method variant at 1x3x224x224 (the default ``counter``)."""
    from profiler.measure.counting import count
    from profiler.spec import CountSpec, Workload

    return count(CountSpec(Workload.for_model(backbone, method, options or None)))


# --- the findings file ------------------------------------------------------------------------

HEADER = """\
# Which counting convention reproduces each published params/FLOPs figure.
# Generated by `python -m profiler.measure.conventions --write {path}` from {claims};
# do not edit by hand. Conventions: see profiler/measure/conventions.py.
"""


def write_findings(findings: Sequence[ConventionFinding], path: Path, claims: str) -> None:
    text = HEADER.format(path=path, claims=claims)
    text += "\n" + "\n\n".join(f.to_toml() for f in findings) + "\n"
    path.write_text(text, encoding="utf-8")


def load_findings(path: str | Path) -> list[ConventionFinding]:
    """Read a findings file; a malformed one raises ResultFileError naming the file."""
    source = Path(path)
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultFileError(f"{source}: no such findings file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ResultFileError(f"{source}: invalid TOML: {exc}") from None
    try:
        return [_finding(row) for row in data.get("finding", [])]
    except (KeyError, TypeError, ValueError) as exc:
        raise ResultFileError(f"{source}: malformed finding: {exc}") from None


def _finding(row: Mapping[str, Any]) -> ConventionFinding:
    return ConventionFinding(
        table=str(row["table"]), backbone=str(row["backbone"]), method=str(row["method"]),
        quantity=str(row["quantity"]), published=float(row["published"]),
        published_unit=str(row["published_unit"]), ours=float(row["ours"]),
        convention=row.get("convention") or None, reproduced=bool(row["reproduced"]),
        explanation=str(row["explanation"]), matches=tuple(row.get("matches", ())),
    )


def _main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m profiler.measure.conventions")
    parser.add_argument("--claims", default="suites/claims/eca-cvpr2020.toml", type=Path)
    parser.add_argument("--write", type=Path, metavar="FINDINGS.toml",
                        help="write the findings here (default: print them)")
    args = parser.parse_args(argv)
    claims = tomllib.loads(args.claims.read_text(encoding="utf-8"))
    findings = analyse(claims, count_variant)
    for f in findings:
        mark = "ok " if f.reproduced else "NO "
        print(f"{mark}{f.table:8s} {f.backbone:12s} {f.method:5s} {f.quantity:13s} "
              f"{f.published!r:>8} -> {f.explanation}", file=sys.stderr)
    if args.write:
        write_findings(findings, args.write, str(args.claims))
    reproduced = sum(f.reproduced for f in findings)
    print(f"{reproduced}/{len(findings)} figures reproduced", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_main())

