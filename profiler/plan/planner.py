"""Split a run's time budget across its units, worker processes and rounds (torch-free).

The rule, in order (:func:`plan_units`):

1. **A reserve** is set aside so that the cap is not overshot: :attr:`PlannerSettings.
   reserve_fraction` of the budget, at least ``min_reserve_s`` (estimates are rough, and
   writing the report comes after the last unit).
2. **Every unit's minimum first**, in run order: a count or breakdown costs what it costs; a
   comparison group's minimum is one worker process with the minimum rounds (build, warm-up,
   ``min_rounds`` rounds, peak memory). A unit is skipped only when its minimum does not fit
   in what the units before it left; the plan then names the budget that would fit every
   unit's minimum (:attr:`UnitPlan.needs_s`). A slower machine thus gets fewer rounds and
   fewer processes, never fewer cases, until even the minima do not fit. During the run a
   group may overrun its share only so far that every later unit keeps ``margin`` times its
   minimum (:func:`group_allowance`): a run slower than estimated loses rounds, not cases.
3. **More processes** next, up to ``target_processes`` per group (the cheapest extra process
   first, one level at a time for all groups): between-process variance dominates a ratio's
   error on a CPU (README, issue 19: intervals from one process are too sure of themselves),
   so a second and third process are worth more than rounds in the first. Each process runs
   at least ``min_rounds_per_process`` rounds, and all of them together at least the suite's
   ``min_rounds``.
4. **More rounds**, up to ``target_rounds_per_process``: what is left is shared so that
   every group gets the same number of extra rounds per process (water-filling), each up to
   that target (and its ``max_rounds`` per process).
5. **More processes again**, up to ``max_processes``, one level at a time as in 3: past a few
   rounds, a process buys more than rounds in the ones there are. Kalibera & Jones's optimum
   rounds per process, ``sqrt(process cost / round cost x within variance / between
   variance)``, is 3-4 for ResNet-50 on the README's CPU (a process, its start and first
   warmed-up build, costs ~4 rounds; a round's ratio spreads 5%, processes' 2.5%).
6. **More rounds again**, water-filled up to each group's ``max_rounds`` per process.

Without a budget (``budget_s`` None) a group gets ``target_processes`` and its rounds cap.

The planned time of a group is a ceiling (``seconds_per_process`` of rounds per worker): the
rounds engine stops earlier when every ratio has converged. A group planned in several
processes caps each at its planned rounds, so that quicker rounds than estimated leave time
for the planned processes rather than adding rounds to the first (the time saved goes to the
later units when the rest is replanned); one planned in a single process may run up to its
``max_rounds`` within its time. During the run
:func:`replan` plans what remains with the time left, with the estimates scaled by what the
finished units really took, so that a machine slower than estimated loses rounds in the later
groups rather than cases, and one faster than estimated gives them more.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from profiler.plan.budget import GroupBudget
from profiler.plan.costs import CaseCost, GroupCost, MachineProbe

__all__ = [
    "PlannerSettings",
    "RunSchedule",
    "UnitPlan",
    "UnitWork",
    "correction",
    "corrections",
    "group_allowance",
    "group_scale_key",
    "plan_units",
    "replan",
]


@dataclass(frozen=True)
class PlannerSettings:
    """The planner's rules (documented defaults, not tuned on one machine's timings).

    ``margin``: a group may use at most what leaves every later unit ``margin`` times its
    estimated minimum, so that an estimate that is off by that much costs rounds, not cases.
    """

    reserve_fraction: float = 0.05
    min_reserve_s: float = 15.0
    margin: float = 1.5
    target_processes: int = 3
    max_processes: int = 10
    min_rounds_per_process: int = 4
    target_rounds_per_process: int = 6

    def reserve(self, budget_s: float | None) -> float:
        if budget_s is None:
            return 0.0
        return min(budget_s, max(self.min_reserve_s, self.reserve_fraction * budget_s))

    def budget_for(self, spend_s: float) -> float:
        """The smallest budget whose reserve leaves ``spend_s`` seconds to spend."""
        return max(spend_s + self.min_reserve_s, spend_s / (1.0 - self.reserve_fraction))


def group_scale_key(mode: str) -> str:
    """The correction key of a comparison group of ``mode`` (:func:`corrections`):
    ``group:train``, ``group:infer``; ``group`` when the mode is unknown."""
    return f"group:{mode}" if mode else "group"


@dataclass(frozen=True)
class UnitWork:
    """One unit to plan: a case alone (``cost`` a :class:`CaseCost`) or a comparison group
    (a :class:`GroupCost`); ``key`` is its case id or group id."""

    key: str
    label: str
    cost: CaseCost | GroupCost
    cases: int = 1

    @property
    def kind(self) -> str:
        return "group" if isinstance(self.cost, GroupCost) else self.cost.kind

    @property
    def scale_key(self) -> str:
        """Which correction scales this unit's estimate (:func:`corrections`): its kind, for a
        group with its mode (``group:train``, ``group:infer``)."""
        cost = self.cost
        return group_scale_key(cost.mode) if isinstance(cost, GroupCost) else self.kind

    @property
    def minimum_s(self) -> float:
        """A group's minimum (one process, the minimum rounds); a case's cost."""
        cost = self.cost
        return cost.minimum_s if isinstance(cost, GroupCost) else cost.seconds


@dataclass(frozen=True)
class UnitPlan:
    """What the plan gives one unit. Groups: ``budget`` (processes, rounds) and the rounds
    per process the estimate affords; skipped units: ``needs_s``, the run budget (seconds)
    that would fit every unit's minimum. ``actual_s`` is filled in after the unit ran."""

    key: str
    label: str
    kind: str
    cases: int
    estimated_s: float
    budget: GroupBudget | None = None
    rounds_per_process: int = 0
    skipped: bool = False
    needs_s: float | None = None
    actual_s: float | None = None
    scale_key: str = ""

    def to_dict(self) -> dict[str, Any]:
        budget = self.budget
        return {"key": self.key, "label": self.label, "kind": self.kind, "cases": self.cases,
                "estimated_s": round(self.estimated_s, 3),
                "processes": None if budget is None else budget.processes,
                "rounds_per_process": self.rounds_per_process or None,
                "seconds_per_process": None if budget is None
                else round(budget.seconds_per_process, 3),
                "min_rounds_per_process": None if budget is None
                else budget.min_rounds_per_process,
                "max_rounds_per_process": None if budget is None
                else budget.max_rounds_per_process,
                "measure_memory": None if budget is None else budget.measure_memory,
                "rounds_per_build": None if budget is None else budget.rounds_per_build,
                "skipped": self.skipped,
                "needs_s": None if self.needs_s is None else round(self.needs_s, 1),
                "actual_s": None if self.actual_s is None else round(self.actual_s, 3)}


