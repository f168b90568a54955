"""CUDA memory snapshots: the recording protocol (mocked allocator) and the CPU refusal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from profiler.cli import main
from profiler.errors import InvalidOptionError
from profiler.measure.breakdown import trace as trace_module
from profiler.measure.breakdown.trace import TraceSchedule, record_trace
from profiler.measure.memory.snapshot import check_snapshot_device, memory_history
from profiler.spec import BenchSpec, Workload
from tests.helpers.specs import TINY


class FakeAllocator:
    """Stands in for ``torch.cuda.memory``: records the calls, writes a file on dump."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def _record_memory_history(self, enabled: Any = "all", **kwargs: Any) -> None:
        self.calls.append(("record", enabled if enabled is None else kwargs))

    def _dump_snapshot(self, filename: str) -> None:
        self.calls.append(("dump", filename))
        Path(filename).write_bytes(b"snapshot")


def test_history_is_recorded_dumped_and_switched_off(tmp_path: Path) -> None:
    fake = FakeAllocator()
    with memory_history(tmp_path / "sub" / "m.pickle", max_entries=5, backend=fake) as path:
        fake.calls.append(("work", None))
    assert [c[0] for c in fake.calls] == ["record", "work", "dump", "record"]
    assert fake.calls[0][1] == {"max_entries": 5} and fake.calls[-1][1] is None
    assert path.read_bytes() == b"snapshot"  # dumped aside, then written by the output writer
    assert fake.calls[2][1] != str(path)


def test_a_failing_run_dumps_nothing_but_stops_recording(tmp_path: Path) -> None:
    fake = FakeAllocator()
    with pytest.raises(RuntimeError), memory_history(tmp_path / "m.pickle", backend=fake):
        raise RuntimeError("boom")
    assert [c[0] for c in fake.calls] == ["record", "record"] and fake.calls[-1][1] is None
    assert not (tmp_path / "m.pickle").exists()


def test_cpu_has_no_snapshot() -> None:
    with pytest.raises(InvalidOptionError, match="--memory records a CUDA memory snapshot"):
        check_snapshot_device(torch.device("cpu"))
    check_snapshot_device(torch.device("cuda", 0))  # no error, no CUDA needed to check


def test_cli_memory_on_cpu_is_one_line_and_writes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logdir = tmp_path / "tb"
    assert main(["trace", TINY, "--input", "3x8x8", "--memory", "--logdir", str(logdir)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "CUDA memory snapshot" in err
    assert not logdir.exists() or not any(logdir.iterdir())


def test_cuda_trace_path_writes_the_snapshot(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The CUDA path of record_trace with the device, the profiled run and the allocator
    mocked: the snapshot is recorded around the run and named after the worker."""
    fake = FakeAllocator()
    ran: list[str] = []

    def fake_profile(spec: BenchSpec, device: torch.device, logdir: Path, *args: Any) -> None:
        ran.append(device.type)
        fake.calls.append(("work", None))
        (logdir / "w.1.pt.trace.json").write_text('{"traceEvents": []}')

    monkeypatch.setattr(trace_module, "resolve_device", lambda name: torch.device("cuda", 0))
    monkeypatch.setattr(trace_module, "_profile", fake_profile)
    monkeypatch.setattr(torch.cuda.memory, "_record_memory_history",
                        fake._record_memory_history)
    monkeypatch.setattr(torch.cuda.memory, "_dump_snapshot", fake._dump_snapshot)
    spec = BenchSpec(Workload.for_model(TINY, input_shape=(3, 8, 8)), device="cuda", batch=2)
    result = record_trace(spec, tmp_path, TraceSchedule(), worker="w", memory=True)
    assert ran == ["cuda"]
    assert result.snapshot is not None and result.snapshot.parent == tmp_path
    assert result.snapshot.name.startswith("w.")
    assert result.snapshot.name.endswith(".memory-snapshot.pickle")
    assert result.snapshot.read_bytes() == b"snapshot"
    assert [c[0] for c in fake.calls] == ["record", "work", "dump", "record"]
    assert result.files == (tmp_path / "w.1.pt.trace.json",)
    without = record_trace(spec, tmp_path / "plain", TraceSchedule(), worker="w")
    assert without.snapshot is None and len(fake.calls) == 5  # only the run, no recording
