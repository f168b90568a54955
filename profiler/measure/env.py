"""The environment a number was measured in, recorded in every result file."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from dataclasses import asdict, dataclass, field, fields
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

__all__ = ["Environment", "collect_environment", "git_commit", "tool_version"]


def tool_version() -> str:
    try:
        return metadata.version("attnprof")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def _run(cmd: list[str], cwd: Path | None = None) -> str | None:
    try:
        out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def git_commit() -> str | None:
    """Commit of the attnprof checkout (``+dirty`` if it has local changes), None outside git."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists() or shutil.which("git") is None:
        return None
    commit = _run(["git", "rev-parse", "HEAD"], cwd=root)
    if commit is None:
        return None
    dirty = _run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root)
    return f"{commit}+dirty" if dirty else commit


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _nvidia_driver() -> str | None:
    if shutil.which("nvidia-smi") is None:
        return None
    out = _run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"])
    return out.splitlines()[0].strip() if out else None


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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Environment:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

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


_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "CUDA_VISIBLE_DEVICES",
             "CUBLAS_WORKSPACE_CONFIG", "PYTORCH_CUDA_ALLOC_CONF", "TORCHINDUCTOR_MAX_AUTOTUNE")


def collect_environment(device: str = "cpu") -> Environment:
    """Read the environment of ``device`` (``cpu``, ``cuda`` or ``cuda:N``)."""
    dev = torch.device(device)
    cuda = dev.type == "cuda" and torch.cuda.is_available()
    name, capability, memory = _cpu_model(), None, None
    if cuda:
        index = dev.index if dev.index is not None else torch.cuda.current_device()
        props = torch.cuda.get_device_properties(index)
        name, memory = props.name, int(props.total_memory)
        capability = f"{props.major}.{props.minor}"
    return Environment(
        device=str(dev),
        device_name=name,
        device_count=torch.cuda.device_count() if cuda else 1,
        device_capability=capability,
        device_memory_bytes=memory,
        driver_version=_nvidia_driver() if cuda else None,
        cuda_version=torch.version.cuda,
        cudnn_version=torch.backends.cudnn.version() if torch.backends.cudnn.is_available()
        else None,
        torch_version=torch.__version__,
        torch_git_version=getattr(torch.version, "git_version", None),
        python_version=platform.python_version(),
        platform=platform.platform(),
        hostname=platform.node(),
        cpu_model=_cpu_model(),
        cpu_count=os.cpu_count() or 0,
        torch_threads=torch.get_num_threads(),
        torch_interop_threads=torch.get_num_interop_threads(),
        mkldnn=torch.backends.mkldnn.is_available(),
        cudnn_benchmark=bool(torch.backends.cudnn.benchmark),
        cudnn_deterministic=bool(torch.backends.cudnn.deterministic),
        allow_tf32_matmul=bool(torch.backends.cuda.matmul.allow_tf32),
        allow_tf32_cudnn=bool(torch.backends.cudnn.allow_tf32),
        float32_matmul_precision=torch.get_float32_matmul_precision(),
        fvcore_version=_package_version("fvcore"),
        numpy_version=_package_version("numpy"),
        attnprof_version=tool_version(),
        git_commit=git_commit(),
        env_vars={k: os.environ[k] for k in _ENV_VARS if k in os.environ},
    )
