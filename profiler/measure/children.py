"""Child processes that never outlive their run: the CPU memory child, torchrun.

:func:`run_child` is ``subprocess.run(..., capture_output=True, text=True)`` with two more
promises:

- the child leads its own process group, and however the parent's wait ends (timeout,
  Ctrl-C, SIGTERM/SIGHUP turned into an exception by :mod:`profiler.signals`, any error) the
  whole group gets SIGTERM, then SIGKILL after ``grace`` seconds, and is reaped before the
  exception goes on; so torchrun's workers go too, and ``with TemporaryDirectory()`` blocks
  around the call remove their ``attnprof-mem-*`` / ``attnprof-ddp-*`` folders;
- on Linux the child asks the kernel for SIGTERM when its parent dies (``PR_SET_PDEATHSIG``),
  so even a parent killed with SIGKILL leaves no child running.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence

__all__ = ["run_child"]

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the forked child
    """Ask the kernel to send SIGTERM to this (child) process when its parent exits."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _end_group(process: subprocess.Popen[str], grace: float) -> None:
    """SIGTERM the child's process group, SIGKILL it after ``grace`` seconds, reap it."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, None)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run_child(command: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None,
              grace: float = 5.0) -> subprocess.CompletedProcess[str]:
    """Run ``command`` to the end and return its output (see the module doc).

    Raises ``subprocess.TimeoutExpired`` after ``timeout`` seconds (the child group is gone
    by then) and lets every other exception through after ending the group.
    """
    process = subprocess.Popen(list(command), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=None if env is None else dict(env),
                               start_new_session=True, preexec_fn=_die_with_parent)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except BaseException:
        _end_group(process, grace)
        with contextlib.suppress(Exception):
            process.communicate(timeout=1)
        raise
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
