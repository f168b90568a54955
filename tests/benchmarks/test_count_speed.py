"""Counting speed: every model of the eca-paper suite, both conventions, under 60 s on 2 cores.

Run with ``python -m pytest tests/benchmarks/test_count_speed.py --benchmark-enable`` for
pytest-benchmark statistics; in the default run it executes once, as a plain test.
"""

from __future__ import annotations

import time

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from profiler.measure.counting import count
from profiler.spec import CountSpec
from profiler.suites import expand_suite, load_suite

pytestmark = pytest.mark.slow


def _paper_count_specs() -> list[CountSpec]:
    specs = expand_suite(load_suite("eca-paper"), "cpu")
    return [s for s in specs if isinstance(s, CountSpec)]


def test_count_every_paper_model(benchmark: BenchmarkFixture) -> None:
    specs = _paper_count_specs()
    assert len(specs) >= 18
    started = time.perf_counter()
    results = benchmark.pedantic(lambda: [count(s) for s in specs], rounds=1, iterations=1)
    elapsed = time.perf_counter() - started
    assert all(r.flops_all > r.flops > 0 for r in results)  # both conventions, one trace
    print(f"\ncounted {len(specs)} models (fvcore + all-ops) in {elapsed:.1f} s")
