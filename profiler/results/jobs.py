"""What a cluster job did, as recorded under ``jobs`` in a result file.

``attnprof run SUITE --executor local|slurm`` (:mod:`profiler.cluster`) runs the suite's units
in jobs; the merged file lists every job of the last submission: its cases, where it ran
(hostname, GPU model and UUID, or the CPU model), its Slurm job id and log, and how it ended.
A job that did not finish (``failed``, ``timeout``, ``cancelled``) has ``error``; its
unmeasured cases are recorded ``error`` so that ``--resume`` resubmits only them. Plain data,
no torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from profiler.results.fields import known_fields

__all__ = ["JOB_STATUSES", "JobInfo", "JobStatus", "case_machines"]

JobStatus = Literal["done", "failed", "timeout", "cancelled"]
JOB_STATUSES: tuple[str, ...] = ("done", "failed", "timeout", "cancelled")


@dataclass(frozen=True)
class JobInfo:
    """One job: ``number`` (1-based, in submission order), its cases and where it ran
    ("" where unknown: a job that never started)."""

    number: int
    status: JobStatus
    executor: str
    case_ids: tuple[str, ...] = ()
    hostname: str = ""
    gpu: str = ""
    gpu_uuid: str = ""
    cpu: str = ""
    slurm_job_id: str = ""
    log: str = ""
    error: str | None = None

    @property
    def machine(self) -> str:
        """``hostname (GPU or CPU model)``: how reports name where the job ran."""
        model = self.gpu or self.cpu
        return f"{self.hostname} ({model})" if model else self.hostname

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "status": self.status, "executor": self.executor,
                "case_ids": list(self.case_ids), "hostname": self.hostname, "gpu": self.gpu,
                "gpu_uuid": self.gpu_uuid, "cpu": self.cpu, "slurm_job_id": self.slurm_job_id,
                "log": self.log, "error": self.error}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobInfo:
        known = known_fields(cls, data)
        known["case_ids"] = tuple(str(c) for c in data.get("case_ids") or ())
        return cls(**known)


def case_machines(jobs: tuple[JobInfo, ...]) -> dict[str, str]:
    """Case id -> the machine (:attr:`JobInfo.machine`) of the finished job that measured it
    (a later job over an earlier one; cases of jobs that did not finish are left out)."""
    found: dict[str, str] = {}
    for job in sorted(jobs, key=lambda j: j.number):
        if job.status == "done" and job.machine:
            found.update(dict.fromkeys(job.case_ids, job.machine))
    return found
