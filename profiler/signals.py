"""What may end a command early: termination signals (as exceptions, so that cleanup runs:
children end, temp folders go), Ctrl-C, and user code calling ``sys.exit``.

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
That is how :func:`user_code` tells a real Ctrl-C (a SIGINT arrived) from a user's model
that raises KeyboardInterrupt itself (none did).

The one rule for user code that tries to end the program: it fails its case instead. User
code runs in many places: a model or block is built, warmed up, timed in rounds, probed for
memory, traced, run in a worker process. Wherever it runs, it runs inside :func:`user_code`,
so that

- ``SystemExit`` raised by it (``sys.exit(N)``, ``exit()``) becomes a
  :class:`~profiler.errors.MeasurementError` "WHAT: the model called sys.exit(N)": the member
  or case is recorded as ``error``, the rest of the command goes on, and the command's exit
  status says something failed (2 for a single command; a suite lists the case and exits 1
  with ``--strict``);
- ``KeyboardInterrupt`` raised by it is told apart from a real Ctrl-C: a KeyboardInterrupt
  with no SIGINT counted since the user code started is the model's own and becomes an error
  like ``sys.exit``; one that followed a SIGINT is the user's Ctrl-C and propagates (the
  command stops, keeping what finished, exit 130). Outside the CLI (the Python API, where
  SIGINT is not counted) every KeyboardInterrupt propagates.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from profiler.errors import MeasurementError

__all__ = ["SIGNALS", "Terminated", "counting_interrupts", "exit_message", "interrupts",
           "termination_raises", "user_code"]

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


def exit_message(code: object) -> str:
    """``the model called sys.exit(N)`` (``N`` as Python shows it: ``3``, ``'bye'``)."""
    return f"the model called sys.exit({code!r})"


@contextmanager
def user_code(what: str) -> Iterator[None]:
    """Run the ``with`` block as user code (see the module doc); ``what`` names the case or
    member in the error."""
    before = interrupts()
    try:
        yield
    except SystemExit as exc:
        raise MeasurementError(f"{what}: {exit_message(exc.code)}") from None
    except KeyboardInterrupt:
        if interrupts() != before or not counting_interrupts():
            raise
        raise MeasurementError(f"{what}: the model raised KeyboardInterrupt (no Ctrl-C was "
                               "pressed)") from None
