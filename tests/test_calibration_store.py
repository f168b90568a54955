"""The per-machine store of the between-process spread, calibrate's reading of it, and how a
replicated group's record is validated and described in the report."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from profiler.commands.calibrate import between_prior
from profiler.errors import ResultFileError
from profiler.measure.timing.calibration_store import (
    cache_path,
    load_prior,
    machine_key,
    store_prior,
)
from profiler.report.calibration import calibration_line, interval_note
from profiler.results.group import GroupMember, GroupRatio, GroupResult, ProcessRun
from profiler.results.validate import validate_result_data
from profiler.stats import BetweenPrior


def test_the_cache_file_lives_under_xdg_cache_home(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_path() == tmp_path / "attnprof" / "between-process.json"
    key = machine_key("cpu", 2)
    assert "threads 2" in key and "cpu" in key and key != machine_key("cpu", 1)
    assert load_prior(key) is None
    store_prior(key, BetweenPrior(0.012, 4.0, "calibration"), "resnet18 infer", "t0")
    store_prior(machine_key("cpu", 1), BetweenPrior(0.03, 2.0, "calibration"), "x", "t1")
    assert load_prior(key) == BetweenPrior(0.012, 4.0, "calibration")
    store_prior(key, BetweenPrior(0.02, 9.0, "calibration"), "resnet18 infer", "t2")
    assert load_prior(key) == BetweenPrior(0.02, 9.0, "calibration")
    assert load_prior(machine_key("cpu", 1)) == BetweenPrior(0.03, 2.0, "calibration")


def test_an_unreadable_cache_is_no_calibration(tmp_path: Path) -> None:
    path = tmp_path / "between-process.json"
    path.write_text("{not json", encoding="utf-8")
    assert load_prior("k", path) is None
    path.write_text('{"k": {"sd": "wide"}}', encoding="utf-8")
    assert load_prior("k", path) is None


def _group(processes: int, between: float | None, method: str = "processes") -> GroupResult:
    members = (GroupMember("a", "A", times=((0.1,),) * processes),
               GroupMember("a", "A'", times=((0.1,),) * processes))
    ratio = GroupRatio(1, "a", "A'", 1.0, 0.99, 1.01, processes, between_sd=between)
    return GroupResult("group-x", kind="calibration", members=members, ratios=(ratio,),
                       confidence=0.95,
                       orders=((0, 1),) * processes, processes=processes,
                       round_process=tuple(range(processes)),
                       process_runs=tuple(ProcessRun(p, rounds=1) for p in range(processes)),
                       interval_method=method, between_prior_sd=0.015, between_prior_df=4.0,
                       between_prior_source="default")


def test_calibrate_stores_the_spread_of_several_processes_only() -> None:
    assert between_prior(_group(5, 0.01)) == BetweenPrior(0.01, 4.0, "calibration")
    assert between_prior(_group(1, None)) is None


def test_a_replicated_group_validates_and_a_bad_tag_count_does_not() -> None:
    data = {"cases": [], "groups": [_group(3, 0.01).to_dict()]}
    validate_result_data(data, "x.json")
    data["groups"][0]["round_process"] = [0, 1]
    with pytest.raises(ResultFileError, match="round_process"):
        validate_result_data(data, "x.json")
    data["groups"][0]["round_process"] = [0, 1, 2]
    data["groups"][0]["round_build"] = [0, 0]
    with pytest.raises(ResultFileError, match="round_build"):
        validate_result_data(data, "x.json")
    data["groups"][0]["round_build"] = [0, 1, 0]
    validate_result_data(data, "x.json")
    data["groups"][0]["interval_method"] = "guess"
    with pytest.raises(ResultFileError, match="interval_method"):
        validate_result_data(data, "x.json")


def test_the_report_says_which_variance_built_the_intervals() -> None:
    plain = GroupResult("group-p", members=(GroupMember("a", "A"), GroupMember("b", "B")))
    assert "within this run" in interval_note((plain,))
    own = GroupResult("group-o", processes=4, interval_method="processes")
    prior = GroupResult("group-d", processes=3, interval_method="default",
                        between_prior_sd=0.015, between_prior_df=4.0)
    note = interval_note((own, prior, plain))
    assert note == ("Intervals: each comparison group timed in 3-4 fresh process(es), the "
                    "process a random effect (README, Timing method); between-process variance "
                    "from the group's own processes: 1 group; the documented default (SD 1.5%, "
                    "4 df): 1 group; 1 group(s) timed in one process, within-process intervals "
                    "only.")


def test_the_report_prints_a_calibration_across_processes() -> None:
    group = _group(3, 0.012)
    ratio = group.ratios[0]
    group = replace(group, ratios=(replace(ratio, process_ratios=(1.0, 0.99, 1.01)),))
    assert calibration_line(group).endswith(
        "; between-process SD of a ratio 1.2% over 3 fresh processes.")
    built = replace(group, ratios=(replace(ratio, process_ratios=(1.0, 0.99, 1.01),
                                           build_ratios=(1.0, 0.98, 1.0, 0.99, 1.0, 1.02),
                                           between_build_sd=0.021),))
    assert calibration_line(built).endswith(
        "; between-process SD of a ratio 1.2% over 3 fresh processes (between builds inside "
        "a process: 2.1% over 6 builds).")


def test_the_report_says_the_members_were_built_afresh() -> None:
    built = GroupResult("group-b", processes=4, interval_method="processes",
                        orders=((0, 1),) * 2, round_process=(0, 1), round_build=(0, 0))
    assert interval_note((built,)) == (
        "Intervals: each comparison group timed in 4 fresh process(es), its members built "
        "afresh every few rounds inside each, the process a random effect (README, Timing "
        "method); between-process variance from the group's own processes: 1 group.")
