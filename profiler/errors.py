"""Errors that reach the user as one line and exit status 2.

Every error caused by bad input (an unknown name, a malformed option, suite or result file,
a device that is not there) derives from :class:`AttnprofError`. The CLI prints its message on
one line and exits 2; the Python API raises it like any exception. Errors that also have a
natural builtin meaning subclass that builtin too (``UnknownNameError`` is a ``ValueError``).
"""

from __future__ import annotations

__all__ = [
    "AttnprofError",
    "DeviceUnavailableError",
    "InvalidOptionError",
    "LockedError",
    "MeasurementError",
    "MemoryLimitError",
    "OutOfMemoryError",
    "OutputError",
    "ResultFileError",
    "SuiteError",
    "UnknownNameError",
    "one_line",
]


class AttnprofError(Exception):
    """Base class for errors shown to the user as a one-line message (CLI exit 2)."""


class UnknownNameError(AttnprofError, ValueError):
    """A registry name (block, model, suite, claims, convention...) that does not exist."""


class InvalidOptionError(AttnprofError, ValueError):
    """An option, shape or value outside what is allowed."""


class DeviceUnavailableError(AttnprofError, RuntimeError):
    """A device was requested (e.g. ``cuda``) that this machine does not have."""


class SuiteError(AttnprofError, ValueError):
    """A malformed suite file: the message names the file, line and key."""


class ResultFileError(AttnprofError, ValueError):
    """A result file that cannot be read, or two files that cannot be compared."""


class MeasurementError(AttnprofError, RuntimeError):
    """A model that cannot be measured (fails to build, trace or run)."""


class OutOfMemoryError(MeasurementError):
    """The device ran out of memory; carries what was asked and what was free."""

    def __init__(self, message: str, batch: int, free_bytes: int | None = None) -> None:
        super().__init__(message)
        self.batch = batch
        self.free_bytes = free_bytes


class MemoryLimitError(OutOfMemoryError):
    """The CPU memory guard's refusal: the estimated peak exceeds the limit (nothing ran)."""

    def __init__(self, message: str, batch: int, estimate_bytes: int, limit_bytes: int) -> None:
        super().__init__(message, batch, free_bytes=limit_bytes)
        self.estimate_bytes = estimate_bytes
        self.limit_bytes = limit_bytes


class OutputError(AttnprofError):
    """An output that cannot be written (or must not be: it exists, it is a FIFO...).

    ``unsaved`` is the text that should have gone into the file (a result file's JSON), so
    that the CLI can print it to stdout and nothing measured is lost; None for derived
    outputs (reports, plots, traces) that a rerun remakes.
    """

    def __init__(self, message: str, unsaved: str | None = None) -> None:
        super().__init__(message)
        self.unsaved = unsaved


class LockedError(AttnprofError, RuntimeError):
    """A result file another live attnprof process is writing (the message names its PID)."""

    def __init__(self, message: str, pid: int | None = None) -> None:
        super().__init__(message)
        self.pid = pid



def one_line(exc: BaseException, *, typed: bool | None = None) -> str:
    """``exc`` as the one line a user or a result file is shown: the first line of its message.

    ``typed`` puts the exception's type name in front (``"ValueError: ..."``): by default
    (None) for everything but attnprof's own errors, which speak for themselves; True always,
    False never. An exception without a message is shown by its type name alone.
    """
    text = str(exc).strip()
    first = text.splitlines()[0].strip() if text else ""
    if typed is None:
        typed = not isinstance(exc, AttnprofError)
    if not first:
        return type(exc).__name__
    return f"{type(exc).__name__}: {first}" if typed else first
