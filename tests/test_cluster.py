"""Running a suite in jobs (``attnprof run SUITE --executor local|slurm``): jobs from the
suite's expansion, bad input, the local executor end to end, and the Slurm path against a fake
Slurm on PATH (``tests/helpers/fake_slurm.py``: sbatch, squeue, sacct, scancel, srun) covering
submission, a failed job, a timed-out job, cancellation, and a job killed mid-run then resumed.

The end-to-end tests start real job processes on a tiny suite (2 count cases in one job, a
comparison group of two small blocks in another).
"""

from __future__ import annotations

import io
import json
import socket
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console

from profiler.cli import main
from profiler.cluster import submit
from profiler.cluster.executors import LocalExecutor, SlurmExecutor, SlurmSettings
from profiler.cluster.job import JobRequest
from profiler.cluster.jobs import make_jobs
from profiler.commands._cluster import PlainClusterDisplay, RichClusterDisplay
from profiler.results.envelope import load_result_file
from profiler.results.jobs import JobInfo
from profiler.suites import RunOptions, load_suite, plan_run
from profiler.suites.runner import PlannedGroup
from tests.helpers import fake_slurm, fakes

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "suites"
TINY = str(FIXTURES / "tiny.toml")
CLUSTER = str(FIXTURES / "cluster-tiny.toml")


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(submit, "wait_briefly", lambda seconds: time.sleep(0.2))


