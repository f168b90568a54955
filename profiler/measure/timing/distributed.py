"""Data-parallel training throughput (``--nproc N``) with DistributedDataParallel and torchrun.

The parent (:func:`bench_distributed`) writes the spec to a temporary folder and launches::

    python -m torch.distributed.run --standalone --nproc_per_node N \\
        -m profiler.measure.timing.distributed SPEC.json OUT.json

Each worker (:func:`main`) joins the process group (NCCL on CUDA, rank i on ``cuda:i``; gloo
on the CPU), wraps the model in DistributedDataParallel and times its own training steps with
the same rules as a single process (:func:`profiler.measure.timing.loop.run_timing`); rank 0's
warm-up and calibration decisions are broadcast so that every rank runs the same steps.
``batch`` is per rank. Rank 0 gathers every rank's step times and writes the result:

- a sample of the whole job is the *slowest* rank's time for that step (the job advances at
  its pace), and global images/s = ``N * batch`` / that synchronized step time;
- ``per_rank`` keeps each rank's own images/s, step time and peak memory.

Memory (unless ``spec.memory`` is off): on CUDA each rank's allocator counters (as a single
process); on the CPU each rank is a fresh process, so its RSS high-water mark minus its RSS
before building the model (``cpu_rss_hwm_rank``). ``peak_memory_bytes`` is the largest rank's.
CPU ranks run ``spec.threads`` threads each (default 1: ``OMP_NUM_THREADS=1``, torchrun's own
default), so N ranks should not exceed the cores.

A worker that fails writes ``OUT.json.rank<R>.json`` with its one-line error (and the batch
and free memory on OOM) and exits non-zero; torchrun then stops the other ranks and the
parent raises the error.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from profiler.errors import (
    AttnprofError,
    DeviceUnavailableError,
    MeasurementError,
    OutOfMemoryError,
    one_line,
)
from profiler.measure.children import run_child
from profiler.measure.memory.peak import CudaMemoryProbe, child_environment
from profiler.measure.steps import prepare_step, static_memory_bytes
from profiler.measure.timing.clock import clock_for
from profiler.measure.timing.loop import (
    DEFAULT_POLICY,
    TimingPolicy,
    is_oom,
    oom_error,
    run_timing,
)
from profiler.results.bench import BenchResult, RankResult
from profiler.signals import user_code
from profiler.spec import BenchSpec
from profiler.stats import median, summarize

__all__ = ["RANK_METHOD_CPU", "bench_distributed", "launch_command", "main"]

RANK_METHOD_CPU = "cpu_rss_hwm_rank"


def launch_command(nproc: int, spec_path: Path, out_path: Path) -> list[str]:
    """The torchrun command line that runs ``nproc`` workers on this machine."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone",
            "--nproc_per_node", str(nproc), "-m", "profiler.measure.timing.distributed",
            str(spec_path), str(out_path)]


def _check_devices(spec: BenchSpec) -> None:
    if spec.device == "cpu":
        return
    if not torch.cuda.is_available():
        raise DeviceUnavailableError(f"device {spec.device!r} asked for, but CUDA is not "
                                     "available on this machine; use --device cpu")
    if torch.cuda.device_count() < spec.nproc:
        raise DeviceUnavailableError(f"--nproc {spec.nproc} needs {spec.nproc} CUDA devices; "
                                     f"this machine has {torch.cuda.device_count()}")
    if not dist.is_nccl_available():
        raise DeviceUnavailableError("--nproc on CUDA needs the NCCL backend, which this torch "
                                     "build lacks")


def _raise_rank_error(out_path: Path, nproc: int) -> None:
    for rank in range(nproc):
        path = Path(f"{out_path}.rank{rank}.json")
        if not path.exists():
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("oom"):
            raise OutOfMemoryError(f"rank {rank}: {data['error']}", batch=int(data["batch"]),
                                   free_bytes=data.get("free_bytes"))
        raise MeasurementError(f"rank {rank}: {data['error']}")


