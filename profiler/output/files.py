"""The one way attnprof writes a file: result files, reports, plots, traces, ``-o`` of any command.

Rules, checked before anything is measured (:func:`check_output`) and again when writing
(:func:`write_output`):

- only regular files: a path naming a folder (``out/``, an existing directory), a FIFO, a
  device node or a socket is refused, as is a path below something that is not a folder;
- an existing file is replaced only when the caller says so (``overwrite``: the commands'
  ``--overwrite``, ``run --resume``), and never when it is one of the command's own inputs
  (``merge -o`` onto a part, ``gate -o`` onto its suite, ``conventions --write`` onto its
  claims, ``report -o`` onto a result file: the CLI declares each command's inputs once with
  :func:`command_inputs`, and every write checks them, by inode, whatever path names them) or
  a result file another live ``attnprof run`` holds the lock of;
- atomic: the bytes go to a temporary file in the same folder, are flushed to disk, then
  take the target's name in one step (``os.replace``, or ``os.link`` when the target must
  not exist, so that a file appearing meanwhile is not clobbered). A crash, a full disk or
  Ctrl-C leaves the previous file (or none), never half a file, and no temporary file;
- any failure is one :class:`~profiler.errors.OutputError` naming the path and the reason.
  Its ``unsaved`` carries the text that was to be written when it holds a measurement (a
  result file), and the CLI prints that to stdout, so nothing measured is lost.

Nothing here imports torch.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from profiler.errors import OutputError
from profiler.output.lock import check_unlocked

__all__ = ["check_output", "command_inputs", "write_output"]

PathLike = str | os.PathLike[str]


_INPUTS: list[Path] = []  # the running command's input files (see command_inputs)


@contextmanager
def command_inputs(paths: Sequence[PathLike]) -> Iterator[None]:
    """While active, no output may be written onto any of ``paths`` (the command's inputs),
    with or without ``overwrite``."""
    added = [Path(p) for p in paths]
    _INPUTS.extend(added)
    try:
        yield
    finally:
        del _INPUTS[len(_INPUTS) - len(added):]


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def _check_parents(target: Path) -> None:
    """The nearest existing ancestor of ``target`` must be a folder."""
    for parent in target.parents:
        try:
            mode = os.stat(parent).st_mode
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as exc:
            raise OutputError(f"cannot write {target}: {parent}: {_reason(exc)}") from None
        if not stat.S_ISDIR(mode):
            raise OutputError(f"cannot write {target}: {parent} is not a folder")
        return


def _same_file(target: Path, other: PathLike) -> bool:
    try:
        return os.path.samefile(target, other)
    except OSError:
        return False


def check_output(path: PathLike, *, overwrite: bool = False,
                 inputs: Sequence[PathLike] = (), flag: str = "--overwrite") -> Path:
    """Refuse a path this output must not be written to (see the module doc); return it.

    ``flag`` is what the user passes to replace an existing file (named in the error).
    """
    text = os.fspath(path)
    target = Path(text)
    if not text or text.endswith(("/", os.sep)) or target.name in ("", ".", ".."):
        raise OutputError(f"cannot write {text!r}: it names a folder; give a file name")
    _check_parents(target)
    try:
        mode: int | None = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
        if os.path.islink(target):
            raise OutputError(f"cannot write {target}: it is a dangling symbolic link") from None
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {_reason(exc)}") from None
    if mode is not None:
        if stat.S_ISDIR(mode):
            raise OutputError(f"cannot write {target}: it is a folder; give a file name")
        if not stat.S_ISREG(mode):
            raise OutputError(f"cannot write {target}: not a regular file (a FIFO, device or "
                              "socket); attnprof writes regular files only")
        for source in (*inputs, *_INPUTS):
            if _same_file(target, source):
                raise OutputError(f"cannot write {target}: it is one of this command's inputs; "
                                  "write to another file")
        if not overwrite:
            raise OutputError(f"{target} exists; pass {flag} to replace it")
        if not os.access(target, os.W_OK):
            raise OutputError(f"cannot write {target}: it is read-only")
    check_unlocked(target)
    return target


def _fill(handle_fd: int, data: bytes) -> None:
    """Write all of ``data`` to the open temporary file and flush it to disk."""
    view = memoryview(data)
    while view:
        written = os.write(handle_fd, view)
        view = view[written:]
    os.fsync(handle_fd)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _publish(temporary: str, target: Path, overwrite: bool) -> None:
    """Give the finished temporary file the target's name, atomically."""
    if overwrite:
        os.replace(temporary, target)
        return
    try:
        os.link(temporary, target)
    except FileExistsError:
        raise OutputError(f"{target} appeared while it was being written; not replaced") \
            from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV,
                             errno.EMLINK):
            raise
        if os.path.lexists(target):  # no hard links here: check, then rename
            raise OutputError(f"{target} appeared while it was being written; not replaced") \
                from None
        os.replace(temporary, target)


def write_output(path: PathLike, data: str | bytes, *, overwrite: bool = False,
                 inputs: Sequence[PathLike] = (), unsaved: str | None = None,
                 flag: str = "--overwrite") -> Path:
    """Write ``data`` to ``path`` by the rules of the module doc; return the path.

    Parent folders are created. ``unsaved`` is attached to the error if the write fails (the
    text the CLI prints so that a measurement survives).
    """
    target = check_output(path, overwrite=overwrite, inputs=inputs, flag=flag)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    temporary: str | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                         suffix=".partial")
        try:
            os.fchmod(fd, 0o666 & ~_umask())
            _fill(fd, payload)
        finally:
            os.close(fd)
        _publish(temporary, target, overwrite)
    except OutputError as exc:
        raise OutputError(str(exc), unsaved) from None
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {_reason(exc)}", unsaved) from None
    finally:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
    return target
