"""One counting convention per paper: printed precision, the hypothesis search, post-hoc
notes, the findings file (round trip, errors, the committed one) and ``attnprof conventions``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from profiler.claims.conventions import Implementation, RowKey, analyse, candidate_value
from profiler.claims.figures import Figure, figures, printed
from profiler.claims.findings import dump_findings, load_findings, parse_findings
from profiler.claims.paper import load_claims
from profiler.cli import main
from profiler.errors import ResultFileError
from profiler.measure.count.counters import COUNTERS
from profiler.results.count import CounterTotal, CountResult

ROOT = Path(__file__).resolve().parents[1]
FINDINGS = ROOT / "suites" / "claims" / "eca-cvpr2020-conventions.toml"


def _figure(key: tuple[str, str, str, str]) -> Figure:
    return next(f for f in figures(load_claims("eca-cvpr2020")) if f.key == key)


@pytest.mark.parametrize(("key", "published", "unit", "half", "text"), [
    (("table3", "resnet50", "none", "flops"), 3.86, "G", 0.005, "3.86G"),
    (("table3", "mobilenet_v2", "se", "params"), 3.40, "M", 0.005, "3.40M"),
    (("table3", "mobilenet_v2", "none", "flops"), 319.4, "M", 0.05, "319.4M"),
    (("abstract", "resnet50", "eca", "flops"), 4.7e-4, "G", 5e-6, "0.00047G"),
    (("abstract", "resnet50", "eca", "params"), 80, "", 0.5, "80"),
])
def test_figures_carry_the_printed_unit_and_precision(
        key: tuple[str, str, str, str], published: float, unit: str, half: float,
        text: str) -> None:
    figure = _figure(key)
    assert figure.published == pytest.approx(published)
    assert figure.unit == unit and figure.half == pytest.approx(half)
    assert printed(figure) == text
    assert figure.prints(published + 0.99 * half) and not figure.prints(published + 1.01 * half)


def test_the_paper_has_34_params_and_flops_figures() -> None:
    found = figures(load_claims("eca-cvpr2020"))
    assert len(found) == 34 == 2 * 15 + 4
    assert len({f.key for f in found}) == 34


@dataclass(frozen=True)
class _Counter:
    name: str
    emulates: str
    per_mac: int = 1


COUNTERS_AB = (_Counter("a", "tool A 1.0"), _Counter("b", "tool B 2.0"))


def _count(params: int, a: int, b: int, a_params: int | None = None) -> CountResult:
    return CountResult(params=params, attention_params=0, flops=a, counters=(
        CounterTotal("a", a, 0, a_params), CounterTotal("b", b, 0)))


def _impls(method: str) -> list[Implementation]:
    if method == "se":
        return [Implementation("se", "SE with biases"), Implementation("se-nobias", "SE without")]
    return [Implementation("backbone", "the backbone")]


FIGS = [Figure("table3", "r", "none", "params", 24.37, "M", 0.005),
        Figure("table3", "r", "none", "flops", 3.86, "G", 0.005),
        Figure("table3", "r", "se", "params", 26.77, "M", 0.005),
        Figure("table3", "r", "se", "flops", 3.87, "G", 0.005)]


def _counts() -> dict[RowKey, CountResult]:
    gib, mib = 2**30, 2**20
    return {
        ("r", "none", (), "backbone"): _count(int(24.371 * mib), int(3.861 * gib),
                                             int(3.861 * 1e9)),
        # SE prints 26.77M only without biases; its FLOPs print 3.87G under A only with
        # biases, under B with either
        ("r", "se", (), "se"): _count(int(26.79 * mib), int(3.871 * gib), int(3.871e9)),
        ("r", "se", (), "se-nobias"): _count(int(26.771 * mib), int(3.90 * gib), int(3.869e9)),
    }


def test_one_hypothesis_for_the_whole_paper() -> None:
    found = analyse("t", FIGS, _counts(), COUNTERS_AB, _impls)
    best = found.convention.hypothesis
    # a/binary: backbone 2 + SE (biases: flops only; no biases: params only) 1 = 3
    # b/si: backbone FLOPs 3.861 + SE no-bias params? params are exact, in si 28.07 -> no
    # b/binary: backbone params + SE no-bias params + FLOPs? 3.869e9/2^30 = 3.60 -> no
    assert (best.counter, best.units, best.scale, best.reproduced) == ("a", "binary", 1, 3)
    assert best.implementation("se") == "se"  # a tie (1 figure each): the paper's own first
    assert found.hypotheses[0] == best and found.reproduced == 3
    assert [h.reproduced for h in found.hypotheses] == sorted(
        (h.reproduced for h in found.hypotheses), reverse=True)
    assert found.convention.statement.startswith(
        "3 of 4 figures reproduce under a (tool A 1.0), binary units (M = 2^20, G = 2^30), "
        "with these implementations: SE with biases.")


def test_a_miss_gets_a_labelled_post_hoc_note_never_a_pass() -> None:
    found = analyse("t", FIGS, _counts(), COUNTERS_AB, _impls)
    miss = found.find("table3", "r", "se", "params")
    assert miss is not None and not miss.reproduced and miss.variant == "se"
    assert miss.post_hoc.startswith("post hoc, not a pass: a, binary units, SE without "
                                    "would print it")
    hit = found.find("table3", "r", "none", "flops")
    assert hit is not None and hit.reproduced and hit.post_hoc == ""
    assert hit.explanation.endswith("/ 2^30 = 3.8610G, printed 3.86G")


def test_counter_params_are_used_when_the_counter_reports_them() -> None:
    figure = FIGS[0]
    count = _count(25_557_032, 0, 0, a_params=25_557_031)
    assert candidate_value(figure, count, "a", "binary", 1)[0] == 25_557_031
    assert candidate_value(figure, count, "b", "si", 1) == (25_557_032, 25.557032)
    flops = FIGS[1]
    assert candidate_value(flops, _count(0, 10**9, 0), "a", "si", 2) == (2 * 10**9, 2.0)


def test_findings_round_trip(tmp_path: Path) -> None:
    found = analyse("t", FIGS, _counts(), COUNTERS_AB, _impls)
    path = tmp_path / "t-conventions.toml"
    path.write_text(dump_findings(found, path), encoding="utf-8")
    assert load_findings(path) == found
    assert path.read_text().startswith("# Which single counting convention")


@pytest.mark.parametrize(("text", "needle"), [
    (None, "no such findings file"),
    ("[convention\n", "invalid TOML"),
    ("claims = 't'\n", "malformed convention: missing key 'convention'"),
    ("[convention]\ncounter='a'\nunits='si'\nscale=1\nreproduced=1\nfigures=1\n"
     "[[finding]]\ntable='t'\n", "malformed finding #1: missing key"),
    ("[convention]\ncounter='a'\nunits='si'\nscale=1\nreproduced=1\nfigures=1\n"
     "[[finding]]\ntable='t'\nbackbone='b'\nmethod='m'\nquantity='flops'\npublished=1.0\n"
     "ours=1.0\nreproduced='yes'\n", "reproduced must be true or false"),
    ("finding = 3\n[convention]\ncounter='a'\nunits='si'\nscale=1\nreproduced=1\n"
     "figures=1\n", "'finding' must be an array of tables"),
])
def test_malformed_findings_files_are_one_line_errors(tmp_path: Path, text: str | None,
                                                      needle: str) -> None:
    path = tmp_path / "f.toml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(ResultFileError) as info:
        load_findings(path)
    message = str(info.value)
    assert message.startswith(str(path)) and needle in message and "\n" not in message


def test_committed_findings_state_one_convention_for_every_figure() -> None:
    found = load_findings(FINDINGS)
    claims = load_claims("eca-cvpr2020")
    assert {f.key for f in found.items} == {f.key for f in figures(claims)}
    best = found.convention.hypothesis
    assert best == found.hypotheses[0] and best.counter in COUNTERS
    assert best.reproduced == found.reproduced == sum(f.reproduced for f in found.items)
    assert found.convention.statement.startswith(f"{best.reproduced} of 34 figures reproduce "
                                                 f"under {best.counter} (")
    for f in found.items:  # one implementation per method, everywhere
        assert f.variant == best.implementation(f.method), f.key
        assert f.explanation and (f.post_hoc == "") == f.reproduced, f.key
    assert found.find("abstract", "resnet50", "eca", "params").ours == 80  # type: ignore[union-attr]


def test_parse_findings_names_its_source() -> None:
    with pytest.raises(ResultFileError, match=r"^somewhere: invalid TOML"):
        parse_findings("[x", "somewhere")


@pytest.mark.slow
def test_committed_findings_are_not_stale() -> None:
    """ResNet-50 recounted now, every implementation, under the hypothesis's counter (the one
    the committed figures use): the committed figures hold."""
    from profiler.commands.conventions import _implementations
    from profiler.measure.count.variants import count_variants

    claims = load_claims("eca-cvpr2020")
    chosen = [f for f in figures(claims) if f.backbone == "resnet50"
              and f.method in ("none", "eca")]
    committed = load_findings(FINDINGS)
    best = committed.convention.hypothesis
    counts = count_variants(((f.backbone, f.method, f.options) for f in chosen), (best.counter,))
    for figure in chosen:
        stored = committed.find(*figure.key)
        assert stored is not None
        count = counts[(figure.backbone, figure.method, figure.options, stored.variant)]
        raw, value = candidate_value(figure, count, best.counter, best.units, best.scale)
        assert (raw, figure.prints(value)) == (stored.raw, stored.reproduced), figure.key
    assert {i.id for i in _implementations("eca")} >= {best.implementation("eca")}


TINY_CLAIMS = """\
id = "tiny"
title = "tiny"
[[table3]]
backbone = "mobilenet_v2"
method = "none"
label = "MobileNetV2"
params_m = 3.34
gflops = 0.3194
train_fps = 0
infer_fps = 0
"""


def test_conventions_command_writes_the_findings(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    claims = tmp_path / "tiny.toml"
    claims.write_text(TINY_CLAIMS)
    out = tmp_path / "tiny-conventions.toml"
    assert main(["conventions", "--claims", str(claims), "--write", str(out)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("2 of 2 figures reproduce under thop-0.0.23 (thop 0.0.23.post1907")
    found = load_findings(out)
    assert found.claims == "tiny" and found.reproduced == 2
    assert found.find("table3", "mobilenet_v2", "none", "flops").raw == 334_871_520  # type: ignore[union-attr]


def test_conventions_command_bad_claims_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["conventions", "--claims", "no-such-paper"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("attnprof: error: ") and err.count("\n") == 1


@pytest.mark.parametrize("method", ["se", "cbam", "gc", "eca"])
def test_every_declared_variant_builds(method: str) -> None:
    """Each block file declares its counting variants (BlockInfo.variants); all build."""
    import torch

    from profiler.measure.count.variants import variant_options, variants_of
    from profiler.models import build_model
    from profiler.spec import thaw_options

    declared = variants_of(method)
    assert len(declared) >= 3 and declared[0].options == ()
    assert len({v.id for v in declared}) == len(declared)
    for choice in declared:
        options = thaw_options(variant_options("resnet50", method, choice))
        with torch.device("meta"):
            assert build_model("resnet50", method, options or None) is not None, choice.id


def test_conventions_refuses_to_replace_findings_before_counting(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    existing = tmp_path / "x-conventions.toml"
    existing.write_text("kept")
    assert main(["conventions", "--write", str(existing)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("attnprof: error: ") and "--overwrite" in err and err.count("\n") == 1
    assert existing.read_text() == "kept"
