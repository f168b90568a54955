"""run_case: one spec in, one CaseRecord out, failures recorded (or raised)."""

from __future__ import annotations

import pytest

from profiler.errors import OutOfMemoryError, UnknownNameError
from profiler.measure import case
from profiler.results import BenchResult
from profiler.spec import BenchSpec, Workload

SPEC = BenchSpec(Workload.for_model("resnet18"), batch=4)


def test_ok_case_carries_result_and_timing(monkeypatch: pytest.MonkeyPatch) -> None:
    result = BenchResult(images_per_sec=10.0, images_per_sec_iqr=0.5, step_ms_median=400.0)
    monkeypatch.setattr(case, "measure", lambda spec: result)
    record = case.run_case(SPEC)
    assert record.status == "ok" and record.result is result and record.error is None
    assert record.case_id == SPEC.case_id and record.started_utc.endswith("Z")


def test_oom_and_errors_are_recorded_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def oom(spec: BenchSpec) -> BenchResult:
        raise OutOfMemoryError("CUDA out of memory at batch 4", batch=4, free_bytes=0)

    monkeypatch.setattr(case, "measure", oom)
    assert case.run_case(SPEC).status == "oom"

    def boom(spec: BenchSpec) -> BenchResult:
        raise RuntimeError("shape mismatch\nlong C++ trace")

    monkeypatch.setattr(case, "measure", boom)
    record = case.run_case(SPEC)
    assert record.status == "error" and record.error == "RuntimeError: shape mismatch"
    assert record.result is None


def test_without_catch_errors_propagate(monkeypatch: pytest.MonkeyPatch) -> None:
    def unknown(spec: BenchSpec) -> BenchResult:
        raise UnknownNameError("unknown model 'x'")

    monkeypatch.setattr(case, "measure", unknown)
    with pytest.raises(UnknownNameError):
        case.run_case(SPEC, catch=False)
