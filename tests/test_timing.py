"""The timing harness: warm-up and calibration on a fake clock, real runs on tiny models."""

from __future__ import annotations

import pytest
import torch
from torch.utils.benchmark import Timer

from profiler.errors import InvalidOptionError, MeasurementError, OutOfMemoryError
from profiler.measure import steps
from profiler.measure.timing import bench as bench_module
from profiler.measure.timing import loop as timing
from profiler.measure.timing.bench import bench
from profiler.measure.timing.clock import FakeClock, PerfCounterClock
from profiler.measure.timing.loop import TimingPolicy, run_timing, warm_up
from profiler.results.bench import BenchResult
from profiler.spec import BenchSpec, Workload
from tests.helpers.specs import GATE, TINY, tiny_spec
from tests.helpers.user_objects import TinyNet

POLICY = TimingPolicy(max_settle_seconds=100.0)


def _noop() -> None:
    return None


# --- warm-up and calibration, deterministic --------------------------------------------------


def test_flat_times_stop_warm_up_after_two_windows() -> None:
    clock = FakeClock([0.01])
    times = warm_up(clock, _noop, minimum=3, min_time=1.0, policy=POLICY)
    assert len(times) == 6 and clock.steps == 6


def test_mandatory_steps_are_always_run() -> None:
    times = warm_up(FakeClock([0.01]), _noop, minimum=10, min_time=1.0, policy=POLICY)
    assert len(times) == 10


def test_warm_up_continues_through_a_slow_first_phase() -> None:
    # compilation, then autotuning and clocks ramping up, then a steady 1 s per step
    slow = [20.0, 4.0, 3.0, 2.0, 1.5, 1.2, 1.1]
    clock = FakeClock([*slow, 1.0])
    times = warm_up(clock, _noop, minimum=3, min_time=1.0, policy=POLICY)
    assert times[:7] == slow
    # settles once the window before the last is within 5% of 1.0: [1.1, 1.0, 1.0] | [1.0]*3
    assert len(times) == 12 and times[7:] == [1.0] * 5


def test_warm_up_is_capped_in_time_when_times_never_settle() -> None:
    clock = FakeClock(lambda i: 0.1 * 1.2**i)  # keeps slowing down by 20% a step
    policy = TimingPolicy(max_settle_seconds=3.0)
    start_settling = sum(0.1 * 1.2**i for i in range(3))
    times = warm_up(clock, _noop, minimum=3, min_time=1.0, policy=policy)
    assert clock.now() - start_settling >= 3.0
    assert clock.now() - start_settling - times[-1] < 3.0  # stopped at the first check past it


def test_warm_up_is_capped_in_steps() -> None:
    clock = FakeClock(lambda i: 1.0 + (i % 2))  # alternating 1 s / 2 s never settles
    times = warm_up(clock, _noop, minimum=3, min_time=1.0,
                    policy=TimingPolicy(max_warmup_steps=11, max_settle_seconds=1e9))
    assert len(times) == 11


def test_default_settle_cap_follows_min_time() -> None:
    assert TimingPolicy().settle_seconds(0.1) == 1.0
    assert TimingPolicy().settle_seconds(3.0) == 6.0
    assert TimingPolicy(max_settle_seconds=0.5).settle_seconds(3.0) == 0.5


def test_calibration_fills_min_time_per_repeat_and_keeps_every_sample() -> None:
    events: list[str] = []
    clock = FakeClock([0.5, 0.2, 0.01])

    def step() -> None:
        events.append("step")

    outcome = run_timing(clock, step, warmup=3, min_time=0.1, repeats=3, policy=POLICY,
                         on_steady=lambda: events.append("steady"))
    assert outcome.steps_per_repeat == 10 and outcome.repeats == 3
    assert len(outcome.samples) == 30 and set(outcome.samples) == {0.01}
    warm = len(outcome.warmup_times)
    assert events.index("steady") == warm and events.count("steady") == 1
    assert clock.steps == warm + 30


def test_at_least_min_steps_per_repeat() -> None:
    outcome = run_timing(FakeClock([1.0]), _noop, warmup=3, min_time=0.1, repeats=2,
                         policy=POLICY)
    assert outcome.steps_per_repeat == 3 and len(outcome.samples) == 6


