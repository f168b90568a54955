"""Executors: where a job's process runs, and how to watch and cancel it.

- :class:`LocalExecutor`: a subprocess on this machine (``python -m profiler.cluster.worker``,
  in its own session so that Ctrl-C reaches only the coordinator, which then cancels it);
  output in the job's log file. Needs nothing but attnprof.
- :class:`SlurmExecutor`: ``sbatch`` through submitit's ``SlurmExecutor`` (state from
  ``sacct``, cancellation by ``scancel``), one log per job (stdout and stderr together). Timing
  jobs ask for a whole node (``--exclusive``) so that nothing else shares its cores.

A :class:`JobHandle` answers :meth:`~JobHandle.state` (``queued``, ``running`` or an end
state of :data:`~profiler.results.jobs.JOB_STATUSES`) and, once ended,
:meth:`~JobHandle.outcome`: the job's :class:`~profiler.cluster.job.JobResult` or an error.
"""

from __future__ import annotations

import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from profiler.cluster.job import JobRequest, JobResult, run_job
from profiler.errors import InvalidOptionError

__all__ = [
    "END_STATES",
    "INSTALL_HINT",
    "Executor",
    "JobHandle",
    "LocalExecutor",
    "SlurmExecutor",
    "SlurmSettings",
    "last_line",
    "wait_briefly",
]

END_STATES = ("done", "failed", "timeout", "cancelled")
INSTALL_HINT = ("--executor slurm needs submitit, which is not installed: pip install -e "
                "\".[cluster]\" (or pip install 'submitit>=1.5')")


def last_line(text: str | None) -> str:
    """The last non-empty line of ``text`` that is not a separator ("" if none)."""
    lines = [line.strip() for line in (text or "").splitlines()]
    useful = [line for line in lines if line and set(line) != {"-"}]
    return useful[-1] if useful else ""


class JobHandle(Protocol):
    """A submitted job."""

    log: Path
    slurm_job_id: str

    def state(self) -> str:
        ...

    def outcome(self) -> tuple[JobResult | None, str | None]:
        ...

    def cancel(self) -> None:
        ...


class Executor(Protocol):
    """Submits jobs; ``name`` is recorded in each job's info."""

    name: str

    def submit(self, request: JobRequest, number: int, timing: bool) -> JobHandle:
        ...


@dataclass
class _LocalJob:
    process: subprocess.Popen[bytes]
    log: Path
    result_path: Path
    slurm_job_id: str = ""
    cancelled: bool = False

    def state(self) -> str:
        code = self.process.poll()
        if code is None:
            return "running"
        if self.cancelled:
            return "cancelled"
        return "done" if code == 0 and self.result_path.exists() else "failed"

    def outcome(self) -> tuple[JobResult | None, str | None]:
        if self.state() == "done":
            with self.result_path.open("rb") as handle:
                return pickle.load(handle), None
        if self.cancelled:
            return None, "cancelled"
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        code = self.process.returncode
        return None, last_line(text) or f"the job's process exited with status {code}"

    def cancel(self) -> None:
        if self.process.poll() is not None:
            return
        self.cancelled = True
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


class LocalExecutor:
    """Jobs as subprocesses of this machine; files under ``folder``."""

    name = "local"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def submit(self, request: JobRequest, number: int, timing: bool) -> JobHandle:
        self.folder.mkdir(parents=True, exist_ok=True)
        task = self.folder / f"job-{number}.task.pkl"
        result = self.folder / f"job-{number}.result.pkl"
        log = self.folder / f"job-{number}.log"
        result.unlink(missing_ok=True)
        with task.open("wb") as handle:
            pickle.dump((run_job, request), handle)
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-u", "-m", "profiler.cluster.worker", str(task), str(result)],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        return _LocalJob(process, log, result)


@dataclass(frozen=True)
class SlurmSettings:
    """sbatch settings from the CLI (None: Slurm's default)."""

    partition: str | None = None
    gpus_per_node: int | None = None
    time_min: int | None = None
    account: str | None = None
    options: tuple[tuple[str, str], ...] = ()


