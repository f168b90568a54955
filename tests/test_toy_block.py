"""Adding a block is one file and one line: a toy block, registered from tests/helpers, goes
through count, bench, report and compare, and every layer finds what it declares."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from profiler.blockinfo import BlockInfo
from profiler.blocks import BLOCKS
from profiler.claims.paper import Claims, Table2Row
from profiler.cli import main
from profiler.report.data import collect
from profiler.report.names import method_label
from profiler.report.verdicts.counts import table2_verdicts
from profiler.report.verdicts.explain import Setting, ratio_mismatch
from profiler.results import load_result_file
from tests.helpers.toy_block import TOY_FORMULA, ToyGate

BLOCK = ["--block", "toy", "--channels", "16", "--size", "8x8"]


@pytest.fixture
def toy() -> Iterator[str]:
    BLOCKS.register("toy", ToyGate)  # the one line
    try:
        yield "toy"
    finally:
        BLOCKS.unregister("toy")


def test_the_registry_hands_out_what_the_block_declares(toy: str,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    assert BLOCKS.info(toy) is ToyGate.info and method_label(toy) == "Toy gate"
    assert main(["list"]) == 0
    assert "toy gate (tests): x * sigmoid(w_c); C params" in capsys.readouterr().out


def test_count_bench_report_compare(toy: str, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    counted, timed, report = tmp_path / "count.json", tmp_path / "bench.json", tmp_path / "r.md"
    assert main(["count", *BLOCK, "--format", "json", "-o", str(counted)]) == 0
    assert json.loads(capsys.readouterr().out)["params"] == 16

    assert main(["bench", *BLOCK, "--batch", "4", "--min-time", "0.01", "--repeats", "2",
                 "--warmup", "1", "--no-memory", "--format", "json", "-o", str(timed)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["min_bytes_formula"] == TOY_FORMULA
    assert result["min_bytes"] == 2 * 4 * 16 * 8 * 8 * 4 + 16 * 4  # 2X + P, fp32

    assert main(["report", str(counted), str(timed), "-o", str(report), "--claims", "none"]) == 0
    block_rows = [line for line in report.read_text(encoding="utf-8").splitlines()
                  if line.startswith("| Toy gate")]
    assert block_rows and "| 16 " in block_rows[0] and "| 8x8 " in block_rows[0]

    capsys.readouterr()
    assert main(["compare", str(timed), str(timed)]) == 0
    assert main(["compare", str(counted), str(counted)]) == 0
    assert "toy[C=16,8x8]" in capsys.readouterr().out


def test_explanations_use_the_blocks_own_words(toy: str) -> None:
    setting = Setting(device="cpu", device_name="CPU", threads=2, batch=8, dtype="fp32",
                      mode="infer")
    why = ratio_mismatch("Toy gate", toy, 0.8, 0.95, None, setting)
    assert "one channel-wise rescale by a learned gate" in why


def test_a_block_without_metadata_gets_defaults_from_its_name() -> None:
    name = "tests.helpers.user_objects:TinyGate"
    info = BLOCKS.info(name)
    assert info == BlockInfo.default(name) and info.label == "TinyGate"
    assert method_label(name) == "TinyGate"
    assert method_label("not_registered") == "not_registered"
    with pytest.raises(ValueError, match="unknown block 'toy'"):
        BLOCKS.info("toy")  # registered only while a test holds the fixture


def test_paper_formulas_use_the_symbols_the_block_declares(toy: str, tmp_path: Path) -> None:
    counted = tmp_path / "count.json"
    assert main(["count", *BLOCK, "--format", "json", "-o", str(counted)]) == 0
    data = collect([(str(counted), load_result_file(counted))])
    claims = Claims(id="toy", title="toy", path=tmp_path / "toy.toml", table2=(
        Table2Row(method=toy, label="Toy, C", module_params="C"),
        Table2Row(method=toy, label="Toy, kC", module_params="k*C")))
    exact, unknown = table2_verdicts(claims, data)
    assert exact.status == "pass" and exact.ours == "C=16: 16.0000 vs 16"
    assert unknown.status == "n.a." and "no value for 'k' (known: C)" in unknown.explanation
