"""The environment a number was measured in, as recorded in every result file.

Plain data: collecting it from the running machine (which needs torch) is
:func:`profiler.measure.env.collect_environment`; reading it back needs nothing but this module.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from profiler.results.fields import known_fields

__all__ = ["Environment"]


@dataclass(frozen=True)
class Environment:
    """Everything needed to reproduce a measurement. Unknown fields load as None."""

    device: str = "cpu"
    device_name: str = ""
    device_count: int = 0
    device_capability: str | None = None
    device_memory_bytes: int | None = None
    driver_version: str | None = None
    cuda_version: str | None = None
    cudnn_version: int | None = None
    torch_version: str = ""
    torch_git_version: str | None = None
    python_version: str = ""
    platform: str = ""
    hostname: str = ""
    cpu_model: str = ""
    cpu_count: int = 0
    torch_threads: int = 0
    torch_interop_threads: int = 0
    mkldnn: bool = False
    cudnn_benchmark: bool = False
    cudnn_deterministic: bool = False
    allow_tf32_matmul: bool = False
    allow_tf32_cudnn: bool = False
    float32_matmul_precision: str = ""
    fvcore_version: str | None = None
    numpy_version: str | None = None
    attnprof_version: str = ""
    git_commit: str | None = None
    env_vars: dict[str, str] = field(default_factory=dict)
    allocator: str = ""
    # once per run: where per-round telemetry comes from ("cpu") and the GPU's driver,
    # persistence mode, power limit, ECC/MIG state, UUID and clock policy ("gpu", NVML), or
    # why either is absent (profiler.telemetry.telemetry_environment)
    telemetry: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Environment:
        return cls(**known_fields(cls, data))

    @property
    def summary(self) -> str:
        """One line: device, torch, CUDA/cuDNN, threads."""
        parts = [self.device_name or self.device, f"torch {self.torch_version}"]
        if self.cuda_version:
            parts.append(f"CUDA {self.cuda_version}")
        if self.cudnn_version:
            parts.append(f"cuDNN {self.cudnn_version}")
        if self.driver_version:
            parts.append(f"driver {self.driver_version}")
        parts.append(f"{self.torch_threads} threads")
        return ", ".join(parts)
