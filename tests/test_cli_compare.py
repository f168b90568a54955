"""``attnprof compare`` end to end: exit codes, the listed regressions, the markdown form."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from profiler.cli import main

FIXTURES = Path(__file__).resolve().parent / "fixtures"
BASELINE = str(FIXTURES / "results" / "baseline.json")
SLOW = str(FIXTURES / "results" / "new-slow.json")
NOISE = str(FIXTURES / "results" / "new-noise.json")
PB = FIXTURES / "pytest-benchmark"


def _compare(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["compare", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_slowdown_exits_1_and_lists_every_regression(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _compare(capsys, BASELINE, SLOW)
    assert code == 1 and err == ""
    lines = [line for line in out.splitlines() if "REGRESSION" in line]
    assert len(lines) >= 8  # every model timing; the noisy block timings may be within noise
    assert any(line.startswith("infer resnet18 b4") for line in lines)
    assert "regressions in" in out.splitlines()[0]


def test_noise_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _compare(capsys, BASELINE, NOISE)
    assert code == 0
    assert "0 regressions" in out and "REGRESSION" not in out


def test_params_changed_by_one_exits_1(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(Path(BASELINE).read_text())
    case = next(c for c in data["cases"] if c["kind"] == "count")
    case["result"]["params"] += 1
    changed = tmp_path / "params.json"
    changed.write_text(json.dumps(data))
    code, out, _ = _compare(capsys, BASELINE, str(changed))
    assert code == 1
    regressions = [line for line in out.splitlines() if "REGRESSION" in line]
    assert len(regressions) == 1 and " params " in regressions[0]
    code, _, _ = _compare(capsys, BASELINE, str(changed), "--fail-on", "params:+1")
    assert code == 0


def test_markdown_suits_the_step_summary(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _compare(capsys, BASELINE, SLOW, "--format", "markdown")
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "## attnprof compare"
    assert lines[2].startswith("❌ ") and "regressions" in lines[2]
    assert "### Regressions" in out
    header = next(line for line in lines if line.startswith("| Case"))
    assert header.count("|") == 9
    assert "<details>" in out and "</details>" in out


def test_looser_rule_passes_the_slowdown(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _compare(capsys, BASELINE, SLOW, "--fail-on", "images_per_sec:-30%")
    assert code == 0, out


def test_pytest_benchmark_files(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _compare(capsys, str(PB / "baseline.json"), str(PB / "slow.json"),
                            "--fail-on", "time:+10%")
    assert code == 1 and "median" in out
    code, _, _ = _compare(capsys, str(PB / "baseline.json"), str(PB / "rerun.json"))
    assert code == 0


@pytest.mark.parametrize(("args", "message"), [
    ((BASELINE, SLOW, "--fail-on", "images_per_sec:+5%"), "malformed rule"),
    ((BASELINE, SLOW, "--fail-on", "speed:-5%"), "unknown metric 'speed'"),
    ((BASELINE, str(PB / "baseline.json")), "different kinds"),
    ((BASELINE, "/nonexistent/new.json"), "no such file"),
])
def test_bad_input_is_one_line_exit_2(capsys: pytest.CaptureFixture[str],
                                      args: tuple[str, ...], message: str) -> None:
    code, out, err = _compare(capsys, *args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err and err.startswith("attnprof: error:")


def test_malformed_file_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"schema": "attnprof.result", "schema_version": 2, "cases": [')
    code, _, err = _compare(capsys, BASELINE, str(broken))
    assert code == 2 and "invalid JSON" in err and err.count("\n") == 1


def test_help_states_the_test(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["compare", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "Mann-Whitney U" in out and "images_per_sec:-5%" in out


def test_first_line_says_when_the_machines_differ(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(Path(SLOW).read_text())
    data["environment"].update(cpu_model="Other CPU", torch_version="2.99.0", torch_threads=8)
    other = tmp_path / "other-machine.json"
    other.write_text(json.dumps(data))
    code, out, _ = _compare(capsys, BASELINE, str(other))
    assert code == 1
    first = out.splitlines()[0]
    assert first.startswith("different machines (CPU ") and "'Other CPU'" in first
    assert "torch '2.13.0+cpu' vs '2.99.0'" in first and "threads 2 vs 8" in first
    assert first.endswith("throughput is not comparable across machines; params and FLOPs "
                          "still are")
    code, markdown, _ = _compare(capsys, BASELINE, str(other), "--format", "markdown")
    assert markdown.splitlines()[0].startswith("⚠ different machines (")
    _, same, _ = _compare(capsys, BASELINE, NOISE)
    assert "different machines" not in same
