"""What each unit of a run is expected to cost on this machine (torch-free).

The probe (:mod:`profiler.suites.probe`, timing through the measuring layer) measures three
things and returns numbers only (:class:`MachineProbe`): the machine's seconds per FLOP on a
small reference workload (a few real inference steps), each distinct workload's forward FLOPs
per image (counted on the ``meta`` device: shapes only, no arithmetic) and the cost of
starting a worker process (python + import torch). From them this module estimates:

- a step: forward FLOPs x batch x seconds per FLOP, times :data:`TRAIN_FACTOR` when training
  (forward + backward ~ three forwards: a convolution's backward computes both the input and
  the weight gradients, each about a forward's cost);
- a comparison group (:class:`GroupCost`): per worker process, its start, building every
  member and its warm-up (``warmup`` steps, then at most the settle cap, ``max(1, 2 x
  min_time)`` seconds, as :mod:`profiler.measure.timing` does); a round: every member runs
  the same number of steps, enough of the slowest member's to fill ``block_time``, plus its
  share of rebuilding the members: a rebuild, building every member and its ``warmup``
  steps (no settle phase in a warm process), comes every
  :attr:`GroupCost.rounds_per_build` rounds, at least
  :data:`~profiler.plan.budget.DEFAULT_ROUNDS_PER_BUILD` and enough that the rebuild costs
  no more than the rounds between two builds (the rule of
  :func:`profiler.measure.timing.replicate.rounds_per_build`, which the group's budget then
  applies from the first build on); peak memory in the worker:
  :data:`~profiler.defaults.TENSOR_MEMORY_STEPS` profiled steps per member, once per group;
- a count or breakdown case (:class:`CaseCost`): a fixed cost; a timing case alone (outside
  any group) as ``attnprof bench`` times it, peak memory in a child process;
- a step never costs less than :data:`MIN_STEP_S` (scaled): a tiny block's step is operator
  dispatch, not FLOPs.

Overheads that are not steps (building a model, a fvcore trace, processing a profile) are
stated for ResNet-50 on a nominal machine (:data:`NOMINAL_SECONDS_PER_FLOP`: a 2-core x86 CPU
inferring ResNet-50 at ~19 images/s at batch 2, the README's machine) and scaled by this
machine's slowness relative to it and by the model's size (:func:`size_factor`: the square
root of its FLOPs over ResNet-50's, within [0.1, 2]; a model's layer count, which building and
tracing follow, grows more slowly than its FLOPs). They are defaults, not fits: the run
corrects them as it goes
(:func:`profiler.plan.planner.replan` scales the remaining estimates by what the finished
units really took).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from profiler.defaults import TENSOR_MEMORY_STEPS
from profiler.plan.budget import DEFAULT_ROUNDS_PER_BUILD
from profiler.results.fields import known_fields
from profiler.spec import BenchSpec, BreakdownSpec, CountSpec

__all__ = [
    "MEMORY_STEPS",
    "MIN_STEP_S",
    "NOMINAL_SECONDS_PER_FLOP",
    "RESNET50_FLOPS",
    "TRAIN_FACTOR",
    "CaseCost",
    "GroupCost",
    "MachineProbe",
    "case_cost",
    "group_cost",
    "rounds_between_builds",
    "size_factor",
    "step_seconds",
]

# ResNet-50 forward: 4.1 G multiply-adds = 8.2 GFLOP per image at 2 FLOPs per multiply-add (the
# convention of torch's FlopCounterMode, which the probe counts with); 18.6 images/s -> 6.6e-12.
RESNET50_FLOPS = 8.2e9
NOMINAL_SECONDS_PER_FLOP = 1.0 / (18.6 * RESNET50_FLOPS)
TRAIN_FACTOR = 3.0
MEMORY_STEPS = 2          # steps a memory child runs after its first (a case timed alone)
BUILD_S = 0.5            # building ResNet-50 on the nominal machine
COUNT_BASE_S = 0.8       # a count case beyond its traced forward passes, nominal machine
COUNT_FORWARDS = 4.0     # a count traces the model on one thread: ~4 batch-1 forwards
BREAKDOWN_BASE_S = 2.0   # fvcore trace, memory guard, profile processing, copy bandwidth
CALIBRATION_S = 2.0      # the profiler's cost calibrated on the probe net: once per kind of step
PROFILE_FACTOR = 1.5     # a profiled step costs more than a plain one
MIN_STEP_S = 2e-4        # a step of a tiny block: operator dispatch, not FLOPs, nominal machine


@dataclass(frozen=True)
class MachineProbe:
    """What the probe measured on this machine (seconds, FLOPs per image, forward).

    ``flops`` maps a workload's label (:attr:`profiler.spec.Workload.label`) to its forward
    FLOPs per image; ``probe_s`` is what the probe itself took.
    """

    device: str
    seconds_per_flop: float
    worker_start_s: float
    flops: Mapping[str, float] = field(default_factory=dict)
    reference: str = ""
    probe_s: float = 0.0

    @property
    def slowness(self) -> float:
        """This machine's seconds per FLOP over the nominal machine's (2.0: half as fast)."""
        return self.seconds_per_flop / NOMINAL_SECONDS_PER_FLOP

    @property
    def host_slowness(self) -> float:
        """What scales work done by the host CPU (building, tracing, processing a profile):
        the slowness on a CPU; on a GPU the host is taken as the nominal machine (the GPU's
        speed says nothing about it)."""
        return self.slowness if self.device == "cpu" else 1.0

    @property
    def host_seconds_per_flop(self) -> float:
        """Seconds per FLOP of the host CPU (counts trace there): this machine's on a CPU, the
        nominal machine's otherwise."""
        return self.seconds_per_flop if self.device == "cpu" else NOMINAL_SECONDS_PER_FLOP

    def to_dict(self) -> dict[str, Any]:
        return {"device": self.device, "seconds_per_flop": self.seconds_per_flop,
                "worker_start_s": self.worker_start_s, "flops": dict(self.flops),
                "reference": self.reference, "probe_s": self.probe_s}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MachineProbe:
        kept = known_fields(cls, data)
        kept["flops"] = {str(k): float(v) for k, v in (data.get("flops") or {}).items()}
        return cls(**kept)


