"""Result files of cluster runs: the ``jobs`` field, and reports and ``compare`` that never set
throughput measured on two machines against each other (no process started here)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from profiler.claims.paper import load_claims
from profiler.compare import compare_files, load_measurements, resolve_rules
from profiler.compare.machines import machine_line
from profiler.errors import ResultFileError
from profiler.report.data import collect
from profiler.report.markdown import ReportText, render_markdown
from profiler.report.ratios import ratio_between, ratio_cell
from profiler.report.verdicts.check import check_claims
from profiler.report.verdicts.findings import ClaimsFindings
from profiler.results.envelope import ResultFile, SuiteInfo, load_result_file
from profiler.results.jobs import JobInfo, case_machines
from tests.test_report import ECA50, ENV, bench_case, grouped

RESULTS = Path(__file__).resolve().parent / "fixtures" / "results"


def _job(number: int, case_ids: tuple[str, ...], host: str, gpu: str,
         status: str = "done") -> JobInfo:
    return JobInfo(number=number, status=status, executor="slurm",  # type: ignore[arg-type]
                   case_ids=case_ids, hostname=host, gpu=gpu, gpu_uuid=f"GPU-{number}",
                   slurm_job_id=str(100 + number), log=f"logs/{100 + number}.out")


def _file(gpus: tuple[str, str]) -> ResultFile:
    """ResNet-50 plain and ECA timed apart, each in its own job, on machines with ``gpus``."""
    plain = bench_case("resnet50", None, "infer", 6.0)
    eca = bench_case("resnet50", "eca", "infer", 6.0 * 0.97, options=ECA50)
    jobs = (_job(1, (plain.case_id,), "node1", gpus[0]),
            _job(2, (eca.case_id,), "node2" if gpus[0] != gpus[1] else "node1", gpus[1]))
    return ResultFile(environment=ENV, cases=(plain, eca), jobs=jobs,
                      suite=SuiteInfo(name="eca-paper", claims="eca-cvpr2020", device="cuda"))


def test_case_machines_take_finished_jobs_only() -> None:
    jobs = (_job(1, ("a", "b"), "n1", "H100"), _job(2, ("b",), "n2", ""),
            _job(3, ("c",), "n3", "A100", status="timeout"))
    assert case_machines(jobs) == {"a": "n1 (H100)", "b": "n2"}


def test_a_claim_across_machines_is_refused_in_one_line() -> None:
    claims = load_claims("eca-cvpr2020")
    findings = ClaimsFindings(path=claims.path.with_name("none-conventions.toml"))
    data = collect([("run.json", _file(("H100", "A100")))])
    check = check_claims(claims, data, findings)
    found = [v for v in check.verdicts if v.subject == "ResNet-50 / ECA-Net"
             and "inference" in v.claim]
    assert len(found) == 1 and found[0].status == "n.a." and found[0].ours == "–"
    assert found[0].explanation == (
        "not compared: measured on different machines (node2 (A100) vs node1 (H100)); "
        "throughput is only compared within one machine")
    plain, eca = data.model_benches
    assert ratio_cell(ratio_between(data, eca, plain)) == "not compared (different machines)"
    text = render_markdown(data, check, (), ReportText(title="t"))
    assert ("Measured on 2 machines (node1 (H100): 1 case(s); node2 (A100): 1 case(s)). "
            "Throughput is compared only within one machine") in text
    assert "nan" not in text


def test_one_machine_keeps_the_verdict() -> None:
    claims = load_claims("eca-cvpr2020")
    findings = ClaimsFindings(path=claims.path.with_name("none-conventions.toml"))
    result = _file(("H100", "H100"))
    result = replace(result, groups=(grouped(list(result.cases)),))
    data = collect([("run.json", result)])
    found = [v for v in check_claims(claims, data, findings).verdicts
             if v.subject == "ResNet-50 / ECA-Net" and "inference" in v.claim]
    assert found[0].status == "pass"
    assert "Measured on" not in render_markdown(data, None, (), ReportText(title="t"))


def test_compare_says_when_a_file_comes_from_several_machines(tmp_path: Path) -> None:
    data = json.loads((RESULTS / "baseline.json").read_text())
    ids = [c["case_id"] for c in data["cases"]]
    data["jobs"] = [_job(1, tuple(ids[:1]), "node1", "H100").to_dict(),
                    _job(2, tuple(ids[1:]), "node2", "H100").to_dict()]
    new = tmp_path / "new.json"
    new.write_text(json.dumps(data))
    comparison = compare_files(load_measurements(RESULTS / "baseline.json"),
                               load_measurements(new), resolve_rules([]))
    line = machine_line(comparison.machine_differences)
    assert line is not None and line.startswith("different machines (")
    assert f"{new}'s cases come from 2 machines (node1 (H100); node2 (H100))" in line


def test_jobs_round_trip_and_are_validated(tmp_path: Path) -> None:
    result = _file(("H100", "A100"))
    path = tmp_path / "run.json"
    path.write_text(json.dumps(result.to_dict()))
    assert load_result_file(path).jobs == result.jobs
    assert "jobs" not in replace(result, jobs=()).to_dict()
    data = result.to_dict()
    data["jobs"][1]["status"] = "exploded"
    path.write_text(json.dumps(data))
    with pytest.raises(ResultFileError, match=r"jobs\[1\]\.status"):
        load_result_file(path)


def test_merge_keeps_every_part_s_jobs_renumbered() -> None:
    from profiler.suites.merge import merge_results

    first, second = _file(("H100", "A100")), _file(("A100", "A100"))
    merged = merge_results([("a.json", first), ("b.json", second)], allow_mixed=True)
    assert [(j.number, j.hostname) for j in merged.jobs] == \
        [(1, "node1"), (2, "node2"), (3, "node1"), (4, "node1")]
