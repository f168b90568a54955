"""Termination signals as exceptions, so that cleanup runs: children end, temp folders go.

Python's default SIGTERM and SIGHUP actions end the process at once: no ``finally`` block
runs, so a CPU memory child (or torchrun) keeps running and ``attnprof-mem-*`` folders stay
behind. While :func:`termination_raises` is active (the whole of :func:`profiler.cli.main`),
the first SIGTERM or SIGHUP raises :class:`Terminated` in the main thread instead, like
Ctrl-C raises KeyboardInterrupt: result files keep every finished case, child process groups
are ended (:mod:`profiler.measure.children`), temporary folders and result-file locks are
removed. Further such signals are ignored while that cleanup runs. ``Terminated`` derives
from BaseException, so that code catching ``Exception`` (a suite recording a failed case)
does not swallow it.

Ctrl-C is counted: while :func:`termination_raises` is active, SIGINT goes through a handler
that adds one to :func:`interrupts` and then raises KeyboardInterrupt as Python's own does.
That is how :mod:`profiler.user_code` tells a real Ctrl-C (a SIGINT arrived) from a
user's model that raises KeyboardInterrupt itself (none did).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["SIGNALS", "Terminated", "counting_interrupts", "interrupts", "termination_raises"]

SIGNALS: tuple[signal.Signals, ...] = tuple(
    s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s)


class Terminated(BaseException):
    """The process was asked to stop by ``signum``; exit status 128 + signum."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"terminated by {signal.Signals(signum).name}")

    @property
    def exit_status(self) -> int:
        return 128 + self.signum


_interrupts = 0


def interrupts() -> int:
    """How many SIGINTs (Ctrl-C) arrived while :func:`termination_raises` was active."""
    return _interrupts


def counting_interrupts() -> bool:
    """True where SIGINT is counted now (inside the CLI's main thread)."""
    return signal.getsignal(signal.SIGINT) is _interrupt


def _interrupt(signum: int, frame: FrameType | None) -> None:
    global _interrupts
    _interrupts += 1
    raise KeyboardInterrupt


def _raise(signum: int, frame: FrameType | None) -> None:
    for sig in SIGNALS:  # one exception; later signals must not interrupt the cleanup
        signal.signal(sig, signal.SIG_IGN)
    raise Terminated(signum)


@contextmanager
def termination_raises() -> Iterator[None]:
    """While active, SIGTERM/SIGHUP raise :class:`Terminated` and SIGINT is counted
    (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _raise) for sig in SIGNALS}
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, _interrupt)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
