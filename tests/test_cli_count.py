"""`attnprof count` end to end: JSON contract, breakdowns, result file, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from profiler.cli import main
from profiler.results import load_result_file


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    assert main(["count", *args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    data = _json(capsys, "resnet18", "--attention", "eca", "--attention-option",
                 "k_size=3,5,7,7", "--input", "3x64x64")
    for key in ("params", "attention_params", "flops", "flops_all", "by_operator",
                "by_module", "convention", "input_shape", "unsupported", "spec", "environment"):
        assert key in data, key
    assert data["attention_params"] == 2 * (3 + 5 + 7 + 7)
    assert data["params"] == 11_689_512 + data["attention_params"]
    assert data["convention"] == "fvcore" and data["input_shape"] == [3, 64, 64]
    assert data["unsupported"]["aten::sigmoid"] == 8


def test_counter_makes_flops_its_total(capsys: pytest.CaptureFixture[str]) -> None:
    data = _json(capsys, "--block", "se", "--channels", "64", "--size", "8x8", "--counter",
                 "torch", "--backward")
    counters = {c["counter"]: c for c in data["counters"]}  # type: ignore[union-attr]
    assert data["convention"] == "torch" and set(counters) == {"fvcore", "all", "torch"}
    assert data["flops"] == counters["torch"]["flops"] == 2 * (64 * 4 + 4 * 64)
    assert data["train_step_flops"] == 3 * data["flops"]  # type: ignore[operator]
    assert data["spec"]["conventions"] == ["torch", "fvcore", "all"]  # type: ignore[index]
    assert main(["count", "--block", "se", "--channels", "64", "--size", "8x8", "--counter",
                 "thop-0.0.23"]) == 0
    table = capsys.readouterr().out
    assert "FLOPs (thop-0.0.23)" in table and "thop 0.0.23.post1907171430" in table


def test_unknown_counter_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["count", "resnet18", "--counter", "thop"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.count("\n") == 1
    assert "argument --counter: invalid choice: 'thop' (choose from 'fvcore', 'all'" in err


@pytest.mark.parametrize(("args", "needle"), [
    (["--backward"], "counter 'fvcore' cannot count backward; counters that can: torch"),
    (["--counter", "thop-2020", "--backward"], "counter 'thop-2020' cannot count backward"),
])
def test_bad_counter_is_one_line_exit_2(args: list[str], needle: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["count", "--block", "eca", "--channels", "8", "--size", "4x4", *args]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1


def test_block_counting(capsys: pytest.CaptureFixture[str]) -> None:
    data = _json(capsys, "--block", "se", "--channels", "64", "--size", "8x8")
    assert data["params"] == data["attention_params"] == 2 * 64 * 4 + 4 + 64


@pytest.mark.parametrize("by", ["total", "operator", "module", "block"])
def test_breakdowns_render(by: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["count", "mobilenet_v2", "--attention", "eca", "--input", "3x32x32",
                 "--by", by, "--format", "markdown", "--units", "binary"]) == 0
    out = capsys.readouterr().out
    assert "units: Ki/Mi/Gi" in out and "| " in out


def test_output_file_is_a_result_file(tmp_path: Path) -> None:
    path = tmp_path / "count.json"
    assert main(["count", "resnet18", "--input", "3x32x32", "-o", str(path)]) == 0
    record = load_result_file(path).cases[0]
    assert record.kind == "count" and record.status == "ok"
    assert record.result is not None and record.result.params == 11_689_512


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["resnet500"], "unknown model 'resnet500'"),
        (["resnet18", "--input", "3x224"], "malformed shape"),
        (["resnet18", "--attention", "sse"], "unknown block 'sse'"),
        (["resnet18", "--batch", "0"], "--batch must be a positive integer"),
        (["resnet18", "--by", "layer"], "invalid choice"),
        (["--block", "eca"], "--block needs --channels"),
    ],
)
def test_bad_input_is_one_line_exit_2(args: list[str], message: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = main(["count", *args])
    except SystemExit as exc:
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
