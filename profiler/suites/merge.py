"""Join result files of one suite (shards, or re-runs of parts of it) into one file.

Rules:

- every part must hold a suite run, all of the same suite name and hash; otherwise
  :class:`~profiler.errors.ResultFileError`;
- parts measured on different devices (environment ``device``/``device_name``, or the suite's
  resolved device) are refused unless ``allow_mixed``;
- a case present in several parts keeps its ``ok`` record over any other status, and the
  earliest part's record among equals, and comparison groups likewise by group id
  (:mod:`profiler.results.merge_rule`); but two ``ok`` records of one case (or group) with
  different results are refused unless ``prefer`` says which part wins (``first``: the
  earliest part, ``last``: the latest);
- shards must fit together: parts of one run with different shard counts (1/2 and 2/3), a
  whole run beside shards, or one shard twice (overlap) are refused (the last unless
  ``prefer`` is given: a shard re-run on purpose);
- the merged file takes the first part's environment, tool version and commit, lists every
  part (source, shard, environment, commit) under ``parts``, has no shard, and keeps the
  suite's case order (by each record's ``index``);
- the cluster jobs of every part (``jobs``: which machine measured which case) are kept,
  renumbered in part order, so that reports still see where each case ran.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from profiler.errors import ResultFileError
from profiler.results.envelope import PartInfo, ResultFile, SuiteInfo, utc_now
from profiler.results.jobs import JobInfo
from profiler.results.merge_rule import keep_ok_groups, keep_ok_records

__all__ = ["PREFER", "merge_results"]

PREFER: tuple[str, ...] = ("first", "last")


def _check_same_suite(parts: Sequence[tuple[str, ResultFile]]) -> SuiteInfo:
    first_source, first = parts[0]
    if first.suite is None:
        raise ResultFileError(f"{first_source}: holds no suite run; merge joins parts of one "
                              "suite's run")
    for source, part in parts[1:]:
        info = part.suite
        if info is None:
            raise ResultFileError(f"{source}: holds no suite run; merge joins parts of one "
                                  "suite's run")
        if info.name != first.suite.name:
            raise ResultFileError(f"{source} holds suite {info.name!r} but {first_source} "
                                  f"holds {first.suite.name!r}; merge parts of one suite")
        if info.hash != first.suite.hash:
            raise ResultFileError(f"{source} and {first_source} were run from different "
                                  f"versions of suite {info.name!r} (hash differs)")
    return first.suite


def _device(part: ResultFile) -> tuple[str, str]:
    device = part.suite.device if part.suite is not None and part.suite.device else \
        part.environment.device
    return device, part.environment.device_name


def _check_same_device(parts: Sequence[tuple[str, ResultFile]]) -> None:
    first_source, first = parts[0]
    for source, part in parts[1:]:
        if _device(part) != _device(first):
            ran, other = _device(part), _device(first)
            raise ResultFileError(f"{source} ran on {ran[0]} ({ran[1]}) but {first_source} on "
                                  f"{other[0]} ({other[1]}); pass --allow-mixed to merge anyway")


def _planned(parts: Sequence[tuple[str, ResultFile]]) -> int:
    """Cases the merged whole should have: the suite's total where parts record it, else
    one planned count per distinct shard (or whole run)."""
    infos = [part.suite for _, part in parts if part.suite is not None]
    total = max((info.total for info in infos), default=0)
    if total:
        return total
    by_shard: dict[str, int] = {}
    for info in infos:
        label = "all" if info.shard is None else info.shard.label
        by_shard[label] = max(by_shard.get(label, 0), info.planned)
    return by_shard["all"] if "all" in by_shard else sum(by_shard.values())


def _jobs(parts: Sequence[tuple[str, ResultFile]]) -> tuple[JobInfo, ...]:
    found: list[JobInfo] = []
    for _, part in parts:
        offset = max((j.number for j in found), default=0)
        found += [replace(j, number=j.number + offset)
                  for j in sorted(part.jobs, key=lambda j: j.number)]
    return tuple(found)


def _check_shards(parts: Sequence[tuple[str, ResultFile]], prefer: str | None) -> None:
    seen: dict[str, str] = {}
    for source, part in parts:
        shard = part.suite.shard if part.suite is not None else None
        label = "the whole suite" if shard is None else f"shard {shard.label}"
        counts = {key.rpartition("/")[2] for key in seen if "/" in key}
        if shard is not None and counts and str(shard.count) not in counts:
            raise ResultFileError(f"{source} is shard {shard.label} but the other parts are "
                                  f"shards of {'/'.join(sorted(counts))}: shards of one run "
                                  "share N")
        whole = "the whole suite"
        if (shard is None and any(key != whole for key in seen)) or \
                (shard is not None and whole in seen):
            other = next(src for key, src in seen.items() if (key == whole) != (shard is None))
            raise ResultFileError(f"{source} ({label}) overlaps {other}: merge either shards "
                                  "or whole runs, not both")
        if label in seen and prefer is None and shard is not None:
            raise ResultFileError(f"{source} and {seen[label]} are both {label} (overlapping "
                                  "parts); pass --prefer first|last to choose between them")
        seen.setdefault(label, source)


def _result_of(item: Any) -> Any:
    result = getattr(item, "result", None)
    return result.to_dict() if result is not None else item.to_dict()


def _check_conflicts(kind: str, items: Iterable[tuple[str, str, Any]]) -> None:
    """Two ``ok`` records of one ``kind`` (case, group) with different results: refuse."""
    held: dict[str, tuple[str, Any]] = {}
    for source, key, item in items:
        if item.status != "ok":
            continue
        if key in held and _result_of(held[key][1]) != _result_of(item):
            raise ResultFileError(
                f"{kind} {getattr(item, 'label', key)} is ok in {held[key][0]} and in {source} "
                "with different results; pass --prefer first|last to choose")
        held.setdefault(key, (source, item))


def merge_results(parts: Sequence[tuple[str, ResultFile]], allow_mixed: bool = False,
                  prefer: str | None = None) -> ResultFile:
    """Merge ``(source, file)`` pairs; see the module docstring for the rules."""
    if not parts:
        raise ResultFileError("nothing to merge: give at least one result file")
    if prefer is not None and prefer not in PREFER:
        raise ResultFileError(f"--prefer {prefer!r}: expected one of {', '.join(PREFER)}")
    info = _check_same_suite(parts)
    if not allow_mixed:
        _check_same_device(parts)
    _check_shards(parts, prefer)
    if prefer is None:
        _check_conflicts("case", ((s, c.case_id, c) for s, p in parts for c in p.cases))
        _check_conflicts("group", ((s, g.group_id, g) for s, p in parts for g in p.groups))
    order = list(parts) if prefer != "last" else list(reversed(parts))
    records = keep_ok_records(record for _, part in order for record in part.cases)
    groups = keep_ok_groups(group for _, part in order for group in part.groups)
    ordered = sorted(records.values(), key=lambda c: (c.index is None, c.index or 0))
    first = parts[0][1]
    part_infos = tuple(
        PartInfo(source=source, environment=part.environment,
                 shard=None if part.suite is None else part.suite.shard, cases=len(part.cases),
                 git_commit=part.git_commit, created_utc=part.created_utc)
        for source, part in parts
    )
    planned = _planned(parts)
    created = min((p.created_utc for _, p in parts if p.created_utc), default=utc_now())
    return ResultFile(
        environment=first.environment,
        cases=tuple(ordered),
        suite=replace(info, shard=None, planned=planned, total=planned),
        tool_version=first.tool_version,
        git_commit=first.git_commit,
        created_utc=created,
        updated_utc=utc_now(),
        parts=part_infos,
        groups=tuple(sorted(groups.values(), key=lambda g: (g.index is None, g.index or 0))),
        jobs=_jobs(parts),
    )
