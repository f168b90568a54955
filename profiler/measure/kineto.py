"""Kineto's log lines do not reach the user.

torch's profiler library (kineto) writes lines such as ``USDT:2026-12-02 16:10:31
28955:28955 SyncActivityProfilerHandler.cpp:52] profiler_start`` to file descriptor 2 from C++
when a profiled window starts and stops; neither ``warnings`` nor ``KINETO_LOG_LEVEL``
silence them. :func:`quiet_kineto` puts a filter on fd 2 around every profiled window
(breakdowns, their calibration, traces, and the CPU's peak-memory measure in a group's worker):
kineto's lines are dropped, everything else (attnprof's warnings, a progress bar, the user's
own output) passes straight on. Torch-free.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["KINETO_LINE", "quiet_kineto"]

#: A line kineto logs from C++ (glog's layout): ``USDT:2026-12-02 16:10:31 28955:28955
#: SyncActivityProfilerHandler.cpp:52] profiler_start``, ``STAGE:... Completed Stage: ...``,
#: and its ``[W kineto_shim.cpp:...]`` warnings.
KINETO_LINE = re.compile(
    rb"^(?:[A-Z]+:)?\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \d+:\d+ [\w.]+\.cpp:\d+\] "
    rb"|^\[[WIE] \S*kineto\S*\.cpp:\d+\]")


def _forward(source: int, target: int) -> None:
    """Copy what arrives on ``source`` to ``target`` as it comes, less kineto's lines (each
    comes whole in one write, so one read holds it whole)."""
    while chunk := os.read(source, 65536):
        kept = b"".join(line for line in chunk.splitlines(keepends=True)
                        if not KINETO_LINE.match(line))
        if kept:
            os.write(target, kept)


@contextmanager
def quiet_kineto() -> Iterator[None]:
    """File descriptor 2 through a filter that drops kineto's log lines (module doc) while the
    block runs; the rest passes on at once. Restored on exit, also on an exception."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = os.dup(2)
    source, sink = os.pipe()
    os.dup2(sink, 2)
    os.close(sink)
    forwarder = threading.Thread(target=_forward, args=(source, saved), daemon=True,
                                 name="attnprof-kineto-filter")
    forwarder.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # closes the pipe's last write end: the forwarder reads its end
        forwarder.join(timeout=10)
        if not forwarder.is_alive():  # else a child holds the pipe: leave its end open
            os.close(source)
        os.close(saved)
