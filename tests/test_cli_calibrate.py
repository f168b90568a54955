"""``attnprof calibrate``: an A/A run of one workload (tiny model, short rounds)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from profiler.cli import main
from profiler.results import load_result_file
from tests.helpers.specs import FAST_ARGS, FAST_ROUNDS
from tests.helpers.specs import TINY as NET

QUICK = [*FAST_ARGS, *FAST_ROUNDS, "--seed", "5"]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "results"


def test_json_reports_the_aa_interval(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calibrate", NET, *QUICK, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["workload"] == f"infer {NET} b2 fp32 cpu"
    assert data["ci_low"] <= data["throughput_ratio"] <= data["ci_high"]
    assert data["significant"] == (data["ci_low"] > 1 or data["ci_high"] < 1)
    assert data["min_detectable_slowdown"] == pytest.approx(
        1.4294 * (data["ci_high"] - data["ci_low"]) / 2, rel=1e-3)
    assert 6 <= data["rounds"] <= 8 and data["seed"] == 5


def test_into_adds_the_calibration_to_a_result_file(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "r.json"
    target.write_bytes((FIXTURES / "baseline.json").read_bytes())
    before = load_result_file(target)
    assert main(["calibrate", NET, *QUICK, "--into", str(target)]) == 0
    printed = capsys.readouterr().out
    assert "A/A throughput ratio: " in printed and "smallest slowdown" in printed
    after = load_result_file(target)
    (group,) = after.groups
    assert group.kind == "calibration" and group.members[0].name == "A"
    assert after.cases == before.cases and after.schema_version == 3
    assert main(["calibrate", NET, *QUICK, "--into", str(target)]) == 0
    again = load_result_file(target).groups
    assert len(again) == 2 and again[1] == group  # kept, the newest first
    assert again[0].group_id.startswith(group.group_id + "-")


def test_into_keeps_unknown_fields_and_refuses_another_machine(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "r.json"
    data = json.loads((FIXTURES / "baseline.json").read_text())
    data["from_a_newer_version"] = {"keep": True}
    data["environment"]["gpu_clock_mhz"] = 1410
    data["cases"][0]["annotation"] = "hand-checked"
    target.write_text(json.dumps(data))
    assert main(["calibrate", NET, *QUICK, "--into", str(target)]) == 0
    written = json.loads(target.read_text())
    assert written["from_a_newer_version"] == {"keep": True}
    assert written["environment"]["gpu_clock_mhz"] == 1410
    assert written["cases"][0]["annotation"] == "hand-checked"
    capsys.readouterr()
    written["environment"]["cpu_model"] = "Some Other CPU"
    target.write_text(json.dumps(written))
    before = target.read_text()
    assert main(["calibrate", NET, *QUICK, "--into", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "CPU model 'Some Other CPU' in the file" in err
    assert "--force" in err and target.read_text() == before
    assert main(["calibrate", NET, *QUICK, "--into", str(target), "--force"]) == 0
    assert len(load_result_file(target).groups) == 2


def test_output_writes_a_new_file(tmp_path: Path) -> None:
    out = tmp_path / "cal.json"
    assert main(["calibrate", NET, *QUICK, "-o", str(out), "--format", "json"]) == 0
    (group,) = load_result_file(out).groups
    assert group.kind == "calibration" and group.min_detectable_slowdown is not None


@pytest.mark.parametrize(("args", "fragment"), [
    (["--into", "missing.json"], "missing.json: no such file"),
    (["nosuchmodel"], "unknown model 'nosuchmodel'"),
    (["--target", "0"], "target_half_width > 0"),
])
def test_bad_input_exits_2(capsys: pytest.CaptureFixture[str], args: list[str],
                           fragment: str) -> None:
    assert main(["calibrate", *args, "--batch", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err


def test_report_prints_the_calibration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "r.json"
    target.write_bytes((FIXTURES / "baseline.json").read_bytes())
    assert main(["calibrate", NET, *QUICK, "--into", str(target), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert main(["report", str(target)]) == 0
    report = capsys.readouterr().out
    section = report.split("## Machine noise (A/A calibration)")[1].split("\n## ")[0]
    assert f"`infer {NET} b2 fp32 cpu` against itself: " in section
    assert f"{100 * data['throughput_ratio']:.1f}% [" in section
    assert f"over {data['rounds']} interleaved rounds" in section
    assert "smallest slowdown this budget detects" in section


def test_machine_difference_names_the_first_difference() -> None:
    from profiler.commands.calibrate import machine_difference
    from profiler.results.environment import Environment

    here = Environment(device="cpu", device_name="AMD EPYC", cpu_model="AMD EPYC",
                       torch_version="2.13.0+cpu")
    assert machine_difference(here, here) is None
    assert machine_difference(Environment(device="cpu"), here) is None  # not recorded
    gpu = Environment(device="cuda:0", device_name="NVIDIA H100", cpu_model="AMD EPYC",
                      torch_version="2.13.0+cu128")
    assert machine_difference(gpu, here) == "device 'cuda' in the file, 'cpu' here"
    newer = Environment(device="cpu", device_name="AMD EPYC", cpu_model="AMD EPYC",
                        torch_version="2.14.0+cpu")
    assert machine_difference(newer, here) == ("torch version '2.14.0+cpu' in the file, "
                                               "'2.13.0+cpu' here")
