"""Breakdown records in result files: round trip, validation, older files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from profiler.errors import ResultFileError
from profiler.results.envelope import ResultFile, load_result_file, write_result_file
from tests.test_report import ENV
from tests.test_report_breakdown import SE, breakdown_case


def _written(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    path = write_result_file(ResultFile(environment=ENV, cases=(breakdown_case("se", "train",
                                                                              SE),)),
                             tmp_path / "r.json")
    return path, json.loads(path.read_text())


def test_a_breakdown_case_round_trips(tmp_path: Path) -> None:
    path, data = _written(tmp_path)
    assert data["schema_version"] == 3 and data["cases"][0]["kind"] == "breakdown"
    result = data["cases"][0]["result"]
    for key in ("step_ms", "parts", "attention_time_share", "attention_flops_share"):
        assert key in result
    assert {"part", "ms", "time_share", "flops_share", "bytes_share"} <= set(result["parts"][0])
    (case,) = load_result_file(path).cases
    assert case.result is not None and case.result.to_dict() == result


@pytest.mark.parametrize(("edit", "message"), [
    (lambda r: r.update(step_ms=float("nan")), "field 'result.step_ms': expected a finite"),
    (lambda r: r.pop("parts"), "field 'result.parts': missing"),
    (lambda r: r["parts"][0].update(part=3), "field 'result.parts[0].part': expected a string"),
    (lambda r: r.update(agrees="yes"), "field 'result.agrees': expected true or false"),
])
def test_bad_breakdown_results_are_one_line(tmp_path: Path, edit: Any, message: str) -> None:
    path, data = _written(tmp_path)
    edit(data["cases"][0]["result"])
    path.write_text(json.dumps(data))
    with pytest.raises(ResultFileError) as info:
        load_result_file(path)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_negative_leftover_and_unattributed_are_allowed(tmp_path: Path) -> None:
    path, data = _written(tmp_path)
    result = data["cases"][0]["result"]
    result["leftover_ms"], result["leftover_share"] = -20.0, -0.02
    result["parts"][-1].update(ms=-1.0, time_share=-0.001)
    # a calibration round is noisy: the profiled steps may come out faster than the plain ones
    result["overhead_rounds_us"] = [0.9, -1.55, 1.1]
    result["raw_leftover_ms"], result["raw_leftover_share"] = -30.0, -0.03
    path.write_text(json.dumps(data))
    (case,) = load_result_file(path).cases
    assert case.status == "ok" and case.result is not None
    assert case.result.overhead_rounds_us == [0.9, -1.55, 1.1]


def test_bad_breakdown_spec_is_one_line(tmp_path: Path) -> None:
    path, data = _written(tmp_path)
    data["cases"][0]["spec"]["timed_steps"] = 0
    path.write_text(json.dumps(data))
    with pytest.raises(ResultFileError, match=r"field 'spec.timed_steps': expected an integer"):
        load_result_file(path)
