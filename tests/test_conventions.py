"""The paper-convention analysis: printed precision, matching, ranking, the committed file."""

from __future__ import annotations

from pathlib import Path

import pytest

from profiler.errors import ResultFileError
from profiler.measure.conventions import (
    VARIANTS,
    Candidate,
    Convention,
    ConventionFinding,
    Figure,
    Measured,
    Variant,
    analyse,
    candidates,
    conventions_for,
    figures_from_claims,
    find_conventions,
    load_findings,
    write_findings,
)
from profiler.spec import Options

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parents[1]
CLAIMS = ROOT / "suites" / "claims" / "eca-cvpr2020.toml"
FINDINGS = ROOT / "suites" / "claims" / "eca-cvpr2020-conventions.toml"


def _claims() -> dict[str, object]:
    return tomllib.loads(CLAIMS.read_text(encoding="utf-8"))


def _figure(table: str, backbone: str, method: str, quantity: str) -> Figure:
    return next(f for f in figures_from_claims(_claims())
                if (f.table, f.backbone, f.method, f.quantity)
                == (table, backbone, method, quantity))


@pytest.mark.parametrize(
    ("key", "published", "unit", "half"),
    [
        (("table3", "resnet50", "none", "flops"), 3.86, "G", 0.005),
        (("table3", "mobilenet_v2", "se", "params"), 3.40, "M", 0.005),  # printed "3.40M"
        (("table3", "mobilenet_v2", "none", "flops"), 319.4, "M", 0.05),  # printed "319.4M"
        (("abstract", "resnet50", "eca", "flops"), 4.7e-4, "G", 5e-6),
        (("abstract", "resnet50", "eca", "params"), 80, "", 0.5),
    ],
)
def test_figures_carry_the_printed_unit_and_precision(key: tuple[str, str, str, str],
                                                      published: float, unit: str,
                                                      half: float) -> None:
    figure = _figure(*key)
    assert figure.published == pytest.approx(published)
    assert figure.unit == unit and figure.half == pytest.approx(half)


def test_every_buildable_figure_is_listed_once() -> None:
    figures = figures_from_claims(_claims())
    buildable = [r for r in _claims()["table3"] if r.get("buildable", True)]  # type: ignore[union-attr]
    assert len(figures) == 2 * len(buildable) + 4
    assert len({(f.table, f.backbone, f.method, f.quantity) for f in figures}) == len(figures)


def test_convention_ids() -> None:
    assert Convention("flops", "thop-2019", "binary").id == "thop-2019/binary/MACs"
    assert Convention("flops", "fvcore", "si", 2).id == "fvcore/si/2xMACs"
    assert Convention("params", "exact", "binary").id == "exact/binary"
    assert len(conventions_for("flops")) == 5 * 2 * 2  # counters x units x MACs/FLOPs


def test_find_conventions_keeps_what_prints_the_same() -> None:
    figure = Figure("table3", "resnet50", "none", "flops", 3.86, "G", 0.005)
    conv = Convention("flops", "fvcore", "si")
    found = [Candidate("a", conv, 3.8549, 0), Candidate("b", conv, 3.8550, 0),
             Candidate("c", conv, 3.8649, 0), Candidate("d", conv, 3.8651, 0)]
    assert [c.variant for c in find_conventions(figure, found)] == ["b", "c"]


def _measured(variant: Variant, params: int, macs: int) -> Measured:
    counters = ("fvcore", "all", "thop-2019", "thop-2019-once", "conv+fc")
    return Measured(variant, params, 0, tuple((c, macs + i) for i, c in enumerate(counters)),
                    tuple((c, 0) for c in counters))


def test_candidates_convert_units_and_macs() -> None:
    figure = Figure("table3", "resnet50", "none", "params", 24.37, "M", 0.005)
    values = {c.convention.id: c.value
              for c in candidates(figure, [_measured(VARIANTS["none"][0], 25_557_032, 0)])}
    assert values["exact/binary"] == pytest.approx(25_557_032 / 2**20)
    assert values["exact/si"] == pytest.approx(25.557032)
    flops = Figure("table3", "resnet50", "none", "flops", 3.86, "G", 0.005)
    values = {c.convention.id: c.value
              for c in candidates(flops, [_measured(VARIANTS["none"][0], 0, 10**9)])}
    assert values["fvcore/si/MACs"] == 1.0 and values["fvcore/si/2xMACs"] == 2.0
    assert values["fvcore/binary/MACs"] == pytest.approx(10**9 / 2**30)


