"""The memory-bandwidth floor of an attention block, and the device's copy bandwidth.

Channel-attention blocks do almost no arithmetic; their time is set by memory traffic. For a
block on an (N, C, H, W) input with elements of ``s`` bytes (``X = N*C*H*W*s``, ``M = N*H*W*s``,
``P`` = bytes of the block's parameters), the least traffic a perfectly fused implementation
needs is:

================  ====================================  =====================================
block             forward (``infer``)                   forward + backward (``train``)
================  ====================================  =====================================
se, eca,          ``3X + P``: read x for the pool, read  ``7X + 3P``: forward, then read dy and
se_var1/2/3,      x and write y for the rescale          x for d(gate), read dy and write dx
eca_ns                                                  (the pool's gradient is a broadcast
                                                        added in that pass); read P, write dP
gc                ``3X + P``: read x for the softmax     ``7X + 3P``: forward, then read dy for
                  pooling (online softmax, one pass),    d(transform), read dy and x, write dx
                  read x and write y for the broadcast
                  add
cbam              ``4X + 4M + P``: read x for the        not derived (None)
                  avg/max channel pool; read x for the
                  channel-wise avg/max of the rescaled
                  x (2M written); read x and write y
                  (the 7x7 conv reads the 2M map)
anything else     ``2X + P``: read x, write y            ``4X + 3P``: also read dy, write dx
================  ====================================  =====================================

Small per-(N, C) vectors (pooled descriptors, gates) are left out: they are C/(H*W) of X.
``achieved_gbps = min_bytes / median step time``; it is compared with the device's measured
copy bandwidth: ``dst.copy_(src)`` of a large buffer moves 2 bytes (one read, one write) per
byte copied, so ``copy_gbps = 2 * nbytes / copy time``. A block at ``fraction_of_copy`` = 1 runs
at the speed of a memory copy of the same traffic; the rest is what its kernels leave.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from profiler.measure.clock import Clock, clock_for
from profiler.measure.stats import median

__all__ = [
    "DEFAULT_COPY_BYTES",
    "TrafficFloor",
    "achieved_gbps",
    "copy_bandwidth",
    "measure_copy_bandwidth",
    "min_bytes",
]

_POOL_RESCALE = ("se", "eca", "se_var1", "se_var2", "se_var3", "eca_ns", "gc")
DEFAULT_COPY_BYTES: dict[str, int] = {"cpu": 128 * 2**20, "cuda": 1024 * 2**20}


@dataclass(frozen=True)
class TrafficFloor:
    """The least bytes a block moves (None where no formula is derived) and the formula."""

    bytes: int | None
    formula: str


Formula = Callable[[int, int, int], TrafficFloor]


def _pool_rescale(x: int, m: int, p: int, train: bool) -> TrafficFloor:
    if train:
        return TrafficFloor(7 * x + 3 * p, "7*N*C*H*W*s + 3*P")
    return TrafficFloor(3 * x + p, "3*N*C*H*W*s + P")


def _cbam(x: int, m: int, p: int, train: bool) -> TrafficFloor:
    if train:
        return TrafficFloor(None, "not derived for cbam backward")
    return TrafficFloor(4 * x + 4 * m + p, "4*N*C*H*W*s + 4*N*H*W*s + P")


def _generic(x: int, m: int, p: int, train: bool) -> TrafficFloor:
    if train:
        return TrafficFloor(4 * x + 3 * p, "4*N*C*H*W*s + 3*P (read x, write y, read dy, "
                                           "write dx)")
    return TrafficFloor(2 * x + p, "2*N*C*H*W*s + P (read x, write y)")


def min_bytes(block: str, shape: tuple[int, int, int, int], itemsize: int, param_bytes: int,
              mode: str) -> TrafficFloor:
    """The traffic floor of ``block`` on an input of ``shape`` = (N, C, H, W) (table above)."""
    n, c, h, w = shape
    x, m = n * c * h * w * itemsize, n * h * w * itemsize
    train = mode == "train"
    if block in _POOL_RESCALE:
        return _pool_rescale(x, m, param_bytes, train)
    if block == "cbam":
        return _cbam(x, m, param_bytes, train)
    return _generic(x, m, param_bytes, train)


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
