"""The claims loader: the shipped ECA-Net claims, lookups, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from profiler.claims.paper import (
    available_claims,
    claims_path,
    conventions_path,
    load_claims,
    parse_claims,
)
from profiler.errors import SuiteError, UnknownNameError

MINIMAL = """\
id = "mini"
title = "A paper"

[abstract]
backbone = "resnet50"
module_params = 80
backbone_params_m = 24.37
module_gflops = 4.7e-4
backbone_gflops = 3.86

[[table3]]
backbone = "resnet50"
method = "none"
label = "ResNet"
params_m = 24.37
gflops = 3.86
train_fps = 1024
infer_fps = 1855
"""


def test_shipped_claims_load_by_id() -> None:
    claims = load_claims("eca-cvpr2020")
    assert claims.id == "eca-cvpr2020" and "ECA-Net" in claims.title
    assert claims.backbones() == ("resnet50", "resnet101", "resnet152", "mobilenet_v2")
    eca = next(r for r in claims.rows("resnet50") if r.method == "eca")
    assert (eca.params_m, eca.gflops, eca.train_fps, eca.infer_fps) == (24.37, 3.86, 785, 1805)
    assert eca.attention == "eca" and eca.fps("infer") == 1805
    baseline = claims.baseline("resnet50")
    assert baseline is not None and baseline.attention is None and baseline.infer_fps == 1855
    gc = next(r for r in claims.rows("resnet50") if r.method == "gc")
    assert gc.buildable and gc.train_fps is None and gc.infer_fps is None  # N/A in the paper
    not_built = [r.label for r in claims.table3 if not r.buildable]
    assert not_built == ["A2-Nets", "GSoP-Net1", "AA-Net", "AA-Net"]
    assert "no implementation of A2-Nets" in claims.table3[3].not_built_reason
    se_mobile = next(r for r in claims.rows("mobilenet_v2") if r.method == "se")
    assert se_mobile.options == (("reduction", 8),)
    assert claims.abstract is not None and claims.abstract.module_params == 80
    assert [r.module_params for r in claims.table2][-1] == "k"


def test_claims_load_by_path_and_conventions_path(tmp_path: Path) -> None:
    path = tmp_path / "mini.toml"
    path.write_text(MINIMAL)
    claims = load_claims(path)
    assert claims.id == "mini" and len(claims.table3) == 1 and claims.table2 == ()
    assert conventions_path(claims) == tmp_path / "mini-conventions.toml"


def test_unknown_id_lists_the_available_ones() -> None:
    with pytest.raises(UnknownNameError) as info:
        load_claims("eca-cvpr2021")
    message = str(info.value)
    assert "unknown claims 'eca-cvpr2021'" in message and "did you mean 'eca-cvpr2020'" in message
    assert "valid: " in message and "\n" not in message
    with pytest.raises(UnknownNameError, match="does not exist"):
        claims_path("missing/claims.toml")


def test_available_claims_skip_convention_files(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "suites" / "claims"
    folder.mkdir(parents=True)
    (folder / "mini.toml").write_text(MINIMAL)
    (folder / "mini-conventions.toml").write_text("")
    monkeypatch.chdir(tmp_path)
    found = available_claims()
    assert "mini" in found and "mini-conventions" not in found and "eca-cvpr2020" in found
    assert load_claims("mini").path == folder / "mini.toml"


@pytest.mark.parametrize(("edit", "message"), [
    (("label = \"ResNet\"", "label = \"ResNet\"\ncolour = 3"),
     r"x\.toml:\d+: key 'table3\[1\]\.colour': unknown key"),
    (("gflops = 3.86\ntrain", "train"), r"key 'table3\[1\]': missing key 'gflops'"),
    (("params_m = 24.37\ngflops", "params_m = \"big\"\ngflops"),
     r"x\.toml:\d+: key 'table3\[1\]\.params_m': expected a number"),
    (("module_params = 80", "module_params = 8.5"), r"key 'abstract\.module_params'"),
    (("[[table3]]", "[[table3]\n"), r"x\.toml: invalid TOML"),
    (("title = \"A paper\"", "title = \"A paper\"\nnotes = 1"), r"unknown key"),
])
def test_malformed_claims_name_file_line_and_key(tmp_path: Path, edit: tuple[str, str],
                                                 message: str) -> None:
    path = tmp_path / "x.toml"
    text = MINIMAL.replace(*edit)
    assert text != MINIMAL
    with pytest.raises(SuiteError, match=message) as info:
        parse_claims(text, path)
    assert "\n" not in str(info.value)


def test_duplicate_rows_are_refused(tmp_path: Path) -> None:
    row = MINIMAL[MINIMAL.index("[[table3]]"):]
    with pytest.raises(SuiteError, match="resnet50/none is listed twice"):
        parse_claims(MINIMAL + "\n" + row, tmp_path / "x.toml")
