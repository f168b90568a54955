"""The memory-bandwidth floor of an attention block, and the device's copy bandwidth.

Channel-attention blocks do almost no arithmetic; their time is set by memory traffic. Each
block declares the least traffic a perfectly fused implementation of it needs
(``BlockInfo.traffic`` in its own file; the shared formulas and their derivation are in
:mod:`profiler.blockinfo`: SE, ECA, GC and the ECA paper's ablations move ``3X + P`` forward
and ``7X + 3P`` with backward, CBAM ``4X + 4M + P`` forward, a block that declares nothing at
least ``2X + P``). :func:`min_bytes` evaluates it on an input shape.

``achieved_gbps = min_bytes / median step time``; it is compared with the device's measured
copy bandwidth: ``dst.copy_(src)`` of a large buffer moves 2 bytes (one read, one write) per
byte copied, so ``copy_gbps = 2 * nbytes / copy time``. A block at ``fraction_of_copy`` = 1 runs
at the speed of a memory copy of the same traffic; the rest is what its kernels leave.
"""

from __future__ import annotations

import torch

from profiler.blockinfo import TrafficFloor
from profiler.blocks import BLOCKS
from profiler.measure.timing.clock import Clock, clock_for
from profiler.stats import median

__all__ = [
    "DEFAULT_COPY_BYTES",
    "achieved_gbps",
    "copy_bandwidth",
    "measure_copy_bandwidth",
    "min_bytes",
]

DEFAULT_COPY_BYTES: dict[str, int] = {"cpu": 128 * 2**20, "cuda": 1024 * 2**20}


def min_bytes(block: str, shape: tuple[int, int, int, int], itemsize: int, param_bytes: int,
              mode: str) -> TrafficFloor:
    """The traffic floor ``block`` declares, on an input of ``shape`` = (N, C, H, W) with
    ``itemsize``-byte elements and ``param_bytes`` of parameters."""
    n, c, h, w = shape
    x, m = n * c * h * w * itemsize, n * h * w * itemsize
    return BLOCKS.info(block).traffic(x, m, param_bytes, mode == "train")


def achieved_gbps(nbytes: int | None, seconds: float) -> float | None:
    """``nbytes / seconds`` in GB/s (1e9 bytes), None without a floor."""
    if nbytes is None or seconds <= 0:
        return None
    return nbytes / seconds / 1e9


def measure_copy_bandwidth(device: torch.device, nbytes: int | None = None, copies: int = 10,
                           clock: Clock | None = None) -> float:
    """GB/s of ``dst.copy_(src)`` on ``device``: 2 * nbytes per copy over the median time."""
    size = nbytes if nbytes is not None else DEFAULT_COPY_BYTES[device.type]
    count = max(1, size // 4)
    src = torch.ones(count, dtype=torch.float32, device=device)
    dst = torch.empty_like(src)
    timer = clock if clock is not None else clock_for(device)
    timer.time_steps(lambda: dst.copy_(src), 2)
    times = timer.time_steps(lambda: dst.copy_(src), copies)
    moved = 2 * count * 4
    return moved / median(times) / 1e9


_CACHE: dict[tuple[str, int], float] = {}


def copy_bandwidth(device: torch.device) -> float:
    """The copy bandwidth of ``device``, measured once per process (and CPU thread count)."""
    key = (str(device), torch.get_num_threads() if device.type == "cpu" else 0)
    if key not in _CACHE:
        _CACHE[key] = measure_copy_bandwidth(device)
    return _CACHE[key]
