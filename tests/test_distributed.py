"""Data-parallel training through torchrun: two gloo processes on the CPU, and the gathering."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest

from profiler.errors import MeasurementError, OutOfMemoryError
from profiler.measure.timing import distributed
from profiler.measure.timing.bench import bench
from profiler.measure.timing.distributed import _combine, _RankFigures, launch_command
from tests.helpers.specs import tiny_spec

# Two-process training of TinyNet, two repeats of 50 ms, memory measured.
_spec = partial(tiny_spec, mode="train", min_time=0.05, nproc=2, warmup=2, memory=True)


@pytest.mark.slow  # torchrun: two processes importing torch
def test_two_gloo_processes_end_to_end() -> None:
    result = bench(_spec())
    assert result.nproc == 2 and [r.rank for r in result.per_rank] == [0, 1]
    assert len(result.samples) == result.repeats * result.steps_per_repeat
    for rank in result.per_rank:
        assert rank.batch == 4 and len(rank.samples) == len(result.samples)
        assert rank.peak_memory_bytes is not None and rank.peak_memory_bytes > 0
    # a job step lasts as long as its slowest rank; global images/s counts both ranks' images
    for i, step in enumerate(result.samples):
        assert step == max(r.samples[i] for r in result.per_rank)
    slowest = sorted(8 / t for t in result.samples)
    assert slowest[0] <= result.images_per_sec <= slowest[-1]
    assert result.memory_method == "cpu_rss_hwm_rank"
    assert result.batch == result.requested_batch == 4


def _rank(rank: int, samples: tuple[float, ...]) -> _RankFigures:
    return _RankFigures(rank=rank, warmup_steps=6, steps_per_repeat=2, samples=samples,
                        peak_bytes=100 + rank, static_bytes=10, activation_bytes=None,
                        reserved_bytes=None, method="cpu_rss_hwm_rank")


def test_combine_takes_the_slowest_rank_per_step() -> None:
    spec = _spec(repeats=1)
    result = _combine(spec, 4, [_rank(1, (0.2, 0.1)), _rank(0, (0.1, 0.1))])
    assert result.samples == [0.2, 0.1]
    assert result.images_per_sec == pytest.approx((8 / 0.2 + 8 / 0.1) / 2)
    assert result.per_rank[0].images_per_sec == pytest.approx(40.0)
    assert result.per_rank[1].images_per_sec == pytest.approx((20.0 + 40.0) / 2)
    assert result.peak_memory_bytes == 101 and result.static_memory_bytes == 10


def test_launch_command_is_torchrun() -> None:
    command = launch_command(3, Path("s.json"), Path("o.json"))
    assert command[1:7] == ["-m", "torch.distributed.run", "--standalone",
                            "--nproc_per_node", "3", "-m"]
    assert command[7:] == ["profiler.measure.timing.distributed", "s.json", "o.json"]


def test_rank_errors_are_raised_as_one_line(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    Path(f"{out}.rank1.json").write_text('{"error": "MeasurementError: boom"}')
    with pytest.raises(MeasurementError, match="rank 1: MeasurementError: boom"):
        distributed._raise_rank_error(out, 2)
    Path(f"{out}.rank0.json").write_text(
        '{"error": "out of memory on cuda:0 at batch 8", "oom": true, "batch": 8, '
        '"free_bytes": 5}')
    with pytest.raises(OutOfMemoryError) as info:
        distributed._raise_rank_error(out, 2)
    assert info.value.batch == 8 and info.value.free_bytes == 5
