"""The outcome of a gate, and its result file (``-o``): both sides, every round, each decision.

Schema ``attnprof.gate`` version 1 (documented in ``docs/result-schema.md``)::

    {"schema": "attnprof.gate", "schema_version": 1, "tool_version": ..., "created_utc": ...,
     "suite": {"name": ..., "path": ...}, "device": "cpu", "limit": 0.05,
     "rules": ["params:+0", ...], "max_minutes": 5.0, "elapsed_s": 212.4,
     "exit_status": 0 | 1,
     "base": {...SideInfo...}, "head": {...SideInfo...},
     "timing": [{...TimingCase...}], "counts": [{...CountCase...}],
     "only_base": [labels], "only_head": [labels], "not_gated": [labels]}

Result files load without torch; loaders ignore unknown fields and fill missing ones with
defaults, as the suite result files do, after checking the file field by field
(:func:`profiler.results.validate.validate_gate_data`, one line naming the field).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Literal

from profiler.results.fields import known_fields
from profiler.results.telemetry import RoundTelemetry
from profiler.results.validate import validate_gate_data

__all__ = [
    "CONFIRMATIONS",
    "DECISIONS",
    "GATE_SCHEMA",
    "GATE_SCHEMA_VERSION",
    "CountCase",
    "Decision",
    "GateResult",
    "MetricRow",
    "SideInfo",
    "SideTiming",
    "TimingCase",
    "load_gate_result",
    "ref_label",
]

GATE_SCHEMA = "attnprof.gate"
GATE_SCHEMA_VERSION = 1
#: What a gate decides for a timing case (:mod:`profiler.gate.decision`), and ``attnprof
#: compare`` for a metric (:mod:`profiler.compare.judge`): one vocabulary for both.
Decision = Literal["regression", "improved", "unchanged", "inconclusive"]
DECISIONS: tuple[Decision, ...] = ("regression", "improved", "unchanged", "inconclusive")
# A timing case that could not be compared (one side failed) has decision "error".
TIMING_OUTCOMES: tuple[str, ...] = (*DECISIONS, "error")
# A regression or improvement measured again in fresh worker processes (pairing.confirm).
CONFIRMATIONS: tuple[str, ...] = ("", "confirmed", "not confirmed")


def ref_label(ref: str, commit: str | None) -> str:
    """``main @ 1a2b3c4d``; the short commit alone when the ref is (a prefix of) it."""
    if commit is None:
        return ref
    if commit.startswith(ref):
        return commit[:8]
    return f"{ref} @ {commit[:8]}"


@dataclass(frozen=True)
class SideInfo:
    """What one side ran: tree, ref and commit, and the worker's versions.

    ``worker`` is ``module`` (the tree's own ``profiler.gate.worker``) or ``file`` (this
    attnprof's worker file driving an older ``profiler`` in the tree).
    """

    name: str
    ref: str
    tree: str
    commit: str | None = None
    worker: str = "module"
    python: str | None = None
    torch: str | None = None
    tool_version: str | None = None
    profiler: str | None = None
    environment: dict[str, Any] | None = None

    @property
    def label(self) -> str:
        return ref_label(self.ref, self.commit)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SideInfo:
        return cls(**known_fields(cls, data))


@dataclass(frozen=True)
class SideTiming:
    """One side of a timing case: its warm-up and the step seconds of each round's block."""

    batch: int | None = None
    warmup_steps: int | None = None
    step_s: float | None = None
    blocks: tuple[tuple[float, ...], ...] = ()
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"batch": self.batch, "warmup_steps": self.warmup_steps, "step_s": self.step_s,
                "blocks": [list(b) for b in self.blocks], "error": self.error}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SideTiming:
        known = known_fields(cls, data)
        known["blocks"] = tuple(tuple(float(t) for t in b) for b in data.get("blocks", ()))
        return cls(**known)

    @property
    def images_per_sec(self) -> float | None:
        """Images per second over every timed step (None without steps or batch)."""
        total = sum(sum(b) for b in self.blocks)
        steps = sum(len(b) for b in self.blocks)
        if not self.batch or not steps or total <= 0:
            return None
        return self.batch * steps / total


