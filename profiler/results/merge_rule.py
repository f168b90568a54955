"""Which record of a case (or of a comparison group) to keep when several files hold it
(merging shards, reporting).

The rule: a case keeps its first ``ok`` record; a case with no ``ok`` record keeps its first
record. "First" is input order: the order of the files, then of the cases in each. Comparison
groups follow the same rule, by group id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol, TypeVar

from profiler.results.envelope import CaseRecord
from profiler.results.group import GroupResult

__all__ = ["keep_ok_groups", "keep_ok_records", "prefers"]


class _HasStatus(Protocol):
    @property
    def status(self) -> str: ...


R = TypeVar("R", bound=_HasStatus)


def prefers(held: _HasStatus | None, record: _HasStatus) -> bool:
    """True when ``record`` should replace ``held`` (the record of the same case kept so far)."""
    return held is None or (held.status != "ok" and record.status == "ok")


def _keep_ok(records: Iterable[R], key: Callable[[R], str]) -> dict[str, R]:
    kept: dict[str, R] = {}
    for record in records:
        if prefers(kept.get(key(record)), record):
            kept[key(record)] = record
    return kept


def keep_ok_records(records: Iterable[CaseRecord]) -> dict[str, CaseRecord]:
    """One record per case id under the rule above, in order of first appearance."""
    return _keep_ok(records, lambda r: r.case_id)


def keep_ok_groups(groups: Iterable[GroupResult]) -> dict[str, GroupResult]:
    """One record per comparison group id under the same rule."""
    return _keep_ok(groups, lambda g: g.group_id)
