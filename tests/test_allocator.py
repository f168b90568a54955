"""glibc malloc thresholds fixed once per measuring process (profiler.measure.allocator)."""

from __future__ import annotations

import pytest

from profiler.measure import allocator
from profiler.measure.allocator import (
    MALLOC_ENVIRONMENT,
    MMAP_THRESHOLD_BYTES,
    TRIM_THRESHOLD_BYTES,
    pin_malloc_thresholds,
)


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(allocator, "_state", None)
    for name in MALLOC_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


def test_fixes_both_thresholds_once(fresh: None, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, int]] = []

    def mallopt(param: int, value: int) -> int:
        calls.append((param, value))
        return 1

    monkeypatch.setattr(allocator, "_mallopt", lambda: mallopt)
    state = pin_malloc_thresholds()
    assert calls == [(-3, MMAP_THRESHOLD_BYTES), (-1, TRIM_THRESHOLD_BYTES)]
    assert "32 MiB" in state and "no trimming" in state
    assert pin_malloc_thresholds() == state and len(calls) == 2  # once per process
    assert allocator.allocator_state() == state


def test_the_users_environment_wins(fresh: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "123")
    monkeypatch.setattr(allocator, "_mallopt", lambda: pytest.fail("mallopt called"))
    assert pin_malloc_thresholds().endswith("MALLOC_TRIM_THRESHOLD_=123")


@pytest.mark.parametrize(("found", "reply", "word"), [(False, 1, "no glibc"), (True, 0, "refused")])
def test_other_allocators_are_left_alone(fresh: None, monkeypatch: pytest.MonkeyPatch,
                                         found: bool, reply: int, word: str) -> None:
    monkeypatch.setattr(allocator, "_mallopt", lambda: (lambda p, v: reply) if found else None)
    assert word in pin_malloc_thresholds()


def test_the_real_mallopt_accepts_the_values() -> None:
    mallopt = allocator._mallopt()
    if mallopt is None:
        pytest.skip("no glibc mallopt here")
    assert mallopt(-3, MMAP_THRESHOLD_BYTES) == 1
    assert mallopt(-1, TRIM_THRESHOLD_BYTES) == 1


def test_the_environment_records_the_state() -> None:
    from profiler.measure.env import collect_environment

    environment = collect_environment("cpu")
    assert environment.allocator == allocator.allocator_state() != ""
    assert environment.to_dict()["allocator"] == environment.allocator
