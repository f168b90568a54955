"""A fake ``run_group`` for runner and CLI tests: the real rounds engine on replayed samples.

:class:`FakeGroups` stands in for :func:`profiler.suites.runner.measure_planned_group` the way
the tests' fake ``measure`` stands in for the harnesses: it asks ``measure(spec)`` for each
member's result (raising there makes that member fail, KeyboardInterrupt stops the run),
then runs the real rounds engine on members that replay those results' samples one step per
round, and builds the group's record with the real :func:`group_record`.
"""

from __future__ import annotations

from collections.abc import Callable

from profiler.measure.timing.group import GroupMeasurement, group_record
from profiler.plan.budget import GroupBudget
from profiler.results.bench import BenchResult
from profiler.results.count import CountResult
from profiler.results.envelope import CaseRecord, utc_now
from profiler.rounds import PairingSettings, run_rounds
from profiler.spec import BenchSpec, CountSpec
from profiler.suites.runner import PlannedGroup, budget_settings

__all__ = ["FakeGroups", "ReplayMember"]

Measure = Callable[[CountSpec | BenchSpec], CountResult | BenchResult]
STARTED = "2026-01-01T00:00:00Z"


class ReplayMember:
    """Steps whose times cycle through ``samples``; fails every block with ``failure``."""

    def __init__(self, name: str, batch: int, samples: list[float],
                 failure: Exception | None = None) -> None:
        self.name, self.batch = name, batch
        self.samples = samples or [1.0]
        self.failure = failure
        self.position = 0

    def _next(self) -> float:
        value = self.samples[self.position % len(self.samples)]
        self.position += 1
        return value

    def warm_up(self) -> list[float]:
        if self.failure is not None:
            raise self.failure
        return [self._next()]

    def time_block(self, steps: int) -> list[float]:
        return [self._next() for _ in range(steps)]


class FakeGroups:
    """A ``run_group``: ``measure`` per member, the real engine over replayed samples."""

    def __init__(self, measure: Measure) -> None:
        self.measure = measure
        self.groups: list[PlannedGroup] = []
        self.budgets: list[GroupBudget | None] = []

    def __call__(self, group: PlannedGroup, settings: PairingSettings,
                 time_left: float | None, memory_limit: int | None = None,
                 budget: GroupBudget | None = None) -> GroupMeasurement:
        self.groups.append(group)
        self.budgets.append(budget)
        if budget is not None:
            settings = budget_settings(settings, budget)
        specs = group.specs
        members, results = [], []
        for spec in specs:
            try:
                result = self.measure(spec)
            except Exception as exc:
                members.append(ReplayMember(spec.workload.label, spec.batch, [], exc))
                results.append(None)
                continue
            assert isinstance(result, BenchResult)
            members.append(ReplayMember(spec.workload.label, spec.batch, list(result.samples)))
            results.append(result)
        clock = [0.0]
        # replayed samples: no machine to watch, and two fake runs must give equal records
        quick = PairingSettings(block_time=0.0, min_rounds=settings.min_rounds,
                                max_rounds=max(settings.min_rounds, 12), group_time=1e9,
                                telemetry=False)
        outcome = run_rounds(members, quick, baseline=group.baseline, seed=0,
                             now=lambda: clock[0])
        names = [s.workload.label for s in specs]
        # a fixed start: two fake runs straddling a second must still give equal records
        record = group_record(outcome, specs, names, "comparison", group.index, STARTED, 0.01)
        records = []
        for spec, result, part in zip(specs, results, outcome.members, strict=True):
            if result is None:
                records.append(CaseRecord(spec=spec, status="error", error=part.error,
                                          group_id=record.group_id))
            else:
                records.append(CaseRecord(spec=spec, status="ok", result=result,
                                          started_utc=utc_now(), duration_s=0.01,
                                          group_id=record.group_id))
        return GroupMeasurement(record, tuple(records))