def bench_distributed(spec: BenchSpec, batch: int,
                      policy: TimingPolicy = DEFAULT_POLICY) -> BenchResult:
    """Launch ``spec.nproc`` data-parallel workers at ``batch`` per rank; gather the result."""
    _check_devices(spec)
    timeout = 600.0 + 20.0 * spec.repeats * spec.min_time
    with tempfile.TemporaryDirectory(prefix="attnprof-ddp-") as tmp:
        spec_path, out_path = Path(tmp) / "spec.json", Path(tmp) / "result.json"
        payload = {"spec": spec.to_dict(), "batch": batch, "policy": asdict(policy)}
        spec_path.write_text(json.dumps(payload), encoding="utf-8")
        env = child_environment(spec.threads or 1)
        try:
            proc = run_child(launch_command(spec.nproc, spec_path, out_path),
                             timeout=timeout, env=env, grace=15.0)
        except subprocess.TimeoutExpired:
            raise MeasurementError(f"torchrun with {spec.nproc} processes did not finish "
                                   f"within {timeout:.0f} s") from None
        _raise_rank_error(out_path, spec.nproc)
        if proc.returncode != 0 or not out_path.exists():
            lines = [line for line in proc.stderr.splitlines() if line.strip()]
            tail = lines[-1].strip() if lines else f"exit status {proc.returncode}"
            raise MeasurementError(f"torchrun with {spec.nproc} processes failed: {tail}")
        return BenchResult.from_dict(json.loads(out_path.read_text(encoding="utf-8")))


# --- the worker side ------------------------------------------------------------------------


@dataclass(frozen=True)
class _RankFigures:
    rank: int
    warmup_steps: int
    steps_per_repeat: int
    samples: tuple[float, ...]
    peak_bytes: int | None
    static_bytes: int
    activation_bytes: int | None
    reserved_bytes: int | None
    method: str


def _rss(key: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _measure_rank(spec: BenchSpec, batch: int, policy: TimingPolicy, rank: int,
                  device: torch.device) -> _RankFigures:
    from torch.nn.parallel import DistributedDataParallel

    def wrap(module: torch.nn.Module) -> torch.nn.Module:
        ids = [device.index] if device.type == "cuda" else None
        return DistributedDataParallel(module, device_ids=ids)

    def agree(value: int) -> int:
        tensor = torch.tensor([value], dtype=torch.int64, device=device)
        dist.broadcast(tensor, src=0)
        return int(tensor.item())

    if spec.threads is not None:
        torch.set_num_threads(spec.threads)
    torch.backends.cudnn.benchmark = spec.cudnn_benchmark
    probe = CudaMemoryProbe(device) if spec.memory and device.type == "cuda" else None
    baseline = _rss("VmRSS")
    prepared = prepare_step(spec, device, batch, wrap=wrap)
    outcome = run_timing(clock_for(device), prepared.run, warmup=spec.warmup,
                         min_time=spec.min_time, repeats=spec.repeats, policy=policy,
                         agree=agree, on_steady=None if probe is None else probe.mark_steady)
    static = static_memory_bytes(prepared, spec.mode)
    if probe is not None:
        figures = probe.finish(static)
        peak, activation = figures.peak_bytes, figures.activation_bytes
        reserved, method = figures.reserved_bytes, figures.method
    elif not spec.memory:
        peak, activation, reserved, method = None, None, None, "skipped"
    else:
        hwm = _rss("VmHWM")
        peak = None if hwm is None or baseline is None else hwm - baseline
        activation, reserved = None, None
        method = RANK_METHOD_CPU if peak is not None else "unavailable: no /proc/self/status"
    return _RankFigures(rank, len(outcome.warmup_times), outcome.steps_per_repeat,
                        outcome.samples, peak, static, activation, reserved, method)


def _combine(spec: BenchSpec, batch: int, ranks: Sequence[_RankFigures]) -> BenchResult:
    """Rank 0's view: synchronized samples, global images/s, per-rank figures."""
    ranks = sorted(ranks, key=lambda r: r.rank)
    synced = [max(step) for step in zip(*(r.samples for r in ranks), strict=True)]
    summary = summarize(synced, batch * len(ranks))
    per_rank = tuple(
        RankResult(rank=r.rank, batch=batch, images_per_sec=median([batch / t for t in r.samples]),
                   step_ms_median=median(r.samples) * 1e3, samples=list(r.samples),
                   peak_memory_bytes=r.peak_bytes)
        for r in ranks
    )
    peaks = [r.peak_bytes for r in ranks if r.peak_bytes is not None]
    activations = [r.activation_bytes for r in ranks if r.activation_bytes is not None]
    reserved = [r.reserved_bytes for r in ranks if r.reserved_bytes is not None]
    return BenchResult(
        images_per_sec=summary.images_per_sec, images_per_sec_iqr=summary.images_per_sec_iqr,
        step_ms_median=summary.step_ms_median, samples=synced, batch=batch,
        peak_memory_bytes=max(peaks) if peaks else None, memory_method=ranks[0].method,
        images_per_sec_cv=summary.images_per_sec_cv, step_ms_iqr=summary.step_ms_iqr,
        noisy=summary.noisy, clock=clock_for(torch.device(spec.device)).name,
        warmup_steps=ranks[0].warmup_steps, steps_per_repeat=ranks[0].steps_per_repeat,
        repeats=spec.repeats, requested_batch=spec.batch,
        static_memory_bytes=ranks[0].static_bytes,
        activation_memory_bytes=max(activations) if activations else None,
        reserved_memory_bytes=max(reserved) if reserved else None,
        nproc=len(ranks), per_rank=per_rank,
    )


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, path)


