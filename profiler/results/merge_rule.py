"""Which record of a case to keep when several files hold it (merging shards, reporting).

The rule: a case keeps its first ``ok`` record; a case with no ``ok`` record keeps its first
record. "First" is input order: the order of the files, then of the cases in each.
"""

from __future__ import annotations

from collections.abc import Iterable

from profiler.results.envelope import CaseRecord

__all__ = ["keep_ok_records", "prefers"]


def prefers(held: CaseRecord | None, record: CaseRecord) -> bool:
    """True when ``record`` should replace ``held`` (the record of the same case kept so far)."""
    return held is None or (held.status != "ok" and record.status == "ok")


def keep_ok_records(records: Iterable[CaseRecord]) -> dict[str, CaseRecord]:
    """One record per case id under the rule above, in order of first appearance."""
    kept: dict[str, CaseRecord] = {}
    for record in records:
        if prefers(kept.get(record.case_id), record):
            kept[record.case_id] = record
    return kept
