"""The trees ``attnprof gate`` measures: the working tree (head) and a checked-out base.

:func:`repository_root` finds the git repository around a folder and :func:`resolve_commit`
turns a ref into a commit; both raise a one-line :class:`~profiler.errors.InvalidOptionError`
(exit 2) when there is no repository or no such ref. :func:`base_worktree` checks a commit
out with ``git worktree add --detach`` into a fresh temporary folder and removes it again
(``git worktree remove --force``, then ``git worktree prune``) however the block ends: normal
return, exception, Ctrl-C, or SIGTERM/SIGHUP, which :mod:`profiler.signals` turns into an
exception for the whole command; the removal itself ignores further signals. Only SIGKILL
leaves the folder behind (``git worktree prune`` forgets it once the folder is deleted).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from profiler.errors import InvalidOptionError
from profiler.signals import SIGNALS

__all__ = [
    "GIT_TIMEOUT_S",
    "base_worktree",
    "git",
    "repository_root",
    "resolve_commit",
]

GIT_TIMEOUT_S = 300.0


def git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``git ARGS`` in ``cwd`` (output captured; never raises on a git failure)."""
    if shutil.which("git") is None:
        raise InvalidOptionError("git is not installed; use --base-dir PATH instead of --base")
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=GIT_TIMEOUT_S, check=False)


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else ""


def repository_root(folder: Path) -> Path:
    """The top folder of the git working tree holding ``folder``."""
    if not folder.is_dir():
        raise InvalidOptionError(f"{folder} is not a folder")
    done = git(["rev-parse", "--show-toplevel"], folder)
    if done.returncode != 0:
        raise InvalidOptionError(f"{folder} is not inside a git repository; run attnprof gate "
                                 "in one, or give --base-dir PATH")
    return Path(done.stdout.strip())


def resolve_commit(root: Path, ref: str) -> str:
    """The full commit id ``ref`` names in the repository at ``root``."""
    if not ref or ref.startswith("-"):
        raise InvalidOptionError(f"unknown git ref {ref!r}: give a branch, tag or commit")
    done = git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"],
               root)
    if done.returncode != 0 or not done.stdout.strip():
        raise InvalidOptionError(f"unknown git ref {ref!r} in {root}: give a branch, tag or "
                                 "commit of this repository (fetch it first in a shallow clone)")
    return done.stdout.strip()


def working_tree_commit(root: Path) -> str | None:
    """The commit checked out at ``root`` (None in a repository without commits)."""
    done = git(["rev-parse", "--verify", "--quiet", "HEAD"], root)
    return done.stdout.strip() or None


@contextmanager
def _shielded() -> Iterator[None]:
    """Ignore Ctrl-C, SIGTERM and SIGHUP while cleaning up (main thread only; else no-op)."""
    kept: list[tuple[int, object]] = []
    try:
        for signum in (signal.SIGINT, *SIGNALS):
            kept.append((signum, signal.signal(signum, signal.SIG_IGN)))
    except ValueError:  # not the main thread
        pass
    try:
        yield
    finally:
        for signum, handler in kept:
            signal.signal(signum, handler)  # type: ignore[arg-type]


def _remove(root: Path, path: Path) -> None:
    with _shielded():
        git(["worktree", "remove", "--force", "--force", str(path)], root)
        shutil.rmtree(path.parent, ignore_errors=True)
        git(["worktree", "prune"], root)


@contextmanager
def base_worktree(root: Path, commit: str) -> Iterator[Path]:
    """``commit`` checked out (detached) in a temporary worktree of ``root``; removed after."""
    folder = Path(tempfile.mkdtemp(prefix="attnprof-gate-"))
    path = folder / "base"
    try:
        done = git(["worktree", "add", "--detach", "--quiet", str(path), commit], root)
        if done.returncode != 0:
            raise InvalidOptionError(f"cannot check out {commit[:12]} into a worktree: "
                                     f"{_first_line(done.stderr) or 'git failed'}")
        yield path
    finally:
        _remove(root, path)
