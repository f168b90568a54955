"""attnprof: performance profiling for channel-attention blocks in CNNs."""

from __future__ import annotations

from profiler.blocks import BLOCKS, build_block, eca_kernel_size
from profiler.errors import AttnprofError, UnknownNameError
from profiler.models import MODELS, attention_modules, build_model
from profiler.spec import BenchSpec, CountSpec, Workload

__all__ = [
    "BLOCKS",
    "MODELS",
    "AttnprofError",
    "BenchSpec",
    "CountSpec",
    "UnknownNameError",
    "Workload",
    "attention_modules",
    "build_block",
    "build_model",
    "eca_kernel_size",
]