@dataclass(frozen=True)
class RunSchedule:
    """A run's plan: per unit what it gets and its estimate; ``budget_s`` None = no limit."""

    budget_s: float | None
    reserve_s: float
    units: tuple[UnitPlan, ...]
    probe: MachineProbe | None = None
    scale: float = 1.0

    @property
    def estimated_s(self) -> float:
        return sum(u.estimated_s for u in self.units if not u.skipped)

    @property
    def skipped(self) -> tuple[UnitPlan, ...]:
        return tuple(u for u in self.units if u.skipped)

    def unit(self, key: str) -> UnitPlan | None:
        return next((u for u in self.units if u.key == key), None)

    def with_units(self, units: Sequence[UnitPlan]) -> RunSchedule:
        """This schedule with ``units`` replacing those of the same key."""
        new = {u.key: u for u in units}
        return replace(self, units=tuple(new.get(u.key, u) for u in self.units))

    def to_dict(self) -> dict[str, Any]:
        actual = [u.actual_s for u in self.units if u.actual_s is not None]
        return {"budget_s": self.budget_s, "reserve_s": round(self.reserve_s, 3),
                "estimated_s": round(self.estimated_s, 3),
                "actual_s": round(sum(actual), 3) if actual else None,
                "scale": round(self.scale, 4),
                "probe": None if self.probe is None else self.probe.to_dict(),
                "units": [u.to_dict() for u in self.units]}


def _min_rounds(cost: GroupCost, processes: int, settings: PlannerSettings) -> int:
    """Rounds per process: at least the planner's minimum, all processes at least the group's."""
    if processes == 1:
        return cost.min_rounds
    per = max(settings.min_rounds_per_process, math.ceil(cost.min_rounds / processes))
    return min(per, cost.max_rounds)


