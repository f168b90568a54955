"""Writing outputs safely: one helper for every file attnprof writes, and result-file locks.

:func:`write_output` (and :func:`check_output`, its checks alone, run before a measurement
starts) is the only way a command writes a file; :func:`hold_lock` keeps a second writer
off a result file that a run is writing. Nothing here imports torch.
"""

from __future__ import annotations

from profiler.output.files import check_output, command_inputs, write_output
from profiler.output.lock import check_unlocked, hold_lock, lock_path

__all__ = ["check_output", "check_unlocked", "command_inputs", "hold_lock", "lock_path",
           "write_output"]
