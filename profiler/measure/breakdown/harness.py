"""Where one step's time goes: a short profiled window, attributed to the model's parts.

:func:`breakdown` measures one :class:`~profiler.spec.BreakdownSpec`:

1. Build the step exactly as the timing harness does (:func:`profiler.measure.steps.
   prepare_step`: same mode, device, batch, dtype, layout; threads and cuDNN set and restored).
   On a GPU the step ends with a synchronize, so that its range spans its kernels.
2. Count FLOPs per module and operator with fvcore (one trace at batch 1, in eval mode, on
   one thread; :func:`profiler.measure.count.fvcore_trace.flops_by_module_and_operator`).
3. Put a ``record_function`` range around every module's forward (pre/post hooks named
   :data:`~profiler.measure.breakdown.attribution.MODULE_RANGE` + path), record the tensor sizes of
   every module call in the first step (the traffic model's input, :mod:`profiler.measure.
   traffic`), then warm up under the timing harness's rules
   (:func:`profiler.measure.timing.loop.warm_up`: at least ``spec.warmup`` steps, until the step
   time settles or about a second has passed).
4. Profile one whole window and throw it away: the profiler's first window in a process
   page-faults its memory in and runs 10-25% slow (:mod:`profiler.measure.breakdown.profiling`).
5. Time ``spec.timed_steps`` steps without the profiler, half (rounded up) before the profiled
   window and the rest after it, so that drift shows in both (the hooks and the step label
   stay, so the profiler is the only difference): ``step_ms`` is their median, the
   cross-check.
6. Profile one more warm-up step (thrown away: the profiler's start-up) and
   ``spec.profiled_steps`` steps, each inside a :data:`~profiler.measure.breakdown.attribution.
   STEP_LABEL` range, with CPU activity (and CUDA on a GPU) and input shapes recorded
   (:func:`profiler.measure.breakdown.profiling.profile_window`).
7. Attribute each event's self time (CPU self time on the CPU; kernel time per launching op
   on a GPU) to a part (:mod:`profiler.measure.breakdown.attribution`), sum FLOPs and minimal
   traffic per part, and measure the device's copy bandwidth for the attention ops' achieved
   bandwidth.
8. On the CPU, calibrate the profiler's cost per recorded event on a probe network with the
   same threads, step kind and profiler configuration (:mod:`profiler.measure.breakdown.overhead`;
   once per process for each kind of step: later breakdowns reuse it), and take it out of
   the parts (:mod:`profiler.measure.breakdown.compensation`): each event's recording cost
   from its parent event's self time, clamped at 0. The parts then add up to the
   compensated step, compared with ``step_ms`` (``leftover_ms``, ``agrees``). On a GPU the
   parts are kernel times, which host-side recording does not lengthen: nothing is taken out.

On the CPU the memory guard (:mod:`profiler.measure.memory.guard`) checks the batch before
anything runs. Out of memory and torch failures become one-line errors, as in timing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch
from torch import nn

from profiler.errors import AttnprofError, MeasurementError, one_line
from profiler.measure.allocator import pin_malloc_thresholds
from profiler.measure.breakdown.attribution import (
    Attribution,
    ModuleRole,
    OpEvent,
    place,
    summarize,
)
from profiler.measure.breakdown.compensation import Compensation, compensate
from profiler.measure.breakdown.overhead import Calibration, probe_calibration
from profiler.measure.breakdown.part_flops import PartFlops, part_flops
from profiler.measure.breakdown.parts import module_roles
from profiler.measure.breakdown.profiling import (
    labelled,
    module_ranges,
    profile_events,
    warm_profiler,
)
from profiler.measure.breakdown.traffic import PartTraffic, capture_calls, part_traffic
from profiler.measure.count.fvcore_trace import flops_by_module_and_operator
from profiler.measure.device import cudnn_benchmark, resolve_device, synchronize, torch_threads
from profiler.measure.memory.guard import MemoryPlan, check_profiler_memory, plan_memory
from profiler.measure.steps import PreparedStep, prepare_step, tensor_bytes
from profiler.measure.timing.bandwidth import achieved_gbps, copy_bandwidth
from profiler.measure.timing.clock import Clock, clock_for
from profiler.measure.timing.loop import DEFAULT_POLICY, TimingPolicy, is_oom, oom_error, warm_up
from profiler.results.breakdown import (
    AGREEMENT_TOLERANCE,
    ATTENTION_PREFIX,
    PARTS,
    BlockShare,
    BreakdownResult,
    PartShare,
)
from profiler.spec import BreakdownSpec
from profiler.stats import median

__all__ = ["SETTLE_MIN_TIME", "assemble", "breakdown"]

# warm_up's settle cap is max(1 s, 2 * min_time): about a second past the mandatory steps.
SETTLE_MIN_TIME = 0.5


def _synced(prepared: PreparedStep, device: torch.device) -> Callable[[], None]:
    if device.type != "cuda":
        return prepared.run

    def step() -> None:
        prepared.run()
        synchronize(device)

    return step


def _attention_paths(model: nn.Module, is_block: bool) -> list[str]:
    if is_block:
        return [""]
    from profiler.models import attention_modules

    return [path for path, _ in attention_modules(model)]


def _flops(prepared: PreparedStep, roles: Mapping[str, ModuleRole]
           ) -> tuple[PartFlops, PartFlops]:
    inputs = prepared.inputs[:1].detach().clone()
    with torch_threads(1):  # shapes, not speed (as counting does): no oversubscription
        fvcore, every = flops_by_module_and_operator(prepared.module, inputs)
    return part_flops(fvcore, roles), part_flops(every, roles)


def _share(part: float, total: float) -> float:
    return part / total if total else 0.0


def assemble(attribution: Attribution, flops: PartFlops, flops_all: PartFlops,
             traffic: PartTraffic, samples: Sequence[float], *, batch: int,
             copy_gbps: float | None, clock: str, time_source: str, warmup_steps: int,
             compensation: Compensation | None = None,
             calibration: Calibration | None = None,
             calibration_reused: bool = False) -> BreakdownResult:
    """The result record from what was measured (times in µs per step, samples in seconds).

    ``compensation`` (None: nothing taken out) is the profiler's cost per part and module;
    each part's ``ms`` is its attributed time less its share of it, and the shares are of the
    compensated step, which the parts add up to.
    """
    taken = compensation.part_us if compensation is not None else {}
    taken_blocks = compensation.block_us if compensation is not None else {}
    profiled_ms = attribution.step_us / 1e3
    overhead_ms = sum(taken.values()) / 1e3
    parts_ms = profiled_ms - overhead_ms
    total_bytes = sum(traffic.parts.values())
    parts = []
    for part in PARTS:
        raw = attribution.part_us.get(part, 0.0) / 1e3
        part_overhead = taken.get(part, 0.0) / 1e3
        ms = raw - part_overhead
        nbytes = traffic.parts.get(part, 0)
        count = flops.parts.get(part, 0)
        if not (raw or nbytes or count or part == "unattributed"):
            continue
        parts.append(PartShare(
            part=part, ms=ms, time_share=_share(ms, parts_ms), flops_share=flops.share(part),
            bytes_share=_share(nbytes, total_bytes), flops=count * batch,
            flops_all_share=flops_all.share(part), bytes=nbytes,
            achieved_gbps=achieved_gbps(nbytes, ms / 1e3) if nbytes and ms > 0 else None,
            overhead_ms=part_overhead))
    attention = [p for p in parts if p.part.startswith(ATTENTION_PREFIX)]
    attention_ms = sum(p.ms for p in attention)
    attention_bytes = sum(p.bytes for p in attention)
    step_ms = median(samples) * 1e3
    leftover = step_ms - parts_ms
    raw_leftover = step_ms - profiled_ms
    blocks = []
    for path, us in sorted(attribution.block_us.items()):
        block_overhead = taken_blocks.get(path, 0.0) / 1e3
        ms = us / 1e3 - block_overhead
        blocks.append(BlockShare(path=path, ms=ms, time_share=_share(ms, parts_ms),
                                 flops_share=flops.block_share(path),
                                 bytes=traffic.blocks.get(path, 0),
                                 overhead_ms=block_overhead))
    return BreakdownResult(
        step_ms=step_ms, parts=tuple(parts),
        attention_time_share=_share(attention_ms, parts_ms),
        attention_flops_share=sum(flops.share(p.part) for p in attention),
        attention_bytes_share=_share(attention_bytes, total_bytes),
        attention_ms=attention_ms, attention_bytes=attention_bytes,
        attention_gbps=(achieved_gbps(attention_bytes, attention_ms / 1e3)
                        if attention_bytes and attention_ms > 0 else None),
        copy_gbps=copy_gbps, profiled_step_ms=profiled_ms, leftover_ms=leftover,
        leftover_share=_share(leftover, step_ms),
        agrees=abs(_share(leftover, step_ms)) <= AGREEMENT_TOLERANCE,
        samples=[float(s) for s in samples], profiled_steps=attribution.steps,
        warmup_steps=warmup_steps, batch=batch, flops=flops.total * batch,
        bytes=total_bytes, clock=clock, time_source=time_source, blocks=tuple(blocks),
        compensated_step_ms=parts_ms, overhead_ms=overhead_ms,
        profiler_overhead_us_per_op=None if calibration is None else calibration.us_per_event,
        overhead_rounds_us=[] if calibration is None else list(calibration.rounds_us),
        probe_events_per_step=0.0 if calibration is None else calibration.probe_events_per_step,
        overhead_calibration_reused=calibration_reused,
        events_per_step=0.0 if compensation is None else compensation.events_per_step,
        raw_leftover_ms=raw_leftover, raw_leftover_share=_share(raw_leftover, step_ms))


def _timed_and_profiled(step: Callable[[], None], clock: Clock, device: torch.device,
                        spec: BreakdownSpec) -> tuple[list[float], list[OpEvent]]:
    """The timed steps' times (half before the profiled window, the rest after) and the
    profiled window's events, after one thrown-away window (module doc, steps 4-6)."""
    warm_profiler(step, device, spec.profiled_steps, clock)
    timed = labelled(step)
    before = clock.time_steps(timed, (spec.timed_steps + 1) // 2)
    events, _ = profile_events(step, device, spec.profiled_steps, clock)
    after = clock.time_steps(timed, spec.timed_steps // 2)
    return before + after, events


def _measure(spec: BreakdownSpec, device: torch.device, policy: TimingPolicy,
             plan: MemoryPlan | None = None) -> BreakdownResult:
    train = spec.mode == "train"
    on_cpu = device.type == "cpu"
    with torch_threads(spec.threads), cudnn_benchmark(spec.cudnn_benchmark):
        prepared = prepare_step(spec.bench_spec(), device)
        # the profiled window (one thrown-away step, then the steps) keeps all its events
        check_profiler_memory(spec.bench_spec(), sum(1 for _ in prepared.module.modules()),
                              spec.profiled_steps + 1, plan)
        roles = module_roles(prepared.module,
                             _attention_paths(prepared.module, spec.workload.is_block))
        flops, flops_all = _flops(prepared, roles)
        step = _synced(prepared, device)
        clock = clock_for(device)
        with module_ranges(prepared.module):
            with capture_calls(prepared.module, roles) as calls:
                first = clock.time_steps(step, 1)
            warm = warm_up(clock, step, max(0, spec.warmup - 1), SETTLE_MIN_TIME, policy)
            samples, events = _timed_and_profiled(step, clock, device, spec)
        placements, steps = place(events, roles, train=train, same_thread=on_cpu)
        attribution = summarize(placements, steps)
        trainable = 0 if prepared.optimizer is None else sum(
            tensor_bytes(p) for p in prepared.module.parameters() if p.requires_grad)
        traffic = part_traffic(calls, roles, attribution.loose_bytes, trainable, train)
        batch = prepared.batch
        del prepared
        calibration, reused = (probe_calibration(spec.bench_spec(), device, clock) if on_cpu
                               else (None, False))
        copy = copy_bandwidth(device)
    compensation = (None if calibration is None
                    else compensate(placements, steps, calibration.us_per_event))
    return assemble(attribution, flops, flops_all, traffic, samples, batch=batch,
                    copy_gbps=copy, clock=clock.name,
                    time_source="cpu_self_time" if on_cpu else "device_self_time",
                    warmup_steps=len(first) + len(warm), compensation=compensation,
                    calibration=calibration, calibration_reused=reused)


def breakdown(spec: BreakdownSpec, policy: TimingPolicy = DEFAULT_POLICY,
              memory_limit: int | None = None) -> BreakdownResult:
    """Measure ``spec`` (every rule in the module doc) and return its breakdown. On the CPU
    the memory guard checks the batch first, as for timing (``memory_limit`` in bytes; None:
    the memory available)."""
    device = resolve_device(spec.device)
    pin_malloc_thresholds()
    plan = plan_memory(spec.bench_spec(), memory_limit) if device.type == "cpu" else None
    oom_detail: str | None = None
    try:
        return _measure(spec, device, policy, plan)
    except AttnprofError:
        raise
    except Exception as exc:
        if not is_oom(exc):
            raise MeasurementError(f"{spec.label} failed: {one_line(exc, typed=True)}") from exc
        oom_detail = one_line(exc, typed=False)
    raise oom_error(device, spec.batch, oom_detail)
