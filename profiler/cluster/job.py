"""One cluster job: the normal runner on a selection of a suite's units, into a part file.

:func:`run_job` is what an executor calls in the job's own process (a top-level function with
one picklable argument, as submitit requires). It first writes where it runs
(:class:`HostInfo`, beside the part file, so that a job killed later still says where it
was), then runs :func:`profiler.suites.run_suite` with ``units`` set: the same measuring,
memory guard and atomic writes as a plain run, one line per case on stdout (the job's log,
:class:`LogObserver`). SIGTERM (``scancel``, a cancelled local job) stops it between writes:
the part keeps every unit finished before.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from profiler.results.envelope import CaseRecord
    from profiler.results.group import GroupResult
    from profiler.suites.runner import PlannedCase, PlannedGroup, RunPlan

__all__ = ["HostInfo", "JobRequest", "JobResult", "LogObserver", "host_info", "host_path",
           "read_host", "run_job"]


@dataclass(frozen=True)
class JobRequest:
    """What a job runs: ``units`` (unit ids) of the suite at ``suite`` (a path) into ``part``;
    ``suite_hash`` (when given) must still be the suite file's (it was planned from it)."""

    suite: str
    part: str
    units: tuple[str, ...]
    device: str
    paired: bool | None = None
    max_minutes: float | None = None
    max_memory: int | None = None
    force: bool = False
    suite_hash: str = ""


@dataclass(frozen=True)
class HostInfo:
    """Where a job ran ("" where unknown)."""

    hostname: str = ""
    gpu: str = ""
    gpu_uuid: str = ""
    cpu: str = ""
    slurm_job_id: str = ""


@dataclass(frozen=True)
class JobResult:
    """What a finished job returns: where it ran and its cases' statuses."""

    host: HostInfo
    part: str
    counts: dict[str, int]


def _gpu(device: str) -> tuple[str, str]:
    if not device.startswith("cuda"):
        return "", ""
    import torch

    if not torch.cuda.is_available():
        return "", ""
    index = torch.device(device).index
    props = torch.cuda.get_device_properties(torch.cuda.current_device() if index is None
                                             else index)
    uuid = getattr(props, "uuid", "")
    text = str(uuid) if uuid else ""
    return props.name, text if not text or text.startswith("GPU-") else f"GPU-{text}"


def host_info(device: str) -> HostInfo:
    """This machine: hostname, the device's GPU model and UUID (CUDA), CPU model, Slurm id
    (torch is imported only for a CUDA device)."""
    from profiler.provenance import cpu_model

    gpu, uuid = _gpu(device)
    return HostInfo(hostname=socket.gethostname(), gpu=gpu, gpu_uuid=uuid, cpu=cpu_model(),
                    slurm_job_id=os.environ.get("SLURM_JOB_ID", ""))


def _file_hash(path: str) -> str | None:
    """The suite hash of the file at ``path`` (as :attr:`Suite.hash`; None if unreadable: the
    load that follows names the problem)."""
    from profiler.suites.parse import suite_hash

    try:
        return suite_hash(Path(path).read_bytes())
    except OSError:
        return None


def _check_hash(request: JobRequest, found: str | None) -> None:
    """A job runs the suite it was planned with, or fails saying so."""
    from profiler.errors import SuiteError

    if request.suite_hash and found is not None and found != request.suite_hash:
        raise SuiteError(f"{request.suite} changed since the jobs were planned (hash differs); "
                         "run the suite again")


def host_path(part: str | Path) -> Path:
    """Where a job writes its :class:`HostInfo`: beside its part file."""
    return Path(part).with_suffix(".host.json")


def read_host(part: str | Path) -> HostInfo | None:
    """The host a job wrote at its start, or None (it never started)."""
    try:
        data = json.loads(host_path(part).read_text(encoding="utf-8"))
        return HostInfo(**{k: str(v) for k, v in data.items() if k in HostInfo.__annotations__})
    except (OSError, ValueError, TypeError):
        return None


class LogObserver:
    """One line per finished case (and group) on ``stream``: the job's log."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.total = 0
        self.done = 0

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def run_started(self, plan: RunPlan, pending: Sequence[PlannedCase], reused: int) -> None:
        self.total = len(plan.cases)
        self._print(f"job: suite {plan.suite.name} on {plan.device}, {len(pending)} cases -> "
                    f"{plan.output}")

    def case_started(self, case: PlannedCase) -> None:
        return None

    def case_finished(self, case: PlannedCase, record: CaseRecord) -> None:
        self.done += 1
        tail = f": {record.error}" if record.error else ""
        self._print(f"[{self.done}/{self.total}] {record.status} {record.duration_s:.1f}s  "
                    f"{case.spec.label}{tail}")

    def group_finished(self, group: PlannedGroup, result: GroupResult) -> None:
        self._print(f"  group of {len(group.members)}: {result.status}, {result.rounds} rounds")


def run_job(request: JobRequest) -> JobResult:
    """Run the request's units with the normal runner; see the module docstring."""
    from profiler.signals import termination_raises
    from profiler.suites import RunOptions, load_suite, run_suite

    host = host_info(request.device)
    host_path(request.part).parent.mkdir(parents=True, exist_ok=True)
    host_path(request.part).write_text(json.dumps(asdict(host)), encoding="utf-8")
    options = RunOptions(output=Path(request.part), device=request.device, overwrite=True,
                         force=request.force, max_minutes=request.max_minutes,
                         max_memory=request.max_memory, paired=request.paired,
                         units=frozenset(request.units))
    # the file's bytes first: loading the suite imports torch, seconds that a job whose
    # suite changed need not spend on its node
    _check_hash(request, _file_hash(request.suite))
    suite = load_suite(request.suite)
    _check_hash(request, suite.hash)  # the file changed while it loaded
    with termination_raises():
        summary = run_suite(suite, options, observer=LogObserver(sys.stdout))
    return JobResult(host=host, part=request.part, counts=summary.counts)