def size_factor(flops: float) -> float:
    """A workload's fixed overheads relative to ResNet-50's (see the module doc)."""
    return min(2.0, max(0.1, math.sqrt(flops / RESNET50_FLOPS)))


def _flops(probe: MachineProbe, label: str) -> float:
    counted = probe.flops.get(label)
    return counted if counted is not None else max(probe.flops.values(), default=RESNET50_FLOPS)


def step_seconds(probe: MachineProbe, spec: BenchSpec | BreakdownSpec, scale: float = 1.0
                 ) -> float:
    """One step of ``spec`` on this machine (seconds); a workload the probe did not count
    costs as much as the costliest one it did (never less: a plan must not undershoot)."""
    factor = TRAIN_FACTOR if spec.mode == "train" else 1.0
    compute = _flops(probe, spec.workload.label) * spec.batch * probe.seconds_per_flop
    return scale * factor * max(compute, MIN_STEP_S * probe.host_slowness)


@dataclass(frozen=True)
class CaseCost:
    """A case measured alone (a count or a breakdown): its estimated seconds."""

    label: str
    kind: str
    seconds: float


@dataclass(frozen=True)
class GroupCost:
    """A comparison group's costs (seconds): ``process_s`` is what every worker process
    spends before its rounds (start, build and warm up every member); ``round_s`` one round
    of every member, its share of a rebuild included; ``memory_s`` peak memory, once per
    group; ``mode`` its members' mode (the run corrects training and inference groups'
    estimates apart); ``rounds_per_build`` the rounds between two builds in a process
    (module doc)."""

    label: str
    members: int
    process_s: float
    round_s: float
    memory_s: float
    min_rounds: int
    max_rounds: int
    mode: str = ""
    rounds_per_build: int = DEFAULT_ROUNDS_PER_BUILD

    def seconds(self, processes: int, rounds_per_process: int, memory: bool = True) -> float:
        """The group's estimated wall time with ``processes`` workers of ``rounds`` each."""
        return (processes * (self.process_s + rounds_per_process * self.round_s)
                + (self.memory_s if memory else 0.0))

    @property
    def minimum_s(self) -> float:
        """One process, the minimum rounds, memory measured."""
        return self.seconds(1, self.min_rounds)