def _group_seconds(cost: GroupCost, processes: int, extra: float,
                   settings: PlannerSettings) -> float:
    return cost.seconds(processes, _min_rounds(cost, processes, settings)) + (
        processes * extra * cost.round_s)


def _add_processes(costs: Mapping[str, GroupCost], processes: dict[str, int], up_to: int,
                   left: float, settings: PlannerSettings, extra: Mapping[str, float]
                   ) -> float:
    """Raise groups to ``up_to`` processes, one level at a time, cheapest first, while it
    fits; returns the seconds left."""
    for level in range(2, up_to + 1):
        steps = []
        for key, cost in costs.items():
            if processes[key] == level - 1:
                more = (_group_seconds(cost, level, extra.get(key, 0.0), settings)
                        - _group_seconds(cost, level - 1, extra.get(key, 0.0), settings))
                steps.append((more, key))
        for more, key in sorted(steps):
            if more <= left:
                processes[key] = level
                left -= more
    return left


def _extra_rounds(costs: Mapping[str, GroupCost], processes: Mapping[str, int], left: float,
                  settings: PlannerSettings, up_to: int | None = None,
                  have: Mapping[str, float] | None = None) -> dict[str, float]:
    """Water-filling: the same number of extra rounds per process for every group, each up
    to ``up_to`` rounds per process (None: its ``max_rounds``), within ``left`` seconds, on
    top of the extra rounds it ``have`` already; returns the extra rounds in all."""
    have = have or {}
    caps = {k: max(0.0, min(c.max_rounds, up_to or c.max_rounds)
                   - _min_rounds(c, processes[k], settings) - have.get(k, 0.0))
            for k, c in costs.items()}
    rates = {k: processes[k] * c.round_s for k, c in costs.items()}
    extra = dict.fromkeys(costs, 0.0)
    open_ = {k for k in costs if caps[k] > 0 and rates[k] > 0}
    level = 0.0
    while open_ and left > 1e-9:
        rate = sum(rates[k] for k in open_)
        step = min(min(caps[k] for k in open_) - level, left / rate)
        level += step
        left -= step * rate
        for k in open_:
            extra[k] = level
        open_ = {k for k in open_ if caps[k] - level > 1e-9}
    for k in costs:
        if rates[k] <= 0:
            extra[k] = float(caps[k])
    return {k: have.get(k, 0.0) + extra[k] for k in costs}


def _used(costs: Mapping[str, GroupCost], processes: Mapping[str, int],
          extra: Mapping[str, float], settings: PlannerSettings) -> float:
    """Seconds of the groups' extra rounds beyond their minima."""
    return sum(_group_seconds(c, processes[k], extra[k], settings)
               - _group_seconds(c, processes[k], 0.0, settings) for k, c in costs.items())


def _group_plan(work: UnitWork, cost: GroupCost, processes: int, extra: float,
                settings: PlannerSettings) -> UnitPlan:
    low = _min_rounds(cost, processes, settings)
    rounds = min(cost.max_rounds, low + math.floor(extra + 1e-9))
    # with more processes to come, a process stops at its planned rounds: one that ran on
    # because its rounds were quicker than estimated would leave the next too little for its
    # start and first build, and the group would end with fewer processes than planned
    most = rounds if processes > 1 else cost.max_rounds
    budget = GroupBudget(processes=processes, seconds_per_process=rounds * cost.round_s,
                         min_rounds_per_process=low, max_rounds_per_process=most,
                         measure_memory=True, rounds_per_build=cost.rounds_per_build)
    return UnitPlan(work.key, work.label, "group", work.cases,
                    cost.seconds(processes, rounds), budget, rounds, scale_key=work.scale_key)


def _minimum(work: UnitWork) -> float:
    return work.minimum_s


