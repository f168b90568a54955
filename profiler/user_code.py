"""The one rule for user code that tries to end the program: it fails its case instead.

User code runs in many places: a model or block is built, warmed up, timed in rounds, probed
for memory, traced, run in a worker process. Wherever it runs, it runs inside
:func:`user_code`, so that

- ``SystemExit`` raised by it (``sys.exit(N)``, ``exit()``) becomes a
  :class:`~profiler.errors.MeasurementError` "WHAT: the model called sys.exit(N)": the member
  or case is recorded as ``error``, the rest of the command goes on, and the command's exit
  status says something failed (2 for a single command; a suite lists the case and exits 1
  with ``--strict``);
- ``KeyboardInterrupt`` raised by it is told apart from a real Ctrl-C: while the CLI runs,
  every SIGINT is counted (:func:`profiler.signals.interrupts`); a KeyboardInterrupt with no
  SIGINT since the user code started is the model's own (``raise KeyboardInterrupt``) and
  becomes an error like ``sys.exit``; one that followed a SIGINT is the user's Ctrl-C and
  propagates (the command stops, keeping what finished, exit 130). Outside the CLI (the Python
  API, where SIGINT is not counted) every KeyboardInterrupt propagates.

Nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from profiler.errors import MeasurementError
from profiler.signals import counting_interrupts, interrupts

__all__ = ["exit_message", "user_code"]


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

