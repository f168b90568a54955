"""Micro-benchmark of the per-round telemetry: one ``begin()`` + ``end()`` of this machine's
sampler (``/proc`` reads, CPU frequency, the disturbed rule), under pytest-benchmark.

``pytest`` runs it once as a plain test; ``pytest tests/benchmarks/test_telemetry_cost.py
--benchmark-enable`` times it (README, Telemetry: about 0.2 ms on a 2-core VM, against rounds
of a second or more).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from profiler.results.telemetry import RoundTelemetry
from profiler.telemetry import default_sampler


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="needs Linux /proc")
def test_sampler_round_cost(benchmark: Any) -> None:
    sampler = default_sampler(["cpu"])

    def one_round() -> RoundTelemetry:
        sampler.begin()
        return sampler.end()

    telemetry = benchmark(one_round)
    assert telemetry.cpu is not None and telemetry.cost_s > 0
