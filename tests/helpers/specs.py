"""Specs the harness tests time: :class:`~tests.helpers.user_objects.TinyNet` on a tiny budget."""

from __future__ import annotations

from typing import Any

import pytest

from profiler.spec import BenchSpec, Workload

__all__ = ["FAST_ARGS", "FAST_ROUNDS", "FAST_TIMING", "GATE", "QUICK", "TINY",
           "no_member_memory_child", "tiny_spec"]

TINY = "tests.helpers.user_objects:TinyNet"
GATE = "tests.helpers.user_objects:Gate"
# Batch 4, two repeats of 20 ms, one thread, no memory measurement: a real run in well under
# a second. One thread: torch's default (every core) spins its threads against each other and
# against everything else on a busy machine, and tiny inputs gain nothing from more.
QUICK: dict[str, Any] = {"batch": 4, "min_time": 0.02, "repeats": 2, "threads": 1,
                         "memory": False}

# The same on the command line, for the single-case commands' end-to-end tests: TinyNet's
# inputs (first, so that ``FAST_ARGS[2:]`` leaves them out for a block), batch 2, one thread,
# one warm-up step; then a timing budget of one 10 ms repeat without the memory child; then
# interleaved rounds of a few ms (``bench --vs``, ``calibrate``).
FAST_ARGS = ["--input", "3x16x16", "--batch", "2", "--threads", "1", "--warmup", "1"]
FAST_TIMING = [*FAST_ARGS, "--min-time", "0.01", "--repeats", "1", "--no-memory"]
FAST_ROUNDS = ["--block-time", "0.002", "--min-rounds", "6", "--max-rounds", "8",
               "--group-time", "0.3"]


def tiny_spec(size: int = 16, model: str = TINY, **options: Any) -> BenchSpec:
    """``model`` (TinyNet) on ``3 x size x size`` inputs with :data:`QUICK`, ``options`` on top."""
    return BenchSpec(Workload.for_model(model, input_shape=(3, size, size)),
                     **{**QUICK, **options})


def no_member_memory_child(monkeypatch: pytest.MonkeyPatch) -> None:
    """Comparison-group members skip the CPU peak-memory child (a process importing torch per
    member), for end-to-end runs that do not check those figures: the group's wiring to the
    child is tested in ``tests/test_group.py``, the child itself in ``tests/test_memory.py``."""
    from profiler.measure.memory.peak import MemoryFigures
    from profiler.measure.timing import group

    monkeypatch.setattr(group, "child_memory",
                        lambda spec, batch, static, step_seconds, policy:
                        MemoryFigures(method="skipped", static_bytes=static))
