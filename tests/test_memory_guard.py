"""The CPU memory guard: its arithmetic, its probe on a model known exactly, and its decisions.

Nothing here allocates more than a few KiB: limits are tiny, and the decisions are tested
with a fake probe.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from profiler.errors import MemoryLimitError
from profiler.measure.memory import guard as memory_guard
from profiler.measure.memory.guard import (
    INPUT_SHARE,
    MARGIN,
    MemoryEstimate,
    MemoryPlan,
    ProbeFigures,
    activation_bytes,
    check_profiler_memory,
    largest_batch,
    plan_memory,
    probe_step,
)
from profiler.measure.timing import bench as timing
from profiler.results import BenchResult
from profiler.spec import BenchSpec, Workload
from tests.helpers.specs import TINY

MLP = "tests.helpers.user_objects:MLP"
KIB, MIB, GIB, TIB = 2**10, 2**20, 2**30, 2**40
NO_ROOM = lambda: None  # noqa: E731  (the machine's free memory unknown: the limit alone)

PROBE = ProbeFigures(batch=2, weights_bytes=100 * MIB, gradient_bytes=100 * MIB,
                     optimizer_bytes=100 * MIB, input_bytes=2 * MIB, saved_bytes=150 * MIB,
                     largest_output_bytes=12 * MIB)


def _spec(batch: int = 512, mode: str = "train", oom_retry: bool = False) -> BenchSpec:
    return BenchSpec(Workload.for_model(MLP, input_shape=(3, 4, 4)), mode=mode,  # type: ignore[arg-type]
                     batch=batch, oom_retry=oom_retry)


def test_activations_are_saved_tensors_input_and_a_working_set() -> None:
    # training: input + saved + 2 x largest output (that output and its gradient)
    assert activation_bytes(PROBE, "train") == (2 + 150 + 24) * MIB
    # inference saves nothing for backward: input + 3 x largest (residual, input, output)
    assert activation_bytes(PROBE, "infer") == (2 + 150 + 36) * MIB


def test_estimate_scales_the_probe_linearly_with_a_margin() -> None:
    estimate = MemoryEstimate.from_probe(PROBE, "train")
    assert estimate.static_bytes == 300 * MIB
    assert estimate.activation_bytes_per_image == 88 * MIB  # 176 MiB at the probe's batch 2
    assert estimate.activations(512) == 512 * 88 * MIB * MARGIN
    assert estimate.peak_bytes(512) == 300 * MIB + 56320 * MIB
    two = MemoryEstimate.from_probe(PROBE, "train", nproc=2)
    assert two.peak_bytes(512) == 2 * estimate.peak_bytes(512)
    text = estimate.describe(512)
    assert "weights 100 MiB" in text and "88 MiB/image x 512 x 1.25 margin" in text


def test_largest_batch_is_exact_at_the_boundary() -> None:
    estimate = MemoryEstimate.from_probe(PROBE, "train")
    per_image = 110 * MIB  # 88 MiB x 1.25
    limit = 300 * MIB + 72 * per_image
    assert largest_batch(estimate, limit) == 72
    assert largest_batch(estimate, limit - 1) == 71
    assert estimate.peak_bytes(72) <= limit < estimate.peak_bytes(73)
    assert largest_batch(estimate, 300 * MIB + per_image - 1) == 0
    assert largest_batch(MemoryEstimate.from_probe(PROBE, "train", nproc=4), 4 * limit) == 72


def test_probe_of_a_model_known_exactly() -> None:
    figures = probe_step(_spec(), 2)
    # weights: linear 48->32 and 32->10 with biases = 1898 fp32 numbers; SGD momentum and the
    # gradients the same size in training
    assert figures.weights_bytes == figures.gradient_bytes == figures.optimizer_bytes == 7592
    assert figures.input_bytes == 2 * 48 * 4
    # saved for backward, per image: ReLU's output (32 floats; linear 2's input is the same
    # storage), log-softmax's output (10 floats) and the int64 label; plus the loss's scalar
    # total weight. The input and the weights are not counted again.
    assert figures.saved_bytes == 2 * (32 * 4 + 10 * 4 + 8) + 4
    # the largest module output: Flatten's view of the input batch
    assert figures.largest_output_bytes == 2 * 48 * 4
    infer = probe_step(_spec(mode="infer"), 2)
    assert infer.saved_bytes == infer.gradient_bytes == infer.optimizer_bytes == 0


def _fake_probe(figures: ProbeFigures) -> memory_guard.Probe:
    def probe(spec: BenchSpec, batch: int) -> ProbeFigures:
        return figures
    return probe


def test_a_batch_that_fits_runs_as_asked() -> None:
    plan = plan_memory(_spec(64), 64 * GIB, probe=_fake_probe(PROBE), available=NO_ROOM)
    assert plan is not None and plan.batch == 64 and plan.peak_bytes < 64 * GIB


def test_a_batch_over_the_limit_is_refused_with_the_estimate() -> None:
    with pytest.raises(MemoryLimitError) as info:
        plan_memory(_spec(512), 8 * GIB, probe=_fake_probe(PROBE), available=NO_ROOM)
    error = info.value
    assert error.batch == 512 and error.limit_bytes == 8 * GIB
    assert error.estimate_bytes == MemoryEstimate.from_probe(PROBE, "train").peak_bytes(512)
    text = str(error)
    assert "estimated peak memory at batch 512: 55.3 GiB" in text
    assert "the 8 GiB limit (--max-memory)" in text
    assert "the largest batch that fits is 71: pass --batch 71 or --oom-retry" in text
    assert "\n" not in text


def test_oom_retry_takes_the_largest_batch_that_fits() -> None:
    plan = plan_memory(_spec(512, oom_retry=True), 8 * GIB, probe=_fake_probe(PROBE),
                       available=NO_ROOM)
    assert plan is not None and plan.batch == 71
    with pytest.raises(MemoryLimitError, match="not even batch 1 fits"):
        plan_memory(_spec(512, oom_retry=True), 300 * MIB, probe=_fake_probe(PROBE))


def test_max_memory_above_the_available_memory_is_capped_there() -> None:
    for asked in (TIB, 10**30):  # 1TiB, 99999999999999999999999TiB
        with pytest.raises(MemoryLimitError) as info:
            plan_memory(_spec(512), asked, probe=_fake_probe(PROBE),
                        available=lambda: 8 * GIB)
        assert info.value.limit_bytes == 8 * GIB
        assert "the 8 GiB of memory available (--max-memory asked for more" in str(info.value)
    lower = plan_memory(_spec(32), 7 * GIB, probe=_fake_probe(PROBE), available=lambda: 8 * GIB)
    assert lower is not None and lower.limit == 7 * GIB  # lowering still works


def test_profiled_steps_count_their_events_against_the_limit() -> None:
    plan = MemoryPlan(batch=4, estimate=MemoryEstimate.from_probe(PROBE, "infer"), limit=GIB)
    infer = replace(_spec(4), mode="infer")
    # 100 modules x 8 events x 2 steps x 2 KiB = 3.125 MiB beside the step's peak
    assert check_profiler_memory(infer, 100, 2, plan) == 100 * 8 * 2 * 2048
    assert check_profiler_memory(infer, 100, 2, None) == 100 * 8 * 2 * 2048
    steps = (GIB - plan.peak_bytes) // (100 * 8 * 2048) + 1
    with pytest.raises(MemoryLimitError, match=f"profiling {steps} steps keeps about "
                       f"{100 * 8 * steps} events"):
        check_profiler_memory(infer, 100, steps, plan)
    with pytest.raises(MemoryLimitError):  # training: three times the events
        check_profiler_memory(_spec(4), 100, steps // 3 + 1, plan)


def test_the_default_limit_is_the_available_memory() -> None:
    with pytest.raises(MemoryLimitError, match="of memory available"):
        plan_memory(_spec(512), probe=_fake_probe(PROBE), available=lambda: 4 * GIB)
    assert plan_memory(_spec(512), probe=_fake_probe(PROBE), available=lambda: None) is None


def test_a_failing_probe_leaves_the_decision_to_the_run() -> None:
    def broken(spec: BenchSpec, batch: int) -> ProbeFigures:
        raise RuntimeError("shape mismatch")

    assert plan_memory(_spec(4), GIB, probe=broken) is None


def test_a_sample_too_big_to_probe_is_refused_unprobed() -> None:
    def never(spec: BenchSpec, batch: int) -> ProbeFigures:
        raise AssertionError("probed")

    sample = 3 * 4 * 4 * 4
    with pytest.raises(MemoryLimitError, match="one sample's input is 192 B"):
        plan_memory(_spec(1), INPUT_SHARE * sample - 1, probe=never)
    seen: list[int] = []

    def record(spec: BenchSpec, batch: int) -> ProbeFigures:
        seen.append(batch)
        return PROBE

    with pytest.raises(MemoryLimitError):
        plan_memory(_spec(1024), 2 * INPUT_SHARE * sample - 1, probe=record)
    assert seen == [1]  # two samples would be over 1/16 of the limit: probe at batch 1


def test_cgroup_room_bounds_the_available_memory(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "memory.max").write_text("1073741824\n")
    (tmp_path / "memory.current").write_text("268435456\n")
    monkeypatch.setattr(memory_guard, "_CGROUP_V2", tmp_path)
    assert memory_guard._cgroup_headroom() == 768 * MIB
    assert memory_guard.available_memory_bytes() is not None
    assert memory_guard.available_memory_bytes() <= 768 * MIB  # type: ignore[operator]
    (tmp_path / "memory.max").write_text("max\n")
    assert memory_guard._cgroup_headroom() is None


def test_bench_refuses_before_timing_and_retries_at_the_fitting_batch(
        monkeypatch: pytest.MonkeyPatch) -> None:
    timed: list[int] = []

    def fake_bench_at(spec: BenchSpec, device: object, batch: int,
                      policy: object) -> BenchResult:
        timed.append(batch)
        return BenchResult(images_per_sec=1.0, images_per_sec_iqr=0.0, step_ms_median=1.0,
                           samples=[1.0], batch=batch, requested_batch=batch)

    monkeypatch.setattr(timing, "bench_in_process", fake_bench_at)
    monkeypatch.setattr(memory_guard, "probe_step", _fake_probe(PROBE))
    with pytest.raises(MemoryLimitError):
        timing.bench(_spec(512), memory_limit=8 * GIB)
    assert timed == []  # refused before anything ran
    result = timing.bench(_spec(512, oom_retry=True), memory_limit=8 * GIB)
    assert timed == [71] and result.batch == 71 and result.requested_batch == 512
    assert result.memory_estimate_bytes == \
        MemoryEstimate.from_probe(PROBE, "train").peak_bytes(71)


def test_a_real_tiny_model_under_a_tiny_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = BenchSpec(Workload.for_model(TINY, input_shape=(3, 16, 16)), batch=2, min_time=0.01,
                     repeats=1, warmup=1, memory=False, threads=1)
    with pytest.raises(MemoryLimitError, match="estimated peak memory at batch 2"):
        timing.bench(spec, memory_limit=56 * KIB)
    result = timing.bench(spec, memory_limit=GIB)
    assert result.memory_estimate_bytes is not None
    assert 0 < result.memory_estimate_bytes < MIB
