"""Result-file validation (profiler.results.validate) and what compare does with what it finds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from profiler.cli import main
from profiler.errors import ResultFileError
from profiler.results.envelope import load_result_file
from profiler.results.validate import Fail, Field, check_fields, validate_result_data

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "tests" / "fixtures" / "results" / "baseline.json"
COMMITTED = sorted([*ROOT.glob("reports/**/*.json"), *ROOT.glob("tests/fixtures/results/*.json")])


@pytest.mark.parametrize("path", COMMITTED, ids=[p.name for p in COMMITTED])
def test_every_committed_result_file_is_valid(path: Path) -> None:
    assert load_result_file(path).cases


def test_a_field_table_is_data_that_new_fields_plug_into() -> None:
    table = (Field("groups", "list", fields=(Field("name", "string", required=True),
                                             Field("ratio", "number", minimum=None))),)
    check_fields({"groups": [{"name": "a", "ratio": -0.5}]}, table, "", Fail("f.json"))
    with pytest.raises(ResultFileError) as info:
        check_fields({"groups": [{"ratio": 1.0}]}, table, "", Fail("f.json", "case 2"))
    assert str(info.value) == "f.json: case 2: field 'groups[0].name': missing"
    with pytest.raises(ResultFileError) as info:
        check_fields({"groups": [{"name": "a", "ratio": float("nan")}]}, table, "",
                     Fail("f.json"))
    assert str(info.value).endswith("'groups[0].ratio': expected a finite number, got NaN")


def test_unknown_fields_and_older_files_still_load() -> None:
    data = json.loads(BASELINE.read_text())
    data["from_the_future"] = {"anything": [1, "two"]}
    data["cases"][0]["new_field"] = float("nan")  # not in any table: not checked
    validate_result_data(data, "future.json")


def test_errors_name_the_file_the_case_and_the_field(tmp_path: Path) -> None:
    data = json.loads(BASELINE.read_text())
    position, case = next((i, c) for i, c in enumerate(data["cases"]) if c["kind"] == "bench")
    case["result"]["images_per_sec"] = float("nan")
    path = tmp_path / "new.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ResultFileError) as info:
        load_result_file(path)
    assert str(info.value) == (f"{path}: case {position + 1} ({case['case_id']}): field "
                               "'result.images_per_sec': expected a finite number >= 0, got NaN")


def _truncated(tmp_path: Path) -> str:
    data = json.loads(BASELINE.read_text())
    data["cases"] = data["cases"][:-2]
    path = tmp_path / "partial.json"
    path.write_text(json.dumps(data))
    return str(path)


def test_compare_gates_a_case_the_new_file_lacks(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    partial = _truncated(tmp_path)
    missing = json.loads(BASELINE.read_text())["cases"][-2:]
    assert main(["compare", str(BASELINE), partial]) == 1
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if "missing from the new file" in line]
    assert len(rows) == 2 and all("REGRESSION" in row and " status " in row for row in rows)
    assert out.splitlines()[0].startswith(f"compare {BASELINE} -> {partial}: 2 regressions")
    assert main(["compare", str(BASELINE), partial, "--allow-missing"]) == 0
    out = capsys.readouterr().out
    assert "REGRESSION" not in out and "only in the baseline (not compared)" in out
    assert len(missing) == 2


def test_compare_markdown_lists_missing_cases_as_regressions(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(BASELINE), _truncated(tmp_path), "--format", "markdown"]) == 1
    out = capsys.readouterr().out
    section = out.split("### Regressions", 1)[1].split("<details>", 1)[0]
    assert section.count("missing from the new file") == 2
