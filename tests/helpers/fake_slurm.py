"""A fake Slurm for tests: ``sbatch``, ``squeue``, ``sacct``, ``scancel`` and ``srun`` on PATH
that run each job on this machine and answer as Slurm does (submitit's own tests fake Slurm
the same way, by the commands' output).

:func:`install` writes the five commands into ``bin`` (each calls :func:`main` with the
command's name) and returns the environment they need. State lives in ``FAKE_SLURM_DIR``:
per job ``<id>.state`` (the sacct state), ``<id>.cancel`` (scancel's request). Job ids come
from one counter per test session (submitit caches the states of ended ids). A supervisor
process per job runs the batch script with the SLURM_* variables set, writes its output where
``#SBATCH --output`` says, and ends it as Slurm would:

- ``--time=MIN`` after MIN x ``FAKE_SLURM_SECONDS_PER_MINUTE`` seconds (default 60): TIMEOUT;
- ``FAKE_SLURM_FAIL`` (a job ordinal, 1-based in submission order, or ``all``): the job's
  srun fails at once (``srun: error: fake node failure``): FAILED;
- ``FAKE_SLURM_KILL_ON`` (a regular expression): the job is killed (SIGKILL) as soon as its
  output matches: NODE_FAIL;
- ``scancel``: SIGTERM to the job's process group, SIGKILL 5 s later: CANCELLED by 0.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["install", "main", "state"]

_ROOT = Path(__file__).resolve().parents[2]
_ENDED = ("COMPLETED", "FAILED", "TIMEOUT", "NODE_FAIL", "CANCELLED by 0")


def _dir() -> Path:
    return Path(os.environ["FAKE_SLURM_DIR"])


def state(job_id: str) -> str:
    """A job's state as sacct reports it ("" if unknown)."""
    path = _dir() / f"{job_id}.state"
    return path.read_text().strip() if path.exists() else ""


def _set_state(job_id: str, text: str) -> None:
    partial = _dir() / f"{job_id}.state.partial"
    partial.write_text(text)
    partial.replace(_dir() / f"{job_id}.state")


def _next_id() -> str:
    counter = Path(os.environ["FAKE_SLURM_IDS"])
    number = int(counter.read_text()) + 1 if counter.exists() else 4000
    counter.write_text(str(number))
    return str(number)


def _directives(script: str) -> dict[str, str]:
    found = {}
    for line in script.splitlines():
        if line.startswith("#SBATCH --"):
            key, _, value = line[len("#SBATCH --"):].partition("=")
            found[key] = value.strip("'\"")
    return found


def _sbatch(argv: list[str]) -> int:
    script = Path(argv[-1])
    job_id = _next_id()
    ordinal = len(list(_dir().glob("*.state"))) + 1
    _set_state(job_id, "PENDING")
    subprocess.Popen([sys.executable, __file__, "supervise", job_id, str(script), str(ordinal)],
                     start_new_session=True, stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     env={**os.environ, "PYTHONPATH": str(_ROOT)})
    print(f"Submitted batch job {job_id}")
    return 0


def _fails(ordinal: int) -> bool:
    wanted = os.environ.get("FAKE_SLURM_FAIL", "")
    return wanted == "all" or str(ordinal) in wanted.split(",")


def _stop(process: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


def _supervise(job_id: str, script: Path, ordinal: int) -> int:
    options = _directives(script.read_text())
    log = Path(options.get("output", f"slurm-{job_id}.out").replace("%j", job_id))
    log.parent.mkdir(parents=True, exist_ok=True)
    limit = float(options.get("time", "60")) * float(
        os.environ.get("FAKE_SLURM_SECONDS_PER_MINUTE", "60"))
    env = {**os.environ, "SLURM_JOB_ID": job_id, "SLURM_NTASKS": "1",
           "SLURM_JOB_NUM_NODES": "1", "SLURM_NODEID": "0", "SLURM_PROCID": "0",
           "SLURM_LOCALID": "0", "SLURM_JOB_NODELIST": "fakenode",
           "FAKE_SLURM_SRUN_FAILS": "1" if _fails(ordinal) else ""}
    kill_on = os.environ.get("FAKE_SLURM_KILL_ON")
    with log.open("ab") as out:
        process = subprocess.Popen(["bash", str(script)], stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    _set_state(job_id, "RUNNING")
    start = time.monotonic()
    final = ""
    while process.poll() is None:
        time.sleep(0.02)
        if (_dir() / f"{job_id}.cancel").exists():
            _stop(process, signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                _stop(process, signal.SIGKILL)
            final = "CANCELLED by 0"
        elif time.monotonic() - start > limit:
            _stop(process, signal.SIGKILL)
            final = "TIMEOUT"
        elif kill_on and re.search(kill_on, log.read_text(errors="replace")):
            _stop(process, signal.SIGKILL)
            final = "NODE_FAIL"
    process.wait()
    _set_state(job_id, final or ("COMPLETED" if process.returncode == 0 else "FAILED"))
    return 0


def _srun(argv: list[str]) -> int:
    if os.environ.get("FAKE_SLURM_SRUN_FAILS"):
        print("srun: error: fake node failure", file=sys.stderr)
        return 1
    rest = list(argv)
    while rest and rest[0].startswith("-"):
        flag = rest.pop(0)
        if flag in ("--output", "--error") and rest:
            rest.pop(0)
    os.execvp(rest[0], rest)
    return 127  # pragma: no cover - execvp does not return


def _ids(argv: list[str]) -> list[str]:
    ids = [argv[k + 1] for k, a in enumerate(argv[:-1]) if a == "-j"]
    return [i for text in ids for i in text.split(",")]


def _sacct(argv: list[str]) -> int:
    print("JobID|State|NodeList")
    for job_id in _ids(argv):
        if state(job_id):
            print(f"{job_id}|{state(job_id)}|fakenode")
            print(f"{job_id}.batch|{state(job_id)}|fakenode")
    return 0


def _squeue(argv: list[str]) -> int:
    print("JOBID STATE")
    for job_id in _ids(argv):
        if state(job_id) and state(job_id) not in _ENDED:
            print(f"{job_id} {state(job_id)}")
    return 0


def _scancel(argv: list[str]) -> int:
    job_id = next(a for a in argv if not a.startswith("-"))
    if state(job_id) in _ENDED:
        return 0
    (_dir() / f"{job_id}.cancel").write_text("")
    if state(job_id) == "PENDING":
        _set_state(job_id, "CANCELLED by 0")
    return 0


_COMMANDS = {"sbatch": _sbatch, "srun": _srun, "sacct": _sacct, "squeue": _squeue,
             "scancel": _scancel}


def main(command: str, argv: list[str]) -> int:
    """Run the fake ``command`` with ``argv``."""
    if command == "supervise":
        return _supervise(argv[0], Path(argv[1]), int(argv[2]))
    return _COMMANDS[command](argv)


def install(bin_dir: Path, state_dir: Path, ids: Path) -> dict[str, str]:
    """Write the fake commands into ``bin_dir``; the variables to set (PATH first)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    state_dir.mkdir(parents=True, exist_ok=True)
    for command in _COMMANDS:
        path = bin_dir / command
        path.write_text(f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(_ROOT)!r})\n"
                        "from tests.helpers.fake_slurm import main\n"
                        f"sys.exit(main({command!r}, sys.argv[1:]))\n")
        path.chmod(0o755)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "FAKE_SLURM_DIR": str(state_dir), "FAKE_SLURM_IDS": str(ids)}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