@dataclass(frozen=True)
class TimingCase:
    """A timing case timed on both sides in rounds, and its decision.

    ``ratio`` is head / base throughput with its 95% interval [``ci_low``, ``ci_high``]
    (``method`` says how it was computed); ``first`` lists which side ran first in each round
    and ``stopped`` why the rounds ended (the engine's reason: converged, time budget...);
    ``needed_rounds``/``needed_seconds`` estimate the budget that would decide an
    inconclusive case (None: no budget would, or not inconclusive). ``error`` says which side
    failed and how, in one line (decision ``error``).

    A regression or improvement is confirmed in a second, fresh pair of worker processes
    (:func:`profiler.gate.pairing.confirm`): ``attempts`` then holds both attempts in full
    (every round of each), the case's ratio, interval and decision come from the rounds of
    both attempts pooled (its sides' blocks are both attempts' blocks), and ``confirmation``
    is ``confirmed`` or ``not confirmed`` ("" when there was nothing to confirm).
    """

    case_id: str
    label: str
    decision: str
    base: SideTiming = SideTiming()
    head: SideTiming = SideTiming()
    ratio: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    rounds: int = 0
    steps_per_block: int = 0
    seconds: float = 0.0
    first: tuple[str, ...] = ()
    stopped: str = ""
    method: str = ""
    needed_rounds: int | None = None
    needed_seconds: float | None = None
    error: str | None = None
    confirmation: str = ""
    attempts: tuple[TimingCase, ...] = ()
    telemetry: tuple[RoundTelemetry, ...] = ()

    @property
    def rounds_disturbed(self) -> int:
        """Rounds that telemetry found disturbed (left out of the ratio)."""
        return sum(1 for t in self.telemetry if t.disturbed)

    def __post_init__(self) -> None:
        if self.decision not in TIMING_OUTCOMES:
            raise ValueError(f"unknown decision {self.decision!r}")
        if self.confirmation not in CONFIRMATIONS:
            raise ValueError(f"unknown confirmation {self.confirmation!r}")

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["base"], data["head"] = self.base.to_dict(), self.head.to_dict()
        data["first"] = list(self.first)
        data["attempts"] = [a.to_dict() for a in self.attempts]
        data["telemetry"] = [t.to_dict() for t in self.telemetry]
        data["rounds_disturbed"] = self.rounds_disturbed
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TimingCase:
        known = known_fields(cls, data)
        known["base"] = SideTiming.from_dict(data.get("base") or {})
        known["head"] = SideTiming.from_dict(data.get("head") or {})
        known["first"] = tuple(data.get("first", ()))
        known["attempts"] = tuple(cls.from_dict(a) for a in data.get("attempts") or ())
        known["telemetry"] = tuple(RoundTelemetry.from_dict(t)
                                   for t in data.get("telemetry") or ())
        return cls(**known)


@dataclass(frozen=True)
class MetricRow:
    """One exact metric of a count case on both sides; ``changed`` by the rule in force."""

    metric: str
    base: float
    head: float
    rule: str
    changed: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MetricRow:
        return cls(**known_fields(cls, data))


@dataclass(frozen=True)
class CountCase:
    """A count case on both sides: its exact metrics, or which side failed."""

    case_id: str
    label: str
    metrics: tuple[MetricRow, ...] = ()
    base_error: str | None = None
    head_error: str | None = None

    @property
    def changed(self) -> tuple[MetricRow, ...]:
        return tuple(m for m in self.metrics if m.changed)

    def to_dict(self) -> dict[str, Any]:
        return {"case_id": self.case_id, "label": self.label,
                "metrics": [m.to_dict() for m in self.metrics],
                "base_error": self.base_error, "head_error": self.head_error}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CountCase:
        known = known_fields(cls, data)
        known["metrics"] = tuple(MetricRow.from_dict(m) for m in data.get("metrics", ()))
        return cls(**known)