def _worker(payload: dict[str, Any], out_path: Path) -> None:
    spec = BenchSpec.from_dict(payload["spec"])
    batch, policy = int(payload["batch"]), TimingPolicy(**payload["policy"])
    rank, local_rank = int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"])
    device = torch.device("cuda", local_rank) if spec.device != "cpu" else torch.device("cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    try:
        figures = _measure_rank(spec, batch, policy, rank, device)
        gathered: list[_RankFigures | None] = [None] * dist.get_world_size()
        dist.all_gather_object(gathered, figures)
        if rank == 0:
            ranks = [g for g in gathered if g is not None]
            _write_json(out_path, _combine(spec, batch, ranks).to_dict())
        dist.barrier()
    finally:
        dist.destroy_process_group()


def main(argv: Sequence[str] | None = None) -> int:
    """Worker entry point (run by torchrun): ``SPEC.json OUT.json``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: torchrun ... -m profiler.measure.timing.distributed SPEC.json OUT.json",
              file=sys.stderr)
        return 2
    payload = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    out_path, rank = Path(args[1]), int(os.environ.get("RANK", "0"))
    error: dict[str, Any] | None = None
    oom_detail: str | None = None
    try:
        with user_code(f"rank {rank}"):
            _worker(payload, out_path)
    except AttnprofError as exc:
        error = {"error": str(exc)}
    except Exception as exc:
        if is_oom(exc):
            oom_detail = one_line(exc, typed=False)
        else:
            error = {"error": one_line(exc, typed=True)}
    if oom_detail is not None:
        cuda = BenchSpec.from_dict(payload["spec"]).device != "cpu"
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0"))) if cuda \
            else torch.device("cpu")
        oom = oom_error(device, int(payload["batch"]), oom_detail)
        error = {"error": str(oom), "oom": True, "batch": oom.batch, "free_bytes": oom.free_bytes}
    if error is None:
        return 0
    _write_json(Path(f"{out_path}.rank{rank}.json"), error)
    return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
