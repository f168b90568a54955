"""Cut a run's pending units into jobs.

The unit of a job is a whole comparison group (all its members timed together on one
machine: a group never spans two jobs), or a batch of lone cases: count cases in ``count_jobs``
batches of nearly equal size (count-only jobs, which the local executor may run in parallel),
and the other lone cases (breakdowns, cases timed alone) in batches of at most
``TIMING_BATCH`` cases. Jobs keep the suite's order of their first case; every unit is in
exactly one job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from profiler.suites.runner import PlannedCase, PlannedGroup, Unit, unit_id

__all__ = ["TIMING_BATCH", "Job", "make_jobs"]

TIMING_BATCH = 8


@dataclass(frozen=True)
class Job:
    """A job's units and cases; ``count_only`` jobs measure no time."""

    number: int
    units: tuple[Unit, ...]

    @property
    def unit_ids(self) -> tuple[str, ...]:
        return tuple(unit_id(u) for u in self.units)

    @property
    def cases(self) -> tuple[PlannedCase, ...]:
        return tuple(c for u in self.units
                     for c in (u.members if isinstance(u, PlannedGroup) else (u,)))

    @property
    def case_ids(self) -> tuple[str, ...]:
        return tuple(c.spec.case_id for c in self.cases)

    @property
    def count_only(self) -> bool:
        return all(c.spec.kind == "count" for c in self.cases)

    @property
    def first(self) -> int:
        return min(c.index for c in self.cases)

    @property
    def description(self) -> str:
        """``group of 3 (resnet18 ...)``, ``4 count cases``, ``2 cases``: for progress."""
        if len(self.units) == 1 and isinstance(self.units[0], PlannedGroup):
            group = self.units[0]
            return f"group of {len(group.members)}: {group.members[0].spec.label}"
        kind = "count cases" if self.count_only else "cases"
        return f"{len(self.cases)} {kind}" if len(self.cases) > 1 else self.cases[0].spec.label


def _batches(units: Sequence[Unit], count: int) -> list[tuple[Unit, ...]]:
    """``units`` in ``count`` consecutive batches of nearly equal size (none empty)."""
    count = max(1, min(count, len(units)))
    size, extra = divmod(len(units), count)
    batches, start = [], 0
    for k in range(count):
        end = start + size + (1 if k < extra else 0)
        batches.append(tuple(units[start:end]))
        start = end
    return [b for b in batches if b]


def make_jobs(units: Sequence[Unit], count_jobs: int = 1) -> tuple[Job, ...]:
    """Jobs for ``units`` (a run's pending units, in suite order); see the module docstring."""
    groups = [(u,) for u in units if isinstance(u, PlannedGroup)]
    counts = [u for u in units if isinstance(u, PlannedCase) and u.spec.kind == "count"]
    timed = [u for u in units if isinstance(u, PlannedCase) and u.spec.kind != "count"]
    found = [*groups, *(_batches(counts, count_jobs) if counts else []),
             *(tuple(timed[k:k + TIMING_BATCH]) for k in range(0, len(timed), TIMING_BATCH))]
    found.sort(key=lambda batch: Job(0, batch).first)
    return tuple(Job(number, batch) for number, batch in enumerate(found, start=1))
