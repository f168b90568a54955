"""Profiled windows keep kineto's C++ log lines off the user's stderr, and only those."""

from __future__ import annotations

import os
import sys

import pytest
import torch
from torch.profiler import ProfilerActivity, profile

from profiler.measure.breakdown.profiling import profile_window
from profiler.measure.kineto import KINETO_LINE, quiet_kineto
from profiler.measure.timing.clock import PerfCounterClock

USDT = (b"USDT:2026-12-02 16:10:31 28955:28955 SyncActivityProfilerHandler.cpp:52] "
        b"profiler_start\n")


def _step() -> None:
    torch.ones(8) + 1


def test_kineto_lines_are_recognised_and_ours_are_not() -> None:
    assert KINETO_LINE.match(USDT)
    assert KINETO_LINE.match(b"STAGE:2024-01-05 10:00:00 123:123 ActivityProfilerController.cpp"
                             b":314] Completed Stage: Warm Up\n")
    assert KINETO_LINE.match(b"[W kineto_shim.cpp:372] Adding profiling metadata\n")
    for ours in (b"attnprof: warning: the parts explain 80% of the step\n",
                 b"UserWarning: 2026-12-02 went wrong\n", b"\r 40% |####      | ETA 0:01"):
        assert not KINETO_LINE.match(ours)


def test_quiet_kineto_drops_kineto_lines_and_passes_the_rest(
        capfd: pytest.CaptureFixture[str]) -> None:
    with quiet_kineto():
        os.write(2, USDT)
        print("attnprof: warning: kept", file=sys.stderr)
        os.write(2, b"a line from C++ that is not kineto's\n")
        print("stdout is untouched")
    print("after", file=sys.stderr)
    out, err = capfd.readouterr()
    assert err == ("attnprof: warning: kept\na line from C++ that is not kineto's\nafter\n")
    assert out == "stdout is untouched\n"


def test_quiet_kineto_restores_stderr_after_an_exception(
        capfd: pytest.CaptureFixture[str]) -> None:
    before = os.fstat(2)
    with pytest.raises(RuntimeError), quiet_kineto():
        raise RuntimeError("boom")
    after = os.fstat(2)
    assert (before.st_dev, before.st_ino) == (after.st_dev, after.st_ino)
    os.write(2, USDT)
    assert capfd.readouterr().err == USDT.decode()  # outside the filter, nothing is dropped


def test_a_profiled_window_prints_no_kineto_line_but_keeps_warnings(
        capfd: pytest.CaptureFixture[str]) -> None:
    with profile(activities=[ProfilerActivity.CPU]):  # what the user saw before
        _step()
    unfiltered = capfd.readouterr().err
    # this torch logs profiler_start/stop; the filter's test means something only if it does
    if b"profiler_start" not in unfiltered.encode():
        pytest.skip("this torch build does not log kineto lines")

    def step() -> None:
        _step()
        print("attnprof: warning: said during the window", file=sys.stderr)

    _, times = profile_window(step, torch.device("cpu"), 2, PerfCounterClock(), None)
    assert len(times) == 2
    err = capfd.readouterr().err
    assert "profiler_start" not in err and "profiler_stop" not in err and "USDT" not in err
    assert err.count("attnprof: warning: said during the window") == 3  # warm-up step + 2
