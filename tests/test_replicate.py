"""The replicated group engine (profiler.measure.timing.replicate): scripted members on fake clocks
standing in for worker processes, and one real worker process on a tiny model."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from profiler.errors import MeasurementError
from profiler.measure.timing.group import GroupMeasurement, group_record
from profiler.measure.timing.replicate import (
    ProcessJob,
    default_budget,
    measure_replicated,
    run_worker_process,
)
from profiler.plan.budget import GroupBudget
from profiler.report.ratios import group_interval
from profiler.results.bench import BenchResult
from profiler.results.envelope import CaseRecord
from profiler.results.group import GroupResult
from profiler.results.telemetry import CpuRound, RoundTelemetry
from profiler.rounds import PairingSettings, run_rounds
from profiler.spec import Workload
from profiler.stats import DEFAULT_BETWEEN_PRIOR, TWO_LEVEL_METHOD, BetweenPrior
from profiler.telemetry.rounds import disturbances
from tests.helpers.fake_members import ScriptedMember, SharedClock
from tests.helpers.specs import TINY, tiny_spec

SPECS = [tiny_spec(), replace(tiny_spec(), workload=Workload.for_model(
    TINY, "se", input_shape=(3, 16, 16)))]
# member 1 is 1 / 1.1, 1 / 1.2, 1 / 1.3 ... as fast as the baseline in process 0, 1, 2 ...
SLOWDOWN = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]


class FakeProcesses:
    """Stands in for worker processes: each job runs scripted members on its own fake clock,
    the second member slower by SLOWDOWN[p] (a process effect); ``dead`` processes raise; the
    first says it spent ``memory_s`` on peak memory."""

    def __init__(self, dead: tuple[int, ...] = (), sampler: Any = None,
                 memory_s: float = 0.0) -> None:
        self.jobs: list[ProcessJob] = []
        self.answers: list[GroupMeasurement] = []
        self.dead = dead
        self.sampler = sampler
        self.memory_s = memory_s

    def __call__(self, job: ProcessJob) -> GroupMeasurement:
        process = len(self.jobs)
        self.jobs.append(job)
        if process in self.dead:
            raise MeasurementError("worker died: Segmentation fault")
        clock = SharedClock()
        members = [ScriptedMember("none", clock, 0.1),
                   ScriptedMember("se", clock, 0.1 * (1 + SLOWDOWN[process]))]
        outcome = run_rounds(members, job.settings, baseline=job.baseline, seed=job.seed,
                             now=clock.now, sampler=self.sampler)
        group = replace(group_record(outcome, job.specs, job.names, job.kind, job.index, "t0",
                                     clock.t), memory_s=self.memory_s if process == 0 else 0.0)
        records = tuple(CaseRecord(spec=s, result=BenchResult(
            images_per_sec=1.0, images_per_sec_iqr=0.0, step_ms_median=100.0,
            samples=list(o.samples), batch=1, repeats=o.rounds_run,
            memory_method="cpu_rss_hwm_child" if job.measure_memory else "skipped"))
            for s, o in zip(job.specs, outcome.members, strict=True))
        self.answers.append(GroupMeasurement(group, records))
        return self.answers[-1]


def measured_first_build(fake: FakeProcesses) -> GroupMeasurement:
    return fake.answers[0]


BUDGET = GroupBudget(processes=3, seconds_per_process=100.0, min_rounds_per_process=6,
                     max_rounds_per_process=6)


def test_three_processes_one_after_another() -> None:
    fake = FakeProcesses()
    measured = measure_replicated(SPECS, BUDGET, seed=10, run_process=fake)
    group = measured.group
    assert [job.seed for job in fake.jobs] == [10, 11, 12]
    assert [job.measure_memory for job in fake.jobs] == [True, False, False]
    # the first process asks the memory guard; later ones run at the batches it allowed
    batches = tuple(m.batch for m in measured_first_build(fake).group.members)
    assert [job.guarded_batches for job in fake.jobs] == [None, batches, batches]
    assert all(job.settings.max_rounds == 6 and job.settings.group_time == 100.0
               for job in fake.jobs)
    assert group.processes == 3 and group.rounds == 18
    assert group.round_process == (0,) * 6 + (1,) * 6 + (2,) * 6
    assert [run.rounds for run in group.process_runs] == [6, 6, 6]
    assert group.method == TWO_LEVEL_METHOD and group.interval_method == "default"
    ratio = group.ratios[0]
    assert ratio.process_ratios == pytest.approx([1 / 1.1, 1 / 1.2, 1 / 1.3])
    assert ratio.within_sd == pytest.approx(0.0, abs=1e-12)
    logs = [-math.log(1.1), -math.log(1.2), -math.log(1.3)]
    assert ratio.throughput_ratio == pytest.approx(math.exp(sum(logs) / 3))
    assert ratio.between_sd == pytest.approx(
        math.sqrt(sum((x - sum(logs) / 3) ** 2 for x in logs) / 2))
    # fewer than 4 processes: the data's variance pooled with the default prior's (4 df)
    mean = sum(logs) / 3
    spread = sum((x - mean) ** 2 for x in logs) / 2
    pooled = (2 * spread + 4 * DEFAULT_BETWEEN_PRIOR.sd ** 2) / 6
    reach = 2.446912 * math.sqrt(pooled / 3)  # t(0.975, 6 df)
    assert ratio.ci_low == pytest.approx(math.exp(mean - reach), rel=1e-6)
    assert ratio.ci_high == pytest.approx(math.exp(mean + reach), rel=1e-6)
    # the report recomputes the same interval from the tagged rounds
    again = group_interval(GroupResult.from_dict(group.to_dict()), 1, 0)
    assert again is not None and again.low == pytest.approx(ratio.ci_low)
    record = measured.records[1].result
    assert isinstance(record, BenchResult)
    assert record.repeats == 18 and record.memory_method == "cpu_rss_hwm_child"


def test_ten_processes_need_no_prior() -> None:
    budget = replace(BUDGET, processes=10)
    calibrated = BetweenPrior(0.5, 3.0, "calibration")
    group = measure_replicated(SPECS, budget, seed=1, prior=calibrated,
                               run_process=FakeProcesses()).group
    assert group.interval_method == "processes" and group.round_build == (0,) * 60
    assert group.between_prior_source == "calibration"


def test_a_calibrated_prior_is_used_and_recorded() -> None:
    calibrated = BetweenPrior(0.001, 50.0, "calibration")
    narrow = measure_replicated(SPECS, BUDGET, seed=1, prior=calibrated,
                                run_process=FakeProcesses()).group
    wide = measure_replicated(SPECS, BUDGET, seed=1, run_process=FakeProcesses()).group
    assert narrow.interval_method == "calibration" and narrow.between_prior_sd == 0.001
    assert wide.between_prior_sd == DEFAULT_BETWEEN_PRIOR.sd
    assert narrow.ratios[0].half_width < wide.ratios[0].half_width


def test_a_dead_worker_is_recorded_and_the_others_count() -> None:
    measured = measure_replicated(SPECS, BUDGET, seed=1, run_process=FakeProcesses(dead=(1,)))
    group = measured.group
    assert [run.status for run in group.process_runs] == ["ok", "error", "ok"]
    assert group.process_runs[1].error == "worker died: Segmentation fault"
    assert group.round_process == (0,) * 6 + (2,) * 6
    assert group.ratios[0].process_ratios == pytest.approx([1 / 1.1, 1 / 1.3])


def test_after_a_dead_first_worker_the_next_one_asks_the_guard() -> None:
    fake = FakeProcesses(dead=(0,))
    measure_replicated(SPECS, BUDGET, seed=1, run_process=fake)
    batches = tuple(m.batch for m in fake.answers[0].group.members)
    assert [job.guarded_batches for job in fake.jobs] == [None, None, batches]


def test_every_worker_dead_is_an_error_of_each_member() -> None:
    measured = measure_replicated(SPECS, BUDGET, run_process=FakeProcesses(dead=(0, 1, 2)))
    assert measured.group.status == "error"
    assert [r.status for r in measured.records] == ["error", "error"]
    assert measured.records[0].error == "worker died: Segmentation fault"


def test_no_further_process_once_the_time_is_spent() -> None:
    ticks = iter([0.0, 0.0, 40.0, 120.0])
    fake = FakeProcesses()
    group = measure_replicated(SPECS, BUDGET, seed=1, time_left=100.0, run_process=fake,
                               now=lambda: next(ticks)).group
    assert len(fake.jobs) == 2 and group.processes == 2
    assert fake.jobs[1].time_left == pytest.approx(60.0)


def test_no_further_process_when_its_minimum_would_overrun_the_time_left() -> None:
    # the first process took 60 s for its 6 rounds (the minimum): 40 s left cannot hold another
    ticks = iter([0.0, 0.0, 60.0])
    fake = FakeProcesses()
    group = measure_replicated(SPECS, BUDGET, seed=1, time_left=100.0, run_process=fake,
                               now=lambda: next(ticks)).group
    assert len(fake.jobs) == 1 and group.processes == 1


@pytest.mark.parametrize(("memory_s", "processes"), [(0.0, 1), (30.0, 2)])
def test_the_first_processs_peak_memory_is_not_counted_for_the_next(memory_s: float,
                                                                    processes: int) -> None:
    # the first process took 55 s; 45 s are left: another fits only if 30 s of the 55 were
    # its peak memory (and the memory guard), which no later process measures again
    ticks = iter([0.0, 0.0, 55.0, 200.0])
    fake = FakeProcesses(memory_s=memory_s)
    group = measure_replicated(SPECS, BUDGET, seed=1, time_left=100.0, run_process=fake,
                               now=lambda: next(ticks)).group
    assert len(fake.jobs) == group.processes == processes
    assert group.memory_s == memory_s


class AllStolen:
    """Telemetry of a VM whose hypervisor steals 10% of every round."""

    absent: tuple[str, ...] = ()

    def begin(self) -> None:
        pass

    def end(self) -> RoundTelemetry:
        cpu = CpuRound(wall_s=0.5, own_cpu_s=0.9, own_capacity_s=1.0, foreign_cpu_s=0.0,
                       steal_s=0.1, machine_cpu_s=1.0)
        return RoundTelemetry(cpu=cpu, disturbed_by=disturbances(cpu, None))


def test_too_few_clean_rounds_and_every_round_counts() -> None:
    # every round of every process disturbed: the ratios use them all (telemetry's rule),
    # and the group is marked, rather than left without a ratio
    measured = measure_replicated(SPECS, BUDGET, seed=1,
                                  run_process=FakeProcesses(sampler=AllStolen()))
    group = measured.group
    assert group.mostly_disturbed and group.disturbed_rounds == 18
    ratio = group.ratios[0]
    assert ratio.rounds == 18 and ratio.rounds_disturbed == 0
    assert ratio.process_ratios == pytest.approx([1 / 1.1, 1 / 1.2, 1 / 1.3])
    again = group_interval(GroupResult.from_dict(group.to_dict()), 1, 0)
    assert again is not None and again.low == pytest.approx(ratio.ci_low)


def test_default_budget_splits_the_group_time() -> None:
    budget = default_budget(PairingSettings(group_time=60.0, min_rounds=8, max_rounds=200))
    assert budget == GroupBudget(processes=3, seconds_per_process=20.0,
                                 min_rounds_per_process=3, max_rounds_per_process=67)


def test_a_real_worker_process_on_a_tiny_model() -> None:
    """One fresh worker: TinyNet with and without SE, and a member that calls sys.exit; as a
    later process of its group, given the batches the guard allowed in the first."""
    exiting = replace(tiny_spec(), workload=Workload.for_model(
        "tests.helpers.hostile_models:ExitNet", input_shape=(3, 16, 16)))
    specs = [*SPECS, exiting]
    settings = PairingSettings(block_time=0.005, min_rounds=6, max_rounds=6)
    budget = GroupBudget(processes=1, seconds_per_process=5.0, min_rounds_per_process=6,
                         max_rounds_per_process=6, measure_memory=False)
    measured = measure_replicated(
        specs, budget, settings, baseline=0, seed=3,
        run_process=lambda job: run_worker_process(replace(job, guarded_batches=(1, 1, None))))
    group = measured.group
    assert group.status == "ok" and group.rounds == 6 and group.round_process == (0,) * 6
    assert [m.batch for m in group.members[:2]] == [1, 1] != [s.batch for s in SPECS]
    assert group.members[2].status == "error"
    assert "sys.exit(3)" in (group.members[2].error or "")
    assert group.ratios[0].throughput_ratio is not None and group.ratios[0].ci_low is not None
    assert [r.status for r in measured.records] == ["ok", "ok", "error"]


def test_between_estimates_feed_a_pooled_prior() -> None:
    from profiler.measure.timing.replicate import between_estimates
    from profiler.stats import pooled_between_prior

    group = measure_replicated(SPECS, BUDGET, seed=1, run_process=FakeProcesses()).group
    ((variance, df),) = between_estimates(group)
    assert df == 2 and variance == pytest.approx(group.ratios[0].between_sd ** 2)
    prior = pooled_between_prior(between_estimates(group))
    assert prior is not None and prior.source == "pooled" and prior.df == 2


def test_the_worker_writes_a_failed_group_as_an_error(tmp_path: Path) -> None:
    import json

    from profiler.measure.timing.group_worker import main

    job, out = tmp_path / "job.json", tmp_path / "out.json"
    job.write_text(json.dumps({"specs": [SPECS[0].to_dict()], "settings": {}, "baseline": 0,
                               "names": ["only"]}), encoding="utf-8")
    assert main([str(job), str(out)]) == 0
    assert json.loads(out.read_text()) == {
        "error": "InvalidOptionError: a comparison group needs at least two members"}
    assert main([str(job)]) == 2


def test_a_prior_pooled_over_the_run_replaces_the_default() -> None:
    from profiler.measure.timing.replicate import pool_run_prior, with_prior

    groups = [measure_replicated(SPECS, BUDGET, seed=s, run_process=FakeProcesses()).group
              for s in (1, 2)]
    pooled = pool_run_prior(groups)
    # two groups of 3 processes: 4 degrees of freedom, enough to replace the default
    assert [g.between_prior_source for g in pooled] == ["pooled", "pooled"]
    assert [g.interval_method for g in pooled] == ["pooled", "pooled"]
    assert pooled[0].between_prior_df == 4.0
    assert pooled[0].between_prior_sd == pytest.approx(groups[0].ratios[0].between_sd)
    # the report recomputes the pooled interval from the stored prior
    again = group_interval(GroupResult.from_dict(pooled[0].to_dict()), 1, 0)
    assert again is not None and again.high == pytest.approx(pooled[0].ratios[0].ci_high)
    assert pool_run_prior(groups[:1]) == tuple(groups[:1])  # 2 df: too few, left as timed
    calibrated = BetweenPrior(0.001, 9.0, "calibration")
    (narrow,) = pool_run_prior(groups[:1], calibrated)
    assert narrow == with_prior(groups[0], calibrated)
    assert narrow.interval_method == "calibration"
    assert narrow.ratios[0].half_width < groups[0].ratios[0].half_width


def test_a_run_pools_the_between_process_variance_over_its_groups(tmp_path: Path) -> None:
    from profiler.results.envelope import load_result_file
    from profiler.suites import RunOptions, load_suite_file, run_suite
    from profiler.suites.runner import PlannedGroup
    from tests.helpers.fakes import fake_probe
    from tests.test_runner import TINY, fake_environment, fake_record

    def groups(group: PlannedGroup, settings: PairingSettings, time_left: float | None,
               memory_limit: int | None = None, budget: GroupBudget | None = None
               ) -> GroupMeasurement:
        return measure_replicated(group.specs, BUDGET, baseline=group.baseline,
                                  index=group.index, seed=1, run_process=FakeProcesses())

    out = tmp_path / "r.json"
    run_suite(load_suite_file(TINY), RunOptions(output=out, max_minutes=60), run_case=fake_record,
              run_group=groups, environment=fake_environment, probe=fake_probe)
    loaded = load_result_file(out)
    assert [g.between_prior_source for g in loaded.groups] == ["pooled", "pooled"]
    assert [g.between_prior_df for g in loaded.groups] == [4.0, 4.0]
    # the file written after pooling keeps the run's plan vs actual
    assert loaded.plan is not None and loaded.plan["actual_s"] is not None


def test_an_unknown_memory_method_is_bad_input() -> None:
    from profiler.errors import InvalidOptionError

    with pytest.raises(InvalidOptionError, match="unknown memory method 'rss'; valid: tensor"):
        measure_replicated(SPECS, BUDGET, memory_method="rss", run_process=FakeProcesses())


# --- builds inside a process -----------------------------------------------------------------

# member 1's slowdown per (process, build): a build effect inside each process's own level
BUILD_SLOWDOWN = [[0.10, 0.14, 0.12], [0.20, 0.16, 0.18], [0.13, 0.11, 0.15]]


class FakeBuilds:
    """Each job answers three builds of scripted members, member 1 slower by
    BUILD_SLOWDOWN[process][build]."""

    def __init__(self) -> None:
        self.jobs: list[ProcessJob] = []

    def __call__(self, job: ProcessJob) -> tuple[GroupMeasurement, ...]:
        process = len(self.jobs)
        self.jobs.append(job)
        builds = []
        for slowdown in BUILD_SLOWDOWN[process]:
            clock = SharedClock()
            members = [ScriptedMember("none", clock, 0.1),
                       ScriptedMember("se", clock, 0.1 * (1 + slowdown))]
            settings = replace(job.settings, min_rounds=2, max_rounds=2)
            outcome = run_rounds(members, settings, baseline=0, seed=job.seed, now=clock.now)
            builds.append(GroupMeasurement(group_record(outcome, job.specs, job.names,
                                                        job.kind, job.index, "t0", clock.t),
                                           ()))
        return tuple(builds)


def test_builds_average_inside_a_process_which_stays_the_random_effect() -> None:
    group = measure_replicated(SPECS, BUDGET, seed=1, run_process=FakeBuilds()).group
    assert group.round_process == (0,) * 6 + (1,) * 6 + (2,) * 6
    assert group.round_build == (0, 0, 1, 1, 2, 2) * 3
    assert group.round_unit == tuple(u for u in range(9) for _ in range(2))
    assert [run.builds for run in group.process_runs] == [3, 3, 3]
    assert group.interval_method == "default"  # 3 processes: pooled with the prior
    ratio = group.ratios[0]
    logs = [[-math.log(1 + s) for s in row] for row in BUILD_SLOWDOWN]
    assert ratio.build_ratios == pytest.approx([math.exp(x) for row in logs for x in row])
    # a process's estimate: the Hodges-Lehmann estimate of its six rounds (three builds'
    # two equal rounds each): the median of the Walsh averages of a, a, b, b, c, c
    walsh = [[(p[i] + p[j]) / 2 for i in range(6) for j in range(i, 6)]
             for p in ([x for x in row for _ in range(2)] for row in logs)]
    centres = [sorted(w)[len(w) // 2] if len(w) % 2 else
               (sorted(w)[len(w) // 2 - 1] + sorted(w)[len(w) // 2]) / 2 for w in walsh]
    assert [math.log(r) for r in ratio.process_ratios] == pytest.approx(centres)
    assert ratio.throughput_ratio == pytest.approx(math.exp(sum(centres) / 3))
    # between builds inside a process: the pooled SD about each process's mean (6 df)
    means = [sum(r) / 3 for r in logs]
    within = sum((x - m) ** 2 for r, m in zip(logs, means, strict=True) for x in r) / 6
    assert ratio.between_build_sd == pytest.approx(math.sqrt(within))
    # the report and a prior recompute the same from the tags
    loaded = GroupResult.from_dict(group.to_dict())
    again = group_interval(loaded, 1, 0)
    assert again is not None and again.high == pytest.approx(ratio.ci_high)
    from profiler.measure.timing.replicate import between_estimates, with_prior

    assert between_estimates(group)[0][1] == 2
    assert with_prior(loaded, DEFAULT_BETWEEN_PRIOR).ratios[0] == ratio


class FakeMeasure:
    """Stands in for measure_group: each build runs its rounds on a fake clock (1 s of warm-up,
    ``round_s`` per round) and records what it was asked."""

    def __init__(self, clock: list[float], round_s: float = 2.0) -> None:
        self.clock, self.round_s = clock, round_s
        self.calls: list[dict[str, object]] = []

    def __call__(self, specs, settings, **kw):  # type: ignore[no-untyped-def]
        self.calls.append({"settings": settings, **kw})
        self.clock[0] += 1.0
        members = [ScriptedMember("none", SharedClock(), 0.1),
                   ScriptedMember("se", SharedClock(), 0.11)]
        outcome = run_rounds(members, settings, baseline=0, seed=kw["seed"],
                             now=SharedClock().now)
        rounds = outcome.rounds
        self.clock[0] += rounds * self.round_s
        group = replace(group_record(outcome, specs, kw["names"], "comparison", None, "t0",
                                     1.0 + rounds * self.round_s),
                        rounds_s=rounds * self.round_s, warmup_s=1.0)
        return GroupMeasurement(group, ())


def _job(settings: PairingSettings, time_left: float | None = None) -> ProcessJob:
    return ProcessJob(tuple(SPECS), settings, 0, ("none", "se"), "comparison", None, 5,
                      time_left, True, None, "tensor", 2)


def test_a_process_builds_its_members_afresh_every_two_rounds() -> None:
    from profiler.measure.timing.replicate import measure_builds

    clock = [0.0]
    fake = FakeMeasure(clock)
    settings = PairingSettings(min_rounds=3, max_rounds=7, group_time=100.0)
    builds = measure_builds(_job(settings), fake, now=lambda: clock[0])
    assert [b.group.rounds for b in builds] == [2, 2, 2, 1]  # max_rounds 7
    assert [c["measure_memory"] for c in fake.calls] == [True, False, False, False]
    assert [c["seed"] for c in fake.calls] == [5, 5 + 7919, 5 + 2 * 7919, 5 + 3 * 7919]
    assert [c["settings"].min_rounds for c in fake.calls] == [2, 2, 2, 1]
    # rebuilds run at the first build's batches; the first build asks the memory guard
    batches = tuple(m.batch for m in builds[0].group.members)
    assert [c["rebuilt_batches"] for c in fake.calls] == [None] + [batches] * 3
    assert [c["guarded_batches"] for c in fake.calls] == [None] * 4
    # a later process: its first build runs at the batches the group's first process allowed
    fake = FakeMeasure(clock)
    measure_builds(replace(_job(settings), guarded_batches=(1, None)), fake,
                   now=lambda: clock[0])
    assert [c["guarded_batches"] for c in fake.calls] == [(1, None)] + [None] * 3


def test_the_budgets_rounds_per_build_hold_from_the_first_build() -> None:
    # a rebuild the planner priced at 4 rounds: a process of 4 rounds builds once, one of 9
    # rebuilds after 4 and 8 (no rebuild seen yet to adapt from: the budget decides)
    from profiler.measure.timing.replicate import measure_builds

    clock = [0.0]
    for rounds, expected in ((4, [4]), (9, [4, 4, 1])):
        fake = FakeMeasure(clock)
        settings = PairingSettings(min_rounds=rounds, max_rounds=rounds, group_time=1000.0)
        builds = measure_builds(replace(_job(settings), rounds_per_build=4), fake,
                                now=lambda: clock[0])
        assert [b.group.rounds for b in builds] == expected
    # past the minimum, a build of 4 rounds (8 s, and a rebuild taken to cost as much) does
    # not start in the 4 s left of 12: it would overrun by all its rounds
    fake = FakeMeasure(clock)
    settings = PairingSettings(min_rounds=4, max_rounds=20, group_time=12.0)
    builds = measure_builds(replace(_job(settings), rounds_per_build=4), fake,
                            now=lambda: clock[0])
    assert [b.group.rounds for b in builds] == [4]
    fake = FakeProcesses()
    measure_replicated(SPECS, replace(BUDGET, rounds_per_build=4), seed=1, run_process=fake)
    assert {job.rounds_per_build for job in fake.jobs} == {4}


def test_builds_stop_once_the_rounds_time_is_spent_after_the_minimum() -> None:
    from profiler.measure.timing.replicate import measure_builds

    clock = [0.0]
    fake = FakeMeasure(clock, round_s=5.0)
    settings = PairingSettings(min_rounds=4, max_rounds=50, group_time=12.0)
    builds = measure_builds(_job(settings), fake, now=lambda: clock[0])
    # 2 rounds (10 s), then a rebuild (1 s) and 2 more reach the minimum (21 s >= 12 s)
    assert [b.group.rounds for b in builds] == [2, 2]
    assert fake.calls[1]["settings"].group_time == pytest.approx(2.0)
    clock[0] = 0.0
    fake = FakeMeasure(clock, round_s=1.0)
    builds = measure_builds(_job(settings, time_left=9.0), fake, now=lambda: clock[0])
    # 3 s per build of 2 rounds (1 s warm-up): the 9 s left end it after the third build
    assert [b.group.rounds for b in builds] == [2, 2, 2]
    assert fake.calls[2]["time_left"] == pytest.approx(3.0)
    clock[0] = 0.0
    fake = FakeMeasure(clock, round_s=1.0)
    builds = measure_builds(_job(settings, time_left=7.0), fake, now=lambda: clock[0])
    # with 7 s, the 1 s left after the minimum (two builds) does not hold a third build of
    # 3 s: the process ends rather than overrun its time by 2 s
    assert [b.group.rounds for b in builds] == [2, 2]


def test_a_costly_rebuild_is_followed_by_more_rounds() -> None:
    from profiler.measure.timing.replicate import rounds_per_build

    def build(warmup_s: float, rounds: int, rounds_s: float) -> GroupMeasurement:
        return GroupMeasurement(GroupResult("g", orders=((0, 1),) * rounds, warmup_s=warmup_s,
                                            rounds_s=rounds_s), ())

    first = build(30.0, 2, 4.0)  # the process's first warm-up: says nothing of a rebuild
    assert rounds_per_build([first], 2) == 2
    # a rebuild of 9 s against 2 s rounds: 5 rounds, so that rebuilding is at most half
    assert rounds_per_build([first, build(9.0, 2, 4.0)], 2) == 5
    assert rounds_per_build([first, build(1.0, 2, 4.0)], 2) == 2  # cheap: the least


def test_a_rebuilt_member_skips_the_guard_and_the_settle_phase(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A rebuild runs at the batch it is given, without asking the memory guard, measures no
    memory and warms up with exactly the mandatory steps; a first build does all three."""
    from profiler.measure.device import resolve_device
    from profiler.measure.timing import members as members_module
    from profiler.measure.timing.loop import TimingPolicy
    from profiler.measure.timing.members import InProcessMember
    from profiler.spec import BenchSpec, Workload

    asked: list[str] = []
    monkeypatch.setattr(members_module, "plan_memory",
                        lambda spec, limit: asked.append(spec.label))
    spec = BenchSpec(Workload.for_model("tests.helpers.user_objects:MLP", input_shape=(3, 4, 4)),
                     mode="train", batch=2, warmup=3, min_time=0.001, threads=1)
    settle = TimingPolicy(settle_tolerance=0.0, max_settle_seconds=60.0, max_warmup_steps=8)
    first = InProcessMember(spec, resolve_device("cpu"), cpu_memory="tensor", policy=settle)
    times = first.warm_up()
    assert len(asked) == 1 and first.tensor_memory is not None
    assert len(times) == 8  # a tolerance of 0 never settles: up to max_warmup_steps
    first.close()
    again = InProcessMember(spec, resolve_device("cpu"), cpu_memory="tensor", policy=settle,
                            rebuilt_batch=1)
    times = again.warm_up()
    assert len(asked) == 1 and again.tensor_memory is None and again.batch == 1
    assert len(times) == 3
    assert again.time_block(2) and len(again.time_block(2)) == 2
    again.close()
    # a later process's first build: the batch the guard allowed before, a full warm-up
    later = InProcessMember(spec, resolve_device("cpu"), cpu_memory="tensor", policy=settle,
                            guarded_batch=1)
    times = later.warm_up()
    assert len(asked) == 1 and later.batch == 1 and later.tensor_memory is not None
    assert len(times) == 8
    later.close()
