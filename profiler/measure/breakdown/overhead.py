"""Calibrate the profiler's cost per recorded event, independently of the measured model.

:mod:`profiler.measure.breakdown.compensation` takes this cost out of a breakdown's parts. It is
measured in the same process, with the same thread count, profiler configuration
(:func:`profiler.measure.breakdown.profiling.profile_window`), module ranges and kind of step as the
breakdown, on :class:`ProbeNet`: a tiny residual network with the operations a CNN with
channel attention runs (convolutions, batch norm, ReLU, max pooling, global average pooling,
linear layers, sigmoid, rescale, residual add, classifier), at a batch of 2 on 8x8 maps, so
that its arithmetic is negligible and what the profiler adds is almost all of the difference.
In training the probe runs the model training step (forward, cross-entropy, backward, SGD), so
backward nodes, ``AccumulateGrad`` and the optimizer's ops are among the events it calibrates.

Method (:func:`calibrate`): warm the probe up, run one thrown-away profiled window (the
profiler's first window pays for fresh memory: :mod:`profiler.measure.breakdown.profiling`), then
``rounds`` rounds, each ``steps`` plain steps followed by one profiled window of ``steps``
steps; every step is timed by the caller's clock and runs inside the step label. A round's
estimate is (Σ profiled - Σ plain) / the events its profiled steps recorded
(:func:`profiler.measure.breakdown.compensation.overhead_per_event`); the cost is the median of the
rounds, clamped at 0 (a negative median is noise: nothing is taken out).

:func:`probe_calibration` calibrates once per process for each kind of step
(:meth:`profiler.spec.BenchSpec.step_kind`: mode, device, dtype, layout, threads, cuDNN
setting; and the clock) and hands later breakdowns of that kind the same calibration, as
:func:`profiler.measure.timing.bandwidth.copy_bandwidth` does for the copy bandwidth: the cost
per event is the machine's and the profiler's, not the model's, and a run's breakdowns (ten in
``reproduce``) would otherwise spend most of their time calibrating (about 4 s each on a 2-core
CPU at half the README machine's speed, of a small breakdown's 4.6 s).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

from profiler.measure.breakdown.attribution import OpEvent, in_steps
from profiler.measure.breakdown.compensation import overhead_per_event
from profiler.measure.breakdown.profiling import (
    labelled,
    module_ranges,
    profile_window,
    warm_profiler,
)
from profiler.measure.steps import prepare_step
from profiler.measure.timing.clock import Clock
from profiler.spec import BenchSpec, Workload
from profiler.stats import median

__all__ = [
    "OVERHEAD_ROUNDS",
    "OVERHEAD_STEPS",
    "OVERHEAD_WARMUP",
    "PROBE_BATCH",
    "PROBE_INPUT",
    "PROBE_MODEL",
    "Calibration",
    "ProbeNet",
    "calibrate",
    "calibrate_probe",
    "count_step_events",
    "probe_calibration",
    "probe_spec",
]

PROBE_MODEL = "profiler.measure.breakdown.overhead:ProbeNet"
PROBE_INPUT: tuple[int, int, int] = (3, 16, 16)
PROBE_BATCH = 2
PROBE_WIDTH = 8
PROBE_BLOCKS = 3
PROBE_CLASSES = 10
# Rounds of (plain steps, profiled window), steps per window, warm-up steps (about 1 s in all
# on 2 CPU cores in training, less in inference).
OVERHEAD_ROUNDS = 5
OVERHEAD_STEPS = 8
OVERHEAD_WARMUP = 5


class _ProbeBlock(nn.Module):
    """conv-bn-relu, conv-bn, a squeeze-and-excitation gate, residual add, relu."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(width, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Linear(width, width // 2)
        self.fc2 = nn.Linear(width // 2, width)
        self.gate = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        weight = self.gate(self.fc2(self.relu(self.fc1(self.pool(out).flatten(1)))))
        return self.relu(out * weight.view(weight.shape[0], -1, 1, 1) + x)


class ProbeNet(nn.Module):
    """The calibration probe (module doc): stem, three gated residual blocks, classifier."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(PROBE_INPUT[0], PROBE_WIDTH, 3, padding=1,
                                            bias=False),
                                  nn.BatchNorm2d(PROBE_WIDTH), nn.ReLU(inplace=True),
                                  nn.MaxPool2d(2))
        self.blocks = nn.Sequential(*(_ProbeBlock(PROBE_WIDTH) for _ in range(PROBE_BLOCKS)))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(PROBE_WIDTH, PROBE_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.blocks(self.stem(x))).flatten(1))


@dataclass(frozen=True)
class Calibration:
    """The calibrated cost of one recorded event (µs, clamped at 0), each round's estimate,
    and how many events (step ranges included) a profiled probe step recorded."""

    us_per_event: float
    rounds_us: tuple[float, ...]
    probe_events_per_step: float


def probe_spec(spec: BenchSpec) -> BenchSpec:
    """The probe's step: ``spec``'s mode, device, dtype, layout and threads, on ProbeNet."""
    return replace(spec, workload=Workload.for_model(PROBE_MODEL, input_shape=PROBE_INPUT),
                   batch=PROBE_BATCH, compile=False, memory=False)


def count_step_events(events: Sequence[OpEvent]) -> int:
    """Events the profiled steps recorded, their step ranges included (same thread rule as
    the attribution: :func:`profiler.measure.breakdown.attribution.in_steps`)."""
    held, steps = in_steps(events, same_thread=True)
    return len(held) + len(steps)


def _raw_events(prof: Any) -> list[OpEvent]:
    """The window's events straight from kineto (no tree building: fast), enough to count."""
    found = []
    for index, event in enumerate(prof.profiler.kineto_results.events()):
        if event.device_type() != torch.autograd.DeviceType.CPU:
            continue
        start, end = event.start_ns() / 1e3, event.end_ns() / 1e3
        found.append(OpEvent(index=index, name=event.name(), parent=None, start_us=start,
                             end_us=end, self_us=0.0, thread=int(event.start_thread_id())))
    return found


def _count(prof: Any) -> int:
    return count_step_events(_raw_events(prof))


def calibrate(step: Callable[[], None], device: torch.device, clock: Clock, *,
              rounds: int = OVERHEAD_ROUNDS, steps: int = OVERHEAD_STEPS,
              warmup: int = OVERHEAD_WARMUP) -> Calibration:
    """Measure the profiler's cost per recorded event on ``step`` (module doc).

    ``step`` is normally the probe's (:func:`probe_spec`, with module ranges on); the clock
    times ``warmup`` plain steps, then one profiled window to throw away (``steps`` steps
    after one thrown-away step), then per round ``steps`` plain steps and one profiled window
    (one thrown-away step, ``steps`` timed): the order a scripted clock follows.
    """
    if rounds <= 0 or steps <= 0:
        raise ValueError("calibration needs at least one round of at least one step")
    plain_step = labelled(step)
    clock.time_steps(plain_step, warmup)
    warm_profiler(step, device, steps, clock)
    estimates: list[float] = []
    events: list[int] = []
    for _ in range(rounds):
        plain = clock.time_steps(plain_step, steps)
        recorded, profiled = profile_window(step, device, steps, clock, _count)
        assert recorded is not None
        events.append(recorded)
        estimates.append(overhead_per_event(plain, profiled, recorded))
    return Calibration(us_per_event=max(median(estimates), 0.0), rounds_us=tuple(estimates),
                       probe_events_per_step=sum(events) / (rounds * steps))


# the probe step's kind and the clock -> its calibration, for this process
_CALIBRATIONS: dict[tuple[object, ...], Calibration] = {}


def probe_calibration(spec: BenchSpec, device: torch.device,
                      clock: Clock) -> tuple[Calibration, bool]:
    """:func:`calibrate_probe` for ``spec``'s kind of step, or the calibration this process
    already made for that kind (module doc); True when reused."""
    key = (*spec.step_kind(), str(device), clock.name)
    if key in _CALIBRATIONS:
        return _CALIBRATIONS[key], True
    _CALIBRATIONS[key] = calibrate_probe(spec, device, clock)
    return _CALIBRATIONS[key], False


def calibrate_probe(spec: BenchSpec, device: torch.device, clock: Clock, *,
                    rounds: int = OVERHEAD_ROUNDS, steps: int = OVERHEAD_STEPS) -> Calibration:
    """Build the probe for ``spec`` (:func:`probe_spec`) and calibrate on it (``rounds`` and
    ``steps`` as in :func:`calibrate`), module ranges on as in the breakdown. The caller sets
    threads and cuDNN as for the model."""
    prepared = prepare_step(probe_spec(spec), device)
    with module_ranges(prepared.module):
        return calibrate(prepared.run, device, clock, rounds=rounds, steps=steps)

