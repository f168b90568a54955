"""The group worker: one fresh Python process that times a whole comparison group.

``python -m profiler.measure.timing.group_worker JOB.json OUT.json``: the job names the group's
specs (as result files store them), the rounds settings of this process's share of the
budget, the baseline, the member names, seed, the seconds left (less the worker's own
start-up: the job holds the parent's ``time.monotonic()`` when written, a system-wide clock
on Linux), whether to measure memory, how (``tensor`` or ``child``) and the CPU memory
guard's limit, and the rounds per build. The worker times the group's builds in-process
(:func:`profiler.measure.timing.replicate.measure_builds`: every few rounds the members are
built afresh), then writes ``{"builds": [...]}``, each build's group record and its members'
case records, as JSON to ``OUT.json`` (written whole, via a temporary file). A member that
fails (user code raising or calling ``sys.exit``, out of memory) is that member's
``error``/``oom`` in the output, as in-process; a failure of the group as a whole is
written as ``{"error": "..."}``. Exit 0 whenever OUT.json was written.

The parent side, which starts these one after another and combines them, is
:mod:`profiler.measure.timing.replicate`.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from profiler.signals import termination_raises

__all__ = ["main", "run_job"]


def run_job(job: Mapping[str, Any]) -> dict[str, Any]:
    """Time the group ``job`` describes, in this process; the JSON the worker writes."""
    from profiler.measure.timing.replicate import ProcessJob, measure_builds
    from profiler.plan.budget import DEFAULT_ROUNDS_PER_BUILD
    from profiler.rounds import PairingSettings
    from profiler.spec import BenchSpec

    time_left = job.get("time_left")
    if time_left is not None and job.get("written_monotonic") is not None:
        time_left = max(0.0, time_left - (time.monotonic() - float(job["written_monotonic"])))
    index, seed = job.get("index"), job.get("seed")
    builds = measure_builds(ProcessJob(
        specs=tuple(BenchSpec.from_dict(s) for s in job["specs"]),
        settings=PairingSettings.from_dict(job["settings"]), baseline=int(job["baseline"]),
        names=tuple(job["names"]), kind=job.get("kind", "comparison"),
        index=None if index is None else int(index), seed=0 if seed is None else int(seed),
        time_left=time_left, measure_memory=bool(job.get("measure_memory")),
        memory_limit=job.get("memory_limit"),
        memory_method=str(job.get("memory_method", "tensor")),
        rounds_per_build=int(job.get("rounds_per_build", DEFAULT_ROUNDS_PER_BUILD)),
        guarded_batches=_batches(job.get("guarded_batches"))))
    return {"builds": [{"group": b.group.to_dict(), "records": [r.to_dict() for r in b.records]}
                       for b in builds]}


def _batches(given: Any) -> tuple[int | None, ...] | None:
    return None if given is None else tuple(None if b is None else int(b) for b in given)


def _write(path: Path, data: Mapping[str, Any]) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(data), encoding="utf-8")
    os.replace(partial, path)


def main(argv: Sequence[str] | None = None) -> int:
    """Worker entry point: ``JOB.json OUT.json`` (see the module doc)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: python -m profiler.measure.timing.group_worker JOB.json OUT.json",
              file=sys.stderr)
        return 2
    job_path, out_path = Path(args[0]), Path(args[1])
    try:
        # SIGINT counted as in the CLI, so that a model's own KeyboardInterrupt fails its
        # member while a real Ctrl-C (which reaches the whole process group) still stops
        with termination_raises():
            data = run_job(json.loads(job_path.read_text(encoding="utf-8")))
    except (Exception, SystemExit) as exc:
        text = str(exc).strip()
        first = text.splitlines()[0] if text else ""
        data = {"error": f"{type(exc).__name__}: {first}"}
    _write(out_path, data)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
