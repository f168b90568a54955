"""A quick probe of this machine for the run planner: it measures and returns numbers only.

:func:`probe_machine` takes a few seconds and times nothing of the suite itself:

1. **Seconds per FLOP**: :data:`REFERENCE_MODEL` (ResNet-18, inference) is built, warmed up
   for :data:`WARMUP_STEPS` steps and timed for :data:`TIMED_STEPS`; the median step over
   its forward FLOPs (counted on the ``meta`` device) is the machine's seconds per FLOP. The
   batch is the suite's timing batch (at most :data:`MAX_CPU_BATCH` on a CPU), on the suite's
   threads, so that the figure is taken where the suite will run.
2. **FLOPs per workload**: every distinct backbone (and block) of the suite is counted once
   on the ``meta`` device with torch's ``FlopCounterMode`` (shapes only, no arithmetic: about
   a second even for ResNet-152); a model with attention gets its backbone's figure (the
   attention modules add well under 1% of a ResNet's FLOPs; what they add in time the run's
   correction absorbs).
3. **A worker process**: starting ``python -c "import torch"`` once, timed.

The planner (:mod:`profiler.plan`) turns these into estimates; errors of that model are
corrected during the run.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Sequence

import torch

from profiler.errors import MeasurementError
from profiler.measure.device import torch_threads
from profiler.measure.workload import build_module, example_input
from profiler.plan.costs import MachineProbe
from profiler.spec import BenchSpec, BreakdownSpec, CountSpec, Workload

__all__ = ["MAX_CPU_BATCH", "REFERENCE_MODEL", "TIMED_STEPS", "WARMUP_STEPS", "forward_flops",
           "probe_machine"]

REFERENCE_MODEL = "resnet18"
WARMUP_STEPS = 2
TIMED_STEPS = 3
MAX_CPU_BATCH = 2
_START_TIMEOUT_S = 120.0


def forward_flops(workload: Workload) -> float:
    """Forward FLOPs of one image of ``workload`` (2 per multiply-add), counted on ``meta``."""
    from profiler.measure.counters import count_with

    with torch.device("meta"):
        module = build_module(workload)
    module.eval()
    inputs = torch.empty((1, *workload.input_shape), device="meta")
    return float(count_with("torch", module, inputs).flops)


def _count_into(found: dict[str, float], key: str, workload: Workload) -> None:
    """``found[key]`` = the workload's FLOPs; nothing when it cannot be built or counted (its
    case records the failure when it runs; the planner costs it as the costliest workload)."""
    try:
        found[key] = forward_flops(workload)
    except (Exception, SystemExit):
        return


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _reference_step(device: torch.device, batch: int) -> float:
    """Median seconds of one inference step of the reference model at ``batch``."""
    workload = Workload.for_model(REFERENCE_MODEL)
    module = build_module(workload).to(device).eval()
    inputs = example_input(workload, batch, device)
    times: list[float] = []
    with torch.inference_mode():
        for _ in range(WARMUP_STEPS):
            module(inputs)
        _sync(device)
        for _ in range(TIMED_STEPS):
            start = time.perf_counter()
            module(inputs)
            _sync(device)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def _worker_start() -> float:
    """Seconds to start a fresh python that imports torch."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch"], check=True, timeout=_START_TIMEOUT_S,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def probe_machine(specs: Sequence[CountSpec | BenchSpec | BreakdownSpec],
                  device: str) -> MachineProbe:
    """Probe this machine for the suite ``specs`` on ``device`` (see the module doc)."""
    begin = time.perf_counter()
    timed = [s for s in specs if isinstance(s, BenchSpec | BreakdownSpec)]
    batch = timed[0].batch if timed else 1
    if not device.startswith("cuda"):
        batch = min(batch, MAX_CPU_BATCH)
    threads = next((s.threads for s in timed if s.threads is not None), None)
    reference = Workload.for_model(REFERENCE_MODEL)
    backbones: dict[str, float] = {}
    flops: dict[str, float] = {}
    for spec in specs:
        workload = spec.workload
        if workload.is_block:
            if workload.label not in flops:
                _count_into(flops, workload.label, workload)
            continue
        assert workload.model is not None
        if workload.model not in backbones:
            _count_into(backbones, workload.model, Workload.for_model(workload.model))
        if workload.model in backbones:
            flops[workload.label] = backbones[workload.model]
    try:
        with torch_threads(threads):
            step = _reference_step(torch.device(device), batch)
        per_flop = step / (batch * forward_flops(reference))
        start = _worker_start()
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MeasurementError(f"cannot probe this machine for the run's plan on {device}: "
                               f"{detail}") from exc
    return MachineProbe(device=device, seconds_per_flop=per_flop, worker_start_s=start,
                        flops=flops, reference=f"{REFERENCE_MODEL} infer b{batch}",
                        probe_s=time.perf_counter() - begin)
