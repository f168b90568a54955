"""Profiler traces: files written by tensorboard_trace_handler exist and parse."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from profiler.cli import main
from profiler.errors import InvalidOptionError
from profiler.measure.breakdown.trace import STEP_LABEL, TraceSchedule, record_trace
from profiler.spec import BenchSpec, Workload
from tests.helpers.specs import TINY


def _load(path: Path) -> dict[str, Any]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return json.load(handle)


def test_trace_records_the_active_steps(tmp_path: Path) -> None:
    spec = BenchSpec(Workload.for_model(TINY, input_shape=(3, 16, 16)), mode="train", batch=2)
    result = record_trace(spec, tmp_path / "logs", TraceSchedule(wait=1, warmup=1, active=2))
    assert result.steps == 4 and len(result.files) == 1
    path = result.files[0]
    assert path.parent == tmp_path / "logs" and path.name.endswith(".pt.trace.json")
    data = _load(path)
    events = data["traceEvents"]
    assert sum(1 for e in events if e.get("name") == STEP_LABEL) == 2
    assert any(e.get("name", "").startswith("aten::convolution") for e in events)
    assert any("Input Dims" in e.get("args", {}) for e in events)  # record_shapes
    assert data.get("profile_memory") == 1 or any(e.get("name") == "[memory]" for e in events)


def test_trace_cli_writes_gzipped_cycles(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    logdir = tmp_path / "tb"
    code = main(["trace", TINY, "--input", "3x8x8", "--batch", "2", "--logdir", str(logdir),
                 "--wait", "0", "--warmup", "1", "--active", "1", "--repeat", "2", "--gzip"])
    assert code == 0
    files = sorted(logdir.glob("*.pt.trace.json.gz"))
    assert len(files) == 2
    for path in files:
        assert _load(path)["traceEvents"]
    out = capsys.readouterr().out
    assert "tensorboard --logdir" in out and str(files[0]) in out


def test_bad_schedule_is_rejected() -> None:
    with pytest.raises(InvalidOptionError, match="--active"):
        TraceSchedule(active=0)


def test_trace_on_missing_cuda_exits_2(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert main(["trace", TINY, "--device", "cuda", "--logdir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
