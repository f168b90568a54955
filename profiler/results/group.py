"""The record of a comparison group: cases timed together in interleaved rounds.

A :class:`GroupResult` keeps what the rounds engine (:mod:`profiler.rounds`) did:
the members (each a case of the file, by ``case_id``), every round's order and each member's
raw step times in it, the seed of the shuffle, the settings, why the rounds stopped, and
each member's throughput ratio to the baseline with its interval. The ratios are derived
from the raw times and can be recomputed (the report does:
:func:`profiler.report.ratios.group_interval`), also between two members neither of which is
the baseline. Plain data: reading a group needs no statistics and no torch.

Per round, ``telemetry`` says what the machine did (:mod:`profiler.results.telemetry`);
disturbed rounds stay in ``members[].times`` but are left out of the ratios, whose
``rounds_disturbed`` counts them and whose ``*_all_rounds`` fields keep the estimate on all
rounds as a diagnostic. ``mostly_disturbed``: more than half of the rounds were. A group
without telemetry (older files) has no disturbed round.

A group timed in several fresh worker processes (:mod:`profiler.measure.timing.replicate`) has
``processes`` > 1: ``round_process[r]`` says which process ran round ``r`` (empty: all in one
process, as in files written before), ``process_runs`` what each process did. Each process
builds its members afresh every few rounds (``round_build[r]``: the build, within its
process, that ran round ``r``; empty in files written before builds), which averages the
speed a model's memory layout gives it (:mod:`profiler.stats`, "Two levels"). Each ratio keeps
its per-process and per-build estimates, the within- and between-process spreads, the
between-build spread inside a process and the within-process (Wilcoxon, all rounds) interval
as diagnostics; ``interval_method`` says which variance built the headline interval
(``processes``, ``calibration``, ``pooled`` or ``default``:
:func:`profiler.stats.two_level_interval`), ``between_prior_sd``/``_df``/``_source`` the
prior it had for ratios timed in fewer than 10 processes. All these are optional: older files
load as one process.

``kind`` is ``comparison`` (a suite's group, or ``bench --vs``) or ``calibration`` (an A/A
run of one workload against itself: ``attnprof calibrate``; its members share one case id
and ``min_detectable_slowdown`` says the smallest slowdown the same budget would detect).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from profiler.results.telemetry import RoundTelemetry, disturbed_mask, mostly_disturbed

__all__ = ["GROUP_KINDS", "GROUP_STATUSES", "PRIOR_SOURCES", "VARIANCE_SOURCES", "GroupMember",
           "GroupRatio", "GroupResult", "ProcessRun", "group_id"]

GroupKind = Literal["comparison", "calibration"]
GROUP_KINDS: tuple[str, ...] = ("comparison", "calibration")
# ok: the rounds ran (members may still have failed: see each member's status);
# error: the group could not run at all; skipped: not started (the run's budget was spent).
GROUP_STATUSES: tuple[str, ...] = ("ok", "error", "skipped")
# which variance built a group's headline interval (profiler.stats.VARIANCE_SOURCES)
VARIANCE_SOURCES: tuple[str, ...] = ("processes", "calibration", "pooled", "default")
# where a between-unit prior came from (profiler.stats.PRIOR_SOURCES)
PRIOR_SOURCES: tuple[str, ...] = ("calibration", "pooled", "default")
Block = tuple[float, ...] | None


def group_id(kind: str, case_ids: Sequence[str], baseline: int) -> str:
    """``group-<12 hex>``: a hash of the kind, the members' case ids in order, the baseline."""
    text = json.dumps({"kind": kind, "members": list(case_ids), "baseline": baseline},
                      separators=(",", ":"))
    return f"group-{hashlib.sha1(text.encode()).hexdigest()[:12]}"


