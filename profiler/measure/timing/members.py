"""In-process members of a comparison group: a BenchSpec's prepared step on this machine.

:class:`InProcessMember` is a :class:`~profiler.rounds.Member` for the rounds engine.
It runs the same step as a timing run alone (:mod:`profiler.measure.steps`), with the same
clock (CUDA events on a GPU, ``perf_counter`` on the CPU: :mod:`profiler.measure.timing.clock`) and
the same warm-up rules (:func:`profiler.measure.timing.loop.warm_up`). The caller sets the thread
count and cuDNN's flag around the whole group (every member of a group shares them).

On the CPU, warm-up first asks the memory guard (:func:`profiler.measure.memory.guard.
plan_memory`, under ``memory_limit``) whether the member's step fits: a refusal is the
member's ``oom`` (members are checked one at a time; the guard does not add up the weights
of the members held together). Memory on CUDA is measured during the member's own warm-up
(:class:`CudaMemoryProbe` around building, warm-up and ``policy.memory_steps`` more steps),
when no other member runs, so the caching allocator's peak is this member's. On the CPU,
``cpu_memory = "tensor"`` measures the peak of tensor bytes during the member's warm-up too
(:func:`profiler.measure.memory.peak.cpu_tensor_memory`); ``"child"`` (the default) leaves it to
the caller, who runs the child process per member afterwards
(:func:`profiler.measure.timing.loop.child_memory`), as for a case timed alone.

A member of a **later worker process** of the group (``guarded_batch`` given: the batch the
guard allowed it in the group's first process, on this machine, under the same limit) is
built, warmed up in full and measured as a first build is, without asking the guard again
(the guard costs a build and a step per member, which every later process would repeat).

A **rebuild** (``rebuilt_batch`` given: the process built, warmed up and guarded this member
before, :func:`profiler.measure.timing.replicate.measure_builds`) builds the member afresh at
that batch without asking the guard again, measures no memory, and warms up with the warm-up's
mandatory ``spec.warmup`` steps only: the process's lazy initialisation and kernel caches are
warm, and on the README's CPU the first steps of a rebuilt ResNet-50 are already within the
rounds' noise of the settled step time (inference: 0.99-1.03 of it over four rebuilds;
training: 1.03-1.32, the rounds' own spread 1.01-1.21). A settle phase there cost 1 s per
member per rebuild; warm-ups were two thirds of a reproduce run's group time then.

Torch's failures become one-line attnprof errors (:func:`profiler.measure.timing.loop.run_guarded`:
out of memory is :class:`~profiler.errors.OutOfMemoryError`), which the engine records as the
member's status; a failed member frees its model at once so the rest of the group goes on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

import torch

from profiler.defaults import TENSOR_MEMORY_STEPS
from profiler.errors import MeasurementError
from profiler.measure.memory.guard import plan_memory
from profiler.measure.memory.peak import (
    CudaMemoryProbe,
    MemoryFigures,
    cpu_tensor_memory,
    live_tensor_bytes,
)
from profiler.measure.steps import PreparedStep, prepare_step, static_memory_bytes
from profiler.measure.timing.clock import Clock, clock_for
from profiler.measure.timing.loop import (
    DEFAULT_POLICY,
    BlockFigures,
    TimingPolicy,
    block_figures,
    run_guarded,
    warm_up,
)
from profiler.signals import user_code
from profiler.spec import BenchSpec

__all__ = ["InProcessMember"]

T = TypeVar("T")


def _held_tensors(prepared: PreparedStep) -> list[torch.Tensor]:
    """What lives between steps: parameters, buffers, optimizer state, the input batch."""
    held = [*prepared.module.parameters(), *prepared.module.buffers(), prepared.inputs]
    if prepared.optimizer is not None:
        for state in prepared.optimizer.state.values():
            held.extend(v for v in state.values() if isinstance(v, torch.Tensor))
    return held


class InProcessMember:
    """``spec``'s step on ``device`` in this process (see the module doc)."""

    def __init__(self, spec: BenchSpec, device: torch.device, *, name: str | None = None,
                 policy: TimingPolicy = DEFAULT_POLICY, clock: Clock | None = None,
                 memory_limit: int | None = None, cpu_memory: str = "child",
                 rebuilt_batch: int | None = None, guarded_batch: int | None = None) -> None:
        self.spec = spec
        self.device = device
        self.name = name or spec.workload.label
        known = rebuilt_batch if rebuilt_batch is not None else guarded_batch
        self.batch = spec.batch if known is None else known
        self.rebuild = rebuilt_batch is not None
        self.guarded = known is not None
        self.policy = replace(policy, max_settle_seconds=0.0) if self.rebuild else policy
        self.clock = clock or clock_for(device)
        self.cuda_memory: MemoryFigures | None = None
        self.cpu_memory = cpu_memory
        self.tensor_memory: MemoryFigures | None = None
        self.static_bytes: int | None = None
        self.memory_limit = memory_limit
        self.memory_estimate: int | None = None
        self.memory_s = 0.0  # seconds on the memory guard and peak memory, in warm_up
        self._prepared: PreparedStep | None = None

    def _guarded(self, action: Callable[[], T]) -> T:
        try:
            with user_code(f"{self.spec.label} failed"):
                return run_guarded(self.spec, self.device, self.batch, action)
        except BaseException:
            self.close()
            raise

    def _step(self) -> PreparedStep:
        if self._prepared is None:
            raise MeasurementError(f"{self.spec.label}: member not warmed up (or closed)")
        return self._prepared

    def _check_memory(self) -> None:
        if self.device.type != "cpu" or self.guarded:
            return
        plan = plan_memory(self.spec, self.memory_limit)
        if plan is not None:
            self.batch = plan.batch
            self.memory_estimate = plan.peak_bytes

    def _warm_up(self) -> list[float]:
        started = time.perf_counter()
        self._check_memory()
        self.memory_s += time.perf_counter() - started
        probe = (CudaMemoryProbe(self.device) if self.spec.memory and not self.rebuild
                 and self.device.type == "cuda" else None)
        self._prepared = prepare_step(self.spec, self.device, self.batch)
        times = warm_up(self.clock, self._prepared.run, self.spec.warmup, self.spec.min_time,
                        self.policy)
        self.static_bytes = static_memory_bytes(self._prepared, self.spec.mode)
        started = time.perf_counter()
        if (self.spec.memory and not self.rebuild and self.device.type == "cpu"
                and self.cpu_memory == "tensor"):
            held = live_tensor_bytes(_held_tensors(self._prepared))
            figures = cpu_tensor_memory(self._prepared.run, TENSOR_MEMORY_STEPS, held)
            self.tensor_memory = replace(figures, static_bytes=self.static_bytes)
        if probe is not None:
            probe.mark_steady()
            self.clock.time_steps(self._prepared.run, self.policy.memory_steps)
            self.cuda_memory = probe.finish(self.static_bytes)
        self.memory_s += time.perf_counter() - started
        return times

    def warm_up(self) -> list[float]:
        """Build the workload, warm it up (timing's rules) and, on CUDA, measure its memory."""
        return self._guarded(self._warm_up)

    def time_block(self, steps: int) -> list[float]:
        """``steps`` steps back to back, each one's time in seconds."""
        prepared = self._step()
        return self._guarded(lambda: self.clock.time_steps(prepared.run, steps))

    def block_figures(self, step_seconds: float) -> BlockFigures:
        """A single block's bandwidth figures at ``step_seconds`` (empty for models)."""
        return block_figures(self.spec, self.device, self._step(), step_seconds)

    def close(self) -> None:
        """Free the model, its input and optimizer state (and CUDA's cached blocks)."""
        self._prepared = None
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
