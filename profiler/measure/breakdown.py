"""Where one step's time goes: a short profiled window, attributed to the model's parts.

:func:`breakdown` measures one :class:`~profiler.spec.BreakdownSpec`:

1. Build the step exactly as the timing harness does (:func:`profiler.measure.steps.
   prepare_step`: same mode, device, batch, dtype, layout; threads and cuDNN set and restored).
   On a GPU the step ends with a synchronize, so that its range spans its kernels.
2. Count FLOPs per module and operator with fvcore (one trace at batch 1, in eval mode, on
   one thread; :func:`profiler.measure.counting.flops_by_module_and_operator`).
3. Put a ``record_function`` range around every module's forward (pre/post hooks named
   :data:`~profiler.measure.attribution.MODULE_RANGE` + path), record the tensor sizes of
   every module call in the first step (the traffic model's input, :mod:`profiler.measure.
   traffic`), then warm up under the timing harness's rules
   (:func:`profiler.measure.timing.warm_up`: at least ``spec.warmup`` steps, until the step
   time settles or about a second has passed).
4. Time ``spec.timed_steps`` steps without the profiler (the hooks stay, so the profiler is
   the only difference): ``step_ms`` is their median, the cross-check.
5. Profile one more warm-up step (thrown away: the profiler's start-up) and
   ``spec.profiled_steps`` steps, each inside a :data:`~profiler.measure.attribution.
   STEP_LABEL` range, with CPU activity (and CUDA on a GPU) and input shapes recorded.
6. Attribute each event's self time (CPU self time on the CPU; kernel time per launching op
   on a GPU) to a part (:mod:`profiler.measure.attribution`), sum FLOPs and minimal traffic
   per part, and measure the device's copy bandwidth for the attention ops' achieved
   bandwidth.

On the CPU the memory guard (:mod:`profiler.measure.memory_guard`) checks the batch before
anything runs. Out of memory and torch failures become one-line errors, as in timing.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn
from torch.autograd.profiler import record_function
from torch.profiler import ProfilerActivity, profile, schedule

from profiler.errors import AttnprofError, MeasurementError
from profiler.measure.allocator import pin_malloc_thresholds
from profiler.measure.attribution import (
    MODULE_RANGE,
    STEP_LABEL,
    Attribution,
    ModuleRole,
    OpEvent,
    attribute,
)
from profiler.measure.bandwidth import achieved_gbps, copy_bandwidth
from profiler.measure.clock import clock_for
from profiler.measure.counting import flops_by_module_and_operator
from profiler.measure.device import cudnn_benchmark, resolve_device, synchronize, torch_threads
from profiler.measure.memory_guard import plan_memory
from profiler.measure.part_flops import PartFlops, part_flops
from profiler.measure.parts import module_roles
from profiler.measure.stats import median
from profiler.measure.steps import PreparedStep, prepare_step, tensor_bytes
from profiler.measure.timing import DEFAULT_POLICY, TimingPolicy, is_oom, oom_error, warm_up
from profiler.measure.traffic import PartTraffic, capture_calls, part_traffic
from profiler.results.breakdown import (
    AGREEMENT_TOLERANCE,
    ATTENTION_PREFIX,
    PARTS,
    BlockShare,
    BreakdownResult,
    PartShare,
)
from profiler.spec import BreakdownSpec

__all__ = ["SETTLE_MIN_TIME", "assemble", "breakdown", "module_ranges", "profile_events"]

# warm_up's settle cap is max(1 s, 2 * min_time): about a second past the mandatory steps.
SETTLE_MIN_TIME = 0.5


@contextmanager
def module_ranges(model: nn.Module) -> Iterator[None]:
    """A profiler range ``MODULE_RANGE + path`` around every module's forward (hooks removed,
    and any range left open by an exception closed, on exit)."""
    open_ranges: list[record_function] = []
    handles = []
    for path, module in model.named_modules():
        def enter(module: nn.Module, args: Any, name: str = MODULE_RANGE + path) -> None:
            context = record_function(name)
            context.__enter__()
            open_ranges.append(context)

        def leave(module: nn.Module, args: Any, output: Any) -> None:
            if open_ranges:
                open_ranges.pop().__exit__(None, None, None)

        handles.append(module.register_forward_pre_hook(enter))
        handles.append(module.register_forward_hook(leave, always_call=True))
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()
        while open_ranges:
            open_ranges.pop().__exit__(None, None, None)


def _shapes(values: Sequence[Any]) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(int(d) for d in v) if isinstance(v, list)
                 and all(isinstance(d, int) for d in v) else () for v in values)


def _op_events(events: Sequence[Any], device_time: bool) -> list[OpEvent]:
    """The profiler's CPU-side events as :class:`OpEvent` (kernels counted on their op)."""
    found = []
    for event in events:
        if getattr(event, "device_type", None) not in (None, torch.autograd.DeviceType.CPU):
            continue
        parent = event.cpu_parent
        own = event.self_device_time_total if device_time else event.self_cpu_time_total
        found.append(OpEvent(
            index=int(event.id), name=str(event.name),
            parent=None if parent is None else int(parent.id),
            start_us=float(event.time_range.start), end_us=float(event.time_range.end),
            self_us=float(own), thread=int(event.thread),
            sequence_nr=int(event.sequence_nr), fwd_thread=int(event.fwd_thread or 0),
            input_shapes=_shapes(event.input_shapes or ()),
            input_dtypes=tuple(str(d) for d in (getattr(event, "input_dtypes", None) or ()))))
    return found


