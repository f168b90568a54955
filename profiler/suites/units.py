"""A run's units: a case alone, or a comparison group of cases timed together (plain data).

:mod:`profiler.suites.runner` forms and runs them; :mod:`profiler.suites.schedule` costs them
for the planner.
"""

from __future__ import annotations

from dataclasses import dataclass

from profiler.results.group import group_id
from profiler.spec import BenchSpec
from profiler.suites.expand import Spec

__all__ = ["PlannedCase", "PlannedGroup", "Unit"]


@dataclass(frozen=True)
class PlannedCase:
    """A case to run and its position in the whole (unsharded) suite."""

    index: int
    spec: Spec


@dataclass(frozen=True)
class PlannedGroup:
    """Cases timed together in interleaved rounds; ``baseline`` indexes ``members``."""

    members: tuple[PlannedCase, ...]
    baseline: int = 0

    @property
    def index(self) -> int:
        return self.members[0].index

    @property
    def specs(self) -> tuple[BenchSpec, ...]:
        return tuple(m.spec for m in self.members if isinstance(m.spec, BenchSpec))

    @property
    def group_id(self) -> str:
        return group_id("comparison", [m.spec.case_id for m in self.members], self.baseline)


Unit = PlannedCase | PlannedGroup
