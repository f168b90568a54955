"""BenchResult: JSON round trips, older files without the newer fields, unknown fields."""

from __future__ import annotations

import json

from profiler.results.bench import BenchResult, RankResult


def test_round_trip_with_ranks_and_block_figures() -> None:
    result = BenchResult(
        images_per_sec=100.0, images_per_sec_iqr=2.0, step_ms_median=80.0,
        samples=[0.08, 0.081], batch=8, peak_memory_bytes=10, memory_method="cpu_rss_hwm_rank",
        nproc=2, requested_batch=16, noisy=True,
        per_rank=(RankResult(0, 8, 50.0, 80.0, [0.08], 10), RankResult(1, 8, 49.0, 81.0)),
        min_bytes=300, min_bytes_formula="3*N*C*H*W*s + P", achieved_gbps=1.5, copy_gbps=10.0,
        fraction_of_copy=0.15,
    )
    again = BenchResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again == result


def test_a_first_version_record_loads_with_defaults() -> None:
    old = {"images_per_sec": 5.0, "images_per_sec_iqr": 0.1, "step_ms_median": 200.0,
           "samples": [0.2], "batch": 1, "peak_memory_bytes": None, "memory_method": "",
           "from_the_future": {"x": 1}}
    result = BenchResult.from_dict(old)
    assert result.images_per_sec == 5.0 and result.per_rank == () and result.nproc == 1
    assert result.noisy is False and result.min_bytes is None and result.requested_batch == 0
    minimal = BenchResult.from_dict({"images_per_sec": 1.0, "images_per_sec_iqr": 0.0,
                                     "step_ms_median": 1.0})
    assert minimal.samples == [] and minimal.batch == 0
