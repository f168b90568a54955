"""The base tree of a gate: finding the repository and the ref, and the worktree's lifecycle."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from profiler.errors import InvalidOptionError
from profiler.gate.worktree import base_worktree, repository_root, resolve_commit
from profiler.signals import Terminated
from tests.helpers.gate_repo import GateRepo

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def repo(gate_repo: GateRepo) -> GateRepo:
    return gate_repo  # built once per session (tests/conftest.py)


def test_repository_root_and_commits(repo: GateRepo, tmp_path: Path) -> None:
    assert repository_root(repo.root).resolve() == repo.root.resolve()
    assert resolve_commit(repo.root, repo.commits["slow"][:10]) == repo.commits["slow"]
    with pytest.raises(InvalidOptionError, match="not inside a git repository"):
        repository_root(tmp_path)
    with pytest.raises(InvalidOptionError, match="unknown git ref 'no-such-branch'"):
        resolve_commit(repo.root, "no-such-branch")
    with pytest.raises(InvalidOptionError, match="unknown git ref '--help'"):
        resolve_commit(repo.root, "--help")


def test_the_worktree_holds_the_commit_and_is_removed(repo: GateRepo) -> None:
    with base_worktree(repo.root, repo.commits["slow"]) as tree:
        assert "PASSES = 11" in (tree / "userblock.py").read_text()
        assert str(tree) in repo.worktrees()
    assert not tree.exists() and not tree.parent.exists()
    assert repo.worktrees() == [str(repo.root.resolve())]


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt(),
                                   Terminated(signal.SIGTERM)])
def test_the_worktree_is_removed_after_an_error_or_ctrl_c(repo: GateRepo,
                                                          error: BaseException) -> None:
    with pytest.raises(type(error)), base_worktree(repo.root, repo.commits["base"]) as tree:
        (tree / "scratch.txt").write_text("untracked files do not keep it")
        raise error
    assert not tree.parent.exists()
    assert repo.worktrees() == [str(repo.root.resolve())]


def test_sigterm_removes_the_worktree(repo: GateRepo, tmp_path: Path) -> None:
    marker = tmp_path / "tree.txt"
    script = f"""
import sys, time
from pathlib import Path
from profiler.gate.worktree import base_worktree
from profiler.signals import termination_raises
root, commit = Path({str(repo.root)!r}), {repo.commits['base']!r}
with termination_raises(), base_worktree(root, commit) as tree:
    Path({str(marker)!r}).write_text(str(tree))
    time.sleep(60)
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-c", script], env=env,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), "the worktree was not created"
    tree = Path(marker.read_text())
    assert tree.exists()
    process.send_signal(signal.SIGTERM)
    process.wait(30)
    assert process.returncode == 1 and "Terminated: terminated by SIGTERM" in process.stderr.read()
    assert not tree.exists() and not tree.parent.exists()
    assert repo.worktrees() == [str(repo.root.resolve())]
