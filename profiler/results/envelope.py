"""The versioned result file: environment, suite, and one record per case.

Schema (``schema_version`` 3; the full field reference is ``docs/result-schema.md``)::

    {
      "schema": "attnprof.result", "schema_version": 3,
      "tool_version": "0.1.0", "git_commit": "<sha>[+dirty]" | null,
      "created_utc": "2026-11-25T10:00:00Z", "updated_utc": "...",
      "environment": {...Environment...},
      "suite": {"name": ..., "path": ..., "hash": "sha256:...", "claims": ...,
                "description": ..., "device": "cpu", "planned": 20, "total": 40,
                "shard": {"index": 1, "count": 2} | null} | null,
      "parts": [{"source": ..., "shard": ..., "cases": 20, "git_commit": ...,
                 "created_utc": ..., "environment": {...}}],
      "cases": [
        {"case_id": "bench-1a2b...", "kind": "count" | "bench" | "breakdown", "index": 3 | null,
         "spec": {...}, "status": "ok" | "oom" | "error" | "skipped",
         "error": null | "message", "started_utc": ..., "duration_s": ...,
         "group_id": null | "group-...",
         "result": {...CountResult|BenchResult|BreakdownResult...} | null}
      ],
      "groups": [{...GroupResult: members, each round's raw times, ratios, intervals...}]
    }

Version history: 1 had no ``suite.description/device/planned/total/shard``, no ``parts``, no case
``index`` and no ``skipped`` status. Version 3 adds comparison ``groups`` (cases timed together
in interleaved rounds, :mod:`profiler.results.group`), a case's ``group_id`` and the
``breakdown`` case kind (:mod:`profiler.results.breakdown`). Versions only add fields, so older
files load with the defaults (empty strings, ``None``, ``0``, no parts, no groups, no
breakdowns).

Writes go through :mod:`profiler.output` (atomic: temporary file in the same folder, then
``os.replace``), so a crash never leaves a half-written file. Loads are validated field by
field (:mod:`profiler.results.validate`). Loaders ignore unknown fields and fill fields added
later with defaults, so files written by older versions keep loading.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from profiler.errors import InvalidOptionError, ResultFileError, one_line
from profiler.output.files import write_output
from profiler.results.bench import BenchResult
from profiler.results.breakdown import BreakdownResult
from profiler.results.count import CountResult
from profiler.results.environment import Environment
from profiler.results.group import GroupResult
from profiler.results.jobs import JobInfo
from profiler.results.validate import validate_result_data
from profiler.spec import BenchSpec, BreakdownSpec, CountSpec

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "STATUSES",
    "CaseRecord",
    "PartInfo",
    "ResultFile",
    "Shard",
    "SuiteInfo",
    "load_result_file",
    "read_json_file",
    "utc_now",
    "write_result_file",
]

SCHEMA = "attnprof.result"
SCHEMA_VERSION = 3
Status = Literal["ok", "oom", "error", "skipped"]
# "skipped": the suite runner did not start the case because the run's wall-clock budget
# (``max_minutes``) was spent; ``--resume`` runs it later.
STATUSES: tuple[str, ...] = ("ok", "oom", "error", "skipped")
Spec = CountSpec | BenchSpec | BreakdownSpec
Result = CountResult | BenchResult | BreakdownResult


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Shard:
    """Part ``index`` (1-based) of ``count``: the cases whose position ``i`` (0-based) in the
    expanded suite satisfies ``i % count == index - 1`` (round-robin, deterministic)."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1 or not 1 <= self.index <= self.count:
            raise InvalidOptionError(
                f"shard {self.index}/{self.count} is out of range: need 1 <= I <= N"
            )

    @classmethod
    def parse(cls, text: str) -> Shard:
        """Parse ``I/N`` (for example ``2/4``)."""
        index, sep, count = text.partition("/")
        if not (sep and index.strip().isdigit() and count.strip().isdigit()):
            raise InvalidOptionError(
                f"malformed shard {text!r}: expected I/N with 1 <= I <= N, like 1/2"
            )
        return cls(int(index), int(count))

    def selects(self, position: int) -> bool:
        return position % self.count == self.index - 1

    @property
    def label(self) -> str:
        return f"{self.index}/{self.count}"

    def to_dict(self) -> dict[str, int]:
        return {"index": self.index, "count": self.count}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Shard | None:
        if data is None:
            return None
        return cls(int(data["index"]), int(data["count"]))


