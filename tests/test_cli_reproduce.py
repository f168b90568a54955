"""``attnprof reproduce`` end to end on an injected tiny paper suite, with a fake harness."""

from __future__ import annotations

from pathlib import Path

import pytest

from profiler.cli import main
from profiler.commands.reproduce import default_paths
from profiler.results.envelope import load_result_file
from tests.helpers.fakes import FakeMeasure, install

SUITE = """\
[suite]
name = "mini-paper"
claims = "eca-cvpr2020"
device = "auto"

[budget]
min_time = 0.01
repeats = 1
warmup = 0
batch = 2

[[matrix]]
kind = "count"
models = ["resnet50"]
attention = ["none", "se", "eca"]
options.eca = { k_size = [3, 5, 5, 7] }

[[matrix]]
kind = "bench"
models = ["resnet50"]
attention = ["none", "se", "eca"]
modes = ["infer", "train"]
options.eca = { k_size = [3, 5, 5, 7] }
"""
CASES = 9
# Params as the real models have them; throughput shaped like the paper's ratios.
PARAMS = {None: (25_557_032, 0), "se": (28_088_024, 2_530_992), "eca": (25_557_112, 80)}
RATES = {None: 10.0, "se": 8.7, "eca": 9.7}
FLOPS = (4_111_514_624, 4_126_841_344)


@pytest.fixture
def suite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "mini-paper.toml"
    path.write_text(SUITE)
    monkeypatch.chdir(tmp_path)
    return path


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeMeasure:
    return install(monkeypatch, FakeMeasure(params=PARAMS, flops=FLOPS, rates=RATES,
                                            train_slowdown=3))


def test_reproduce_runs_the_suite_and_writes_the_report(
        suite: Path, fake: FakeMeasure, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reproduce", "--suite", str(suite), "--device", "cpu", "--quiet"]) == 0
    out = capsys.readouterr().out
    results, report, plots = default_paths("mini-paper", "cpu")
    assert results == Path("results/mini-paper-cpu.json")
    assert report == Path("reports/mini-paper-cpu.md") and plots == Path("reports/mini-paper-cpu")
    assert len(fake.labels) == CASES and len(load_result_file(results).cases) == CASES
    assert f"wrote {report}" in out and "claims: " in out
    text = report.read_text()
    assert "## Verdicts" in text and "![Throughput vs parameters](mini-paper-cpu/" in text
    assert "attnprof reproduce --device cpu --suite" in text
    eca = next(line for line in text.splitlines()
               if "ResNet-50 / ECA-Net" in line and "inference keeps" in line)
    assert "✅ pass" in eca  # 9.7 / 10 = 97% vs the paper's 97.3%
    assert sorted(p.name for p in plots.iterdir()) == ["attention-overhead.png",
                                                       "throughput-share-forest.png",
                                                       "throughput-vs-params.png"]
    results_file = load_result_file(results)
    assert len(results_file.groups) == 2  # ResNet-50 inference and training, timed together
    assert "‡" not in eca and "the interval overlaps the paper's share ±5 pp (paired over" in text


def test_existing_results_need_resume(suite: Path, fake: FakeMeasure,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    args = ["reproduce", "--suite", str(suite), "--device", "cpu", "--quiet",
            "--results", "out/r.json", "-o", "out/r.md"]
    assert main(args) == 0
    assert Path("out/r.md").is_file() and Path("out/r").is_dir()
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "--resume" in err and err.count("\n") == 1
    assert main([*args, "--resume"]) == 0
    assert len(fake.labels) == CASES  # nothing left to measure


def test_cuda_without_cuda_is_exit_2(suite: Path, fake: FakeMeasure,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert main(["reproduce", "--suite", str(suite), "--device", "cuda"]) == 2
    assert "cuda" in capsys.readouterr().err.lower() and len(fake.labels) == 0
