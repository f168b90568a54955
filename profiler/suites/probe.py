"""A quick probe of this machine for the run planner (:mod:`profiler.plan`).

:func:`probe_machine` takes a few seconds and times nothing of the suite itself:

1. **Seconds per FLOP**: the reference model's median inference step
   (:func:`profiler.measure.timing.probe.reference_step`) over its forward FLOPs. The batch is
   the suite's timing batch (at most :data:`MAX_CPU_BATCH` on a CPU), on the suite's threads,
   so that the figure is taken where the suite will run.
2. **FLOPs per workload**: every distinct backbone (and block) of the suite is counted once on
   the ``meta`` device (:func:`profiler.measure.count.forward.forward_flops`); a model with
   attention gets its backbone's figure (attention modules add well under 1% of a ResNet's
   FLOPs; what they add in time the run's correction absorbs). A workload that cannot be built
   is left out (its case records the failure; the planner costs it as the costliest one).
3. **A worker process**: :func:`profiler.measure.timing.probe.worker_start`.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Sequence

from profiler.errors import MeasurementError
from profiler.measure.count.forward import forward_flops
from profiler.measure.timing import probe as timing_probe
from profiler.plan.costs import MachineProbe
from profiler.spec import BenchSpec, BreakdownSpec, CountSpec, Workload

__all__ = ["MAX_CPU_BATCH", "probe_machine"]

MAX_CPU_BATCH = 2


def _count_into(found: dict[str, float], key: str, workload: Workload) -> None:
    """``found[key]`` = the workload's FLOPs; nothing when it cannot be built or counted."""
    try:
        found[key] = forward_flops(workload)
    except (Exception, SystemExit):
        return


def _workload_flops(specs: Sequence[CountSpec | BenchSpec | BreakdownSpec]) -> dict[str, float]:
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
    return flops


def probe_machine(specs: Sequence[CountSpec | BenchSpec | BreakdownSpec],
                  device: str) -> MachineProbe:
    """Probe this machine for the suite ``specs`` on ``device`` (see the module doc)."""
    begin = time.perf_counter()
    timed = [s for s in specs if isinstance(s, BenchSpec | BreakdownSpec)]
    batch = timed[0].batch if timed else 1
    if not device.startswith("cuda"):
        batch = min(batch, MAX_CPU_BATCH)
    threads = next((s.threads for s in timed if s.threads is not None), None)
    flops = _workload_flops(specs)
    reference = Workload.for_model(timing_probe.REFERENCE_MODEL)
    try:
        step = timing_probe.reference_step(device, batch, threads)
        per_flop = step / (batch * forward_flops(reference))
        start = timing_probe.worker_start()
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MeasurementError(f"cannot probe this machine for the run's plan on {device}: "
                               f"{detail}") from exc
    return MachineProbe(device=device, seconds_per_flop=per_flop, worker_start_s=start,
                        flops=flops, reference=f"{timing_probe.REFERENCE_MODEL} infer b{batch}",
                        probe_s=time.perf_counter() - begin)