@dataclass(frozen=True)
class SuiteInfo:
    """Which suite a file holds: ``hash`` is ``sha256:<hex>`` of the suite file's bytes,
    ``device`` the resolved device it ran on, ``planned`` how many cases this run (or shard)
    was to measure and ``total`` how many the whole suite has on that device, so a reader can
    tell a complete file from a partial one (0: unknown, as in version-1 files)."""

    name: str
    path: str = ""
    hash: str = ""
    claims: str | None = None
    description: str = ""
    device: str = ""
    planned: int = 0
    total: int = 0
    shard: Shard | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "hash": self.hash, "claims": self.claims,
                "description": self.description, "device": self.device,
                "planned": self.planned, "total": self.total,
                "shard": None if self.shard is None else self.shard.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SuiteInfo:
        return cls(name=str(data.get("name", "")), path=str(data.get("path", "")),
                   hash=str(data.get("hash", "")), claims=data.get("claims"),
                   description=str(data.get("description", "")),
                   device=str(data.get("device", "")), planned=int(data.get("planned", 0)),
                   total=int(data.get("total", 0)), shard=Shard.from_dict(data.get("shard")))


@dataclass(frozen=True)
class CaseRecord:
    """One finished case: its spec, how it ended, and its result (None unless ok).

    ``index`` is the case's position in its suite's expanded case list (None outside a
    suite); merging shards restores the suite's order with it. ``group_id`` names the
    comparison group whose interleaved rounds timed it (None: timed alone).
    """

    spec: Spec
    status: Status = "ok"
    result: Result | None = None
    error: str | None = None
    started_utc: str = ""
    duration_s: float = 0.0
    index: int | None = None
    group_id: str | None = None

    @property
    def case_id(self) -> str:
        return self.spec.case_id

    @property
    def kind(self) -> str:
        return self.spec.kind

    def to_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "kind": self.kind,
            "index": self.index,
            "spec": self.spec.to_dict(),
            "status": self.status,
            "error": self.error,
            "started_utc": self.started_utc,
            "duration_s": self.duration_s,
            "group_id": self.group_id,
            "result": None if self.result is None else self.result.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CaseRecord:
        kind = data.get("kind")
        raw_spec, raw_result = data.get("spec") or {}, data.get("result")
        spec: Spec
        result: Result | None
        if kind == "count":
            spec = CountSpec.from_dict(raw_spec)
            result = None if raw_result is None else CountResult.from_dict(raw_result)
        elif kind == "bench":
            spec = BenchSpec.from_dict(raw_spec)
            result = None if raw_result is None else BenchResult.from_dict(raw_result)
        elif kind == "breakdown":
            spec = BreakdownSpec.from_dict(raw_spec)
            result = None if raw_result is None else BreakdownResult.from_dict(raw_result)
        else:
            raise ResultFileError(f"case of unknown kind {kind!r}; valid: count, bench, "
                                  "breakdown")
        status = data.get("status", "ok")
        if status not in STATUSES:
            raise ResultFileError(f"case of unknown status {status!r}; valid: "
                                  f"{', '.join(STATUSES)}")
        index = data.get("index")
        return cls(spec=spec, status=status, result=result,
                   error=data.get("error"), started_utc=data.get("started_utc", ""),
                   duration_s=float(data.get("duration_s", 0.0)),
                   index=None if index is None else int(index), group_id=data.get("group_id"))


@dataclass(frozen=True)
class PartInfo:
    """One input of ``attnprof merge``: where it came from and what it ran on."""

    source: str
    environment: Environment
    shard: Shard | None = None
    cases: int = 0
    git_commit: str | None = None
    created_utc: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source,
                "shard": None if self.shard is None else self.shard.to_dict(),
                "cases": self.cases, "git_commit": self.git_commit,
                "created_utc": self.created_utc, "environment": self.environment.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PartInfo:
        return cls(source=str(data.get("source", "")),
                   environment=Environment.from_dict(data.get("environment") or {}),
                   shard=Shard.from_dict(data.get("shard")), cases=int(data.get("cases", 0)),
                   git_commit=data.get("git_commit"),
                   created_utc=str(data.get("created_utc", "")))