def profile_events(step: Callable[[], None], device: torch.device, steps: int) -> list[OpEvent]:
    """Profile one thrown-away step then ``steps`` steps, each in a STEP_LABEL range."""
    activities = [ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(ProfilerActivity.CUDA)
    ready: list[Any] = []
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Profiler clears events")
        with profile(activities=activities, record_shapes=True,
                     schedule=schedule(wait=0, warmup=1, active=steps),
                     on_trace_ready=lambda prof: ready.append(prof.events())) as prof:
            for _ in range(steps + 1):
                with record_function(STEP_LABEL):
                    step()
                prof.step()
    if not ready:
        raise MeasurementError("the profiler returned no trace for the profiled window")
    return _op_events(ready[0], device_time=device.type == "cuda")


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
             copy_gbps: float | None, clock: str, time_source: str,
             warmup_steps: int) -> BreakdownResult:
    """The result record from what was measured (times in µs per step, samples in seconds)."""
    profiled_ms = attribution.step_us / 1e3
    total_bytes = sum(traffic.parts.values())
    parts = []
    for part in PARTS:
        ms = attribution.part_us.get(part, 0.0) / 1e3
        nbytes = traffic.parts.get(part, 0)
        count = flops.parts.get(part, 0)
        if not (ms or nbytes or count or part == "unattributed"):
            continue
        parts.append(PartShare(
            part=part, ms=ms, time_share=_share(ms, profiled_ms), flops_share=flops.share(part),
            bytes_share=_share(nbytes, total_bytes), flops=count * batch,
            flops_all_share=flops_all.share(part), bytes=nbytes,
            achieved_gbps=achieved_gbps(nbytes, ms / 1e3) if nbytes and ms > 0 else None))
    attention = [p for p in parts if p.part.startswith(ATTENTION_PREFIX)]
    attention_ms = sum(p.ms for p in attention)
    attention_bytes = sum(p.bytes for p in attention)
    step_ms = median(samples) * 1e3
    leftover = step_ms - profiled_ms
    blocks = tuple(BlockShare(path=path, ms=us / 1e3, time_share=_share(us / 1e3, profiled_ms),
                              flops_share=flops.block_share(path),
                              bytes=traffic.blocks.get(path, 0))
                   for path, us in sorted(attribution.block_us.items()))
    return BreakdownResult(
        step_ms=step_ms, parts=tuple(parts),
        attention_time_share=_share(attention_ms, profiled_ms),
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
        bytes=total_bytes, clock=clock, time_source=time_source, blocks=blocks)


def _measure(spec: BreakdownSpec, device: torch.device, policy: TimingPolicy
             ) -> BreakdownResult:
    train = spec.mode == "train"
    with torch_threads(spec.threads), cudnn_benchmark(spec.cudnn_benchmark):
        prepared = prepare_step(spec.bench_spec(), device)
        roles = module_roles(prepared.module,
                             _attention_paths(prepared.module, spec.workload.is_block))
        flops, flops_all = _flops(prepared, roles)
        step = _synced(prepared, device)
        clock = clock_for(device)
        with module_ranges(prepared.module):
            with capture_calls(prepared.module, roles) as calls:
                first = clock.time_steps(step, 1)
            warm = warm_up(clock, step, max(0, spec.warmup - 1), SETTLE_MIN_TIME, policy)
            samples = clock.time_steps(step, spec.timed_steps)
            events = profile_events(step, device, spec.profiled_steps)
        attribution = attribute(events, roles, train=train, same_thread=device.type == "cpu")
        trainable = 0 if prepared.optimizer is None else sum(
            tensor_bytes(p) for p in prepared.module.parameters() if p.requires_grad)
        traffic = part_traffic(calls, roles, attribution.loose_bytes, trainable, train)
        batch = prepared.batch
        del prepared
        copy = copy_bandwidth(device)
    return assemble(attribution, flops, flops_all, traffic, samples, batch=batch,
                    copy_gbps=copy, clock=clock.name,
                    time_source="device_self_time" if device.type == "cuda"
                    else "cpu_self_time", warmup_steps=len(first) + len(warm))


def breakdown(spec: BreakdownSpec, policy: TimingPolicy = DEFAULT_POLICY,
              memory_limit: int | None = None) -> BreakdownResult:
    """Measure ``spec`` (every rule in the module doc) and return its breakdown. On the CPU
    the memory guard checks the batch first, as for timing (``memory_limit`` in bytes; None:
    the memory available)."""
    device = resolve_device(spec.device)
    pin_malloc_thresholds()
    if device.type == "cpu":
        plan_memory(spec.bench_spec(), memory_limit)
    oom_detail: str | None = None
    try:
        return _measure(spec, device, policy)
    except AttnprofError:
        raise
    except Exception as exc:
        text = str(exc).strip()
        first = text.splitlines()[0] if text else type(exc).__name__
        if not is_oom(exc):
            raise MeasurementError(f"{spec.label} failed: {type(exc).__name__}: "
                                   f"{first}") from exc
        oom_detail = first
    raise oom_error(device, spec.batch, oom_detail)
