"""A lock on a result file while one process writes it: ``RESULT.json.lock`` beside it.

``attnprof run`` holds the lock from before it reads the file (``--resume``) until it ends, so
that a second writer (another ``run -o`` the same file, a ``--resume`` of it, ``merge -o``
or ``bench -o`` onto it) stops at once with one line naming the PID that holds it
(:class:`~profiler.errors.LockedError`, exit 2) instead of both reporting success while one's
cases are lost.

The lock file is created with ``O_CREAT | O_EXCL`` and holds one JSON object: ``pid``,
``host``, ``started`` (the process's start time from ``/proc/<pid>/stat``, so that a reused
PID is not taken for the holder) and ``command``. A lock whose process is gone (killed with
SIGKILL, a crashed machine) is stale: the next writer takes it over, by renaming it aside
first so that two writers taking over the same stale lock cannot both win. A lock written on
another host cannot be checked from here; it is refused with a hint to delete it. A lock path
that is not a regular file (a folder, a FIFO, a symbolic link) is refused with one line and
left alone: it is never opened (a FIFO would block), renamed or removed.

Nothing here imports torch.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from profiler.errors import LockedError, OutputError

__all__ = ["LockOwner", "check_unlocked", "hold_lock", "lock_path", "process_alive",
           "read_owner"]

SUFFIX = ".lock"
_ATTEMPTS = 5
_SETTLE_S = 0.05


@dataclass(frozen=True)
class LockOwner:
    """Who holds a lock."""

    pid: int
    host: str = ""
    started: str = ""
    command: str = ""

    @classmethod
    def me(cls) -> LockOwner:
        return cls(pid=os.getpid(), host=socket.gethostname(), started=_start_time(os.getpid()),
                   command=" ".join(["attnprof", *sys.argv[1:]])[:200])

    @property
    def is_me(self) -> bool:
        return self.pid == os.getpid() and self.host == socket.gethostname()


def lock_path(path: str | os.PathLike[str]) -> Path:
    """The lock file of ``path``: ``RESULT.json.lock`` in the same folder."""
    target = Path(path)
    return target.with_name(target.name + SUFFIX)


def _start_time(pid: int) -> str:
    """Field 22 of ``/proc/<pid>/stat`` (start time in clock ticks); "" where unknown."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    fields = text.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else ""


def _zombie(pid: int) -> bool:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    fields = text.rsplit(")", 1)[-1].split()
    return bool(fields) and fields[0] == "Z"


def process_alive(pid: int, started: str = "") -> bool:
    """True while process ``pid`` runs (and, if ``started`` is known, is the same process)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    if _zombie(pid):
        return False
    now = _start_time(pid)
    return not (started and now and now != started)


def read_owner(lock: Path) -> LockOwner | None:
    """The owner written in ``lock``; None if it is missing, empty or unreadable."""
    try:
        data: Any = json.loads(lock.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("pid"), int) \
            or isinstance(data.get("pid"), bool):
        return None
    return LockOwner(pid=data["pid"], host=str(data.get("host", "")),
                     started=str(data.get("started", "")), command=str(data.get("command", "")))


def _live_other(owner: LockOwner | None) -> bool:
    if owner is None or owner.is_me:
        return False
    if owner.host and owner.host != socket.gethostname():
        return True
    return process_alive(owner.pid, owner.started)


def _locked_error(target: Path, lock: Path, owner: LockOwner) -> LockedError:
    if owner.host and owner.host != socket.gethostname():
        return LockedError(f"{target} is locked by PID {owner.pid} on host {owner.host} "
                           f"({lock}); if that run is gone, delete {lock}", owner.pid)
    return LockedError(f"{target} is being written by another attnprof process (PID "
                       f"{owner.pid}: {owner.command or 'unknown command'}); wait for it to "
                       "finish or choose another -o", owner.pid)


def _check_regular(target: Path, lock: Path) -> None:
    """A lock path that exists must be a regular file: a folder, FIFO, socket, device or
    symbolic link there is refused (one line) and left alone, never read, renamed or removed."""
    try:
        mode = os.lstat(lock).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise OutputError(f"cannot lock {target}: {lock}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        kind = ("a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
                else "a symbolic link" if stat.S_ISLNK(mode) else "not a regular file")
        raise OutputError(f"cannot lock {target}: its lock path {lock} is {kind}, not a lock "
                          "file; attnprof leaves it alone: move it away or choose another -o")


def check_unlocked(path: str | os.PathLike[str]) -> None:
    """Raise LockedError if another live process holds ``path``'s lock (OutputError if the
    lock path is not a regular file)."""
    target = Path(path)
    lock = lock_path(target)
    if not os.path.lexists(lock):
        return
    _check_regular(target, lock)
    owner = read_owner(lock)
    if owner is not None and _live_other(owner):
        raise _locked_error(target, lock, owner)


def _create(lock: Path, owner: LockOwner) -> bool:
    """Create ``lock`` holding ``owner``; False if it already exists."""
    try:
        fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    try:
        os.write(fd, json.dumps(asdict(owner)).encode("utf-8"))
    finally:
        os.close(fd)
    return True


def _take_over(lock: Path, stale: LockOwner | None) -> None:
    """Move a stale lock aside; if it turns out to be live (a race), put it back."""
    aside = lock.with_name(f"{lock.name}.stale-{os.getpid()}")
    try:
        os.rename(lock, aside)
    except FileNotFoundError:
        return
    moved = read_owner(aside)
    if moved is not None and moved != stale and _live_other(moved):
        with contextlib.suppress(OSError):
            os.link(aside, lock)
    aside.unlink(missing_ok=True)


def _acquire(target: Path, lock: Path, owner: LockOwner) -> None:
    for _ in range(_ATTEMPTS):
        _check_regular(target, lock)
        try:
            if _create(lock, owner):
                return
        except OSError as exc:
            raise OutputError(f"cannot lock {target}: cannot create {lock}: "
                              f"{exc.strerror or exc}") from None
        current = read_owner(lock)
        if current is None:  # being written this instant, or a crash left it empty
            time.sleep(_SETTLE_S)
            current = read_owner(lock)
            if current is None and os.path.lexists(lock):
                _take_over(lock, None)
            continue
        if current.is_me:
            raise LockedError(f"{target} is already being written by this process", current.pid)
        if _live_other(current):
            raise _locked_error(target, lock, current)
        _take_over(lock, current)
    raise LockedError(f"cannot lock {target}: {lock} keeps changing; is another attnprof "
                      "starting on it?")


def _release(lock: Path) -> None:
    owner = read_owner(lock)
    if owner is not None and owner.is_me:
        lock.unlink(missing_ok=True)


@contextlib.contextmanager
def hold_lock(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold ``path``'s lock for the ``with`` block (taking over a stale one); yield the lock.

    The folder must exist. Raises :class:`~profiler.errors.LockedError` if a live process
    holds it; the lock is removed when the block ends, however it ends.
    """
    target = Path(path)
    lock = lock_path(target)
    _acquire(target, lock, LockOwner.me())
    try:
        yield lock
    finally:
        _release(lock)