@dataclass(frozen=True)
class ResultFile:
    """A whole result file. ``cases`` keep the order they were run in.

    ``parts`` is empty unless the file was made by ``attnprof merge``; then ``environment`` is
    the first part's and each part keeps its own. ``groups`` are the comparison groups whose
    rounds timed some of the cases (and ``attnprof calibrate``'s A/A runs). ``jobs`` is empty
    unless a cluster executor ran the suite (:mod:`profiler.results.jobs`). ``plan`` is a
    planned run's plan vs actual (``docs/result-schema.md``; None: not planned, older files).
    """

    environment: Environment
    cases: tuple[CaseRecord, ...] = ()
    suite: SuiteInfo | None = None
    tool_version: str = ""
    git_commit: str | None = None
    created_utc: str = field(default_factory=utc_now)
    updated_utc: str = ""
    schema_version: int = SCHEMA_VERSION
    parts: tuple[PartInfo, ...] = ()
    groups: tuple[GroupResult, ...] = ()
    jobs: tuple[JobInfo, ...] = ()
    plan: Mapping[str, Any] | None = None

    def with_group(self, group: GroupResult, cases: tuple[CaseRecord, ...] = ()) -> ResultFile:
        """A copy with ``group`` (replacing one of the same id) and its ``cases`` added."""
        kept = tuple(g for g in self.groups if g.group_id != group.group_id)
        updated = replace(self, groups=(*kept, group), updated_utc=utc_now())
        for case in cases:
            updated = updated.with_case(case)
        return updated

    def group(self, group_id: str) -> GroupResult | None:
        return next((g for g in self.groups if g.group_id == group_id), None)

    def with_case(self, case: CaseRecord) -> ResultFile:
        """A copy with ``case`` added, replacing an earlier record of the same case id."""
        kept = tuple(c for c in self.cases if c.case_id != case.case_id)
        return replace(self, cases=(*kept, case), updated_utc=utc_now())

    def case(self, case_id: str) -> CaseRecord | None:
        return next((c for c in self.cases if c.case_id == case_id), None)

    def status_counts(self) -> dict[str, int]:
        """How many cases ended in each status (every status present, zeros included)."""
        counts = dict.fromkeys(STATUSES, 0)
        for record in self.cases:
            counts[record.status] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "schema_version": SCHEMA_VERSION,
            "tool_version": self.tool_version,
            "git_commit": self.git_commit,
            "created_utc": self.created_utc,
            "updated_utc": self.updated_utc or self.created_utc,
            "environment": self.environment.to_dict(),
            "suite": None if self.suite is None else self.suite.to_dict(),
            "parts": [p.to_dict() for p in self.parts],
            "cases": [c.to_dict() for c in self.cases],
            "groups": [g.to_dict() for g in self.groups],
            **({"jobs": [j.to_dict() for j in self.jobs]} if self.jobs else {}),
            **({} if self.plan is None else {"plan": dict(self.plan)}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<dict>") -> ResultFile:
        if data.get("schema") != SCHEMA:
            raise ResultFileError(f"{source}: not an attnprof result file (no schema {SCHEMA!r})")
        version = data.get("schema_version")
        if not isinstance(version, int) or version < 1 or version > SCHEMA_VERSION:
            raise ResultFileError(f"{source}: schema_version {version!r} is not one this "
                                  f"attnprof reads (1..{SCHEMA_VERSION}); upgrade attnprof")
        validate_result_data(data, source)
        try:
            cases = tuple(CaseRecord.from_dict(c) for c in data.get("cases") or [])
            suite = data.get("suite")
            return cls(
                environment=Environment.from_dict(data.get("environment") or {}),
                cases=cases,
                suite=None if suite is None else SuiteInfo.from_dict(suite),
                tool_version=str(data.get("tool_version", "")),
                git_commit=data.get("git_commit"),
                created_utc=str(data.get("created_utc", "")),
                updated_utc=str(data.get("updated_utc", "")),
                schema_version=version,
                parts=tuple(PartInfo.from_dict(p) for p in data.get("parts") or []),
                groups=tuple(GroupResult.from_dict(g) for g in data.get("groups") or []),
                jobs=tuple(JobInfo.from_dict(j) for j in data.get("jobs") or []),
                plan=data.get("plan"),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            if isinstance(exc, ResultFileError):
                raise ResultFileError(f"{source}: {exc}") from None
            raise ResultFileError(f"{source}: malformed result file: "
                                  f"{one_line(exc, typed=False)}") from None


def write_result_file(result: ResultFile, path: str | os.PathLike[str], *,
                      overwrite: bool = False, inputs: Sequence[str | os.PathLike[str]] = ()
                      ) -> Path:
    """Write ``result`` atomically to ``path`` (creating parent folders) through
    :func:`profiler.output.write_output`: an existing file only with ``overwrite``, never one
    of ``inputs``; on failure the OutputError carries the JSON so that it can be printed."""
    text = json.dumps(result.to_dict(), indent=2, sort_keys=False) + "\n"
    return write_output(path, text, overwrite=overwrite, inputs=inputs, unsaved=text)


def read_json_file(path: str | os.PathLike[str]) -> Any:
    """Parse a JSON file; any problem is a one-line ResultFileError naming the path."""
    source = str(path)
    try:
        if Path(path).exists() and not Path(path).is_file() and not Path(path).is_dir():
            raise ResultFileError(f"{source}: not a regular file (a FIFO or device would "
                                  "block or never end)")
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultFileError(f"{source}: no such file") from None
    except IsADirectoryError:
        raise ResultFileError(f"{source}: is a folder, not a result file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultFileError(f"{source}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ResultFileError(f"{source}: invalid JSON at line {exc.lineno}: {exc.msg}") from None


def load_result_file(path: str | os.PathLike[str]) -> ResultFile:
    """Load a result file; raises ResultFileError with the path on any problem."""
    source = str(path)
    data = read_json_file(path)
    if not isinstance(data, dict):
        raise ResultFileError(f"{source}: not an attnprof result file (top level is not an object)")
    return ResultFile.from_dict(data, source)
