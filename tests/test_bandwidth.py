"""Memory-traffic floors of the blocks, achieved bandwidth, and the copy bandwidth."""

from __future__ import annotations

import pytest
import torch

from profiler import BLOCKS
from profiler.measure.timing import bandwidth
from profiler.measure.timing.bandwidth import achieved_gbps, measure_copy_bandwidth, min_bytes
from profiler.measure.timing.bench import bench
from profiler.measure.timing.clock import FakeClock
from profiler.measure.workload import build_module
from profiler.spec import BenchSpec, Workload

SHAPE = (2, 64, 14, 14)
X = 2 * 64 * 14 * 14 * 4  # bytes of one fp32 input
M = 2 * 14 * 14 * 4  # bytes of one fp32 (N, 1, H, W) map


@pytest.mark.parametrize("block", ["se", "eca", "se_var1", "se_var2", "se_var3", "eca_ns", "gc"])
def test_pool_and_rescale_blocks_move_three_tensors_forward(block: str) -> None:
    floor = min_bytes(block, SHAPE, 4, param_bytes=100, mode="infer")
    assert floor.bytes == 3 * X + 100 and floor.formula == "3*N*C*H*W*s + P"
    train = min_bytes(block, SHAPE, 4, param_bytes=100, mode="train")
    assert train.bytes == 7 * X + 300


def test_cbam_floor() -> None:
    assert min_bytes("cbam", SHAPE, 4, 10, "infer").bytes == 4 * X + 4 * M + 10
    assert min_bytes("cbam", SHAPE, 4, 10, "train").bytes is None


def test_blocks_without_metadata_get_the_read_write_floor() -> None:
    user = "tests.helpers.user_objects:Gate"  # a user block that declares no BlockInfo
    assert min_bytes(user, SHAPE, 2, 0, "infer").bytes == 2 * (X // 2)
    assert min_bytes(user, SHAPE, 2, 8, "train").bytes == 4 * (X // 2) + 24


def test_achieved_bandwidth() -> None:
    assert achieved_gbps(3 * 10**9, 0.5) == pytest.approx(6.0)
    assert achieved_gbps(None, 0.5) is None
    assert achieved_gbps(10, 0.0) is None


def test_copy_bandwidth_counts_a_read_and_a_write_per_byte() -> None:
    clock = FakeClock([0.001])
    gbps = measure_copy_bandwidth(torch.device("cpu"), nbytes=4 * 2**20, copies=5, clock=clock)
    assert gbps == pytest.approx(2 * 4 * 2**20 / 0.001 / 1e9)
    assert clock.steps == 2 + 5  # two warm-up copies, then the timed ones


def test_real_copy_bandwidth_is_positive() -> None:
    assert measure_copy_bandwidth(torch.device("cpu"), nbytes=8 * 2**20, copies=3) > 0


def test_copy_bandwidth_is_measured_once_per_device(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def fake(device: torch.device) -> float:
        calls.append(str(device))
        return 12.5

    monkeypatch.setattr(bandwidth, "_CACHE", {})
    monkeypatch.setattr(bandwidth, "measure_copy_bandwidth", fake)
    assert bandwidth.copy_bandwidth(torch.device("cpu")) == 12.5
    assert bandwidth.copy_bandwidth(torch.device("cpu")) == 12.5
    assert calls == ["cpu"]


@pytest.mark.parametrize("mode", ["infer", "train"])
def test_block_bench_reports_its_floor(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bandwidth, "_CACHE", {(str(torch.device("cpu")),
                                               torch.get_num_threads()): 10.0})
    name = "eca" if "eca" in BLOCKS else "tests.helpers.user_objects:Gate"
    spec = BenchSpec(Workload.for_block(name, 64, (14, 14)), mode=mode, batch=2,
                     min_time=0.01, repeats=2, memory=False)
    result = bench(spec)
    params = sum(p.numel() * 4 for p in build_module(spec.workload).parameters())
    expected = (3 if mode == "infer" else 7) * X + (1 if mode == "infer" else 3) * params
    if name != "eca":
        expected = (2 if mode == "infer" else 4) * X + (1 if mode == "infer" else 3) * params
    assert result.min_bytes == expected
    assert result.achieved_gbps == pytest.approx(expected / (result.step_ms_median / 1e3) / 1e9)
    assert result.copy_gbps == 10.0
    assert result.fraction_of_copy == pytest.approx(result.achieved_gbps / 10.0)
