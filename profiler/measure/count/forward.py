"""Forward FLOPs of one image of a workload, counted on the ``meta`` device (shapes only).

For the run planner's probe (:mod:`profiler.suites.probe`): torch's ``FlopCounterMode`` (the
``torch`` counter, 2 FLOPs per multiply-add) on a copy of the model built on ``meta``, where
no arithmetic runs: about a second even for ResNet-152.
"""

from __future__ import annotations

import torch

from profiler.measure.workload import build_module
from profiler.spec import Workload

__all__ = ["forward_flops"]


def forward_flops(workload: Workload) -> float:
    """Forward FLOPs of one image of ``workload`` (2 per multiply-add), counted on ``meta``."""
    from profiler.measure.count.counters import count_with

    with torch.device("meta"):
        module = build_module(workload)
    module.eval()
    inputs = torch.empty((1, *workload.input_shape), device="meta")
    return float(count_with("torch", module, inputs).flops)
