"""CUDA paths of breakdown and trace --memory. Skipped without a CUDA device (see conftest)."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from profiler.measure.breakdown.harness import breakdown
from profiler.measure.breakdown.trace import TraceSchedule, record_trace
from profiler.spec import BenchSpec, BreakdownSpec, Workload

pytestmark = pytest.mark.gpu

HEAVY = "tests.helpers.breakdown_models:HeavyConvNet"


@pytest.mark.parametrize("mode", ["infer", "train"])
def test_breakdown_on_cuda_splits_kernel_time(mode: str) -> None:
    spec = BreakdownSpec(Workload.for_model(HEAVY, input_shape=(32, 64, 64)), mode=mode,
                         device="cuda", batch=16, warmup=2, timed_steps=3, profiled_steps=2)
    result = breakdown(spec)
    assert result.time_source == "device_self_time" and result.clock == "cuda_events"
    conv = result.part("convolution")
    assert conv is not None and conv.ms > 0
    # kernel times: the host-side recording cost is not taken out on a GPU
    assert result.profiler_overhead_us_per_op is None and result.overhead_ms == 0
    assert sum(p.ms for p in result.parts) == pytest.approx(result.profiled_step_ms)
    assert result.attention_time_share > 0 and [b.path for b in result.blocks] == ["attn"]
    if mode == "train":
        optimizer = result.part("optimizer")
        assert optimizer is not None and optimizer.ms > 0


def test_trace_memory_snapshot_on_cuda(tmp_path: Path) -> None:
    spec = BenchSpec(Workload.for_model(HEAVY, input_shape=(32, 32, 32)), mode="train",
                     device="cuda", batch=4)
    result = record_trace(spec, tmp_path, TraceSchedule(wait=0, warmup=1, active=1),
                          worker="gpu", memory=True)
    assert result.files and result.snapshot is not None
    with result.snapshot.open("rb") as handle:
        snapshot = pickle.load(handle)
    assert "segments" in snapshot and "device_traces" in snapshot
