"""Default values, named once: specs, suites and the command line all import them from here.

Plain constants, no imports: what a spec, a suite entry or a flag uses when it says nothing.
Thresholds that belong to a rule live with the rule (the noise ratio in
:mod:`profiler.stats`, the ratio tolerance in :mod:`profiler.report.verdicts.speed`).
"""

from __future__ import annotations

__all__ = [
    "BLOCK_SIZE",
    "BREAKDOWN_BATCH",
    "BREAKDOWN_PROFILED_STEPS",
    "BREAKDOWN_TIMED_STEPS",
    "COUNT_BATCH",
    "COUNT_CONVENTIONS",
    "DEVICE",
    "DTYPE",
    "INPUT_SHAPE",
    "MAX_PROFILED_STEPS",
    "MAX_TIMED_STEPS",
    "MIN_TIME",
    "MODE",
    "REPEATS",
    "TENSOR_MEMORY_STEPS",
    "TIMING_BATCH",
    "WARMUP",
    "shape_text",
]

# What is measured.
INPUT_SHAPE: tuple[int, int, int] = (3, 224, 224)  # per-sample (C, H, W) of a model
BLOCK_SIZE: tuple[int, int] = (56, 56)  # feature map (H, W) of a block timed alone

# Counting: batch 1 (counts are per image) under fvcore's and the all-ops convention.
COUNT_BATCH = 1
COUNT_CONVENTIONS: tuple[str, ...] = ("fvcore", "all")

# Timing: what runs, and the budget (seconds of steps per repeat, repeats, warm-up steps).
MODE = "infer"
DEVICE = "cpu"
DTYPE = "fp32"
TIMING_BATCH = 32
MIN_TIME = 1.0
REPEATS = 5
WARMUP = 3

# Breakdowns (attnprof breakdown): small, so that a CPU breakdown of a ResNet-50 training step
# takes well under a minute; steps timed without the profiler, then steps profiled.
BREAKDOWN_BATCH = 4
BREAKDOWN_TIMED_STEPS = 3
BREAKDOWN_PROFILED_STEPS = 2
# Upper limits: every profiled step keeps all its events in memory (a ResNet-50 training step
# holds tens of thousands), and timed steps run one after another with no time budget.
MAX_PROFILED_STEPS = 100  # breakdown --profiled-steps; trace: (wait+warmup+active) x repeat
MAX_TIMED_STEPS = 10_000  # breakdown --timed-steps

# Peak memory of a comparison group's members on the CPU (the tensor peak, measured in the
# worker): warmed-up steps profiled per member (profiler.measure.memory.peak; the planner costs
# the same steps).
TENSOR_MEMORY_STEPS = 1


def shape_text(shape: tuple[int, ...]) -> str:
    """``(3, 224, 224)`` -> ``3x224x224`` (how shapes are written on the command line)."""
    return "x".join(str(d) for d in shape)