# sacct states -> ours (anything else, e.g. PENDING or not yet known: queued)
_SLURM_STATES = {"RUNNING": "running", "COMPLETING": "running", "COMPLETED": "done",
                 "FAILED": "failed", "NODE_FAIL": "failed", "OUT_OF_MEMORY": "failed",
                 "BOOT_FAIL": "failed", "DEADLINE": "timeout", "PREEMPTED": "failed",
                 "TIMEOUT": "timeout", "CANCELLED": "cancelled"}


def _slurm_state(text: str) -> str:
    return _SLURM_STATES.get(text.split(" ")[0].rstrip("+"), "queued")


@dataclass
class _SlurmJob:
    job: Any  # submitit.slurm.slurm.SlurmJob
    log: Path
    slurm_job_id: str
    ended: str = ""

    def state(self) -> str:
        if self.ended:
            return self.ended
        if not self.job.done():
            found = _slurm_state(self.job.state)
            return found if found in ("queued", "running") else "running"
        found = _slurm_state(self.job.watcher.get_state(self.slurm_job_id, mode="cache"))
        if self.job.paths.result_pickle.exists() or found == "done":
            # COMPLETED: submitit waits a little for a result still on its way (shared disks)
            self.ended = "failed" if self.job.exception() is not None else "done"
        else:
            found = _slurm_state(self.job.watcher.get_state(self.slurm_job_id, mode="force"))
            self.ended = found if found in END_STATES and found != "done" else "failed"
        return self.ended

    def outcome(self) -> tuple[JobResult | None, str | None]:
        if self.state() == "done":
            return self.job.result(), None
        if self.job.paths.result_pickle.exists():  # the job raised: its exception's last line
            text = str(self.job.exception() or "")
            inside = text.split("----------------------")
            return None, last_line(inside[1] if len(inside) > 2 else text)
        slurm = self.job.watcher.get_state(self.slurm_job_id, mode="cache")
        log = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        tail = last_line(log)
        return None, f"Slurm state {slurm}" + (f": {tail}" if tail else "")

    def cancel(self) -> None:
        if self.state() in END_STATES:
            return
        self.job.cancel(check=False)
        self.ended = "cancelled"


class SlurmExecutor:
    """Jobs submitted with sbatch through submitit; logs under ``folder/<job id>/``."""

    name = "slurm"

    def __init__(self, folder: Path, settings: SlurmSettings,
                 which: Callable[[str], str | None] = shutil.which) -> None:
        try:
            import submitit
        except ModuleNotFoundError:
            raise InvalidOptionError(INSTALL_HINT) from None
        if which("sbatch") is None or which("srun") is None:
            missing = "sbatch" if which("sbatch") is None else "srun"
            raise InvalidOptionError(f"--executor slurm: Slurm is unreachable: no {missing!r} on "
                                     "PATH (submit from a node of the cluster, or use "
                                     "--executor local)")
        self.folder = folder
        self.settings = settings
        self._submitit = submitit

    def _executor(self, number: int, timing: bool) -> Any:
        executor = self._submitit.SlurmExecutor(folder=self.folder / "%j", python=sys.executable)
        params: dict[str, Any] = {"job_name": f"attnprof-{number}", "stderr_to_stdout": True,
                                  "nodes": 1, "ntasks_per_node": 1}
        given = self.settings
        for key, value in (("partition", given.partition), ("gpus_per_node", given.gpus_per_node),
                           ("time", given.time_min), ("account", given.account)):
            if value is not None:
                params[key] = value
        if timing:
            params["exclusive"] = True
        if given.options:
            params["additional_parameters"] = dict(given.options)
        executor.update_parameters(**params)
        return executor

    def submit(self, request: JobRequest, number: int, timing: bool) -> JobHandle:
        job = self._executor(number, timing).submit(run_job, request)
        return _SlurmJob(job, Path(job.paths.stdout), str(job.job_id))


def wait_briefly(seconds: float) -> None:
    """The poll loop's pause (a function, so that tests can shorten it)."""
    time.sleep(seconds)
