"""Peak memory on the CPU: the child process's RSS high-water mark, and its failures."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import pytest

from profiler.measure.memory import peak as memory
from profiler.measure.memory.peak import CPU_METHOD, MemoryFigures, measure_cpu_memory
from profiler.measure.timing.bench import bench
from profiler.spec import BenchSpec, Workload
from tests.helpers.specs import TINY, tiny_spec

# TinyNet training at batch 16, one repeat of 10 ms, memory measured.
_spec = partial(tiny_spec, mode="train", batch=16, min_time=0.01, repeats=1, memory=True)


@pytest.mark.slow  # a child process importing torch
def test_child_measures_activations_of_a_training_step() -> None:
    figures = measure_cpu_memory(_spec(64).to_dict(), batch=16, steps=2)
    assert figures.method == CPU_METHOD
    assert figures.peak_bytes is not None and figures.activation_bytes is not None
    # conv1, bn1, relu1 outputs are 16x8x64x64 fp32 (2 MiB each) and kept for backward
    assert figures.activation_bytes >= 3 * 16 * 8 * 64 * 64 * 4
    assert figures.peak_bytes >= figures.activation_bytes
    assert figures.peak_bytes < 2**30


def test_child_entry_point_writes_figures_in_process(tmp_path: Path) -> None:
    spec_path, out_path = tmp_path / "spec.json", tmp_path / "out.json"
    spec_path.write_text(json.dumps(_spec(16, mode="infer").to_dict()))
    assert memory.main([str(spec_path), str(out_path), "2", "1"]) == 0
    data = json.loads(out_path.read_text())
    assert data["method"] == CPU_METHOD and data["peak_bytes"] >= 0
    assert data["static_bytes"] > 0


def test_child_entry_point_records_errors(tmp_path: Path) -> None:
    bad = BenchSpec(Workload.for_model("tests.helpers.user_objects:Missing"))
    spec_path, out_path = tmp_path / "spec.json", tmp_path / "out.json"
    spec_path.write_text(json.dumps(bad.to_dict()))
    assert memory.main([str(spec_path), str(out_path), "2", "1"]) == 0
    assert "has no attribute" in json.loads(out_path.read_text())["error"]
    assert memory.main(["only-one-argument"]) == 2


def test_a_failing_child_is_recorded_as_unavailable() -> None:
    # inference: the child skips the optimizer's priming (and torch._dynamo's import)
    bad = BenchSpec(Workload.for_model("tests.helpers.user_objects:Missing"), mode="infer")
    figures = measure_cpu_memory(bad.to_dict(), batch=2, steps=1)
    assert figures.peak_bytes is None
    assert figures.method.startswith("unavailable: memory child failed:")
    assert "\n" not in figures.method


def test_unavailable_keeps_one_line() -> None:
    figures = MemoryFigures.unavailable("first\nsecond", static_bytes=3)
    assert figures.method == "unavailable: first" and figures.static_bytes == 3


def test_bench_records_the_child_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[int, int]] = []

    def fake(spec_dict: dict[str, object], batch: int, steps: int = 2, timeout: float = 0.0,
             threads: int | None = None) -> MemoryFigures:
        seen.append((batch, steps))
        return MemoryFigures(method=CPU_METHOD, peak_bytes=1000, static_bytes=None,
                             activation_bytes=400)

    monkeypatch.setattr("profiler.measure.timing.loop.measure_cpu_memory", fake)
    result = bench(BenchSpec(Workload.for_model(TINY, input_shape=(3, 8, 8)), batch=2,
                             min_time=0.01, repeats=1))
    assert seen == [(2, 2)]
    assert result.peak_memory_bytes == 1000 and result.activation_memory_bytes == 400
    assert result.memory_method == CPU_METHOD
    assert result.static_memory_bytes is not None and result.static_memory_bytes > 0
