"""A workload made real: its module, a synthetic input batch, and the torch dtype of a spec.

:class:`~profiler.spec.Workload` and the specs are plain data (they name dtypes as strings and
load without torch); this module turns them into torch objects for the measuring harnesses.
"""

from __future__ import annotations

import torch
from torch import nn

from profiler.spec import DTYPES, Workload, thaw_options

__all__ = ["TORCH_DTYPES", "build_module", "example_input", "torch_dtype"]

TORCH_DTYPES: dict[str, torch.dtype] = {
    "fp32": torch.float32,
    "fp16": torch.float16,
    "bf16": torch.bfloat16,
}
assert tuple(TORCH_DTYPES) == DTYPES, "every dtype name of profiler.spec maps to a torch dtype"


def torch_dtype(name: str) -> torch.dtype:
    """``fp32`` / ``fp16`` / ``bf16`` -> the torch dtype."""
    return TORCH_DTYPES[name]


def build_module(workload: Workload) -> nn.Module:
    """Construct the workload's module (fresh weights, train mode, on the CPU)."""
    from profiler.blocks import build_block
    from profiler.models import build_model

    if workload.block is not None:
        assert workload.channels is not None
        return build_block(workload.block, workload.channels, **thaw_options(workload.options))
    assert workload.model is not None
    return build_model(workload.model, workload.attention, thaw_options(workload.options) or None)


def example_input(workload: Workload, batch: int, device: torch.device | str = "cpu",
                  dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A synthetic batch of the workload's input shape, made directly on ``device``."""
    return torch.randn((batch, *workload.input_shape), device=device, dtype=dtype)
