"""attnprof: performance profiling for channel-attention blocks in CNNs."""

from __future__ import annotations

from profiler.blocks import BLOCKS, build_block
from profiler.errors import AttnprofError, UnknownNameError
from profiler.models import MODELS, build_model
from profiler.spec import BenchSpec, CountSpec, Workload

__all__ = [
    "BLOCKS",
    "MODELS",
    "AttnprofError",
    "BenchSpec",
    "CountSpec",
    "UnknownNameError",
    "Workload",
    "build_block",
    "build_model",
]
