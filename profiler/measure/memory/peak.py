"""Peak memory of a workload: the CUDA allocator's counters, or a child process's RSS peak.

CUDA (``memory_method = "cuda_max_memory_allocated"``), in the timing process itself:

1. before the model is built: ``baseline = memory_allocated()``, reset the peak counters;
2. after warm-up: ``held = memory_allocated()`` (weights, buffers, optimizer state, input
   batch: what lives between steps), note the peak so far, reset the peak counters;
3. after the timed steps: ``peak_memory_bytes = max(both peaks) - baseline``,
   ``activation_memory_bytes = step peak - held``, ``reserved_memory_bytes =
   max_memory_reserved()`` over the whole run (what the caching allocator took from the
   driver, absolute).

CPU (``memory_method = "cpu_rss_hwm_child"``): one extra short run in an isolated child process
(``python -m profiler.measure.memory.peak SPEC.json OUT.json BATCH STEPS``), because the RSS of a
process that already ran other cases says nothing about this one. The child imports torch and
runs a tiny training step of its own (so that lazily loaded kernels, thread pools and imports
are not charged to the workload), reads its RSS (``baseline``), builds the workload, runs one
step, reads its RSS again (``held``), resets the RSS high-water mark (``echo 5 >
/proc/self/clear_refs``), runs ``STEPS`` more steps and reads ``VmHWM``: ``peak = max(VmHWM) -
baseline`` and ``activation = VmHWM(after reset) - held``. glibc's dynamic mmap threshold is
switched off in the child (``MALLOC_MMAP_THRESHOLD_``) so that freed activations go back to the
OS and do not hide inside ``held``. Without ``/proc`` the child falls back to ``getrusage``
(peak only).

CPU without a process per case (``memory_method = "cpu_tensor_peak"``, the default of
comparison groups, which are timed in worker processes of their own): in the timing process,
after warm-up, :data:`~profiler.defaults.TENSOR_MEMORY_STEPS` step(s) run under torch's profiler
(``torch.autograd.profiler.profile``, which ``torch.profiler.profile`` wraps; the wrapper's
start imports torch's compiler, 1.9 s of a worker's start on a 2-core CPU) with
``profile_memory=True`` (a warmed-up step's tensor peak is the same in every step: 1, 2 and 3
steps gave the same bytes for ResNet-18, MobileNetV2 + SE and ResNet-50 + CBAM training and
ResNet-50 + ECA inference at batch 2; one profiled training step of ResNet-152 costs seconds
on a 2-core CPU); the
CPU allocator's allocation and free events (bytes, time) give the peak of the bytes allocated
above what was live when the steps began (:func:`allocation_peak`), and ``peak_bytes`` adds
the bytes live between steps (the distinct storages of parameters, buffers, optimizer state
and the input batch: :func:`live_tensor_bytes`); ``activation_bytes`` is the peak above them.
It counts tensor memory only: not the allocator's slack, not the memory of torch itself,
oneDNN's scratch buffers or thread stacks, which the child's RSS sees (README, Memory states
the difference on three models). The child stays an option (``memory_method = "child"``).

Static memory (both devices) is counted, not measured: bytes of parameters, buffers,
gradients and optimizer state (:func:`profiler.measure.steps.static_memory_bytes`).

Any failure of the child is recorded, not raised: ``peak_memory_bytes = None`` and
``memory_method = "unavailable: <reason>"``.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from profiler.errors import AttnprofError, one_line
from profiler.measure.children import run_child
from profiler.signals import user_code

__all__ = [
    "CPU_METHOD",
    "CPU_TENSOR_METHOD",
    "CUDA_METHOD",
    "CudaMemoryProbe",
    "MemoryFigures",
    "allocation_peak",
    "child_environment",
    "cpu_tensor_memory",
    "live_tensor_bytes",
    "main",
    "measure_cpu_memory",
]

CUDA_METHOD = "cuda_max_memory_allocated"
CPU_METHOD = "cpu_rss_hwm_child"
CPU_TENSOR_METHOD = "cpu_tensor_peak"
CPU_METHOD_RUSAGE = "cpu_ru_maxrss_child"
_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


@dataclass(frozen=True)
class MemoryFigures:
    """Memory of one workload, in bytes (None: not measured)."""

    method: str
    peak_bytes: int | None = None
    static_bytes: int | None = None
    activation_bytes: int | None = None
    reserved_bytes: int | None = None

    @classmethod
    def unavailable(cls, reason: str, static_bytes: int | None = None) -> MemoryFigures:
        first = reason.strip().splitlines()[0] if reason.strip() else "unknown reason"
        return cls(method=f"unavailable: {first}", static_bytes=static_bytes)


def live_tensor_bytes(tensors: Iterable[torch.Tensor]) -> int:
    """Bytes of the distinct storages behind ``tensors`` (views and shared weights once)."""
    seen: dict[int, int] = {}
    for tensor in tensors:
        storage = tensor.untyped_storage()
        seen[storage.data_ptr()] = max(seen.get(storage.data_ptr(), 0), storage.nbytes())
    return sum(seen.values())


def allocation_peak(events: Iterable[tuple[int, int]]) -> int:
    """The highest running total of ``(time, bytes)`` allocation events (frees negative), in
    time order, starting from 0: the peak allocated above the start."""
    total = peak = 0
    for _, nbytes in sorted(events, key=lambda e: e[0]):
        total += nbytes
        peak = max(peak, total)
    return peak


def cpu_tensor_memory(run: Callable[[], None], steps: int, held: int) -> MemoryFigures:
    """``steps`` runs of ``run`` under the profiler's memory events (see the module doc);
    ``held`` is the bytes live between steps."""
    # not torch.profiler.profile: its start asks hasattr(torch, "_inductor"), which imports
    # inductor, dynamo and sympy, and it records nothing more (module doc)
    from torch.autograd.profiler import profile

    from profiler.measure.kineto import quiet_kineto

    try:
        with quiet_kineto(), profile(use_cpu=True, profile_memory=True) as prof:
            for _ in range(max(1, steps)):
                run()
        events = [(e.start_ns(), e.nbytes()) for e in prof.kineto_results.events()
                  if e.name() == "[memory]" and e.device_type().name == "CPU"]
    except (RuntimeError, AttributeError) as exc:
        return MemoryFigures.unavailable(f"profiler memory events: {exc}")
    above = allocation_peak(events)
    return MemoryFigures(method=CPU_TENSOR_METHOD, peak_bytes=held + above,
                         activation_bytes=above)


class CudaMemoryProbe:
    """The allocator counters around one measurement on ``device`` (see the module doc)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        torch.cuda.synchronize(device)
        self.baseline = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        self.setup_peak = 0
        self.setup_reserved = 0
        self.held = 0

    def mark_steady(self) -> None:
        """Call between steps after warm-up: notes what is held and restarts the peak."""
        torch.cuda.synchronize(self.device)
        self.setup_peak = torch.cuda.max_memory_allocated(self.device)
        self.setup_reserved = torch.cuda.max_memory_reserved(self.device)
        self.held = torch.cuda.memory_allocated(self.device)
        torch.cuda.reset_peak_memory_stats(self.device)

    def finish(self, static_bytes: int | None) -> MemoryFigures:
        torch.cuda.synchronize(self.device)
        step_peak = torch.cuda.max_memory_allocated(self.device)
        return MemoryFigures(
            method=CUDA_METHOD,
            peak_bytes=max(step_peak, self.setup_peak) - self.baseline,
            static_bytes=static_bytes,
            activation_bytes=max(0, step_peak - self.held),
            reserved_bytes=max(self.setup_reserved,
                               torch.cuda.max_memory_reserved(self.device)),
        )


