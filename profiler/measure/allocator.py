"""glibc malloc's thresholds, fixed for the whole measuring process (one home for the rule).

PyTorch's CPU allocator takes tensors from the C library's ``malloc``. By default glibc moves
its mmap threshold as the process frees memory (up to 32 MiB) and gives the top of the heap
back to the kernel once more than twice that threshold is free there. A training or inference
loop that allocates and frees the same activations every step can then settle in either of two
regimes: reusing heap memory, or fetching fresh pages from the kernel every step. Measured on
a 2-core AMD EPYC (torch 2.13.0+cpu, 2 threads, ResNet-18 inference at batch 4): 33-39
images/s in default runs against 42-45 with fixed thresholds, and in separate processes
running the same code one in three page-faulted ~200,000 times a second at half the other's
speed for its whole life (a bias interleaved rounds cannot cancel).

So before it measures, attnprof fixes both thresholds (:func:`pin_malloc_thresholds`): mmap
threshold 32 MiB (glibc's own largest dynamic value on 64-bit; fixing it also stops its
movement) and no trimming. Each case is then timed in the regime a long training loop settles
in. A user who set ``MALLOC_MMAP_THRESHOLD_`` or ``MALLOC_TRIM_THRESHOLD_`` keeps their values;
other C libraries (musl, macOS) are left as they are. The state is recorded in every result
file's environment (``allocator``). Worker processes of ``attnprof gate`` get the same values
through :data:`MALLOC_ENVIRONMENT` (their interpreter may run an older attnprof). The CPU
peak-memory child (:mod:`profiler.measure.memory.peak`) deliberately sets its own threshold.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

__all__ = [
    "MALLOC_ENVIRONMENT",
    "MMAP_THRESHOLD_BYTES",
    "TRIM_THRESHOLD_BYTES",
    "allocator_state",
    "pin_malloc_thresholds",
]

MMAP_THRESHOLD_BYTES = 32 * 2**20
# mallopt takes an int: the largest one, 2 GiB, means "never trim" for any step that fits here
TRIM_THRESHOLD_BYTES = 2**31 - 1
MALLOC_ENVIRONMENT: dict[str, str] = {"MALLOC_MMAP_THRESHOLD_": str(MMAP_THRESHOLD_BYTES),
                                      "MALLOC_TRIM_THRESHOLD_": str(TRIM_THRESHOLD_BYTES)}
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_state: str | None = None


def _from_environment() -> str | None:
    given = {k: os.environ[k] for k in MALLOC_ENVIRONMENT if k in os.environ}
    if not given:
        return None
    return "glibc malloc, thresholds from the environment: " + ", ".join(
        f"{k}={v}" for k, v in sorted(given.items()))


def _mallopt() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        function = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return None
    function.argtypes = (ctypes.c_int, ctypes.c_int)
    function.restype = ctypes.c_int
    return function


def pin_malloc_thresholds() -> str:
    """Fix glibc's mmap and trim thresholds for this process (once); returns the state.

    Idempotent and cheap; a no-op (saying why) where the user set the thresholds or the C
    library has no ``mallopt``.
    """
    global _state
    if _state is not None:
        return _state
    state = _from_environment()
    if state is None:
        mallopt = _mallopt()
        if mallopt is None:
            state = "default allocator (no glibc mallopt): thresholds not fixed"
        elif mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1 and \
                mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) == 1:
            state = (f"glibc malloc, fixed by attnprof: mmap threshold "
                     f"{MMAP_THRESHOLD_BYTES // 2**20} MiB, no trimming")
        else:
            state = "glibc mallopt refused the thresholds: left as they were"
    _state = state
    return state


def allocator_state() -> str:
    """What :func:`pin_malloc_thresholds` did in this process ("" before it ran)."""
    return _state or ""