@pytest.fixture
def slurm(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory,
          monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake Slurm on PATH; returns its state folder."""
    ids = tmp_path_factory.getbasetemp() / "fake-slurm-ids"
    for name, value in fake_slurm.install(tmp_path / "bin", tmp_path / "slurm",
                                          ids).items():
        monkeypatch.setenv(name, value)
    return tmp_path / "slurm"


# -- jobs from the suite's expansion (no process) ------------------------------------------


def test_jobs_hold_whole_groups_and_every_case_once(tmp_path: Path) -> None:
    plan = plan_run(load_suite(TINY), RunOptions(output=tmp_path / "x.json"))
    jobs = make_jobs(plan.units, count_jobs=2)
    # tiny: 2 count cases (2 count-only jobs), 2 groups (a job each), 1 training case alone
    assert [len(j.cases) for j in jobs] == [1, 1, 2, 1, 2]
    assert [j.count_only for j in jobs] == [True, True, False, False, False]
    assert [j.number for j in jobs] == [1, 2, 3, 4, 5]
    for job in jobs:
        groups = [u for u in job.units if isinstance(u, PlannedGroup)]
        assert not groups or len(job.units) == 1
    ids = [c for j in jobs for c in j.case_ids]
    assert ids == [c.spec.case_id for c in plan.cases]
    one = make_jobs(plan.units)
    assert [len(j.cases) for j in one] == [2, 2, 1, 2]


def test_rich_display_shows_each_job_state_cases_and_log(tmp_path: Path) -> None:
    plan = plan_run(load_suite(CLUSTER), RunOptions(output=tmp_path / "x.json"))
    first, second = make_jobs(plan.units)
    stream = io.StringIO()
    with RichClusterDisplay(Console(file=stream, width=200)) as display:
        display.submitted(plan, (first, second), tmp_path / "logs", 0)
        display.job_update(first, "running", 1, tmp_path / "logs" / "job-1.log")
        display.job_ended(second, JobInfo(2, "failed", "local", second.case_ids,
                                          log="logs/job-2.log", error="boom"))
    rows = [line.split() for line in stream.getvalue().splitlines()]
    assert ["1", "running", "1/2", "2", "count", "cases", str(tmp_path / "logs" / "job-1.log")] \
        in rows
    assert ["2", "failed", "0/2", "group", "of", "2:", "infer", "se[C=8,4x4]", "b2", "fp32",
            "cpu", "logs/job-2.log"] in rows


def test_locally_only_count_only_jobs_share_the_machine(tmp_path: Path) -> None:
    plan = plan_run(load_suite(TINY), RunOptions(output=tmp_path / "x.json"))
    count_a, count_b, group, alone, _ = make_jobs(plan.units, count_jobs=2)
    local = LocalExecutor(tmp_path)
    assert submit._may_start(count_b, [count_a], local, jobs=2)
    assert not submit._may_start(count_b, [count_a], local, jobs=1)
    assert not submit._may_start(group, [count_a], local, jobs=2)
    assert not submit._may_start(count_a, [alone], local, jobs=2)
    assert submit._may_start(group, [], local, jobs=1)


# -- bad input: exit 2, one line, nothing written ------------------------------------------


@pytest.mark.parametrize(("extra", "message"), [
    (["--executor", "ssh"], "unknown executor 'ssh'; choose one of local, slurm"),
    (["--executor", "local", "--jobs", "0"], "--jobs must be a positive integer, got 0"),
    (["--slurm-partition", "gpu"], "--slurm-partition needs --executor slurm"),
    (["--jobs", "2"], "--jobs needs --executor local or slurm"),
    (["--executor", "local", "--slurm-partition", "gpu"],
     "--slurm-partition needs --executor slurm, not local"),
    (["--executor", "slurm", "--slurm-option", "qos"], "--slurm-option 'qos': expected KEY=VALUE"),
    (["--executor", "slurm"], "Slurm is unreachable: no 'sbatch' on PATH"),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(
        extra: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "no-slurm-here"))
    assert main(["run", CLUSTER, "-o", "out.json", *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("attnprof: error: ") and message in err
    assert list(tmp_path.iterdir()) == []


def test_slurm_without_submitit_says_how_to_install(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slurm: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "submitit", None)  # import submitit now fails
    assert main(["reproduce", "--suite", CLUSTER, "--results", "out.json",
                 "--executor", "slurm"]) == 2
    err = capsys.readouterr().err
    assert err == ("attnprof: error: --executor slurm needs submitit, which is not installed: "
                   "pip install -e \".[cluster]\" (or pip install 'submitit>=1.5')\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin", "slurm"]


# -- the local executor, end to end ---------------------------------------------------------


def _headings(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if line.startswith("#")]


@pytest.mark.slow
def test_local_executor_writes_the_cases_of_a_plain_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    plain, jobs = tmp_path / "plain.json", tmp_path / "jobs.json"
    with monkeypatch.context() as faked:  # the plain run's layout, not its figures, is compared
        fakes.install(faked)
        assert main(["run", CLUSTER, "-o", str(plain), "--quiet"]) == 0
    assert main(["run", CLUSTER, "-o", str(jobs), "--executor", "local"]) == 0
    captured = capsys.readouterr()
    assert "job 1/2 done" in captured.err and "job 2/2 done" in captured.err
    assert f"wrote {jobs} (job logs in {tmp_path / 'jobs-jobs'})" in captured.out
    a, b = load_result_file(plain), load_result_file(jobs)
    assert [c.case_id for c in b.cases] == [c.case_id for c in a.cases]
    assert [c.index for c in b.cases] == [0, 1, 2, 3]
    assert [c.status for c in b.cases] == ["ok"] * 4
    assert [g.group_id for g in b.groups] == [g.group_id for g in a.groups]
    assert b.suite == a.suite and a.jobs == ()
    assert [(j.number, j.status, j.executor, len(j.case_ids)) for j in b.jobs] == \
        [(1, "done", "local", 2), (2, "done", "local", 2)]
    for job in b.jobs:
        assert job.hostname == socket.gethostname() and job.cpu and not job.gpu
        assert Path(job.log).is_file() and job.error is None
    assert "jobs" not in json.loads(plain.read_text())
    reports = []
    for path in (plain, jobs):
        assert main(["report", str(path), "-o", str(path.with_suffix(".md"))]) == 0
        reports.append(path.with_suffix(".md").read_text())
    assert _headings(reports[0]) == _headings(reports[1])


# -- the Slurm path, against the fake Slurm -------------------------------------------------


def _final_state(job_id: str) -> str:
    """The fake Slurm's state of a job once it has ended (a job's result can be read a moment
    before its process exits)."""
    deadline = time.monotonic() + 20
    while fake_slurm.state(job_id) in ("PENDING", "RUNNING") and time.monotonic() < deadline:
        time.sleep(0.1)
    return fake_slurm.state(job_id)


def _slurm_run(out: Path, *extra: str) -> int:
    return main(["run", CLUSTER, "-o", str(out), "--executor", "slurm", "--slurm-time", "10",
                 *extra])


@pytest.mark.slow
def test_slurm_job_killed_mid_run_is_resumed_alone(
        tmp_path: Path, slurm: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.json"
    # the count job dies (SIGKILL) once its first case is written
    monkeypatch.setenv("FAKE_SLURM_KILL_ON", r"\[1/2\] ok .* count ")
    assert _slurm_run(out, "--slurm-option", "qos=high") == 1
    captured = capsys.readouterr()
    first = load_result_file(out)
    count_job, group_job = first.jobs
    assert count_job.status == "failed" and "NODE_FAIL" in (count_job.error or "")
    assert group_job.status == "done" and group_job.slurm_job_id
    assert _final_state(group_job.slurm_job_id) == "COMPLETED"
    assert Path(group_job.log).is_file() and group_job.hostname == socket.gethostname()
    statuses = [c.status for c in first.cases]
    assert statuses == ["ok", "error", "ok", "ok"]
    assert "job 1 failed: " in (first.cases[1].error or "")
    assert "--resume resubmits it" in (first.cases[1].error or "")
    assert (f"1 case(s) missing; resubmit only them with: attnprof run {CLUSTER} -o {out} "
            "--executor slurm --resume") in captured.out
    logs = tmp_path / "out-jobs"
    for job, exclusive in ((count_job, False), (group_job, True)):  # timing jobs: a whole node
        script = (logs / job.slurm_job_id / f"{job.slurm_job_id}_submission.sh").read_text()
        assert "#SBATCH --qos=high" in script and "#SBATCH --time=10" in script
        assert ("#SBATCH --exclusive" in script) is exclusive

    monkeypatch.delenv("FAKE_SLURM_KILL_ON")
    assert _slurm_run(out, "--resume") == 0
    second = load_result_file(out)
    assert [c.status for c in second.cases] == ["ok"] * 4
    assert second.cases[0] == first.cases[0] and second.groups == first.groups
    assert [(j.number, j.status) for j in second.jobs] == [(2, "done"), (3, "done")]
    assert second.jobs[1].case_ids == (first.cases[1].case_id,)


def test_slurm_failed_jobs_are_listed_with_their_error(
        tmp_path: Path, slurm: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.json"
    monkeypatch.setenv("FAKE_SLURM_FAIL", "all")
    assert _slurm_run(out, "--quiet") == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ("suite cluster-tiny on cpu: 0 ok, 0 oom, 4 error, 0 skipped "
                        "(0 of 2 jobs done)")
    result = load_result_file(out)
    for job in result.jobs:
        assert job.status == "failed"
        assert job.error == "Slurm state FAILED: srun: error: fake node failure"
        assert fake_slurm.state(job.slurm_job_id) == "FAILED"
        assert f"  job {job.number} failed (slurm {job.slurm_job_id}): {job.error}; " \
               f"log: {job.log}" in lines
    assert all(c.status == "error" for c in result.cases)


def test_slurm_timed_out_jobs_are_listed(
        tmp_path: Path, slurm: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out.json"
    monkeypatch.setenv("FAKE_SLURM_SECONDS_PER_MINUTE", "0.3")  # --slurm-time 1: 0.3 s
    assert main(["run", CLUSTER, "-o", str(out), "--executor", "slurm", "--slurm-time", "1",
                 "--quiet"]) == 1
    result = load_result_file(out)
    assert [j.status for j in result.jobs] == ["timeout", "timeout"]
    assert all((j.error or "").startswith("Slurm state TIMEOUT") for j in result.jobs)
    assert [c.error.split(":")[0] for c in result.cases if c.error] == \
        ["job 1 timeout", "job 1 timeout", "job 2 timeout", "job 2 timeout"]


@pytest.mark.parametrize("executor", ["slurm", "local"])
def test_ctrl_c_cancels_the_submitted_jobs_and_keeps_the_file(
        executor: str, tmp_path: Path, slurm: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.json"
    shown = PlainClusterDisplay.job_update

    def interrupt_once_running(self: PlainClusterDisplay, job: object, state: str,
                               cases_done: int, log: Path | None) -> None:
        shown(self, job, state, cases_done, log)  # type: ignore[arg-type]
        if state == "running":
            raise KeyboardInterrupt

    monkeypatch.setattr(PlainClusterDisplay, "job_update", interrupt_once_running)
    assert main(["run", CLUSTER, "-o", str(out), "--executor", executor]) == 130
    assert "jobs were cancelled" in capsys.readouterr().err
    result = load_result_file(out)
    assert [j.status for j in result.jobs] == ["cancelled", "cancelled"]
    if executor == "slurm":  # both were submitted, and scancel reached both
        for job in result.jobs:
            assert _final_state(job.slurm_job_id) == "CANCELLED by 0"
    else:  # the running job was stopped, the other never started
        assert [j.error for j in result.jobs] == ["cancelled: interrupted",
                                                  "not submitted: interrupted"]
    assert all(c.status == "error" and "cancelled" in (c.error or "") for c in result.cases)


def test_a_changed_suite_fails_its_job_before_the_suite_loads(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the file's hash is checked first: loading a suite imports torch, seconds on a node
    import profiler.suites
    from profiler.cluster.job import read_host, run_job
    from profiler.errors import SuiteError

    def refuse(path: str) -> None:
        raise AssertionError(f"loaded {path}")

    monkeypatch.setattr(profiler.suites, "load_suite", refuse)
    request = JobRequest(suite=str(FIXTURES / "tiny.toml"), part=str(tmp_path / "part.json"),
                         units=("count-x",), device="cpu", suite_hash="sha256:other")
    with pytest.raises(SuiteError, match=r"tiny\.toml changed since the jobs were planned"):
        run_job(request)
    host = read_host(request.part)  # where the job ran is known all the same
    assert host is not None and host.hostname == socket.gethostname() and host.cpu


@pytest.mark.parametrize("executor", ["local", "slurm"])
def test_a_job_that_raises_fails_with_its_error(executor: str, tmp_path: Path,
                                                slurm: Path) -> None:
    chosen = (LocalExecutor(tmp_path / "logs") if executor == "local"
              else SlurmExecutor(tmp_path / "logs", SlurmSettings(time_min=5)))
    request = JobRequest(suite=str(FIXTURES / "tiny.toml"), part=str(tmp_path / "part.json"),
                         units=("count-x",), device="cpu", suite_hash="sha256:other")
    handle = chosen.submit(request, 1, timing=False)
    deadline = time.monotonic() + 120
    while handle.state() in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert handle.state() == "failed"
    result, error = handle.outcome()
    assert result is None
    assert error is not None and error.endswith(
        "tiny.toml changed since the jobs were planned (hash differs); run the suite again")
    assert handle.log.is_file() and not (tmp_path / "part.json").exists()
