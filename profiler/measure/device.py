"""Devices and the global torch settings a measurement changes (and always restores).

Device names are parsed by :mod:`profiler.devices`; here they meet the machine:
:func:`resolve_device` turns ``cpu`` / ``cuda`` / ``cuda:N`` into a :class:`torch.device` this
machine has, :func:`available_device` picks ``auto``'s device and checks the others; the
context managers set the CPU thread count and cuDNN's benchmark flag for the
duration of a measurement and put the previous values back in ``finally``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

from profiler.devices import AUTO, check_device, device_index
from profiler.errors import DeviceUnavailableError, InvalidOptionError

__all__ = [
    "available_device",
    "cudnn_benchmark",
    "free_memory_bytes",
    "resolve_device",
    "synchronize",
    "torch_threads",
]


def resolve_device(name: str) -> torch.device:
    """``cpu``, ``cuda`` (the current CUDA device) or ``cuda:N`` -> a device this machine has.

    Raises InvalidOptionError for a malformed name and DeviceUnavailableError when CUDA is
    absent or the index is out of range.
    """
    check_device(name)
    if name == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise DeviceUnavailableError(f"device {name!r} asked for, but CUDA is not available on "
                                     "this machine; use --device cpu")
    count = torch.cuda.device_count()
    index = device_index(name)
    if index is None:
        index = torch.cuda.current_device()
    if index >= count:
        raise DeviceUnavailableError(f"device {name!r} asked for, but this machine has {count} "
                                     f"CUDA device(s): cuda:0..cuda:{count - 1}")
    return torch.device("cuda", index)


def available_device(requested: str) -> str:
    """``auto``/``cpu``/``cuda``/``cuda:N`` -> a device present on this machine.

    ``auto`` becomes ``cuda`` when a CUDA device is available, else ``cpu``; any other name is
    checked by :func:`resolve_device` and returned as spelled (``cuda`` stays ``cuda``),
    because it is part of every timing case's id.
    """
    check_device(requested, allow_auto=True)
    if requested == AUTO:
        return "cuda" if torch.cuda.is_available() else "cpu"
    resolve_device(requested)
    return requested


@contextmanager
def torch_threads(threads: int | None) -> Iterator[int]:
    """Run with ``torch.set_num_threads(threads)`` (None: leave as is); restore afterwards."""
    previous = torch.get_num_threads()
    if threads is not None:
        if threads <= 0:
            raise InvalidOptionError(f"threads must be a positive integer, got {threads}")
        torch.set_num_threads(threads)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(previous)


@contextmanager
def cudnn_benchmark(enabled: bool) -> Iterator[None]:
    """Run with ``torch.backends.cudnn.benchmark = enabled``; restore afterwards."""
    previous = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = enabled
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = previous


def synchronize(device: torch.device) -> None:
    """Wait for all queued work on ``device`` (no-op on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def free_memory_bytes(device: torch.device) -> int | None:
    """Free memory on ``device``: ``cudaMemGetInfo`` on a GPU, ``MemAvailable`` on the CPU."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None
