"""attnprof: performance profiling for channel-attention blocks in CNNs.

The specs and errors load eagerly; the registries and builders (which need torch) load on
first use, so ``import profiler`` and reading result files work without torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from profiler.errors import AttnprofError, UnknownNameError
from profiler.spec import BenchSpec, CountSpec, Workload

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from profiler.blocks import BLOCKS, build_block, eca_kernel_size
    from profiler.models import MODELS, attention_modules, build_model

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

# name -> the module that defines it, imported on first access (PEP 562).
_LAZY: dict[str, str] = {
    "BLOCKS": "profiler.blocks",
    "build_block": "profiler.blocks",
    "eca_kernel_size": "profiler.blocks",
    "MODELS": "profiler.models",
    "attention_modules": "profiler.models",
    "build_model": "profiler.models",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'profiler' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
