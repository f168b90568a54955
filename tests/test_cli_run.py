"""``attnprof run`` and ``attnprof list`` end to end, with a fake measurement."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import torch

from profiler.cli import main
from profiler.commands.run import PlainObserver, RichObserver, make_observer
from profiler.results.envelope import load_result_file
from profiler.suites import RunOptions, load_suite, run_suite
from tests.helpers.fakes import FakeMeasure, install

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "suites"
TINY = str(FIXTURES / "tiny.toml")
TINY_CASES = 7


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeMeasure:
    return install(monkeypatch)


def test_run_writes_every_case_and_says_where(tmp_path: Path, fake: FakeMeasure,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "tiny.json"
    assert main(["run", TINY, "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert f"wrote {out}" in captured.out
    assert "suite tiny on cpu: 7 ok, 0 oom, 0 error, 0 skipped" in captured.out
    # header, the plan, one plain line per case, one line per comparison group with its ratios
    plan, progress = captured.err.split("[1/7]")
    assert plan.splitlines()[1].startswith("plan: probe") and "plan: estimated" in plan
    assert progress.count("\n") == TINY_CASES + 2
    # the plan gives each group 3 processes of at least 4 rounds (the fake engine runs them in
    # one): 12 rounds
    assert "  paired, 12 rounds (converged), throughput vs resnet18: resnet18+eca 100.0% [" \
        in captured.err
    assert "plan vs actual:" in captured.out and "  total: planned" in captured.out
    assert loaded_plan(out)["units"][0]["actual_s"] is not None
    assert "[7/7] ok" in captured.err
    loaded = load_result_file(out)
    assert len(loaded.cases) == TINY_CASES and len(fake.labels) == TINY_CASES
    assert loaded.environment.device == "cpu" and loaded.tool_version


def loaded_plan(path: Path) -> dict[str, object]:
    plan = load_result_file(path).plan
    assert plan is not None
    return dict(plan)


def test_default_output_is_under_results(tmp_path: Path, fake: FakeMeasure,
                                         monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["run", TINY, "--quiet"]) == 0
    captured = capsys.readouterr()
    assert (tmp_path / "results" / "tiny-cpu.json").is_file()
    assert "wrote results/tiny-cpu.json" in captured.out and captured.err == ""


def test_ctrl_c_exits_130_and_resume_completes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "tiny.json"
    interrupted = install(monkeypatch, FakeMeasure(interrupt_at=3))
    assert main(["run", TINY, "-o", str(out)]) == 130
    assert "--resume" in capsys.readouterr().err
    assert len(load_result_file(out).cases) == 2
    rest = install(monkeypatch)
    assert main(["run", TINY, "-o", str(out), "--resume"]) == 0
    assert rest.labels[0] == interrupted.labels[2]  # starts again at the interrupted case
    assert not set(rest.labels) & set(interrupted.labels[:2])
    assert len(rest.labels) == TINY_CASES - 2
    assert len(load_result_file(out).cases) == TINY_CASES
    assert "2 kept from before" in capsys.readouterr().out


def test_failed_case_is_listed_and_strict_exits_1(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    label = "infer resnet18+eca b2 fp32 cpu"
    install(monkeypatch, FakeMeasure(fail_label=label))
    out = tmp_path / "tiny.json"
    assert main(["run", TINY, "-o", str(out), "-q"]) == 0
    printed = capsys.readouterr().out
    assert f"  error   {label}: RuntimeError: shape mismatch" in printed
    records = load_result_file(out).cases
    assert [r.status for r in records].count("ok") == TINY_CASES - 1
    assert main(["run", TINY, "-o", str(out), "-q", "--overwrite", "--strict"]) == 1


def test_existing_output_is_not_overwritten(tmp_path: Path, fake: FakeMeasure,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "tiny.json"
    out.write_text("{}")
    assert main(["run", TINY, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--resume" in err and "--overwrite" in err
    assert out.read_text() == "{}" and fake.labels == []


@pytest.mark.parametrize(("fixture", "expected"), [
    ("syntax-error.toml", "syntax-error.toml:6: TOML syntax error"),
    ("unknown-key.toml", "unknown-key.toml:11: key 'matrix[2].atention': unknown key"),
    ("unknown-block.toml", "unknown-block.toml:9: key 'matrix[1].attention': unknown block 'sex'"),
    ("bad-shape.toml", "bad-shape.toml:10: key 'matrix[1].input': malformed shape"),
    ("empty-matrix.toml", "empty-matrix.toml:5: key 'matrix': no [[matrix]] entries"),
    ("wrong-type.toml", "wrong-type.toml:8: key 'budget.cpu.batch'"),
])
def test_malformed_suites_exit_2_before_any_work(tmp_path: Path, fake: FakeMeasure,
                                                 capsys: pytest.CaptureFixture[str],
                                                 fixture: str, expected: str) -> None:
    out = tmp_path / "r.json"
    assert main(["run", str(FIXTURES / fixture), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("attnprof: error: ") and err.count("\n") == 1
    assert expected in err
    assert fake.labels == [] and not out.exists()


@pytest.mark.parametrize(("args", "fragment"), [
    (["no-such-suite"], "unknown suite 'no-such-suite'; valid: blocks, ci-smoke, eca-paper"),
    ([TINY, "--shard", "3/2"], "shard 3/2 is out of range"),
    ([TINY, "--shard", "half"], "malformed shard 'half'"),
    ([TINY, "--device", "tpu"], "unknown device 'tpu'"),
    ([TINY, "--resume", "--overwrite"], "not both"),
])
def test_bad_arguments_exit_2(tmp_path: Path, fake: FakeMeasure,
                              capsys: pytest.CaptureFixture[str], args: list[str],
                              fragment: str) -> None:
    assert main(["run", *args, "-o", str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1 and fake.labels == []


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_exits_2(tmp_path: Path, fake: FakeMeasure,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", TINY, "--device", "cuda", "-o", str(tmp_path / "r.json")]) == 2
    assert "CUDA is not available" in capsys.readouterr().err


def test_time_budget_flag_records_skipped_cases(tmp_path: Path, fake: FakeMeasure,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.json"
    assert main(["run", TINY, "-o", str(out), "-q", "--max-minutes", "0.0000001"]) == 0
    printed = capsys.readouterr().out
    found = re.search(r"(\d) ok, 0 oom, 0 error, (\d) skipped", printed)
    assert found is not None and int(found[1]) + int(found[2]) == TINY_CASES
    assert int(found[2]) >= TINY_CASES - 1  # at most the first case starts in 6 microseconds
    assert f"attnprof run {FIXTURES / 'tiny.toml'} -o {out} --resume" in printed
    assert main(["run", TINY, "-o", str(out), "-q", "--resume", "--strict"]) == 0
    assert all(c.status == "ok" for c in load_result_file(out).cases)


def test_list_shows_the_suites(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "suites:" in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    for name in ("eca-paper", "kernel-size", "blocks", "ci-smoke"):
        assert name in lines
    assert "ECA-Net (CVPR 2020) Table 3" in lines["eca-paper"]


def test_list_survives_an_unreadable_suite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "broken.toml").write_text("[suite\n")
    monkeypatch.chdir(tmp_path)
    assert main(["list"]) == 0
    assert re.search(r"^  broken\s+\(unreadable: ", capsys.readouterr().out, re.MULTILINE)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal(tmp_path: Path, fake: FakeMeasure) -> None:
    stream = _Terminal()
    observer = make_observer(quiet=False, stream=stream)
    assert isinstance(observer, RichObserver)
    with observer:
        run_suite(load_suite(TINY), RunOptions(output=tmp_path / "r.json"), observer=observer)
    shown = stream.getvalue()
    assert "suite tiny on cpu" in shown and "7/7" in shown
    assert isinstance(make_observer(quiet=False, stream=io.StringIO()), PlainObserver)
