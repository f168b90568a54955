"""Counting speed: every registered model (the paper's 19) in both conventions, one trace each.

The target is under 60 s on a 2-core CPU for all 19 models at 1x3x224x224 (fvcore and all-ops
FLOPs, activations, per-module breakdowns). Measured on the 2-core development machine (AMD
EPYC, torch 2.13 CPU) while other jobs shared it: 25.9 s at load average 2.7, 37 s at 4.5,
with :func:`~profiler.measure.count.counting.count` on one thread (the same run on two contended
threads took ~150 s).

The other counters run on a copy of the model on the ``meta`` device
(:func:`~profiler.measure.count.counting.count`): ``test_counters_on_meta[torch]`` times
``--counter torch`` alone (FlopCounterMode, forward and training step) for all 19 models,
without the fvcore trace, and ``[every]`` the six thop emulations
(one forward pass) plus FlopCounterMode, as ``attnprof conventions`` runs them.

The default test run (``--benchmark-disable``) counts two small models once as a plain test;
the full timing runs with ``python -m pytest tests/benchmarks/test_count_speed.py
--benchmark-enable -s`` and prints the figures.
"""

from __future__ import annotations

import time

import pytest
import torch
from pytest_benchmark.fixture import BenchmarkFixture

from profiler.measure.count import counters
from profiler.measure.count.counting import count
from profiler.models import MODELS, build_model
from profiler.results.count import CountResult
from profiler.spec import CountSpec, Workload

BUDGET_S = 60.0
SMOKE = ("resnet18", "eca_mobilenet_v2")


def _count_all(names: tuple[str, ...], size: int) -> list[CountResult]:
    return [count(CountSpec(Workload.for_model(n, input_shape=(3, size, size)))) for n in names]


def test_count_every_paper_model(benchmark: BenchmarkFixture) -> None:
    names = tuple(MODELS.names())
    assert len(names) == 19
    if benchmark.disabled:  # plain test run: a smoke check of the same path, kept small
        names = SMOKE
    threads = torch.get_num_threads()
    started = time.perf_counter()
    results = benchmark.pedantic(_count_all, args=(names, 224), rounds=1, iterations=1)
    elapsed = time.perf_counter() - started
    assert torch.get_num_threads() == threads  # counting restores the thread count
    assert all(r.flops_all > r.flops > 0 and r.activations > 0 for r in results)
    benchmark.extra_info.update({"models": len(names), "seconds": elapsed,
                                 "budget_s": BUDGET_S})
    print(f"\ncounted {len(names)} models (fvcore + all-ops, one trace each) in "
          f"{elapsed:.1f} s (budget {BUDGET_S:.0f} s for all 19)")


def _names(benchmark: BenchmarkFixture) -> tuple[str, ...]:
    names = tuple(MODELS.names())
    return SMOKE if benchmark.disabled else names


def _on_meta(names: tuple[str, ...], run: str) -> list[int]:
    found = []
    for name in names:
        with torch.device("meta"):
            model = build_model(name)
            inputs = torch.empty(1, 3, 224, 224)
        if run == "torch":
            found.append(counters.count_with("torch", model, inputs).flops)
            found.append(counters.count_train_step("torch", model, inputs))
        else:
            found += [t.flops for t in counters.count_many(
                [c for c in counters.COUNTERS if c not in counters.TRACE_COUNTERS], model,
                inputs)]
    return found


@pytest.mark.parametrize("run", ["torch", "every"])
def test_counters_on_meta(benchmark: BenchmarkFixture, run: str) -> None:
    names = _names(benchmark)
    started = time.perf_counter()
    found = benchmark.pedantic(_on_meta, args=(names, run), rounds=1, iterations=1)
    elapsed = time.perf_counter() - started
    assert all(f > 0 for f in found)
    benchmark.extra_info.update({"models": len(names), "seconds": elapsed, "run": run})
    what = ("FlopCounterMode forward + training step" if run == "torch"
            else "six thop emulations (one pass) + FlopCounterMode forward")
    print(f"\n{what} on meta: {len(names)} models in {elapsed:.1f} s")