@dataclass(frozen=True)
class GateResult:
    """Everything a gate measured and decided. ``exit_status``: 1 when a timing case
    regressed, an exact metric changed, or a case that works on the base fails on the head;
    else 0."""

    suite: str
    suite_path: str
    device: str
    limit: float
    base: SideInfo
    head: SideInfo
    rules: tuple[str, ...] = ()
    timing: tuple[TimingCase, ...] = ()
    counts: tuple[CountCase, ...] = ()
    only_base: tuple[str, ...] = ()
    only_head: tuple[str, ...] = ()
    not_gated: tuple[str, ...] = ()
    max_minutes: float | None = None
    elapsed_s: float = 0.0
    tool_version: str | None = None
    created_utc: str | None = None

    @property
    def regressions(self) -> tuple[TimingCase, ...]:
        return tuple(c for c in self.timing if c.decision == "regression")

    @property
    def changed_counts(self) -> tuple[CountCase, ...]:
        return tuple(c for c in self.counts if c.changed)

    @property
    def broken(self) -> tuple[str, ...]:
        """Labels of cases that work on the base and fail on the head."""
        timing = [c.label for c in self.timing
                  if c.head.error is not None and c.base.error is None]
        counts = [c.label for c in self.counts
                  if c.head_error is not None and c.base_error is None]
        return (*timing, *counts)

    @property
    def exit_status(self) -> int:
        return 1 if self.regressions or self.changed_counts or self.broken else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": GATE_SCHEMA, "schema_version": GATE_SCHEMA_VERSION,
            "tool_version": self.tool_version, "created_utc": self.created_utc,
            "suite": {"name": self.suite, "path": self.suite_path}, "device": self.device,
            "limit": self.limit, "rules": list(self.rules), "max_minutes": self.max_minutes,
            "elapsed_s": self.elapsed_s, "exit_status": self.exit_status,
            "base": self.base.to_dict(), "head": self.head.to_dict(),
            "timing": [c.to_dict() for c in self.timing],
            "counts": [c.to_dict() for c in self.counts],
            "only_base": list(self.only_base), "only_head": list(self.only_head),
            "not_gated": list(self.not_gated),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GateResult:
        suite = data.get("suite") or {}
        return cls(
            suite=str(suite.get("name", "")), suite_path=str(suite.get("path", "")),
            device=str(data.get("device", "")), limit=float(data.get("limit", 0.0)),
            base=SideInfo.from_dict(data["base"]), head=SideInfo.from_dict(data["head"]),
            rules=tuple(data.get("rules", ())),
            timing=tuple(TimingCase.from_dict(c) for c in data.get("timing", ())),
            counts=tuple(CountCase.from_dict(c) for c in data.get("counts", ())),
            only_base=tuple(data.get("only_base", ())),
            only_head=tuple(data.get("only_head", ())),
            not_gated=tuple(data.get("not_gated", ())),
            max_minutes=data.get("max_minutes"), elapsed_s=float(data.get("elapsed_s", 0.0)),
            tool_version=data.get("tool_version"), created_utc=data.get("created_utc"))


def load_gate_result(path: str | Path) -> GateResult:
    """Read a gate result file (ResultFileError, one line, when it is not one)."""
    from profiler.errors import ResultFileError
    from profiler.results.envelope import read_json_file

    data = read_json_file(path)
    if not isinstance(data, dict) or data.get("schema") != GATE_SCHEMA:
        raise ResultFileError(f"{path} is not an attnprof gate result (schema {GATE_SCHEMA!r})")
    if int(data.get("schema_version", 0)) > GATE_SCHEMA_VERSION:
        raise ResultFileError(f"{path} has gate schema version {data.get('schema_version')}; "
                              f"this attnprof reads up to {GATE_SCHEMA_VERSION}: upgrade it")
    validate_gate_data(data, str(path))
    try:
        return GateResult.from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise ResultFileError(f"{path}: malformed gate result: {exc}") from exc