@dataclass(frozen=True)
class GroupMember:
    """One member: its case, how it ended, and its step times per round (``times[r]`` is
    None for a round it did not run, having failed before)."""

    case_id: str
    name: str
    label: str = ""
    batch: int = 0
    status: str = "ok"
    error: str | None = None
    warmup_steps: int = 0
    times: tuple[Block, ...] = ()

    @property
    def samples(self) -> tuple[float, ...]:
        return tuple(t for block in self.times if block for t in block)

    def to_dict(self) -> dict[str, Any]:
        return {"case_id": self.case_id, "name": self.name, "label": self.label,
                "batch": self.batch, "status": self.status, "error": self.error,
                "warmup_steps": self.warmup_steps,
                "times": [None if b is None else list(b) for b in self.times]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GroupMember:
        times = tuple(None if b is None else tuple(float(t) for t in b)
                      for b in data.get("times") or [])
        return cls(case_id=str(data["case_id"]), name=str(data.get("name", "")),
                   label=str(data.get("label", "")), batch=int(data.get("batch", 0)),
                   status=str(data.get("status", "ok")), error=data.get("error"),
                   warmup_steps=int(data.get("warmup_steps", 0)), times=times)


@dataclass(frozen=True)
class GroupRatio:
    """A member's throughput over the baseline's: the estimate, its interval (None: too few
    rounds) and how many rounds paired them; None ratio: no round did."""

    member: int
    case_id: str
    name: str
    throughput_ratio: float | None
    ci_low: float | None
    ci_high: float | None
    rounds: int
    rounds_disturbed: int = 0
    ratio_all_rounds: float | None = None
    ci_low_all_rounds: float | None = None
    ci_high_all_rounds: float | None = None
    process_ratios: tuple[float, ...] = ()
    within_sd: float | None = None
    between_sd: float | None = None
    within_ci_low: float | None = None
    within_ci_high: float | None = None
    build_ratios: tuple[float, ...] = ()
    between_build_sd: float | None = None

    @property
    def half_width(self) -> float | None:
        if self.ci_low is None or self.ci_high is None:
            return None
        return (self.ci_high - self.ci_low) / 2.0

    def to_dict(self) -> dict[str, Any]:
        return {"member": self.member, "case_id": self.case_id, "name": self.name,
                "throughput_ratio": self.throughput_ratio, "ci_low": self.ci_low,
                "ci_high": self.ci_high, "half_width": self.half_width,
                "rounds": self.rounds, "rounds_disturbed": self.rounds_disturbed,
                "ratio_all_rounds": self.ratio_all_rounds,
                "ci_low_all_rounds": self.ci_low_all_rounds,
                "ci_high_all_rounds": self.ci_high_all_rounds,
                "process_ratios": list(self.process_ratios),
                "within_sd": self.within_sd, "between_sd": self.between_sd,
                "within_ci_low": self.within_ci_low, "within_ci_high": self.within_ci_high,
                "build_ratios": list(self.build_ratios),
                "between_build_sd": self.between_build_sd}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GroupRatio:
        def number(key: str) -> float | None:
            value = data.get(key)
            return None if value is None else float(value)

        return cls(member=int(data["member"]), case_id=str(data.get("case_id", "")),
                   name=str(data.get("name", "")), throughput_ratio=number("throughput_ratio"),
                   ci_low=number("ci_low"), ci_high=number("ci_high"),
                   rounds=int(data.get("rounds", 0)),
                   rounds_disturbed=int(data.get("rounds_disturbed") or 0),
                   ratio_all_rounds=number("ratio_all_rounds"),
                   ci_low_all_rounds=number("ci_low_all_rounds"),
                   ci_high_all_rounds=number("ci_high_all_rounds"),
                   process_ratios=tuple(float(r) for r in data.get("process_ratios") or []),
                   within_sd=number("within_sd"), between_sd=number("between_sd"),
                   within_ci_low=number("within_ci_low"),
                   within_ci_high=number("within_ci_high"),
                   build_ratios=tuple(float(r) for r in data.get("build_ratios") or []),
                   between_build_sd=number("between_build_sd"))


@dataclass(frozen=True)
class ProcessRun:
    """What one worker process of a group did: its rounds, block size, seed, why it stopped,
    its warm-up and rounds seconds, and its status (``error``: it died; its message)."""

    process: int
    rounds: int = 0
    steps_per_round: int = 0
    seed: int | None = None
    stopped: str = ""
    warmup_s: float = 0.0
    rounds_s: float = 0.0
    status: str = "ok"
    error: str | None = None
    builds: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {"process": self.process, "rounds": self.rounds, "builds": self.builds,
                "steps_per_round": self.steps_per_round, "seed": self.seed,
                "stopped": self.stopped, "warmup_s": self.warmup_s, "rounds_s": self.rounds_s,
                "status": self.status, "error": self.error}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProcessRun:
        seed = data.get("seed")
        return cls(process=int(data["process"]), rounds=int(data.get("rounds", 0)),
                   steps_per_round=int(data.get("steps_per_round", 0)),
                   seed=None if seed is None else int(seed),
                   stopped=str(data.get("stopped", "")),
                   warmup_s=float(data.get("warmup_s", 0.0)),
                   rounds_s=float(data.get("rounds_s", 0.0)),
                   status=str(data.get("status", "ok")), error=data.get("error"),
                   builds=int(data.get("builds", 1)))


@dataclass(frozen=True)
class GroupResult:
    """One comparison group (see the module doc). ``settings`` are the rounds engine's
    (:class:`~profiler.rounds.PairingSettings` as a dict); ``index`` is the suite
    position of its first member (None outside a suite); ``memory_s`` the seconds spent on
    peak memory (guard and measurement), which only a group's first process spends."""

    group_id: str
    kind: GroupKind = "comparison"
    status: str = "ok"
    error: str | None = None
    members: tuple[GroupMember, ...] = ()
    baseline: int = 0
    ratios: tuple[GroupRatio, ...] = ()
    method: str = ""
    confidence: float = 0.0
    settings: Mapping[str, Any] = field(default_factory=dict)
    seed: int | None = None
    steps_per_round: int = 0
    orders: tuple[tuple[int, ...], ...] = ()
    stopped: str = ""
    index: int | None = None
    started_utc: str = ""
    duration_s: float = 0.0
    warmup_s: float = 0.0
    rounds_s: float = 0.0
    memory_s: float = 0.0
    min_detectable_slowdown: float | None = None
    telemetry: tuple[RoundTelemetry, ...] = ()
    telemetry_absent: tuple[str, ...] = ()
    processes: int = 1
    round_process: tuple[int, ...] = ()
    process_runs: tuple[ProcessRun, ...] = ()
    interval_method: str = ""
    between_prior_sd: float | None = None
    between_prior_df: float | None = None
    between_prior_source: str = ""
    round_build: tuple[int, ...] = ()

    @property
    def rounds(self) -> int:
        return len(self.orders)

    @property
    def round_unit(self) -> tuple[int, ...]:
        """Per round, its build as one index over the group (0, 1, ...: the (process, build)
        that ran it, in order of first appearance); the process in files without builds."""
        processes = self.round_process or tuple(0 for _ in self.orders)
        builds = self.round_build or tuple(0 for _ in processes)
        units: dict[tuple[int, int], int] = {}
        return tuple(units.setdefault(key, len(units)) for key in zip(processes, builds,
                                                                       strict=True))

    def process_of_round(self, round_index: int) -> int:
        """The process that ran round ``round_index`` (0 in files without process tags)."""
        return self.round_process[round_index] if self.round_process else 0

    @property
    def disturbed(self) -> tuple[bool, ...]:
        """Per round, whether it was disturbed (no telemetry: none was)."""
        return disturbed_mask(self.telemetry, self.rounds)

    @property
    def disturbed_rounds(self) -> int:
        return sum(self.disturbed)

    @property
    def mostly_disturbed(self) -> bool:
        return mostly_disturbed(self.disturbed)

    @property
    def case_ids(self) -> tuple[str, ...]:
        return tuple(m.case_id for m in self.members)

    def member_index(self, case_id: str) -> int | None:
        return next((i for i, m in enumerate(self.members) if m.case_id == case_id), None)

    def ratio_for(self, case_id: str) -> GroupRatio | None:
        return next((r for r in self.ratios if r.case_id == case_id), None)

    def to_dict(self) -> dict[str, Any]:
        return {"group_id": self.group_id, "kind": self.kind, "index": self.index,
                "status": self.status, "error": self.error, "baseline": self.baseline,
                "members": [m.to_dict() for m in self.members],
                "ratios": [r.to_dict() for r in self.ratios],
                "method": self.method, "confidence": self.confidence,
                "settings": dict(self.settings), "seed": self.seed,
                "steps_per_round": self.steps_per_round, "rounds": self.rounds,
                "orders": [list(o) for o in self.orders], "stopped": self.stopped,
                "started_utc": self.started_utc, "duration_s": self.duration_s,
                "warmup_s": self.warmup_s, "rounds_s": self.rounds_s, "memory_s": self.memory_s,
                "min_detectable_slowdown": self.min_detectable_slowdown,
                "telemetry": [t.to_dict() for t in self.telemetry],
                "telemetry_absent": list(self.telemetry_absent),
                "disturbed_rounds": self.disturbed_rounds,
                "mostly_disturbed": self.mostly_disturbed,
                "processes": self.processes, "round_process": list(self.round_process),
                "process_runs": [p.to_dict() for p in self.process_runs],
                "interval_method": self.interval_method,
                "between_prior_sd": self.between_prior_sd,
                "between_prior_df": self.between_prior_df,
                "between_prior_source": self.between_prior_source,
                "round_build": list(self.round_build)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GroupResult:
        kind = data.get("kind", "comparison")
        if kind not in GROUP_KINDS:
            raise ValueError(f"group of unknown kind {kind!r}; valid: {', '.join(GROUP_KINDS)}")
        status = str(data.get("status", "ok"))
        if status not in GROUP_STATUSES:
            raise ValueError(f"group of unknown status {status!r}; valid: "
                             f"{', '.join(GROUP_STATUSES)}")
        index, detectable = data.get("index"), data.get("min_detectable_slowdown")
        return cls(
            group_id=str(data["group_id"]), kind=kind, status=status, error=data.get("error"),
            members=tuple(GroupMember.from_dict(m) for m in data.get("members") or []),
            baseline=int(data.get("baseline", 0)),
            ratios=tuple(GroupRatio.from_dict(r) for r in data.get("ratios") or []),
            method=str(data.get("method", "")),
            confidence=float(data.get("confidence", 0.0)),
            settings=dict(data.get("settings") or {}), seed=data.get("seed"),
            steps_per_round=int(data.get("steps_per_round", 0)),
            orders=tuple(tuple(int(i) for i in o) for o in data.get("orders") or []),
            stopped=str(data.get("stopped", "")),
            index=None if index is None else int(index),
            started_utc=str(data.get("started_utc", "")),
            duration_s=float(data.get("duration_s", 0.0)),
            warmup_s=float(data.get("warmup_s", 0.0)), rounds_s=float(data.get("rounds_s", 0.0)),
            memory_s=float(data.get("memory_s", 0.0)),
            min_detectable_slowdown=None if detectable is None else float(detectable),
            telemetry=tuple(RoundTelemetry.from_dict(t) for t in data.get("telemetry") or []),
            telemetry_absent=tuple(str(a) for a in data.get("telemetry_absent") or ()),
            processes=int(data.get("processes", 1)),
            round_process=tuple(int(p) for p in data.get("round_process") or []),
            process_runs=tuple(ProcessRun.from_dict(p) for p in data.get("process_runs") or []),
            interval_method=str(data.get("interval_method", "")),
            between_prior_sd=_optional(data.get("between_prior_sd")),
            between_prior_df=_optional(data.get("between_prior_df")),
            between_prior_source=str(data.get("between_prior_source", "")),
            round_build=tuple(int(b) for b in data.get("round_build") or []))


def _optional(value: Any) -> float | None:
    return None if value is None else float(value)
