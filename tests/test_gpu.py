"""Every CUDA path of the timing harness. Skipped without a CUDA device (see conftest)."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import pytest
import torch

from profiler.errors import DeviceUnavailableError, OutOfMemoryError
from profiler.measure.breakdown.trace import record_trace
from profiler.measure.device import resolve_device
from profiler.measure.memory.peak import CUDA_METHOD
from profiler.measure.steps import prepare_step
from profiler.measure.timing.bandwidth import measure_copy_bandwidth
from profiler.measure.timing.bench import bench
from profiler.measure.timing.clock import CudaEventClock
from profiler.spec import BenchSpec, Workload
from tests.helpers.specs import GATE, tiny_spec
from tests.helpers.user_objects import TinyNet

pytestmark = pytest.mark.gpu



# TinyNet at 64x64 on the GPU, batch 16, two repeats of 50 ms, memory measured.
_spec = partial(tiny_spec, 64, device="cuda", batch=16, min_time=0.05, memory=True)


def test_cuda_devices_resolve() -> None:
    assert resolve_device("cuda").type == "cuda"
    assert resolve_device("cuda:0") == torch.device("cuda", 0)
    count = torch.cuda.device_count()
    with pytest.raises(DeviceUnavailableError, match=f"has {count} CUDA device"):
        resolve_device(f"cuda:{count}")


def test_cuda_events_time_gpu_work() -> None:
    device = torch.device("cuda", 0)
    a = torch.randn(4096, 4096, device=device)
    clock = CudaEventClock(device)
    small = clock.time_steps(lambda: a @ a, 3)
    large = clock.time_steps(lambda: [a @ a for _ in range(8)], 3)
    assert len(small) == 3 and all(0 < t < 10 for t in small)
    assert sorted(large)[1] > 3 * sorted(small)[1]  # events see the queued kernels' time


@pytest.mark.parametrize("mode", ["infer", "train"])
def test_bench_on_cuda_uses_events_and_allocator_counters(mode: str) -> None:
    result = bench(_spec(mode=mode))
    assert result.clock == "cuda_events" and result.memory_method == CUDA_METHOD
    assert result.peak_memory_bytes is not None and result.peak_memory_bytes > 0
    assert result.reserved_memory_bytes is not None
    assert result.reserved_memory_bytes >= result.peak_memory_bytes
    assert result.activation_memory_bytes is not None and result.activation_memory_bytes > 0
    params = sum(p.numel() for p in TinyNet().parameters()) * 4
    buffers = sum(b.numel() * b.element_size() for b in TinyNet().buffers())
    expected_static = params + buffers + (2 * params if mode == "train" else 0)
    assert result.static_memory_bytes == expected_static
    # the peak holds at least the weights and the input batch
    assert result.peak_memory_bytes >= params + 16 * 3 * 64 * 64 * 4


def test_training_activation_peak_grows_with_batch() -> None:
    small = bench(_spec(mode="train", batch=8, cudnn_benchmark=False))
    large = bench(_spec(mode="train", batch=64, cudnn_benchmark=False))
    assert small.activation_memory_bytes is not None
    assert large.activation_memory_bytes is not None
    # each sample keeps at least conv1's and relu1's 8x64x64 fp32 outputs for backward
    per_sample = 2 * 8 * 64 * 64 * 4
    assert large.activation_memory_bytes - small.activation_memory_bytes >= 56 * per_sample


def test_out_of_memory_is_reported_with_batch_and_free_memory() -> None:
    # 4096 samples of 1024x1024x1024 fp32 = 16 TiB: refused by the allocator at once
    spec = BenchSpec(Workload.for_block(GATE, 1024, (1024, 1024)), device="cuda", batch=4096,
                     min_time=0.01, repeats=1)
    with pytest.raises(OutOfMemoryError) as info:
        bench(spec)
    assert info.value.batch == 4096 and "batch 4096" in str(info.value)
    assert info.value.free_bytes is not None and info.value.free_bytes > 0
    assert "\n" not in str(info.value)
    assert torch.cuda.memory_allocated() < 2**30  # nothing left behind


def test_oom_retry_halves_until_it_fits() -> None:
    free, _total = torch.cuda.mem_get_info()
    per_sample = 64 * 512 * 512 * 4  # 64 MiB of input, as much again of output
    batch = 1 << max(1, (2 * free // per_sample).bit_length())  # asks for > 2x free memory
    spec = BenchSpec(Workload.for_block(GATE, 64, (512, 512)), device="cuda", batch=batch,
                     min_time=0.01, repeats=1, oom_retry=True)
    result = bench(spec)
    assert result.requested_batch == batch and result.batch < batch
    assert batch % result.batch == 0  # halved, not guessed
    assert result.images_per_sec > 0


@pytest.mark.parametrize(("dtype", "mode"), [("fp16", "train"), ("bf16", "train"),
                                             ("fp16", "infer"), ("bf16", "infer")])
def test_mixed_precision(dtype: str, mode: str) -> None:
    result = bench(_spec(dtype=dtype, mode=mode))
    assert result.images_per_sec > 0 and result.static_memory_bytes is not None


def test_autocast_runs_convolutions_in_low_precision() -> None:
    spec = _spec(dtype="bf16")
    prepared = prepare_step(spec, torch.device("cuda"))
    seen: list[torch.dtype] = []
    conv = prepared.module.features[0]
    handle = conv.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    prepared.run()
    handle.remove()
    assert seen == [torch.bfloat16]
    assert next(prepared.module.parameters()).dtype == torch.float32  # fp32 master weights


def test_block_in_half_precision_counts_two_byte_elements() -> None:
    spec = BenchSpec(Workload.for_block(GATE, 64, (28, 28)), device="cuda", batch=32,
                     dtype="fp16", min_time=0.02, repeats=2)
    result = bench(spec)
    params = (64 * 64 + 64) * 2
    assert result.min_bytes == 2 * 32 * 64 * 28 * 28 * 2 + params
    assert result.copy_gbps is not None and result.copy_gbps > 100
    assert result.fraction_of_copy is not None and result.fraction_of_copy > 0


def test_channels_last_on_cuda() -> None:
    spec = _spec(channels_last=True, mode="train")
    prepared = prepare_step(spec, torch.device("cuda"))
    assert prepared.inputs.is_contiguous(memory_format=torch.channels_last)
    conv = prepared.module.features[0].weight
    assert conv.is_contiguous(memory_format=torch.channels_last)
    assert bench(spec).images_per_sec > 0


def test_cudnn_benchmark_flag_is_restored() -> None:
    before = torch.backends.cudnn.benchmark
    bench(_spec(cudnn_benchmark=not before, repeats=1))
    assert torch.backends.cudnn.benchmark == before


def test_copy_bandwidth_of_the_gpu() -> None:
    assert measure_copy_bandwidth(torch.device("cuda", 0), nbytes=256 * 2**20) > 100


def test_compiled_model_warms_up_past_compilation() -> None:
    result = bench(_spec(compile=True, repeats=2, batch=8))
    assert result.warmup_steps >= 3 and result.images_per_sec > 0


def test_trace_on_cuda_has_kernels(tmp_path: Path) -> None:
    result = record_trace(_spec(mode="train"), tmp_path)
    (path,) = result.files
    events = json.loads(path.read_text())["traceEvents"]
    assert any(e.get("cat") == "kernel" for e in events)


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA devices")
def test_two_nccl_processes() -> None:
    result = bench(_spec(mode="train", nproc=2))
    assert result.nproc == 2 and len(result.per_rank) == 2
    assert result.memory_method == CUDA_METHOD
    assert all(r.peak_memory_bytes for r in result.per_rank)


@pytest.mark.parametrize("mode", ["infer", "train"])
def test_comparison_group_on_cuda(mode: str) -> None:
    """measure_group's CUDA path (CPU twin: tests/test_group.py): events, each member's
    allocator peak taken during its own warm-up, a ratio with its interval."""
    from profiler.measure.timing.group import measure_group
    from profiler.results.bench import BenchResult
    from profiler.rounds import PairingSettings

    net = "tests.helpers.user_objects:TinyNet"
    specs = [BenchSpec(Workload.for_model(net, attention, input_shape=(3, 64, 64)),
                       device="cuda", mode=mode, batch=16, warmup=3, min_time=0.05)  # type: ignore[arg-type]
             for attention in (None, "se", "eca")]
    settings = PairingSettings(block_time=0.01, min_rounds=6, max_rounds=20, group_time=2.0)
    measured = measure_group(specs, settings, seed=1)
    assert all(r.status == "ok" for r in measured.records), [r.error for r in measured.records]
    for record in measured.records:
        result = record.result
        assert isinstance(result, BenchResult) and result.clock == "cuda_events"
        assert result.memory_method == CUDA_METHOD and (result.peak_memory_bytes or 0) > 0
    for ratio in measured.group.ratios:
        assert ratio.ci_low is not None and ratio.ci_high is not None
        assert ratio.ci_low <= (ratio.throughput_ratio or 0) <= ratio.ci_high
