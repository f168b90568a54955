"""Drive a gate: both sides' workers, the suite's cases paired, counted and timed in rounds.

:func:`run_gate` does, in order:

1. start one worker per side (:class:`~profiler.gate.side.WorkerProcess`) and have each load
   and expand the suite file with its own code; a side that cannot start or load the suite is
   bad input (:class:`~profiler.errors.InvalidOptionError`, exit 2);
2. pair the two sides' cases by case id, then by label (a spec field added on one side
   changes the id, not the label); cases on one side only are listed, not compared;
3. count every count case on both sides and compare the exact metrics under the rules in
   force (``compare``'s rules: by default any change);
4. time every timing case: build and warm it up on both sides, then run both as one paired
   group (:func:`time_pair`: rounds that alternate which side goes first) within this case's
   share of the remaining time budget, and decide on the head/base throughput ratio's
   interval (:mod:`profiler.gate.decision`); a regression or an improvement is timed once
   more with both workers started afresh, and decided again on both attempts' rounds pooled
   (:func:`profiler.gate.pairing.confirm`).

A side that fails or crashes on a case is recorded with its one-line error for that case; a
crashed worker is started again (and the suite reloaded) for the next case.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from profiler.compare.judge import judge
from profiler.compare.measurements import MetricValue
from profiler.compare.rules import Rule
from profiler.errors import InvalidOptionError
from profiler.gate.pairing import (
    TARGET_SHARE,
    confirm,
    gate_settings,
    needs_confirmation,
    time_pair,
    timing_case,
)
from profiler.gate.side import (
    LOAD_TIMEOUT_S,
    Side,
    WorkerError,
    WorkerMember,
    WorkerProcess,
    worker_command,
)
from profiler.gate.worker import COUNT_METRICS
from profiler.output.display import ratio_with_interval
from profiler.results.gate import CountCase, GateResult, MetricRow, SideInfo, TimingCase
from profiler.rounds import PairingSettings

__all__ = [
    "DEFAULT_MAX_MINUTES",
    "TARGET_SHARE",
    "CasePair",
    "GateOptions",
    "describe_timing",
    "pair_cases",
    "run_gate",
]

DEFAULT_MAX_MINUTES = 5.0
# Per-case timing budget never below this (seconds), even when the total budget is spent.
MIN_CASE_SECONDS = 4.0

Say = Callable[[str], None]


def _silent(text: str) -> None:
    return None


@dataclass(frozen=True)
class GateOptions:
    """How to gate: the suite file, its device (None: the suite's), the throughput limit
    (0.05 = head may be 5% slower), the exact-metric rules, the wall-clock budget and the
    interval half-width at which rounds stop early (None: ``TARGET_SHARE * limit``)."""

    suite_path: Path
    device: str | None = None
    limit: float = 0.05
    rules: tuple[Rule, ...] = ()
    max_minutes: float = DEFAULT_MAX_MINUTES
    target_half_width: float | None = None
    python: str = sys.executable

    @property
    def target(self) -> float:
        if self.target_half_width is not None:
            return self.target_half_width
        return TARGET_SHARE * self.limit


@dataclass(frozen=True)
class CasePair:
    """The same case on both sides (``kind``, ``label`` from the head)."""

    base: dict[str, Any]
    head: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.head["kind"])

    @property
    def label(self) -> str:
        return str(self.head["label"])


def pair_cases(base: Sequence[dict[str, Any]], head: Sequence[dict[str, Any]]
               ) -> tuple[list[CasePair], list[str], list[str]]:
    """Pairs in the head's order (by id, then label), then labels found on one side only."""
    by_id = {c["id"]: c for c in base}
    by_label = {(c["kind"], c["label"]): c for c in base}
    pairs: list[CasePair] = []
    used: set[str] = set()
    only_head: list[str] = []
    for case in head:
        partner = by_id.get(case["id"]) or by_label.get((case["kind"], case["label"]))
        if partner is None or partner["id"] in used:
            only_head.append(case["label"])
            continue
        used.add(partner["id"])
        pairs.append(CasePair(partner, case))
    only_base = [c["label"] for c in base if c["id"] not in used]
    return pairs, only_base, only_head


class _SideRunner:
    """One side's worker, started again (suite reloaded) after a crash."""

    def __init__(self, side: Side, options: GateOptions) -> None:
        self.side = side
        self.options = options
        self.process: WorkerProcess | None = None
        self.suite: dict[str, Any] = {}

    def begin(self) -> None:
        """Start the worker and send ``hello`` and ``suite`` (:meth:`finish` reads them)."""
        self.process = WorkerProcess(self.side, python=self.options.python)
        self.process.spawn()
        self.process.send("suite", path=str(self.options.suite_path),
                          device=self.options.device)

    def finish(self) -> dict[str, Any]:
        assert self.process is not None
        self.process.handshake()
        self.suite = self.process.receive("suite", timeout=LOAD_TIMEOUT_S)
        return self.suite

    def _start(self) -> WorkerProcess:
        try:
            self.begin()
            self.finish()
        except BaseException:
            self.close()
            raise
        assert self.process is not None
        return self.process

    def open(self) -> dict[str, Any]:
        """:meth:`finish` what :meth:`begin` started; bad input (exit 2) when the worker does
        not start or the suite does not load."""
        try:
            return self.finish()
        except WorkerError as exc:
            raise InvalidOptionError(f"suite {self.options.suite_path.name} does not load on "
                                     f"{self.side.title}: {exc}") from None

    def ensure(self) -> WorkerProcess:
        """The running worker, started again if it died."""
        if self.process is not None and self.process.alive:
            return self.process
        if self.process is not None:
            self.process.close()
            self.process = None
        return self._start()

    def begin_close(self) -> None:
        if self.process is not None:
            self.process.begin_close()

    def close(self) -> None:
        if self.process is not None:
            self.process.close()
            self.process = None

    def info(self) -> SideInfo:
        hello = {} if self.process is None else self.process.hello
        command = "module" if "-m" in worker_command(self.side.tree) else "file"
        return SideInfo(name=self.side.name, ref=self.side.ref, tree=str(self.side.tree),
                        commit=self.side.commit, worker=command, python=hello.get("python"),
                        torch=hello.get("torch"), tool_version=hello.get("tool_version"),
                        profiler=hello.get("profiler"), environment=hello.get("environment"))


def _count_case(pair: CasePair, base: _SideRunner, head: _SideRunner,
                rules: Sequence[Rule]) -> CountCase:
    metrics: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    for runner, case in ((base, pair.base), (head, pair.head)):
        try:
            reply = runner.ensure().request("count", timeout=LOAD_TIMEOUT_S, case=case["id"])
            metrics[runner.side.name] = reply["metrics"]
        except WorkerError as exc:
            errors[runner.side.name] = str(exc)
    rows: list[MetricRow] = []
    if not errors:
        for rule in rules:
            if rule.metric not in COUNT_METRICS:
                continue
            old, new = metrics["base"].get(rule.metric), metrics["head"].get(rule.metric)
            if old is None or new is None:
                continue
            outcome, _ = judge(rule, MetricValue(float(old)), MetricValue(float(new)))
            rows.append(MetricRow(rule.metric, float(old), float(new), rule.describe(),
                                  outcome == "regression"))
    return CountCase(case_id=pair.head["id"], label=pair.label, metrics=tuple(rows),
                     base_error=errors.get("base"), head_error=errors.get("head"))


def _timing_case(pair: CasePair, base: _SideRunner, head: _SideRunner, options: GateOptions,
                 seconds: float) -> TimingCase:
    """Warm up and time ``pair`` on both sides as one group, then decide."""
    try:
        members = [WorkerMember(runner.side.name, int(case["batch"]), runner.ensure(),
                                case["id"], str(runner.suite.get("device") or ""))
                   for runner, case in ((base, pair.base), (head, pair.head))]
    except WorkerError as exc:  # a worker that crashed earlier did not start again
        return TimingCase(case_id=pair.head["id"], label=pair.label, decision="error",
                          error=f"{exc.side}: {exc}")
    pairing = head.suite.get("pairing")
    suite = None if not pairing else PairingSettings.from_dict(pairing)
    outcome = time_pair(members, gate_settings(seconds, options.target, suite))
    return timing_case(pair.head["id"], pair.label, outcome, options.limit)


def _restart(runners: Sequence[_SideRunner]) -> None:
    """Both workers started afresh, at the same time (the suite reloaded in each)."""
    for runner in runners:
        runner.close()
    for runner in runners:
        runner.begin()
    for runner in runners:
        runner.finish()


def _timed_afresh(pair: CasePair, base: _SideRunner, head: _SideRunner, options: GateOptions,
                  seconds: float) -> TimingCase:
    """``pair`` timed again in new worker processes (an error case if they do not start)."""
    try:
        _restart((base, head))
    except WorkerError as exc:
        return TimingCase(case_id=pair.head["id"], label=pair.label, decision="error",
                          error=f"{exc.side}: {exc}")
    return _timing_case(pair, base, head, options, seconds)


def _case_budget(deadline: float, now: float, remaining: int, load_s: float) -> float:
    """This case's share of the time left, after the loads still to come."""
    left = deadline - now - load_s * remaining
    return max(MIN_CASE_SECONDS, left / max(1, remaining))


def describe_timing(case: TimingCase) -> str:
    """One progress line for a timed case."""
    if case.decision == "error":
        return f"error        {case.label}: {case.error}"
    attempts = f"{len(case.attempts)} attempts, {case.confirmation}, " if case.attempts else ""
    ratio = ratio_with_interval(case.ratio, case.ci_low, case.ci_high)
    return (f"{case.decision:<12} {case.label}: {ratio} ({attempts}{case.rounds} rounds, "
            f"{case.seconds:.1f} s)")


def run_gate(head: Side, base: Side, options: GateOptions, *, say: Say = _silent,
             clock: Callable[[], float] = time.monotonic) -> GateResult:
    """Gate ``head`` against ``base`` (see the module doc); raises bad input before timing."""
    from profiler.provenance import tool_version
    from profiler.results.envelope import utc_now

    started, created = clock(), utc_now()
    deadline = started + 60.0 * options.max_minutes
    runners = {"base": _SideRunner(base, options), "head": _SideRunner(head, options)}
    try:
        for runner in runners.values():  # both import torch at the same time
            try:
                runner.begin()
            except WorkerError as exc:
                raise InvalidOptionError(f"cannot start the {runner.side.title} worker: "
                                         f"{exc}") from None
        for runner in runners.values():
            suite = runner.open()
            say(f"{runner.side.title}: suite {suite['name']} on {suite['device']}, "
                f"{len(suite['cases'])} cases")
        b, h = runners["base"], runners["head"]
        pairs, only_base, only_head = pair_cases(b.suite["cases"], h.suite["cases"])
        if not pairs:
            raise InvalidOptionError(f"the two sides of suite {h.suite['name']} have no case in "
                                     "common (matched by case id, then by label)")
        counts = []
        for pair in (p for p in pairs if p.kind == "count"):
            counts.append(_count_case(pair, b, h, options.rules))
            changed = counts[-1].changed
            state = "CHANGED" if changed else ("error" if counts[-1].base_error
                                               or counts[-1].head_error else "same")
            say(f"{state:<12} {pair.label}")
        timings: list[TimingCase] = []
        timed = [p for p in pairs if p.kind == "bench"]
        load_s = 0.0
        for index, pair in enumerate(timed):
            before = clock()
            budget = _case_budget(deadline, before, len(timed) - index, load_s)
            case = _timing_case(pair, b, h, options, budget)
            load_s = max(0.0, clock() - before - case.seconds)
            if needs_confirmation(case):
                say(f"[{index + 1}/{len(timed)}] {describe_timing(case)}: measuring again "
                    "in fresh worker processes")
                again = _case_budget(deadline, clock(), len(timed) - index, load_s)
                case = confirm(case, partial(_timed_afresh, pair, b, h, options, again),
                               options.limit)
            timings.append(case)
            say(f"[{index + 1}/{len(timed)}] {describe_timing(case)}")
        return GateResult(
            suite=str(h.suite["name"]), suite_path=str(options.suite_path),
            device=str(h.suite["device"]), limit=options.limit, base=b.info(), head=h.info(),
            rules=tuple(r.text for r in options.rules), timing=tuple(timings),
            counts=tuple(counts), only_base=tuple(only_base), only_head=tuple(only_head),
            not_gated=tuple(p.label for p in pairs if p.kind not in ("count", "bench")),
            max_minutes=options.max_minutes, elapsed_s=clock() - started,
            tool_version=tool_version(), created_utc=created)
    finally:
        for runner in runners.values():
            runner.begin_close()
        for runner in runners.values():
            runner.close()

