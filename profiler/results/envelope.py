"""The versioned result file: environment, suite, and one record per case.

Schema (``schema_version`` 1)::

    {
      "schema": "attnprof.result", "schema_version": 1,
      "tool_version": "0.1.0", "git_commit": "<sha>[+dirty]" | null,
      "created_utc": "2026-11-25T10:00:00Z", "updated_utc": "...",
      "environment": {...Environment...},
      "suite": {"name": ..., "path": ..., "hash": ..., "claims": ...} | null,
      "cases": [
        {"case_id": "bench-1a2b...", "kind": "count" | "bench", "spec": {...},
         "status": "ok" | "oom" | "error", "error": null | "message",
         "started_utc": ..., "duration_s": ..., "result": {...CountResult|BenchResult...} | null}
      ]
    }

Writes are atomic (temporary file in the same folder, then ``os.replace``), so a crash never
leaves a half-written file. Loaders ignore unknown fields and fill fields added later with
defaults, so files written by older versions keep loading.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from profiler.errors import ResultFileError
from profiler.measure.env import Environment
from profiler.results.bench import BenchResult
from profiler.results.count import CountResult
from profiler.spec import BenchSpec, CountSpec

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "CaseRecord",
    "ResultFile",
    "SuiteInfo",
    "load_result_file",
    "utc_now",
    "write_result_file",
]

SCHEMA = "attnprof.result"
SCHEMA_VERSION = 1
Status = Literal["ok", "oom", "error"]
Spec = CountSpec | BenchSpec
Result = CountResult | BenchResult


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class SuiteInfo:
    name: str
    path: str = ""
    hash: str = ""
    claims: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "hash": self.hash, "claims": self.claims}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SuiteInfo:
        return cls(name=str(data.get("name", "")), path=str(data.get("path", "")),
                   hash=str(data.get("hash", "")), claims=data.get("claims"))


@dataclass(frozen=True)
class CaseRecord:
    """One finished case: its spec, how it ended, and its result (None unless ok)."""

    spec: Spec
    status: Status = "ok"
    result: Result | None = None
    error: str | None = None
    started_utc: str = ""
    duration_s: float = 0.0

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
            "spec": self.spec.to_dict(),
            "status": self.status,
            "error": self.error,
            "started_utc": self.started_utc,
            "duration_s": self.duration_s,
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
        else:
            raise ResultFileError(f"case of unknown kind {kind!r}; valid: count, bench")
        return cls(spec=spec, status=data.get("status", "ok"), result=result,
                   error=data.get("error"), started_utc=data.get("started_utc", ""),
                   duration_s=float(data.get("duration_s", 0.0)))


@dataclass(frozen=True)
class ResultFile:
    """A whole result file. ``cases`` keep the order they were run in."""

    environment: Environment
    cases: tuple[CaseRecord, ...] = ()
    suite: SuiteInfo | None = None
    tool_version: str = ""
    git_commit: str | None = None
    created_utc: str = field(default_factory=utc_now)
    updated_utc: str = ""
    schema_version: int = SCHEMA_VERSION

    def with_case(self, case: CaseRecord) -> ResultFile:
        """A copy with ``case`` added, replacing an earlier record of the same case id."""
        kept = tuple(c for c in self.cases if c.case_id != case.case_id)
        return replace(self, cases=(*kept, case), updated_utc=utc_now())

    def case(self, case_id: str) -> CaseRecord | None:
        return next((c for c in self.cases if c.case_id == case_id), None)

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
            "cases": [c.to_dict() for c in self.cases],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<dict>") -> ResultFile:
        if data.get("schema") != SCHEMA:
            raise ResultFileError(f"{source}: not an attnprof result file (no schema {SCHEMA!r})")
        version = data.get("schema_version")
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise ResultFileError(f"{source}: schema_version {version!r} is newer than this "
                                  f"attnprof reads (<= {SCHEMA_VERSION}); upgrade attnprof")
        try:
            cases = tuple(CaseRecord.from_dict(c) for c in data.get("cases", []))
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
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ResultFileError):
                raise
            raise ResultFileError(f"{source}: malformed result file: {exc}") from exc


def write_result_file(result: ResultFile, path: str | os.PathLike[str]) -> Path:
    """Write ``result`` atomically to ``path`` (creating parent folders)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result.to_dict(), indent=2, sort_keys=False) + "\n"
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def load_result_file(path: str | os.PathLike[str]) -> ResultFile:
    """Load a result file; raises ResultFileError with the path on any problem."""
    source = str(path)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultFileError(f"{source}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultFileError(f"{source}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ResultFileError(f"{source}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
    if not isinstance(data, dict):
        raise ResultFileError(f"{source}: not an attnprof result file (top level is not an object)")
    return ResultFile.from_dict(data, source)