def _settle_cap(min_time: float) -> float:
    return max(1.0, 2.0 * min_time)


def group_cost(probe: MachineProbe, label: str, specs: Sequence[BenchSpec], block_time: float,
               min_rounds: int, max_rounds: int, scale: float = 1.0) -> GroupCost:
    """The costs of timing ``specs`` together (``scale`` corrects the model: 1.2 = 20% more)."""
    steps = [step_seconds(probe, s, scale) for s in specs]
    slowest = max(steps, default=0.0)
    per_block = max(1, math.ceil(block_time / slowest)) if slowest > 0 else 1
    build = scale * BUILD_S * probe.host_slowness * sum(
        size_factor(_flops(probe, s.workload.label)) for s in specs)
    warm = sum(min(s.warmup * t + _settle_cap(s.min_time), (s.warmup + 20) * t) for s, t in
               zip(specs, steps, strict=True))
    rounds = per_block * sum(steps)
    rebuild = build + sum(s.warmup * t for s, t in zip(specs, steps, strict=True))
    every = rounds_between_builds(rebuild, rounds)
    return GroupCost(label=label, members=len(specs),
                     process_s=scale * probe.worker_start_s + build + warm,
                     round_s=rounds + rebuild / every,
                     memory_s=PROFILE_FACTOR * TENSOR_MEMORY_STEPS * sum(steps),
                     min_rounds=min_rounds, max_rounds=max(min_rounds, max_rounds),
                     mode=specs[0].mode if specs else "", rounds_per_build=every)


def rounds_between_builds(rebuild_s: float, round_s: float,
                          least: int = DEFAULT_ROUNDS_PER_BUILD) -> int:
    """Rounds between two builds in a process: at least ``least`` (default
    :data:`~profiler.plan.budget.DEFAULT_ROUNDS_PER_BUILD`), and enough that a rebuild
    (``rebuild_s``) costs no more than the rounds (``round_s`` each) between two builds.
    Kalibera & Jones's optimum, rounds per build = sqrt(rebuild cost / round cost x within
    variance / between-build variance), is that when the variance ratio equals the cost
    ratio; on the README's CPU a round's log ratio spreads 4-9% and builds add 0-5%, so a
    rebuild that costs 4 rounds is worth about 2-6 of them."""
    if round_s <= 0:
        return least
    return max(least, math.ceil(rebuild_s / round_s - 1e-9))


def case_cost(probe: MachineProbe, spec: CountSpec | BreakdownSpec | BenchSpec,
              scale: float = 1.0, calibrates: bool = True) -> CaseCost:
    """A case measured alone: a count, a breakdown, or a timing case outside any group.
    ``calibrates``: a breakdown on the CPU calibrates the profiler's cost (the first of its
    kind of step in the process; later ones reuse it), a fixed cost on the small probe
    network."""
    flops = _flops(probe, spec.workload.label)
    base = scale * probe.host_slowness * size_factor(flops)
    if isinstance(spec, CountSpec):
        forward = flops * spec.batch
        seconds = base * (COUNT_BASE_S + BUILD_S) + (
            scale * COUNT_FORWARDS * forward * probe.host_seconds_per_flop)
        return CaseCost(spec.label, "count", seconds)
    step = step_seconds(probe, spec, scale)
    if isinstance(spec, BreakdownSpec):
        steps = spec.warmup + spec.timed_steps + PROFILE_FACTOR * (spec.profiled_steps + 1)
        seconds = base * (BREAKDOWN_BASE_S + BUILD_S) + steps * step + _settle_cap(0.5)
        if calibrates and spec.device == "cpu":  # on a GPU nothing is calibrated
            seconds += scale * probe.host_slowness * CALIBRATION_S
        return CaseCost(spec.label, "breakdown", seconds)
    # timed alone, as `attnprof bench`: peak memory in a child process (start, build, steps)
    memory = scale * probe.worker_start_s + base * BUILD_S + MEMORY_STEPS * step
    seconds = (base * BUILD_S + spec.warmup * step + _settle_cap(spec.min_time)
               + spec.repeats * max(spec.min_time, step) + memory)
    return CaseCost(spec.label, "bench", seconds)
