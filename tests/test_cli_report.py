"""``attnprof report`` end to end, on the checked-in result files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from profiler.claims.paper import load_claims
from profiler.cli import main
from profiler.report.names import backbone_label

RESULTS = Path(__file__).resolve().parent / "fixtures" / "results"
PAPER = str(RESULTS / "eca-paper-cpu.json")
SMOKE = str(RESULTS / "baseline.json")


def test_paper_report_with_claims_and_plots(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "reports" / "paper.md"
    plots = tmp_path / "reports" / "paper"
    assert main(["report", PAPER, "-o", str(out), "--plots", str(plots)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    text = out.read_text()
    assert text.startswith("# ECA-Net: Efficient Channel Attention")
    links = re.findall(r"!\[[^]]*\]\(([^)]+)\)", text)
    assert links and all(link.startswith("paper/") for link in links)
    assert all((out.parent / link).is_file() for link in links)
    claims = load_claims("eca-cvpr2020")
    data = json.loads(Path(PAPER).read_text())
    counted = {(c["spec"]["workload"]["model"], c["spec"]["workload"]["attention"] or "none")
               for c in data["cases"] if c["kind"] == "count" and c["status"] == "ok"}
    section = text.split("## Parameters and FLOPs (Table 3)")[1].split("\n## ")[0]
    for row in claims.table3:
        if row.buildable and (row.backbone, row.method) in counted:
            subject = f"| {backbone_label(row.backbone)} / {row.label} "
            lines = [line for line in section.splitlines() if line.startswith(subject)]
            assert len(lines) == 2, subject  # one params and one FLOPs verdict
            assert all(re.search(r"(✅ pass|❌ fail) +\| \S", line) for line in lines)
    throughput = text.split("## Throughput relative to the backbone")[1].split("\n## ")[0]
    if data.get("groups"):  # a paired run: every ratio from its group's rounds
        assert "(paired over" in throughput and "‡" not in throughput
    else:  # the version-2 fixture, cases timed apart: unpaired intervals, marked ‡
        assert "❔ inconclusive" in throughput and "too noisy to confirm" in throughput
        assert "‡" in throughput and "unpaired: timed apart" in throughput
    if any(c["status"] == "skipped" for c in data["cases"]):
        assert "skipped: not started" in throughput  # the budget's skipped cases are named
    for heading in ("## Rows not built", "## Environment", "## How to reproduce"):
        assert heading in text
    # the section lists skipped and failed cases, and only appears when there are some
    assert ("## Cases not measured" in text) == any(c["status"] != "ok" for c in data["cases"])
    assert "attnprof reproduce --device cpu" in text


def test_cases_not_measured_are_listed(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(Path(PAPER).read_text())
    index, case = next((i, c) for i, c in enumerate(data["cases"]) if c["kind"] == "count")
    data["cases"][index] = {**case, "status": "skipped", "error": "not started: budget spent",
                            "result": None}
    source = tmp_path / "partial.json"
    source.write_text(json.dumps(data))
    assert main(["report", str(source), "--claims", "none"]) == 0
    section = capsys.readouterr().out.split("## Cases not measured")[1].split("\n## ")[0]
    assert "not started: budget spent" in section
    assert case["spec"]["workload"]["model"] in section


def test_report_to_stdout_without_claims(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", SMOKE]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# attnprof report: ci-smoke on cpu")
    assert "## Verdicts" not in out
    assert re.search(r"\| none +\| ResNet-18 +\| 11\.69 +\| 1\.82 ", out)
    assert "## Attention blocks alone" in out


def test_claims_none_and_explicit_claims(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", PAPER, "--claims", "none"]) == 0
    assert "## Verdicts" not in capsys.readouterr().out
    assert main(["report", SMOKE, "--claims", "eca-cvpr2020", "--title", "Smoke"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Smoke\n") and "## Verdicts" in out


def test_several_files_merge(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", SMOKE, PAPER, "--claims", "none"]) == 0
    out = capsys.readouterr().out
    assert "ResNet-18" in out and "ResNet-50" in out
    assert out.count("baseline.json") >= 2 and "eca-paper-cpu.json" in out


def test_unwritable_outputs_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["report", SMOKE, "--plots", str(blocker / "plots")]) == 2
    assert f"{blocker} is not a folder" in capsys.readouterr().err
    assert main(["report", SMOKE, "-o", str(blocker / "r.md")]) == 2
    err = capsys.readouterr().err
    assert "cannot write" in err and err.count("\n") == 1


@pytest.mark.parametrize(("args", "message"), [
    (["/nonexistent.json"], "no such file"),
    ([SMOKE, "--claims", "eca-cvpr2021"], "unknown claims 'eca-cvpr2021'"),
])
def test_bad_input_exit_2(capsys: pytest.CaptureFixture[str], args: list[str],
                          message: str) -> None:
    assert main(["report", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
