"""A result file must agree with itself (profiler/results/consistency.py); exact messages on
small edits of the committed files. The CLI side (report, compare, merge) is in
tests/test_hostile.py."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from profiler.errors import ResultFileError
from profiler.results.consistency import check_consistency
from profiler.results.envelope import load_result_file

ROOT = Path(__file__).resolve().parents[1]
PAPER = ROOT / "tests" / "fixtures" / "results" / "eca-paper-cpu.json"


@pytest.fixture(scope="module")
def paper() -> dict[str, Any]:
    return json.loads(PAPER.read_text())


@pytest.mark.parametrize("path", [PAPER, ROOT / "reports" / "eca-paper-cpu.json",
                                  ROOT / "tests" / "fixtures" / "results" / "baseline.json"])
def test_committed_files_are_consistent(path: Path) -> None:
    assert load_result_file(path).cases


def test_a_member_batch_edited_tenfold(paper: dict[str, Any]) -> None:
    data = copy.deepcopy(paper)
    group = data["groups"][0]
    group["members"][1]["batch"] = 20
    with pytest.raises(ResultFileError) as caught:
        check_consistency(data, "f.json")
    assert str(caught.value) == (f"f.json: group 1 ({group['group_id']}): field "
                                 f"'members[1].batch': 20 but its case "
                                 f"{group['members'][1]['case_id']} ran at batch 2")


def test_a_ratio_above_its_interval(paper: dict[str, Any]) -> None:
    data = copy.deepcopy(paper)
    ratio = data["groups"][0]["ratios"][0]
    ratio["ci_low"], ratio["throughput_ratio"], ratio["ci_high"] = 0.9, 0.96, 0.95
    with pytest.raises(ResultFileError, match=r"'ratios\[0\].throughput_ratio': 0.96 lies "
                       r"above its interval \[0.9, 0.95\]"):
        check_consistency(data, "f.json")


def test_a_ratio_on_its_bound_is_inside(paper: dict[str, Any]) -> None:
    data = copy.deepcopy(paper)
    ratio = data["groups"][0]["ratios"][0]
    ratio["ci_low"] = ratio["throughput_ratio"]
    check_consistency(data, "f.json")


def test_a_calibration_may_time_one_case_twice() -> None:
    member = {"case_id": "bench-a", "name": "A", "batch": 8, "times": [[0.1], [0.1]]}
    group = {"group_id": "group-c", "kind": "calibration", "members": [member, member],
             "ratios": [{"member": 1, "case_id": "bench-a", "throughput_ratio": 1.0,
                         "ci_low": 0.99, "ci_high": 1.01, "rounds": 2}],
             "orders": [[0, 1], [1, 0]], "rounds": 2, "confidence": 0.95}
    check_consistency({"cases": [], "groups": [group]}, "f.json")
    group["confidence"] = 1.0
    with pytest.raises(ResultFileError, match="'confidence': expected a level strictly"):
        check_consistency({"cases": [], "groups": [group]}, "f.json")
