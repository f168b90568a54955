"""A run's units as the planner sees them, and the plan's text (torch-free).

:func:`unit_works` turns a run's units (cases alone and comparison groups,
:mod:`profiler.suites.runner`) into :class:`~profiler.plan.planner.UnitWork` costed from a
:class:`~profiler.plan.costs.MachineProbe`; :func:`plan_lines` and :func:`actual_lines`
render a schedule before and after the run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from profiler.plan.costs import MachineProbe, case_cost, group_cost
from profiler.plan.planner import RunSchedule, UnitPlan, UnitWork, group_scale_key
from profiler.rounds import PairingSettings
from profiler.spec import BenchSpec, BreakdownSpec, CountSpec
from profiler.suites.units import PlannedCase, PlannedGroup, Unit

__all__ = ["actual_lines", "minutes", "plan_lines", "unit_key", "unit_works"]


def unit_key(unit: Unit) -> str:
    """A unit's key in a schedule: its group id, or its case id."""
    return unit.group_id if isinstance(unit, PlannedGroup) else unit.spec.case_id


def _label(unit: Unit) -> str:
    if isinstance(unit, PlannedCase):
        return unit.spec.label
    first = unit.members[0].spec
    names = "/".join(m.spec.workload.attention or "none" for m in unit.members
                     if not m.spec.workload.is_block) or "/".join(
        m.spec.workload.block or "?" for m in unit.members)
    head = first.workload.model or f"blocks {first.workload.input_shape[0]}ch"
    mode = getattr(first, "mode", "")
    return f"{mode} {head} {names}".strip()


def _rounds_cap(pairing: PairingSettings, round_s: float) -> int:
    """Rounds per process at most: the suite's ``group_time`` of rounds (per process), never
    more than its ``max_rounds``, never fewer than its ``min_rounds``."""
    if round_s <= 0:
        return pairing.max_rounds
    by_time = math.floor(pairing.group_time / round_s)
    return max(pairing.min_rounds, min(pairing.max_rounds, by_time))


def unit_works(units: Sequence[Unit], probe: MachineProbe, pairing: PairingSettings,
               scales: Mapping[str, float] | None = None) -> list[UnitWork]:
    """Each unit with its estimated costs (``scales`` correct the cost model per kind of
    unit: ``count``, ``breakdown``, ``bench``, ``group:train`` / ``group:infer`` (else
    ``group``); missing: 1)."""
    scales = scales or {}
    works: list[UnitWork] = []
    # kinds of step whose first breakdown calibrates the profiler (a re-plan charges its first
    # remaining breakdown of a kind again: seconds too many, never too few)
    calibrated: set[tuple[object, ...]] = set()
    for unit in units:
        if isinstance(unit, PlannedGroup):
            specs = unit.specs
            mode = getattr(specs[0], "mode", "") if specs else ""
            scale = scales.get(group_scale_key(mode), scales.get("group", 1.0))
            draft = group_cost(probe, _label(unit), specs, pairing.block_time,
                               pairing.min_rounds, pairing.max_rounds, scale)
            cost = group_cost(probe, _label(unit), specs, pairing.block_time,
                              pairing.min_rounds, _rounds_cap(pairing, draft.round_s), scale)
            works.append(UnitWork(unit_key(unit), cost.label, cost, len(unit.members)))
        else:
            spec = unit.spec
            assert isinstance(spec, CountSpec | BenchSpec | BreakdownSpec)
            kind = spec.bench_spec().step_kind() if isinstance(spec, BreakdownSpec) else None
            cost_ = case_cost(probe, spec, scales.get(spec.kind, 1.0),
                              calibrates=kind is not None and kind not in calibrated)
            if kind is not None:
                calibrated.add(kind)
            works.append(UnitWork(unit_key(unit), cost_.label, cost_))
    return works


def minutes(seconds: float) -> str:
    """``7.5 min`` / ``45 s``."""
    return f"{seconds / 60:.1f} min" if seconds >= 90 else f"{seconds:.0f} s"


def _plan_cell(unit: UnitPlan) -> str:
    if unit.skipped:
        needs = "" if unit.needs_s is None else (
            f"; needs a budget of --max-minutes {math.ceil(unit.needs_s / 60)}")
        return f"SKIP (minimum {minutes(unit.estimated_s)} does not fit{needs})"
    if unit.budget is None:
        return f"~{minutes(unit.estimated_s)}"
    b = unit.budget
    builds = max(1, math.ceil(unit.rounds_per_process / b.rounds_per_build))
    return (f"{b.processes} process{'es' if b.processes > 1 else ''} x {unit.rounds_per_process} "
            f"rounds in {builds} build{'s' if builds > 1 else ''} (>= "
            f"{b.min_rounds_per_process}, <= {b.seconds_per_process:.0f} s of rounds each), "
            f"~{minutes(unit.estimated_s)}")


def plan_lines(schedule: RunSchedule) -> list[str]:
    """The plan as printed before a run (and by ``--plan``): the probe, a line per count and
    breakdown kind and per group, the total and what would be skipped."""
    lines: list[str] = []
    probe = schedule.probe
    if probe is not None:
        lines.append(f"plan: probe {probe.probe_s:.1f} s ({probe.reference}: "
                     f"{probe.slowness:.2f}x the nominal machine's time per FLOP; a worker "
                     f"process starts in {probe.worker_start_s:.1f} s)")
    for kind in ("count", "breakdown", "bench"):
        alone = [u for u in schedule.units if u.kind == kind and not u.skipped]
        if alone:
            total = sum(u.estimated_s for u in alone)
            lines.append(f"  {len(alone)} {kind} case(s): ~{minutes(total)}")
    for unit in schedule.units:
        if unit.kind == "group" or unit.skipped:
            lines.append(f"  {unit.label} ({unit.cases} cases): {_plan_cell(unit)}")
    budget = ("no limit" if schedule.budget_s is None
              else f"budget {minutes(schedule.budget_s)}, reserve {minutes(schedule.reserve_s)}")
    lines.append(f"plan: estimated {minutes(schedule.estimated_s)} ({budget}); "
                 f"{sum(u.cases for u in schedule.units if not u.skipped)} cases measured, "
                 f"{sum(u.cases for u in schedule.skipped)} skipped")
    return lines


def actual_lines(schedule: RunSchedule, elapsed_s: float) -> list[str]:
    """Plan vs actual after a run: per group and per kind of case alone, then the total."""
    lines = ["plan vs actual:"]
    for kind in ("count", "breakdown", "bench"):
        ran = [u for u in schedule.units if u.kind == kind and u.actual_s is not None]
        if ran:
            planned = sum(u.estimated_s for u in ran)
            took = sum(u.actual_s or 0.0 for u in ran)
            lines.append(f"  {len(ran)} {kind} case(s): planned {minutes(planned)}, took "
                         f"{minutes(took)}")
    for unit in schedule.units:
        if unit.kind == "group" and unit.actual_s is not None:
            lines.append(f"  {unit.label}: planned {minutes(unit.estimated_s)}, took "
                         f"{minutes(unit.actual_s)}")
    skipped = schedule.skipped
    if skipped:
        needs = max((u.needs_s or 0.0) for u in skipped)
        lines.append(f"  {sum(u.cases for u in skipped)} case(s) skipped: their minimum did not "
                     f"fit (the plan's estimate: --max-minutes {math.ceil(needs / 60)} fits all)")
    lines.append(f"  total: planned {minutes(schedule.estimated_s)}, took {minutes(elapsed_s)}")
    return lines
