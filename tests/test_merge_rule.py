"""The rule that picks one record per case among several files (merge and report use it)."""

from __future__ import annotations

from profiler.results.envelope import CaseRecord
from profiler.results.merge_rule import keep_ok_records, prefers
from profiler.spec import CountSpec, Workload

A = CountSpec(Workload.for_model("resnet18"))
B = CountSpec(Workload.for_model("resnet18", "se"))


def _record(spec: CountSpec, status: str, error: str = "") -> CaseRecord:
    return CaseRecord(spec=spec, status=status, error=error or None)  # type: ignore[arg-type]


def test_ok_wins_over_an_earlier_failure_and_the_first_ok_stays() -> None:
    failed, first_ok, second_ok = (_record(A, "error", "x"), _record(A, "ok", "first"),
                                   _record(A, "ok", "second"))
    kept = keep_ok_records([failed, first_ok, second_ok])
    assert kept == {A.case_id: first_ok}


def test_without_ok_the_first_record_stays_and_order_is_first_appearance() -> None:
    skipped, oom, other = _record(A, "skipped"), _record(A, "oom"), _record(B, "ok")
    kept = keep_ok_records([skipped, other, oom])
    assert list(kept) == [A.case_id, B.case_id]
    assert kept[A.case_id] is skipped


def test_prefers() -> None:
    assert prefers(None, _record(A, "error"))
    assert prefers(_record(A, "oom"), _record(A, "ok"))
    assert not prefers(_record(A, "ok"), _record(A, "ok"))
    assert not prefers(_record(A, "error"), _record(A, "skipped"))