def plan_units(works: Sequence[UnitWork], budget_s: float | None,
               settings: PlannerSettings | None = None, probe: MachineProbe | None = None,
               reserve_s: float | None = None, scale: float = 1.0) -> RunSchedule:
    """Plan ``works`` (in run order) within ``budget_s`` seconds (None: no limit); see the
    module doc. ``reserve_s`` overrides the settings' reserve (re-planning keeps the run's)."""
    settings = settings or PlannerSettings()
    reserve = settings.reserve(budget_s) if reserve_s is None else reserve_s
    left = math.inf if budget_s is None else budget_s - reserve
    kept: list[UnitWork] = []
    for work in works:
        if _minimum(work) <= left:
            kept.append(work)
            left -= _minimum(work)
    costs = {w.key: w.cost for w in kept if isinstance(w.cost, GroupCost)}
    processes = dict.fromkeys(costs, 1)
    unlimited = math.isinf(left)
    spend = 1e12 if unlimited else left
    spend = _add_processes(costs, processes, settings.target_processes, spend, settings, {})
    if unlimited:
        extra = _extra_rounds(costs, processes, spend, settings)
    else:
        extra = _extra_rounds(costs, processes, spend, settings,
                              up_to=settings.target_rounds_per_process)
        spend = _add_processes(costs, processes, settings.max_processes,
                               spend - _used(costs, processes, extra, settings), settings, extra)
        extra = _extra_rounds(costs, processes, spend, settings, have=extra)
    needed = settings.budget_for(sum(_minimum(w) for w in works))
    chosen = {w.key for w in kept}
    plans: list[UnitPlan] = []
    for work in works:
        if work.key not in chosen:
            plans.append(UnitPlan(work.key, work.label, work.kind, work.cases, _minimum(work),
                                  skipped=True, needs_s=needed, scale_key=work.scale_key))
        elif isinstance(work.cost, GroupCost):
            plans.append(_group_plan(work, work.cost, processes[work.key], extra[work.key],
                                     settings))
        else:
            plans.append(UnitPlan(work.key, work.label, work.kind, work.cases,
                                  work.cost.seconds, scale_key=work.scale_key))
    return RunSchedule(budget_s, reserve, tuple(plans), probe, scale)


def correction(done: Sequence[UnitPlan], low: float = 0.5, high: float = 4.0) -> float:
    """How much longer the finished units took than estimated (their total actual over their
    total estimate), bounded to [``low``, ``high``]; 1.0 before any unit finished."""
    pairs = [(u.estimated_s, u.actual_s) for u in done
             if u.actual_s is not None and not u.skipped and u.estimated_s > 0]
    if not pairs:
        return 1.0
    estimated = sum(e for e, _ in pairs)
    actual = sum(a for _, a in pairs)
    return min(high, max(low, actual / estimated))


def group_allowance(head: UnitWork, later: Sequence[UnitWork], left_s: float,
                    settings: PlannerSettings, reserve_s: float) -> float:
    """Seconds the unit ``head`` may use of ``left_s`` (its ``time_left``): all but the
    reserve and ``margin`` times the minima of the ``later`` units the plan keeps, never less
    than its own minimum while that fits."""
    room = left_s - reserve_s
    keep = settings.margin * sum(w.minimum_s for w in later)
    return max(0.0, min(room, max(head.minimum_s, room - keep)))


def corrections(done: Sequence[UnitPlan]) -> dict[str, float]:
    """:func:`correction` per kind of unit (``count``, ``breakdown``, ``bench``, and groups
    per mode: ``group:train``, ``group:infer``; ``group`` for groups of either), from the
    finished units of that kind (a training step's warm-up and rebuilds are not an inference
    step's, and a cost model off for one is not off for the other alike); a kind not seen yet
    gets the groups' correction (for a group) or the overall one, when that says slower (never
    less than 1: a count that ran fast says nothing about a group's warm-up)."""
    overall = max(1.0, correction(done))

    def key(unit: UnitPlan) -> str:
        return unit.scale_key or unit.kind

    found: dict[str, float] = {}
    for kind in ("count", "breakdown", "bench", "group"):
        seen = [u for u in done if u.kind == kind and u.actual_s is not None]
        found[kind] = correction(seen) if seen else overall
    for mode in ("train", "infer"):
        mode_key = group_scale_key(mode)
        seen = [u for u in done if key(u) == mode_key and u.actual_s is not None]
        found[mode_key] = correction(seen) if seen else max(found["group"], overall)
    return found


def replan(works: Sequence[UnitWork], time_left_s: float | None, reserve_s: float,
           settings: PlannerSettings | None = None, probe: MachineProbe | None = None,
           scale: float = 1.0) -> RunSchedule:
    """Plan the units still to run in the time left, keeping the run's reserve; ``works``
    carry costs already scaled by :func:`correction` (``scale`` is recorded with them)."""
    return plan_units(works, time_left_s, settings, probe, reserve_s=reserve_s, scale=scale)
