"""``attnprof bench``: the JSON contract, result files, and one-line errors with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from profiler.cli import main
from profiler.errors import OutOfMemoryError
from profiler.measure.timing import bench as timing
from profiler.results import BenchResult, load_result_file
from profiler.spec import BenchSpec
from tests.helpers.specs import TINY

FAST = ["--input", "3x16x16", "--batch", "4", "--min-time", "0.02", "--repeats", "2"]


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


def test_json_has_the_contract_fields(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", TINY, *FAST, "--format", "json", "--no-memory", "--threads", "1"]) == 0
    data = json.loads(capsys.readouterr().out)
    for key in ("images_per_sec", "images_per_sec_iqr", "step_ms_median", "samples",
                "peak_memory_bytes", "spec", "environment", "memory_method", "noisy"):
        assert key in data
    assert data["samples"] and all(isinstance(s, float) and s > 0 for s in data["samples"])
    assert data["spec"]["workload"]["model"] == TINY and data["spec"]["threads"] == 1
    assert BenchSpec.from_dict(data["spec"]).case_id == data["case_id"]
    assert data["environment"]["torch_version"] == torch.__version__
    assert data["environment"]["torch_threads"] == 1
    assert data["step_ms_median"] == pytest.approx(
        sorted(data["samples"])[len(data["samples"]) // 2] * 1e3, rel=0.5)


def test_output_file_loads_as_a_result_file(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "out" / "bench.json"
    # inference: its memory child skips the optimizer's first use (torch._dynamo's import);
    # a training step's child: test_memory
    assert main(["bench", TINY, *FAST, "--mode", "infer", "--threads", "1", "-o", str(path)]) == 0
    table = capsys.readouterr().out
    assert "images/s (median)" in table and "cpu_rss_hwm_child" in table
    loaded = load_result_file(path)
    (case,) = loaded.cases
    assert case.status == "ok" and case.kind == "bench"
    assert isinstance(case.result, BenchResult) and case.result.images_per_sec > 0
    assert case.result.memory_method == "cpu_rss_hwm_child"
    assert case.result.peak_memory_bytes is not None and case.result.peak_memory_bytes > 0
    assert isinstance(case.spec, BenchSpec) and case.spec.mode == "infer"
    assert loaded.environment.device == "cpu"


def test_block_benchmark_from_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--block", "tests.helpers.user_objects:Gate", "--channels", "16",
                 "--size", "8x8", "--batch", "2", "--min-time", "0.01", "--repeats", "1",
                 "--no-memory", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["min_bytes"] == 2 * 2 * 16 * 8 * 8 * 4 + (16 * 16 + 16) * 4
    assert data["copy_gbps"] > 0 and data["fraction_of_copy"] > 0


def test_cuda_without_cuda_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert main(["bench", TINY, "--device", "cuda"]) == 2
    assert "CUDA is not available" in _one_line_error(capsys)


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--dtype", "fp64"], "invalid choice: 'fp64'"),
        (["--mode", "eval"], "invalid choice: 'eval'"),
        (["--device", "tpu"], "unknown device 'tpu'"),
        (["--batch", "0"], "batch must be a positive integer"),
    ],
)
def test_bad_options_exit_2(argv: list[str], needle: str,
                            capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = main(["bench", TINY, *argv])
    except SystemExit as exc:  # argparse's own errors
        code = int(exc.code or 0)
    assert code == 2
    assert needle in _one_line_error(capsys)


def test_unknown_model_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "tests.helpers.user_objects:Nope", "--no-memory"]) == 2
    assert "has no attribute" in _one_line_error(capsys)


def test_oom_is_recorded_in_the_file_and_exits_2(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    def oom(spec: BenchSpec, policy: object = None) -> BenchResult:
        raise OutOfMemoryError("out of memory on cuda:0 at batch 4: 1.00 GiB free", batch=4,
                               free_bytes=2**30)

    monkeypatch.setattr(timing, "bench", oom)
    path = tmp_path / "oom.json"
    assert main(["bench", TINY, *FAST, "-o", str(path)]) == 2
    wrote, error = capsys.readouterr().err.splitlines()
    assert wrote == f"wrote {path}" and error.startswith("attnprof: error: out of memory")
    (case,) = load_result_file(path).cases
    assert case.status == "oom" and case.error is not None and "batch 4" in case.error
