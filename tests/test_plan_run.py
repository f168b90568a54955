"""Planned runs on a fake clock: the plan reaches the engine as a GroupBudget, what remains is
re-planned after a unit that took longer than estimated, the cap is not overshot, and
``--plan`` answers without measuring (CLI, on ci-smoke, with the fake probe)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from profiler.cli import main
from profiler.measure.timing.group import GroupMeasurement
from profiler.plan.budget import GroupBudget
from profiler.plan.costs import NOMINAL_SECONDS_PER_FLOP, MachineProbe
from profiler.results.envelope import CaseRecord, load_result_file
from profiler.rounds import PairingSettings
from profiler.suites import RunOptions, load_suite_file, run_suite
from profiler.suites.expand import Spec
from profiler.suites.runner import PlannedGroup
from profiler.suites.schedule import actual_lines
from tests.test_runner import TINY, FakeRunCase, fake_environment


class Machine:
    """A fake clock and a fake machine: a case takes ``case_s``; a group takes its planned
    estimate times ``slowness`` (the first ``slow_groups`` groups; the rest as estimated),
    but never past the ``time_left`` the runner allows it, as the real engine."""

    def __init__(self, case_s: float, slowness: float = 1.0, slow_groups: int = 0) -> None:
        self.now = 0.0
        self.case_s, self.slowness, self.slow_groups = case_s, slowness, slow_groups
        self.fake = FakeRunCase()
        self.budgets: list[GroupBudget] = []
        self.allowed: list[float | None] = []
        self.estimate: dict[int, float] = {}

    def clock(self) -> float:
        return self.now

    def probe(self, specs: Sequence[Spec], device: str) -> MachineProbe:
        self.now += 5.0
        return MachineProbe(device, 50 * NOMINAL_SECONDS_PER_FLOP, 2.0,
                            {s.workload.label: 1e9 for s in specs}, "fake", 5.0)

    def run_case(self, spec: Spec) -> CaseRecord:
        self.now += self.case_s
        return self.fake(spec)

    def run_group(self, group: PlannedGroup, settings: PairingSettings,
                  time_left: float | None, budget: GroupBudget | None = None,
                  **_: Any) -> GroupMeasurement:
        assert budget is not None
        self.budgets.append(budget)
        self.allowed.append(time_left)
        planned = budget.processes * (20.0 + budget.seconds_per_process)
        factor = self.slowness if len(self.budgets) <= self.slow_groups else 1.0
        spent = planned * factor
        self.now += spent if time_left is None else min(spent, time_left)
        return self.fake.groups(group, settings, time_left)


def _run(tmp_path: Path, machine: Machine, minutes: float | None) -> Any:
    return run_suite(load_suite_file(TINY), RunOptions(output=tmp_path / "r.json",
                                                       max_minutes=minutes or 0),
                     run_case=machine.run_case, run_group=machine.run_group,
                     clock=machine.clock, environment=fake_environment, probe=machine.probe)


def test_the_plan_reaches_the_engine_and_the_file(tmp_path: Path) -> None:
    machine = Machine(case_s=1.0)
    summary = _run(tmp_path, machine, 10.0)
    # a generous budget: the target 3 processes, rounds up to the suite's cap, then more
    # processes (at most 10)
    assert len(machine.budgets) == 2 and all(3 < b.processes <= 10 for b in machine.budgets)
    assert summary.schedule is not None and not summary.schedule.skipped
    stored = load_result_file(tmp_path / "r.json").plan
    assert stored is not None and stored["budget_s"] == pytest.approx(595.0)  # 10 min - probe
    assert [u["kind"] for u in stored["units"]] == ["count", "count", "group", "bench", "group"]
    assert all(u["actual_s"] is not None for u in stored["units"])
    assert stored["units"][2]["processes"] == machine.budgets[0].processes


def _with_processes(tmp_path: Path, processes: int) -> Path:
    suite = tmp_path / "tiny.toml"
    suite.write_text(Path(TINY).read_text().replace(
        "group_time = 0.5", f"group_time = 0.5\nprocesses = {processes}"))
    return suite


@pytest.mark.parametrize("minutes", [10.0, None])
def test_the_suites_processes_are_every_groups_target_and_cap(
        tmp_path: Path, minutes: float | None) -> None:
    machine = Machine(case_s=1.0)
    suite = load_suite_file(_with_processes(tmp_path, 2))
    run_suite(suite, RunOptions(output=tmp_path / "r.json", max_minutes=minutes or 0),
              run_case=machine.run_case, run_group=machine.run_group, clock=machine.clock,
              environment=fake_environment, probe=machine.probe)
    # a generous budget would give more (the test above); the suite caps them at 2
    assert [b.processes for b in machine.budgets] == [2, 2]


def test_an_unplanned_run_splits_the_group_over_the_suites_processes(tmp_path: Path) -> None:
    machine = Machine(case_s=1.0)
    suite = load_suite_file(_with_processes(tmp_path, 1))
    run_suite(suite, RunOptions(output=tmp_path / "r.json"), run_case=machine.run_case,
              run_group=machine.run_group, clock=machine.clock, environment=fake_environment)
    assert machine.budgets == [GroupBudget.split(0.5, 6, 200, processes=1)] * 2


def test_a_slow_group_makes_the_rest_replanned_with_less(tmp_path: Path) -> None:
    on_time = Machine(case_s=1.0)
    on_time_summary = _run(tmp_path / "a", on_time, 8.0)
    late = Machine(case_s=1.0, slowness=3.0, slow_groups=1)
    summary = _run(tmp_path / "b", late, 8.0)
    assert len(late.budgets) == len(on_time.budgets) == 2
    second, second_on_time = late.budgets[1], on_time.budgets[1]
    assert (second.processes * second.seconds_per_process
            < second_on_time.processes * second_on_time.seconds_per_process)
    assert summary.counts["ok"] == 7
    assert summary.elapsed_s <= 8 * 60
    assert summary.schedule is not None and on_time_summary.schedule is not None
    assert summary.schedule.scale > on_time_summary.schedule.scale


@pytest.mark.parametrize("slowness", [1.0, 2.0, 5.0])
def test_the_cap_is_not_overshot(tmp_path: Path, slowness: float) -> None:
    machine = Machine(case_s=2.0 * slowness, slowness=slowness, slow_groups=2)
    summary = _run(tmp_path, machine, 3.0)
    assert summary.elapsed_s <= 3 * 60
    assert summary.counts["ok"] + summary.counts["skipped"] == 7


def test_a_unit_whose_minimum_no_longer_fits_is_skipped_naming_the_budget(
        tmp_path: Path) -> None:
    machine = Machine(case_s=20.0)
    summary = _run(tmp_path, machine, 1.0)
    skipped = [c for c in summary.result.cases if c.status == "skipped"]
    assert skipped and summary.elapsed_s <= 60.0
    assert all("--max-minutes" in (c.error or "") for c in skipped)
    assert summary.schedule is not None and summary.schedule.skipped
    needs = max(u.needs_s or 0.0 for u in summary.schedule.skipped)
    assert needs > 60.0  # the budget named includes what ran before the skip
    assert f"--max-minutes {math.ceil(needs / 60)} fits all" in "\n".join(
        actual_lines(summary.schedule, summary.elapsed_s))


def test_plan_prints_and_measures_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    from profiler.measure import case

    def no(*args: object, **kwargs: object) -> None:
        raise AssertionError("--plan measured something")

    monkeypatch.setattr(case, "measure", no)
    assert main(["run", "ci-smoke", "--plan", "--max-minutes", "6"]) == 0
    out = capsys.readouterr().out
    assert "suite ci-smoke on cpu: 18 cases (nothing measured: --plan)" in out
    assert "plan: probe" in out and "6 count case(s)" in out
    assert re.search(r"infer resnet18 none/se/eca \(3 cases\): \d+ processes x \d+ rounds", out)
    assert "plan: estimated" in out and "18 cases measured, 0 skipped" in out
    assert not (tmp_path / "results").exists()


def test_reproduce_plan_uses_its_default_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["reproduce", "--suite", str(TINY), "--plan"]) == 0
    out = capsys.readouterr().out
    assert "suite tiny on cpu: 7 cases (nothing measured: --plan)" in out
    assert "(budget 15.0 min, reserve 45 s)" in out  # 15 minutes on a CPU; the probe is fake
    assert not (tmp_path / "results").exists() and not (tmp_path / "reports").exists()


def test_the_stored_plan_is_validated_and_optional(tmp_path: Path) -> None:
    import json

    from profiler.errors import ResultFileError

    _run(tmp_path, Machine(case_s=1.0), 10.0)
    path = tmp_path / "r.json"
    data = json.loads(path.read_text())
    data["plan"]["units"][0]["kind"] = "lunch"
    path.write_text(json.dumps(data))
    with pytest.raises(ResultFileError, match=r"plan\.units\[0\]\.kind"):
        load_result_file(path)
    del data["plan"]
    path.write_text(json.dumps(data))
    assert load_result_file(path).plan is None
