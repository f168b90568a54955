"""The run planner's two timings of this machine: they measure and return numbers only.

- :func:`reference_step`: :data:`REFERENCE_MODEL` (ResNet-18, inference) built, warmed up for
  :data:`WARMUP_STEPS` steps and timed for :data:`TIMED_STEPS`: the fastest step (seconds).
  The fastest, not the median: the probe asks how fast this machine is when nothing else
  runs, and a step slowed by another process says nothing about that (on a 2-core VM with
  another process busy, single ResNet-18 steps at batch 2 ranged over 0.07-1.0 s while the
  fastest stayed near 0.07 s). A machine that stays busy through the run is caught by the
  planner's re-planning from the measured cost of each finished unit;
- :func:`worker_start`: starting ``python -c "import torch"`` once (seconds), the cost of a
  fresh worker process.

:mod:`profiler.suites.probe` puts them together with the workloads' FLOPs.
"""

from __future__ import annotations

import subprocess
import sys
import time

import torch

from profiler.measure.device import torch_threads
from profiler.measure.workload import build_module, example_input
from profiler.spec import Workload

__all__ = ["REFERENCE_MODEL", "TIMED_STEPS", "WARMUP_STEPS", "reference_step", "worker_start"]

REFERENCE_MODEL = "resnet18"
WARMUP_STEPS = 3
TIMED_STEPS = 7
_START_TIMEOUT_S = 120.0


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reference_step(device: str, batch: int, threads: int | None = None) -> float:
    """Fastest seconds of one inference step of the reference model at ``batch`` on
    ``device`` (``threads``: CPU threads, None: torch's)."""
    where = torch.device(device)
    workload = Workload.for_model(REFERENCE_MODEL)
    with torch_threads(threads):
        module = build_module(workload).to(where).eval()
        inputs = example_input(workload, batch, where)
        times: list[float] = []
        with torch.inference_mode():
            for _ in range(WARMUP_STEPS):
                module(inputs)
            _sync(where)
            for _ in range(TIMED_STEPS):
                start = time.perf_counter()
                module(inputs)
                _sync(where)
                times.append(time.perf_counter() - start)
    return min(times)


def worker_start() -> float:
    """Seconds to start a fresh python that imports torch."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch"], check=True, timeout=_START_TIMEOUT_S,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start