def test_agree_makes_every_rank_follow_rank_zero() -> None:
    decisions: list[int] = []

    def rank_zero_says(value: int) -> int:  # rank 0 wants two more warm-up steps, then 5 steps
        decisions.append(value)
        if len(decisions) <= 2:
            return 0
        return 1 if len(decisions) == 3 else 5

    clock = FakeClock([0.01])
    outcome = run_timing(clock, _noop, warmup=0, min_time=1.0, repeats=1, policy=POLICY,
                         agree=rank_zero_says)
    assert len(outcome.warmup_times) == 2 and outcome.steps_per_repeat == 5
    assert decisions[-1] == 100  # what this rank would have chosen: 1.0 s / 10 ms


# --- real runs on the CPU --------------------------------------------------------------------


def test_bench_infer_returns_consistent_statistics() -> None:
    result = bench(tiny_spec(warmup=2))
    assert isinstance(result, BenchResult)
    assert len(result.samples) == result.repeats * result.steps_per_repeat == \
        2 * result.steps_per_repeat
    assert result.steps_per_repeat >= 3 and result.warmup_steps >= 2
    rates = sorted(4 / t for t in result.samples)
    assert rates[0] <= result.images_per_sec <= rates[-1]
    assert result.step_ms_median == pytest.approx(
        sorted(result.samples)[len(result.samples) // 2] * 1e3, rel=0.5)
    assert result.clock == "perf_counter" and result.batch == result.requested_batch == 4
    assert result.memory_method == "skipped" and result.peak_memory_bytes is None
    params = sum(p.numel() for p in TinyNet().parameters())
    buffers = sum(b.numel() * b.element_size() for b in TinyNet().buffers())
    assert result.static_memory_bytes == params * 4 + buffers


def test_bench_train_counts_gradients_and_momentum_as_static_memory() -> None:
    result = bench(tiny_spec(mode="train"))
    params = sum(p.numel() for p in TinyNet().parameters())
    buffers = sum(b.numel() * b.element_size() for b in TinyNet().buffers())
    assert result.static_memory_bytes == 3 * params * 4 + buffers
    assert result.images_per_sec > 0


def test_bench_sets_and_restores_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    before = torch.get_num_threads()
    seen: list[int] = []

    class Spy(TinyNet):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            seen.append(torch.get_num_threads())
            return super().forward(x)

    monkeypatch.setattr(steps, "_build", lambda spec: Spy())
    bench(tiny_spec(threads=1))
    assert seen and set(seen) == {1}
    assert torch.get_num_threads() == before


@pytest.mark.slow  # rounds of two harnesses, each with its own warm-up
@pytest.mark.timing
def test_agrees_with_torch_utils_benchmark_timer() -> None:
    """An independent measurement of the same model and batch agrees within a loose band.

    The two harnesses are timed in alternating rounds and compared per round (the median of
    the per-round ratios), so that load from other processes, which moves both members of a
    round alike, does not decide the test; the band is a factor of 2 either way.
    """
    model = TinyNet().eval()
    x = torch.randn(8, 3, 16, 16)

    def forward() -> None:
        with torch.inference_mode():
            model(x)

    ratios = []
    for _ in range(5):  # the median of five rounds: robust to a burst of load in one or two
        result = bench(tiny_spec(batch=8, min_time=0.05, repeats=2, threads=None))
        reference = Timer(stmt="forward()", globals={"forward": forward},
                          num_threads=torch.get_num_threads()).blocked_autorange(min_run_time=0.1)
        ratios.append((result.step_ms_median / 1e3) / reference.median)
    ratio = sorted(ratios)[len(ratios) // 2]
    assert 0.5 < ratio < 2.0, f"harness / Timer step time per round: {ratios}"


def test_bf16_and_channels_last_run_on_cpu() -> None:
    result = bench(tiny_spec(mode="train", dtype="bf16", channels_last=True, repeats=1))
    assert result.images_per_sec > 0


def test_a_model_without_logits_trains_on_its_mean() -> None:
    workload = Workload.for_model("tests.helpers.user_objects:FeatureNet",
                                  input_shape=(3, 8, 8))
    result = bench(BenchSpec(workload, mode="train", batch=2, min_time=0.01, repeats=1,
                             memory=False))
    assert result.images_per_sec > 0


def test_a_failing_model_is_a_one_line_measurement_error() -> None:
    workload = Workload.for_model(TINY, input_shape=(4, 16, 16))  # TinyNet wants 3 channels
    with pytest.raises(MeasurementError) as info:
        bench(BenchSpec(workload, batch=2, min_time=0.01, repeats=1, memory=False))
    assert "\n" not in str(info.value) and "RuntimeError" in str(info.value)


def test_nproc_needs_train_mode() -> None:
    with pytest.raises(InvalidOptionError, match="--mode train"):
        bench(tiny_spec(nproc=2))


def test_cpu_allocator_refusal_is_an_out_of_memory_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # 2**24 samples of 64x1024x1024 fp32 = 4.5 PB: refused at once, nothing is touched. The
    # memory guard would refuse it first (tests/test_memory_guard.py): switched off here.
    monkeypatch.setattr(bench_module, "plan_memory", lambda spec, limit=None: None)
    workload = Workload.for_block(GATE, 64, (1024, 1024))
    spec = BenchSpec(workload, batch=2**24, min_time=0.01, repeats=1, memory=False)
    with pytest.raises(OutOfMemoryError) as info:
        bench(spec)
    assert info.value.batch == 2**24 and f"batch {2**24}" in str(info.value)
    assert "\n" not in str(info.value)


def _oom_above(limit: int, calls: list[int]) -> object:
    def fake(spec: BenchSpec, device: torch.device, batch: int,
             policy: TimingPolicy) -> BenchResult:
        calls.append(batch)
        if batch > limit:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB. "
                                         "GPU 0 has a total capacity of 79 GiB")
        return BenchResult(images_per_sec=1.0, images_per_sec_iqr=0.0, step_ms_median=1.0,
                           samples=[1.0], batch=batch, requested_batch=batch)

    return fake


def test_oom_retry_halves_the_batch_until_it_fits(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(timing, "bench_once", _oom_above(10, calls))
    result = bench(tiny_spec(batch=64, oom_retry=True))
    assert calls == [64, 32, 16, 8]
    assert result.batch == 8 and result.requested_batch == 64


def test_oom_without_retry_names_batch_and_request(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(timing, "bench_once", _oom_above(10, calls))
    with pytest.raises(OutOfMemoryError) as info:
        bench(tiny_spec(batch=64))
    assert calls == [64] and info.value.batch == 64
    assert "batch 64" in str(info.value) and "tried to allocate 2.00 GiB" in str(info.value)
    assert info.value.free_bytes is None or info.value.free_bytes > 0


def test_oom_at_batch_one_gives_up(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(timing, "bench_once", _oom_above(0, calls))
    with pytest.raises(OutOfMemoryError):
        bench(tiny_spec(batch=4, oom_retry=True))
    assert calls == [4, 2, 1]


def test_perf_counter_clock_times_each_step() -> None:
    counter = iter(range(100))
    times = PerfCounterClock().time_steps(lambda: next(counter), 4)
    assert len(times) == 4 and all(t >= 0 for t in times) and next(counter) == 4


def test_an_unsupported_cpu_dtype_is_an_invalid_option(monkeypatch: pytest.MonkeyPatch) -> None:
    def unsupported(spec: BenchSpec, device: torch.device, batch: int,
                    policy: TimingPolicy) -> BenchResult:
        raise RuntimeError('"slow_conv2d_cpu" not implemented for \'Half\'\nmore C++ lines')

    monkeypatch.setattr(timing, "bench_once", unsupported)
    with pytest.raises(InvalidOptionError, match=r"dtype fp16 does not run on cpu.*fp32 or bf16"):
        bench(tiny_spec(dtype="fp16"))
    with pytest.raises(MeasurementError, match="not implemented for 'Half'"):
        bench(tiny_spec(dtype="fp32"))
