"""A throwaway git repository for ``attnprof gate``: a user block in commits that differ.

The block (``userblock:Work``) runs ``PASSES`` elementwise passes (``sin``) over its input
per step, so the work per step is proportional to the number of passes and no sleep is
involved (no FLOP convention counts ``sin``, so the counts stay equal): ``slow`` does 11
passes where ``base`` does 10 (about 10% more work per step), and ``much_slower`` 20 (twice
the work, for tests that must detect it on a busy machine). Other commits change what the
gate must catch otherwise:

- ``param``: the block gains a parameter per channel (an exact-metric change: exit 1);
- ``crash``: the block prints to stdout at every call, and the worker process exits
  abruptly (``os._exit(3)``) at call 101;
- ``raises``: the block's forward always raises (the worker answers with an error);
- ``broken``: the module no longer defines ``Work`` (the suite does not load: exit 2).

Every commit also holds ``gate.toml`` (the suite: one count case and one timing case of the
block, on the CPU, one thread) and the suite is named by its path in the working tree.
Used by ``tests/test_gate*.py`` and ``tools/acceptance_gate.py``.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BLOCK", "GateRepo", "make_gate_repo", "suite_text"]

BLOCK = "userblock:Work"

_BLOCK = '''"""A user block whose work per step is PASSES elementwise passes over its input."""

import os

import torch
from torch import nn

PASSES = {passes}


class Work(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(channels)){extra_param}
        self.calls = 0

    def forward(self, x):
        self.calls += 1{misbehave}
        y = x * self.scale[None, :, None, None]
        for _ in range(PASSES):
            y = torch.sin(y)
        return y
'''

_CRASH = '''
        print("call", self.calls)
        if self.calls > 100:
            os._exit(3)'''
_RAISE = '''
        raise RuntimeError("Work is broken in this commit")'''
_PARAM = '''
        self.bias = nn.Parameter(torch.zeros(channels))'''


def suite_text(shape: str = "32x64x64", batch: int = 4, threads: int = 1,
               block_time: float = 0.25) -> str:
    """The fixture suite: the block counted once and timed in inference."""
    return f'''[suite]
name = "gate-fixture"
description = "a user block, counted and timed (attnprof gate tests)"
device = "cpu"

[budget]
min_time = 0.05
repeats = 1
warmup = 3
threads = {threads}
block_time = {block_time}

[[matrix]]
kind = "count"
blocks = ["{BLOCK}"]
shapes = ["8x8x8"]

[[matrix]]
kind = "bench"
blocks = ["{BLOCK}"]
shapes = ["{shape}"]
modes = ["infer"]
batch = {batch}
'''


@dataclass(frozen=True)
class GateRepo:
    """The repository and the commit id of each variant (see the module doc)."""

    root: Path
    commits: dict[str, str]

    @property
    def suite(self) -> Path:
        return self.root / "gate.toml"

    def checkout(self, name: str) -> None:
        """Make the working tree (the gate's head) the commit called ``name``."""
        _git(self.root, "checkout", "--quiet", "--detach", self.commits[name])

    def worktrees(self) -> list[str]:
        """``git worktree list`` paths (the main tree first)."""
        out = _git(self.root, "worktree", "list", "--porcelain")
        return [line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("worktree ")]


def _git(root: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, env=env,
                          check=True)
    return done.stdout


def _commit(root: Path, name: str, block: str, suite: str) -> str:
    (root / "userblock.py").write_text(block)
    (root / "gate.toml").write_text(suite)
    _git(root, "add", "-A")
    _git(root, "commit", "--quiet", "-m", name)
    return _git(root, "rev-parse", "HEAD").strip()


def _block(passes: int, misbehave: str = "", extra_param: str = "") -> str:
    return _BLOCK.format(passes=passes, misbehave=misbehave, extra_param=extra_param)


def make_gate_repo(root: Path, *, shape: str = "32x64x64", batch: int = 4,
                   threads: int = 1) -> GateRepo:
    """Create the repository in ``root`` (an empty or missing folder); HEAD = ``base``."""
    root.mkdir(parents=True, exist_ok=True)
    _git(root, "init", "--quiet")
    suite = suite_text(shape, batch, threads)
    variants = {
        "base": _block(10),
        "slow": _block(11),
        "much_slower": _block(20),
        "param": _block(10, extra_param=_PARAM),
        "crash": _block(10, misbehave=_CRASH),
        "param_crash": _block(10, misbehave=_CRASH, extra_param=_PARAM),
        "raises": _block(10, misbehave=_RAISE),
        "broken": '"""Work was removed in this commit."""\n',
    }
    commits = {name: _commit(root, name, text, suite) for name, text in variants.items()}
    repo = GateRepo(root, commits)
    repo.checkout("base")
    return repo