def child_environment(threads: int | None = None) -> dict[str, str]:
    """The environment for a Python child that must import what this process imports."""
    env = dict(os.environ)
    prefixes = tuple({sys.prefix, sys.base_prefix, sys.exec_prefix})
    paths = [p for p in sys.path if p and Path(p).is_dir() and not p.startswith(prefixes)]
    paths += [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p not in paths]
    env["PYTHONPATH"] = os.pathsep.join([os.getcwd(), *paths])
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    return env


def measure_cpu_memory(spec_dict: dict[str, object], batch: int, steps: int = 2,
                       timeout: float = 300.0, threads: int | None = None) -> MemoryFigures:
    """Run the spec's step in a child process and read its RSS peak (see the module doc)."""
    with tempfile.TemporaryDirectory(prefix="attnprof-mem-") as tmp:
        spec_path, out_path = Path(tmp) / "spec.json", Path(tmp) / "memory.json"
        spec_path.write_text(json.dumps(spec_dict), encoding="utf-8")
        env = child_environment(threads)
        env["MALLOC_MMAP_THRESHOLD_"] = "131072"
        command = [sys.executable, "-m", "profiler.measure.memory.peak", str(spec_path),
                   str(out_path), str(batch), str(steps)]
        try:
            proc = run_child(command, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            return MemoryFigures.unavailable(f"memory child timed out after {timeout:.0f} s")
        except OSError as exc:
            return MemoryFigures.unavailable(f"cannot start memory child: {exc}")
        if not out_path.exists():
            lines = [line for line in proc.stderr.splitlines() if line.strip()]
            tail = lines[-1] if lines else f"exit status {proc.returncode}"
            return MemoryFigures.unavailable(f"memory child failed: {tail}")
        data = json.loads(out_path.read_text(encoding="utf-8"))
    if "error" in data:
        return MemoryFigures.unavailable(f"memory child failed: {data['error']}")
    return MemoryFigures(method=str(data["method"]), peak_bytes=data["peak_bytes"],
                         static_bytes=data["static_bytes"],
                         activation_bytes=data["activation_bytes"])


# --- the child side -------------------------------------------------------------------------


def _status_bytes(key: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _reset_high_water_mark() -> bool:
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def _ru_maxrss_bytes() -> int:
    scale = 1 if sys.platform == "darwin" else 1024
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * scale


def _prime_runtime(train: bool) -> None:
    """Run a tiny conv/BN/linear step, so that torch's lazily loaded code and thread pools
    (oneDNN kernels, OpenMP threads, and for ``train`` autograd and the optimizer's imports:
    tens of MiB of RSS) are in the baseline rather than charged to the workload. Inference
    skips the optimizer: its first use imports torch._dynamo (about 2 s on the README's CPU),
    which an inference step never loads."""
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.BatchNorm2d(4),
                              torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                              torch.nn.Flatten(), torch.nn.Linear(4, 2))
    x = torch.randn(2, 3, 8, 8)
    if train:
        from profiler.measure.steps import MOMENTUM, SGD_LR, WEIGHT_DECAY

        optimizer = torch.optim.SGD(net.parameters(), lr=SGD_LR, momentum=MOMENTUM,
                                    weight_decay=WEIGHT_DECAY)
        torch.nn.functional.cross_entropy(net(x), torch.tensor([0, 1])).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    net.eval()
    with torch.inference_mode():
        net(x)


def _measure_in_child(spec_dict: dict[str, object], batch: int, steps: int) -> dict[str, object]:
    from profiler.measure.steps import prepare_step, static_memory_bytes
    from profiler.spec import BenchSpec

    spec = BenchSpec.from_dict(spec_dict)
    if spec.threads is not None:
        torch.set_num_threads(spec.threads)
    _prime_runtime(spec.mode == "train")
    gc.collect()
    proc_fs = _status_bytes("VmRSS") is not None
    baseline = _status_bytes("VmRSS") if proc_fs else _ru_maxrss_bytes()
    prepared = prepare_step(spec, torch.device("cpu"), batch)
    prepared.run()
    gc.collect()
    static = static_memory_bytes(prepared, spec.mode)
    if not proc_fs:
        for _ in range(steps):
            prepared.run()
        assert baseline is not None
        return {"method": CPU_METHOD_RUSAGE, "peak_bytes": _ru_maxrss_bytes() - baseline,
                "static_bytes": static, "activation_bytes": None}
    held = _status_bytes("VmRSS")
    setup_hwm = _status_bytes("VmHWM")
    reset = _reset_high_water_mark()
    for _ in range(steps):
        prepared.run()
    step_hwm = _status_bytes("VmHWM")
    assert baseline is not None and held is not None and setup_hwm is not None
    assert step_hwm is not None
    return {
        "method": CPU_METHOD,
        "peak_bytes": max(setup_hwm, step_hwm) - baseline,
        "static_bytes": static,
        "activation_bytes": max(0, step_hwm - held) if reset else None,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Child entry point: ``SPEC.json OUT.json BATCH STEPS``; writes figures or an error."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 4:
        print("usage: python -m profiler.measure.memory.peak SPEC.json OUT.json BATCH STEPS",
              file=sys.stderr)
        return 2
    spec_path, out_path, batch, steps = Path(args[0]), Path(args[1]), int(args[2]), int(args[3])
    try:
        with user_code("the memory child"):
            data = _measure_in_child(json.loads(spec_path.read_text(encoding="utf-8")), batch,
                                     steps)
    except AttnprofError as exc:  # user code's sys.exit included: already one line
        data = {"error": str(exc).splitlines()[0] if str(exc) else type(exc).__name__}
    except Exception as exc:
        data = {"error": one_line(exc, typed=True)}
    out_path.write_text(json.dumps(data), encoding="utf-8")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
