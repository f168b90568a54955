"""``attnprof breakdown``: the JSON contract, table, result files, one-line errors (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from profiler.cli import main
from profiler.results import load_result_file
from profiler.results.breakdown import PARTS, BreakdownResult
from profiler.spec import BreakdownSpec
from tests.helpers.specs import FAST_ARGS, TINY

FAST = [*FAST_ARGS, "--timed-steps", "1", "--profiled-steps", "1"]


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and err.startswith("attnprof: error:")
    return err


def test_json_has_the_contract_fields(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["breakdown", "--block", "eca", "--channels", "32", "--size", "8x8", *FAST[2:],
                 "--mode", "train", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    for key in ("step_ms", "parts", "attention_time_share", "attention_flops_share",
                "attention_gbps", "leftover_ms", "agrees", "spec", "environment", "case_id"):
        assert key in data
    for part in data["parts"]:
        assert {"part", "ms", "time_share", "flops_share", "bytes_share"} <= set(part)
        assert part["part"] in PARTS
    assert data["step_ms"] > 0 and 0 < data["attention_time_share"] <= 1
    assert data["attention_flops_share"] == pytest.approx(1.0)
    assert BreakdownSpec.from_dict(data["spec"]).case_id == data["case_id"]
    assert sum(p["ms"] for p in data["parts"]) == pytest.approx(data["compensated_step_ms"])
    assert data["compensated_step_ms"] == pytest.approx(data["profiled_step_ms"] -
                                                        data["overhead_ms"])
    assert data["profiler_overhead_us_per_op"] >= 0


def test_table_and_result_file(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bd.json"
    assert main(["breakdown", TINY, *FAST, "--mode", "train", "-o", str(path)]) == 0
    out, err = capfd.readouterr()  # file descriptors: kineto writes from C++
    assert "profiler_start" not in err and "USDT" not in err and "STAGE:" not in err
    assert out.startswith("breakdown train") and "convolution" in out
    assert "no attention modules in this model: attention share 0" in out
    assert "step time without the profiler" in out and "optimizer" in out
    (case,) = load_result_file(path).cases
    assert case.kind == "breakdown" and case.status == "ok"
    assert isinstance(case.result, BreakdownResult) and case.result.attention_time_share == 0


def test_markdown_and_blocks(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["breakdown", "resnet18", "--attention", "se", "--input", "3x32x32", *FAST[2:],
                 "--format", "markdown", "--blocks"]) == 0
    out = capsys.readouterr().out
    assert "| part" in out and "| attention module" in out and "| layer4.1.attn" in out
    assert "- attention ops move their least traffic at" in out


@pytest.mark.parametrize(("argv", "message"), [
    ([TINY, "--compile"], "--compile does not apply to breakdown"),
    ([TINY, "--timed-steps", "0"], "timed_steps must be a positive integer"),
    ([TINY, "--device", "cuda"], "CUDA is not available"),
    (["no_such_model"], "unknown model 'no_such_model'"),
    (["--block", "se"], "--block needs --channels C"),
])
def test_bad_input_is_one_line(argv: list[str], message: str,
                               capsys: pytest.CaptureFixture[str]) -> None:
    if "cuda" in argv:
        import torch

        if torch.cuda.is_available():
            pytest.skip("CUDA is available here")
    assert main(["breakdown", *argv]) == 2
    assert message in _one_line_error(capsys)


def test_bad_choice_is_argparse_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["breakdown", TINY, "--mode", "bogus"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "invalid choice: 'bogus'" in err