def test_analysis_prefers_the_rows_variant_and_reports_misses() -> None:
    se, se_nobias = VARIANTS["se"]
    table = {  # params print 26.77 only without biases; flops print 3.87 with either
        "se": _measured(se, 28_088_024, 4_155_000_000),
        "se-nobias": _measured(se_nobias, 28_071_976, 4_154_990_000),
    }

    def fake(backbone: str, method: str, variant: Variant, options: Options) -> Measured:
        return table[variant.id]

    figures = [Figure("table3", "resnet50", "se", "params", 26.77, "M", 0.005),
               Figure("table3", "resnet50", "se", "flops", 3.87, "G", 0.005),
               Figure("table3", "resnet50", "se", "flops", 9.99, "G", 0.005)]
    params, flops, missed = analyse(figures, fake)
    assert params.reproduced and params.convention == "exact/binary"
    assert params.variant == "se-nobias" and "without FC biases" in params.explanation
    assert flops.reproduced and flops.variant == "se-nobias"  # consistent with the params
    assert not missed.reproduced and missed.convention is None
    values = [c.value for c in candidates(figures[2], table.values())]
    assert missed.ours == min(values, key=lambda v: abs(v - 9.99))
    assert missed.explanation.startswith("None of")


def test_findings_round_trip(tmp_path: Path) -> None:
    finding = ConventionFinding("table3", "resnet50", "none", "flops", 3.86, "G", 3.8582,
                                "thop-2019-once/binary/MACs", True, 'a "quoted" reason',
                                "backbone", 4_142_713_880, ("x @ backbone",))
    missed = ConventionFinding("abstract", "resnet50", "eca", "flops", 4.7e-4, "G", 1.8e-4,
                               None, False, "none prints it")
    path = tmp_path / "f.toml"
    write_findings([finding, missed], path, "claims.toml")
    assert load_findings(path) == [finding, missed]


def test_committed_findings_cover_every_figure_for_the_report() -> None:
    findings = load_findings(FINDINGS)
    keys = {(f.table, f.backbone, f.method, f.quantity) for f in findings}
    assert keys == {(f.table, f.backbone, f.method, f.quantity)
                    for f in figures_from_claims(_claims())}
    for f in findings:
        assert f.explanation and f.reproduced == (f.convention is not None)
    by_key = {(f.table, f.backbone, f.method, f.quantity): f for f in findings}
    assert by_key["abstract", "resnet50", "eca", "params"].ours == 80
    assert by_key["table3", "resnet50", "none", "params"].convention == "exact/binary"


@pytest.fixture(scope="module")
def live() -> dict[tuple[str, str, str, str], ConventionFinding]:
    """ResNet-50 and the abstract recomputed now (ResNet-50 plain and three ECA variants)."""
    figures = [f for f in figures_from_claims(_claims())
               if f.backbone == "resnet50" and f.method in ("none", "eca")
               and (f.table == "abstract" or f.method == "none")]
    return {(f.table, f.backbone, f.method, f.quantity): f for f in analyse(figures)}


def test_committed_findings_are_not_stale(
        live: dict[tuple[str, str, str, str], ConventionFinding]) -> None:
    committed = {(f.table, f.backbone, f.method, f.quantity): f
                 for f in load_findings(FINDINGS)}
    assert len(live) == 6
    for key, now in live.items():
        stored = committed[key]
        assert now.reproduced == stored.reproduced, key
        if stored.reproduced:  # the stored convention still prints the figure, same value
            assert f"{stored.convention} @ {stored.variant}" in now.matches, key
        else:
            assert now.ours == pytest.approx(stored.ours, rel=1e-12), key


def test_the_paper_counted_thop_style_in_binary_units(
        live: dict[tuple[str, str, str, str], ConventionFinding]) -> None:
    assert live["table3", "resnet50", "none", "params"].convention == "exact/binary"
    assert live["table3", "resnet50", "none", "flops"].convention.startswith("thop-2019")
    assert live["abstract", "resnet50", "eca", "params"].variant == "eca-released"
    assert not live["abstract", "resnet50", "eca", "flops"].reproduced


def test_malformed_findings_files_are_one_line_errors(tmp_path: Path) -> None:
    cases = {
        "missing.toml": None,
        "bad.toml": "[[finding]]\ntable = 'table3'\n",
        "notoml.toml": "[[finding]\n",
        "flag.toml": ("[[finding]]\ntable='t'\nbackbone='b'\nmethod='m'\nquantity='flops'\n"
                      "published=1.0\nours=1.0\nreproduced='yes'\n"),
        "shape.toml": "finding = 3\n",
    }
    for name, text in cases.items():
        path = tmp_path / name
        if text is not None:
            path.write_text(text)
        with pytest.raises(ResultFileError) as info:
            load_findings(path)
        message = str(info.value)
        assert message.startswith(str(path)) and "\n" not in message, name
