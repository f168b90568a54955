"""Specs the harness tests time: :class:`~tests.helpers.user_objects.TinyNet` on a tiny budget."""

from __future__ import annotations

from typing import Any

from profiler.spec import BenchSpec, Workload

__all__ = ["GATE", "QUICK", "TINY", "tiny_spec"]

TINY = "tests.helpers.user_objects:TinyNet"
GATE = "tests.helpers.user_objects:Gate"
# Batch 4, two repeats of 20 ms, no memory measurement: a real run in well under a second.
QUICK: dict[str, Any] = {"batch": 4, "min_time": 0.02, "repeats": 2, "memory": False}


def tiny_spec(size: int = 16, model: str = TINY, **options: Any) -> BenchSpec:
    """``model`` (TinyNet) on ``3 x size x size`` inputs with :data:`QUICK`, ``options`` on top."""
    return BenchSpec(Workload.for_model(model, input_shape=(3, size, size)),
                     **{**QUICK, **options})
