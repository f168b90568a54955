"""Collect the environment of a measurement from the running machine (torch, devices, flags).

The record itself is :class:`profiler.results.environment.Environment` (plain data that loads
without torch); the tool's version and commit come from :mod:`profiler.provenance`.
"""

from __future__ import annotations

import os
import platform
import shutil
from importlib import metadata

import torch

from profiler.measure.allocator import pin_malloc_thresholds
from profiler.provenance import cpu_model, git_commit, run_quietly, tool_version
from profiler.results.environment import Environment
from profiler.telemetry import telemetry_environment

__all__ = ["collect_environment"]


def _package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _nvidia_driver() -> str | None:
    if shutil.which("nvidia-smi") is None:
        return None
    out = run_quietly(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"])
    return out.splitlines()[0].strip() if out else None


_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "CUDA_VISIBLE_DEVICES",
             "CUBLAS_WORKSPACE_CONFIG", "PYTORCH_CUDA_ALLOC_CONF", "TORCHINDUCTOR_MAX_AUTOTUNE")


def collect_environment(device: str = "cpu") -> Environment:
    """Read the environment of ``device`` (``cpu``, ``cuda`` or ``cuda:N``)."""
    dev = torch.device(device)
    cuda = dev.type == "cuda" and torch.cuda.is_available()
    name, capability, memory = cpu_model(), None, None
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
        cpu_model=cpu_model(),
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
        allocator=pin_malloc_thresholds(),
        telemetry=telemetry_environment(str(dev)),
    )
