"""The run planner on made-up costs and a fake probe: exact allocations, a machine twice as
slow keeps every case, a budget too small names the one that fits, the reserve."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from profiler.plan.costs import (
    CALIBRATION_S,
    NOMINAL_SECONDS_PER_FLOP,
    TRAIN_FACTOR,
    CaseCost,
    GroupCost,
    MachineProbe,
    case_cost,
    group_cost,
    rounds_between_builds,
    step_seconds,
)
from profiler.plan.planner import (
    PlannerSettings,
    RunSchedule,
    UnitPlan,
    UnitWork,
    correction,
    corrections,
    group_allowance,
    plan_units,
)
from profiler.spec import BenchSpec, BreakdownSpec, CountSpec, Workload
from profiler.suites import RunOptions, load_suite, plan_run
from profiler.suites.schedule import plan_lines, unit_works
from profiler.suites.units import PlannedCase

# forward FLOPs per image at 2 per multiply-add (torch's FlopCounterMode on the meta device)
PAPER_FLOPS = {"resnet50": 8.2e9, "resnet101": 15.6e9, "resnet152": 23.0e9,
               "mobilenet_v2": 0.6e9}


def group(label: str, process_s: float = 10.0, round_s: float = 1.0, memory_s: float = 0.0,
          min_rounds: int = 8, max_rounds: int = 20) -> UnitWork:
    return UnitWork(label, label, GroupCost(label, 2, process_s, round_s, memory_s, min_rounds,
                                            max_rounds), cases=2)


def case(label: str, seconds: float, kind: str = "count") -> UnitWork:
    return UnitWork(label, label, CaseCost(label, kind, seconds))


def paper_probe(slowness: float = 1.0) -> MachineProbe:
    flops: dict[str, float] = {}
    for spec in plan_run(load_suite("eca-paper"), RunOptions(device="cpu")).cases:
        workload = spec.spec.workload
        flops[workload.label] = PAPER_FLOPS[workload.model or ""]
    return MachineProbe("cpu", slowness * NOMINAL_SECONDS_PER_FLOP, 3.0 * slowness, flops,
                        "fake")


def paper_schedule(slowness: float, minutes: float) -> RunSchedule:
    plan = plan_run(load_suite("eca-paper"), RunOptions(device="cpu", max_minutes=minutes))
    works = unit_works(plan.units, paper_probe(slowness), plan.pairing)
    return plan_units(works, 60.0 * minutes, probe=paper_probe(slowness))


def test_two_groups_share_the_budget_exactly() -> None:
    # reserve max(15, 5% of 200) = 15 -> 185 s; minima 2 x (10 + 8) = 36 -> 149 left;
    # a 2nd process each: 2 x (10 + 4) - 18 = 10 s -> 129; a 3rd: 14 s -> 101; extra rounds
    # up to the target of 6 per process: 3 x 2 s each -> 89; a 4th process (10 + 6 s) each
    # -> 57, a 5th -> 25, a 6th only for the first in order ("a") -> 9; extra rounds:
    # 9 / (6 + 5) < 1 per process
    schedule = plan_units([group("a"), group("b")], 200.0)
    assert schedule.reserve_s == 15.0
    assert [(u.budget.processes, u.rounds_per_process) for u in schedule.units
            if u.budget is not None] == [(6, 6), (5, 6)]
    for unit in schedule.units:
        assert unit.budget is not None
        assert unit.budget.min_rounds_per_process == 4
        assert unit.budget.seconds_per_process == 6.0
        assert unit.estimated_s == unit.budget.processes * (10 + 6)
    assert schedule.estimated_s == 176.0 <= 200.0 - schedule.reserve_s


def test_rounds_beyond_the_target_come_after_the_processes() -> None:
    # 10 processes at most: 200 s of budget for one group of cheap processes (1 s) reaches
    # them at 6 rounds (10 x 7 = 70 s of 185), and the rest goes to rounds: (185 - 70) / 10
    # = 11.5 more per process -> 17
    schedule = plan_units([group("a", process_s=1.0, max_rounds=30)], 200.0)
    unit = schedule.units[0]
    assert unit.budget is not None
    assert (unit.budget.processes, unit.rounds_per_process) == (10, 17)
    # the rounds cap still holds
    schedule = plan_units([group("a", process_s=1.0, max_rounds=12)], 200.0)
    assert schedule.units[0].rounds_per_process == 12


def test_a_tight_budget_gives_rounds_before_it_drops_cases() -> None:
    # 60 s: reserve 15 -> 45; minima 36 -> 9 left: no 2nd process (10 s), extra rounds
    # 9 / (1 + 1) = 4.5 -> 4 more rounds each on one process
    schedule = plan_units([group("a"), group("b")], 60.0)
    assert [(u.budget.processes, u.rounds_per_process) for u in schedule.units
            if u.budget is not None] == [(1, 12), (1, 12)]
    assert not schedule.skipped
    # 49 s: 34 left, less than the two minima: the second group is skipped, the first keeps
    # its minimum and the 16 s beyond it as rounds (a 2nd process, 10 s, first)
    schedule = plan_units([group("a"), group("b")], 49.0)
    assert [(u.budget.processes, u.rounds_per_process) for u in schedule.units
            if u.budget is not None] == [(2, 7)]
    assert [u.key for u in schedule.skipped] == ["b"]


def test_a_group_may_overrun_only_so_far_that_later_units_keep_their_margin() -> None:
    head, later = group("a"), [group("b"), case("c", 10.0)]
    # 200 s left, reserve 15: later minima 18 + 10, kept at 1.5x = 42 -> 143 s for the group
    assert group_allowance(head, later, 200.0, PlannerSettings(), 15.0) == 143.0
    # never less than its own minimum (18 s) while that fits
    assert group_allowance(head, later, 40.0, PlannerSettings(), 15.0) == 18.0
    assert group_allowance(head, [], 40.0, PlannerSettings(), 15.0) == 25.0


def test_a_budget_too_small_skips_only_what_cannot_fit_and_names_the_budget() -> None:
    works = [case("count", 10.0), group("big", process_s=100.0), case("breakdown", 5.0)]
    schedule = plan_units(works, 60.0)
    big = schedule.unit("big")
    assert big is not None and big.skipped
    # every minimum: 10 + 108 + 5 = 123 s; with the reserve: max(123 + 15, 123 / 0.95)
    assert big.needs_s == pytest.approx(138.0)
    assert [u.key for u in schedule.units if not u.skipped] == ["count", "breakdown"]
    lines = plan_lines(schedule)
    assert any("big (2 cases): SKIP" in line and "--max-minutes 3" in line for line in lines)
    assert lines[-1].endswith("2 cases measured, 2 skipped")


def test_no_limit_gives_the_target_processes_and_the_rounds_cap() -> None:
    schedule = plan_units([group("a", max_rounds=30)], None)
    unit = schedule.units[0]
    assert schedule.reserve_s == 0.0 and unit.budget is not None
    assert (unit.budget.processes, unit.rounds_per_process) == (3, 30)


def test_correction_is_actual_over_estimate_bounded() -> None:
    done = [UnitPlan("a", "a", "count", 1, 10.0, actual_s=25.0),
            UnitPlan("b", "b", "count", 1, 10.0, actual_s=15.0)]
    assert correction(done) == 2.0
    assert correction([]) == 1.0
    assert correction([replace(done[0], actual_s=500.0)]) == 4.0


def test_a_training_step_costs_three_forwards() -> None:
    probe = MachineProbe("cpu", 1e-11, 1.0, {"resnet50": 8e9})
    infer = BenchSpec(Workload.for_model("resnet50"), mode="infer", batch=2)
    assert step_seconds(probe, infer) == pytest.approx(0.16)
    assert step_seconds(probe, replace(infer, mode="train")) == pytest.approx(0.16 * TRAIN_FACTOR)


def test_a_costly_rebuild_comes_after_as_many_rounds_as_it_costs() -> None:
    assert rounds_between_builds(9.0, 2.0) == 5  # 9 s of rebuild over 2 s rounds
    assert rounds_between_builds(8.0, 2.0) == 4
    assert rounds_between_builds(1.0, 2.0) == 2  # cheap: the default, builds average layouts
    assert rounds_between_builds(1.0, 0.0) == 2
    # ResNet-50 training, 5 members at batch 2, warm-up 3 steps, on the nominal machine:
    # a step 3 x 2 x 8.2e9 x NOMINAL = 0.32 s, a round two steps each (block 0.5 s: 3.2 s),
    # a rebuild 5 builds of 0.5 s and 3 steps each (7.3 s): a build every 3 rounds
    probe = MachineProbe("cpu", NOMINAL_SECONDS_PER_FLOP, 3.0, {"resnet50": 8.2e9})
    spec = BenchSpec(Workload.for_model("resnet50"), mode="train", batch=2, warmup=3)
    cost = group_cost(probe, "g", [spec] * 5, block_time=0.5, min_rounds=8, max_rounds=20)
    step = step_seconds(probe, spec)
    per_block = math.ceil(0.5 / step)
    rounds, rebuild = per_block * 5 * step, 5 * 0.5 + 5 * 3 * step
    assert cost.rounds_per_build == max(2, math.ceil(rebuild / rounds)) == 3
    assert cost.round_s == pytest.approx(rounds + rebuild / cost.rounds_per_build)
    works = [UnitWork("g", "g", cost, cases=5)]
    (planned,) = plan_units(works, 600.0).units
    assert planned.budget is not None
    assert planned.budget.rounds_per_build == cost.rounds_per_build
    assert planned.to_dict()["rounds_per_build"] == cost.rounds_per_build


@pytest.mark.parametrize("minutes", [15.0, 14.0])
def test_a_machine_twice_as_slow_keeps_every_case_with_fewer_rounds(minutes: float) -> None:
    fast, slow = paper_schedule(1.0, minutes), paper_schedule(2.0, minutes)
    for schedule in (fast, slow):
        assert not schedule.skipped
        assert sum(u.cases for u in schedule.units) == 58
        assert schedule.estimated_s <= 60.0 * minutes - schedule.reserve_s
    spent = {u.key: u.budget.processes * u.rounds_per_process
             for u in fast.units if u.budget is not None}
    fewer = [u.key for u in slow.units
             if u.budget is not None and u.budget.processes * u.rounds_per_process
             < spent[u.key]]
    assert fewer, "the slower machine gets fewer rounds somewhere"
    assert all(u.budget.processes * u.rounds_per_process <= spent[u.key]
               for u in slow.units if u.budget is not None)


def test_a_machine_four_times_as_slow_names_the_budget_for_what_it_drops() -> None:
    schedule = paper_schedule(8.0, 15.0)
    assert schedule.skipped
    needs = {u.needs_s for u in schedule.skipped}
    assert len(needs) == 1 and needs.pop() > 15 * 60
    assert schedule.estimated_s <= 15 * 60 - schedule.reserve_s


def test_the_reserve() -> None:
    settings = PlannerSettings()
    assert settings.reserve(900.0) == 45.0
    assert settings.reserve(100.0) == 15.0
    assert settings.reserve(None) == 0.0
    assert settings.budget_for(855.0) == pytest.approx(900.0)


def test_corrections_per_kind_never_trust_a_fast_kind_for_an_unseen_one() -> None:
    done = [UnitPlan("c", "c", "count", 1, 10.0, actual_s=2.0),
            UnitPlan("g", "g", "group", 2, 100.0, actual_s=150.0)]
    found = corrections(done)
    assert found["count"] == 0.5 and found["group"] == 1.5
    # unseen kinds: the overall correction, 152 / 110, since it says slower
    assert found["breakdown"] == found["bench"] == pytest.approx(152.0 / 110.0)
    assert corrections(done[:1])["group"] == 1.0


def test_training_and_inference_groups_are_corrected_apart() -> None:
    # as on a half-speed VM: inference groups took less than estimated, training ones twice
    done = [UnitPlan("i", "infer r50", "group", 5, 108.0, actual_s=74.0,
                     scale_key="group:infer"),
            UnitPlan("t", "train r50", "group", 5, 81.0, actual_s=180.0,
                     scale_key="group:train")]
    found = corrections(done)
    assert found["group:infer"] == pytest.approx(74.0 / 108.0)
    assert found["group:train"] == pytest.approx(180.0 / 81.0)
    # before any training group ran, one gets the groups' correction when that says slower
    assert corrections(done[:1])["group:train"] == 1.0
    assert corrections(done[1:])["group:infer"] == pytest.approx(180.0 / 81.0)


def test_a_group_of_several_processes_caps_each_at_its_planned_rounds() -> None:
    # rounds quicker than estimated must not let the first process eat the next one's time
    several = plan_units([group("a")], 200.0).units[0]
    assert several.budget is not None and several.budget.processes > 1
    assert several.budget.max_rounds_per_process == several.rounds_per_process == 8
    # one process (room for its minimum and 5 s): it may run on up to its max_rounds
    single = plan_units([group("a")], 15.0 + 18.0 + 5.0).units[0]
    assert single.budget is not None and single.budget.processes == 1
    assert single.budget.max_rounds_per_process == 20 and single.rounds_per_process == 13


def test_host_work_on_a_gpu_is_costed_at_the_nominal_host() -> None:
    gpu = MachineProbe("cuda", NOMINAL_SECONDS_PER_FLOP / 1000, 5.0, {"resnet50": 8.2e9})
    cpu = replace(gpu, device="cpu", seconds_per_flop=NOMINAL_SECONDS_PER_FLOP)
    assert gpu.host_slowness == 1.0 and gpu.slowness == pytest.approx(0.001)
    count = CountSpec(Workload.for_model("resnet50"))
    # a count traces on the host: the same on the GPU machine as on the nominal CPU
    assert case_cost(gpu, count).seconds == pytest.approx(case_cost(cpu, count).seconds)
    # a ResNet-50 count on the nominal machine: build 0.5 + base 0.8 + 4 forwards of 0.054 s
    assert case_cost(cpu, count).seconds == pytest.approx(1.3 + 4 / 18.6)


def test_the_profilers_calibration_is_costed_once_per_kind_of_step() -> None:
    """A process calibrates the profiler once per kind of step (mode, threads...): the plan
    charges it to the first CPU breakdown of each kind only, and never on a GPU."""
    probe = paper_probe(2.0)
    plan = plan_run(load_suite("eca-paper"), RunOptions(device="cpu"))
    breakdowns = [w for w in unit_works(plan.units, probe, plan.pairing)
                  if isinstance(w.cost, CaseCost) and w.cost.kind == "breakdown"]
    modes = [u.spec.mode for u in plan.units
             if isinstance(u, PlannedCase) and isinstance(u.spec, BreakdownSpec)]
    assert len(breakdowns) == 10 and modes == ["infer"] * 5 + ["train"] * 5
    spec = BreakdownSpec(Workload.for_model("resnet50", "se"), mode="infer", batch=2)
    once = case_cost(probe, spec).seconds - case_cost(probe, spec, calibrates=False).seconds
    assert once == pytest.approx(2.0 * CALIBRATION_S)  # the probe net's: the host's slowness
    seconds = [w.cost.seconds for w in breakdowns]  # se costs as none, nearly: the paper's
    assert seconds[0] - seconds[1] == pytest.approx(once, rel=0.05)  # the first inference
    assert seconds[5] - seconds[6] == pytest.approx(once, rel=0.05)  # the first training
    gpu = BreakdownSpec(Workload.for_model("resnet50", "se"), mode="infer", device="cuda")
    assert case_cost(probe, gpu).seconds == case_cost(probe, gpu, calibrates=False).seconds
