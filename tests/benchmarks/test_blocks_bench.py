"""Micro-benchmarks of the four attention blocks on the CPU, under pytest-benchmark.

``pytest`` runs them once each as plain tests (``--benchmark-disable`` is the default);
``pytest tests/benchmarks --benchmark-enable --benchmark-json out.json`` times them, and
``attnprof compare`` reads that JSON. Each benchmark runs the harness's own step
(:func:`profiler.measure.steps.prepare_step`): forward under ``inference_mode``, or forward and
backward of ``out.float().sum()``.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from profiler.measure.device import torch_threads
from profiler.measure.steps import prepare_step
from profiler.spec import BenchSpec, Workload

BLOCKS = ("se", "cbam", "gc", "eca")
SHAPES = ((64, (28, 28)), (256, (7, 7)))


@pytest.mark.parametrize("mode", ["infer", "train"])
@pytest.mark.parametrize(("channels", "size"), SHAPES, ids=lambda v: str(v))
@pytest.mark.parametrize("block", BLOCKS)
def test_block_step(benchmark: Any, block: str, channels: int, size: tuple[int, int],
                    mode: str) -> None:
    spec = BenchSpec(Workload.for_block(block, channels, size), mode=mode, batch=8)
    benchmark.group = f"{mode} C={channels} {size[0]}x{size[1]}"
    benchmark.extra_info.update({"block": block, "channels": channels, "mode": mode,
                                 "batch": 8, "size": list(size)})
    with torch_threads(1):
        prepared = prepare_step(spec, torch.device("cpu"))
        benchmark(prepared.run)
    if mode == "train":
        grad = prepared.inputs.grad  # the step computes dx, as inside a network
        assert grad is not None and grad.shape == prepared.inputs.shape
        prepared.inputs.requires_grad_(False)
    with torch.inference_mode():
        out = prepared.module(prepared.inputs)
    assert out.shape == prepared.inputs.shape and torch.isfinite(out).all()
