"""The paper-convention analysis: precision rules, matching, the committed findings file."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomllib

from profiler.errors import ResultFileError
from profiler.measure.conventions import (
    Candidate,
    Components,
    analyse,
    count_variant,
    find_conventions,
    load_findings,
    printed_precision,
)
from profiler.measure.counting import count
from profiler.spec import CountSpec, Workload

ROOT = Path(__file__).resolve().parents[1]
CLAIMS = ROOT / "suites" / "claims" / "eca-cvpr2020.toml"
FINDINGS = ROOT / "suites" / "claims" / "eca-cvpr2020-conventions.toml"


@pytest.mark.parametrize(
    ("published", "half"),
    [(3.86, 0.005), (0.3194, 0.00005), (57.4, 0.05), (4.7e-4, 5e-6), (80.0, 0.05)],
)
def test_printed_precision(published: float, half: float) -> None:
    assert printed_precision(published) == pytest.approx(half)


def test_find_conventions_keeps_only_figures_that_print_the_same() -> None:
    candidates = [Candidate("v", "a", "u", 3.8588), Candidate("v", "b", "u", 3.8549),
                  Candidate("v", "c", "u", 3.8651)]
    assert [c.counter for c in find_conventions(3.86, candidates)] == ["a"]


def test_components_of_resnet18() -> None:
    c = Components.from_count(count(CountSpec(Workload.for_model("resnet18"))))
    assert c.conv == 1_813_561_344 and c.linear == 512_000
    assert c.bn * 2 == 4_967_424 and c.maxpool == 9 * 64 * 56 * 56


def test_committed_findings_load_and_cover_every_buildable_figure() -> None:
    findings = load_findings(FINDINGS)
    claims = tomllib.loads(CLAIMS.read_text())
    buildable = [r for r in claims["table3"] if r.get("buildable", True) is not False]
    assert len(findings) == 2 * len(buildable) + 4
    by_key = {(f.table, f.backbone, f.method, f.quantity): f for f in findings}
    assert by_key["abstract", "resnet50", "eca", "module_params"].reproduced
    for f in findings:
        assert f.explanation
        assert f.reproduced == (f.convention is not None)


def test_committed_findings_are_not_stale() -> None:
    """Recompute the ResNet-50 backbone rows live; they must match the committed file."""
    claims = tomllib.loads(CLAIMS.read_text())
    claims = {"table3": [r for r in claims["table3"]
                         if r["backbone"] == "resnet50" and r["method"] == "none"]}
    live = {(f.quantity): f for f in analyse(claims, count_variant)}
    committed = {f.quantity: f for f in load_findings(FINDINGS)
                 if f.table == "table3" and f.backbone == "resnet50" and f.method == "none"}
    for quantity in ("params", "flops"):
        assert live[quantity].reproduced == committed[quantity].reproduced
        assert live[quantity].ours == pytest.approx(committed[quantity].ours, rel=1e-9)
    assert committed["params"].convention == "exact, M (2^20), backbone"


def test_malformed_findings_file_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[[finding]]\ntable = 'table3'\n")
    with pytest.raises(ResultFileError, match=r"bad.toml: malformed finding"):
        load_findings(bad)
    with pytest.raises(ResultFileError, match="no such findings file"):
        load_findings(tmp_path / "missing.toml")
