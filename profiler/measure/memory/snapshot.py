"""CUDA memory snapshots for PyTorch's memory visualizer (https://pytorch.org/memory_viz).

:func:`memory_history` records the CUDA caching allocator's history (every allocation and
free, with Python and C++ stacks) while its block runs, then dumps it to a pickle snapshot
(``torch.cuda.memory._record_memory_history`` / ``_dump_snapshot``, the API PyTorch documents
in "Understanding CUDA Memory Usage"), and always turns recording off again. Drag the file
onto https://pytorch.org/memory_viz to see the allocations over time and what holds memory at
the peak.

The CPU has no such allocator history: asking for a snapshot of a CPU run is a one-line
:class:`~profiler.errors.InvalidOptionError` (:func:`check_snapshot_device`); on the CPU the
trace's own memory events (``profile_memory``) and ``attnprof bench``'s peak memory remain.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from profiler.errors import InvalidOptionError
from profiler.output import write_output

__all__ = ["DEFAULT_MAX_ENTRIES", "SNAPSHOT_SUFFIX", "check_snapshot_device", "memory_history"]

DEFAULT_MAX_ENTRIES = 100_000
SNAPSHOT_SUFFIX = ".memory-snapshot.pickle"


def check_snapshot_device(device: torch.device) -> None:
    """A memory snapshot needs the CUDA caching allocator: refuse any other device."""
    if device.type != "cuda":
        raise InvalidOptionError(
            f"--memory records a CUDA memory snapshot (torch.cuda.memory._record_memory_"
            f"history); {device.type} has none: drop --memory (the trace keeps its memory "
            "events) or use --device cuda")


@contextmanager
def memory_history(path: str | Path, max_entries: int = DEFAULT_MAX_ENTRIES,
                   backend: Any = None) -> Iterator[Path]:
    """Record the CUDA allocator's history inside the block and dump it to ``path`` at the end
    (not after an exception) through :func:`profiler.output.write_output` (a new file);
    recording is switched off in every case. ``backend`` replaces ``torch.cuda.memory``
    (tests)."""
    memory = torch.cuda.memory if backend is None else backend
    target = Path(path)
    memory._record_memory_history(max_entries=max_entries)
    try:
        yield target
        with tempfile.TemporaryDirectory(prefix="attnprof-memory-") as folder:
            dumped = Path(folder) / "snapshot.pickle"
            memory._dump_snapshot(str(dumped))
            data = dumped.read_bytes()
        write_output(target, data)
    finally:
        memory._record_memory_history(enabled=None)
