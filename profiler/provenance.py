"""Which attnprof made a result file (its version, the commit of its checkout) and on which CPU.

Neither needs torch, so writing and reading result files does not either.
"""

from __future__ import annotations

import platform
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

__all__ = ["cpu_model", "git_commit", "run_quietly", "tool_version"]


def tool_version() -> str:
    """The installed attnprof version (``0+unknown`` when not installed)."""
    try:
        return metadata.version("attnprof")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def run_quietly(cmd: list[str], cwd: Path | None = None) -> str | None:
    """The stripped stdout of ``cmd``; None when it cannot run, fails or prints nothing."""
    try:
        out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def git_commit() -> str | None:
    """Commit of the attnprof checkout (``+dirty`` if it has local changes), None outside git."""
    root = Path(__file__).resolve().parents[1]
    if not (root / ".git").exists() or shutil.which("git") is None:
        return None
    commit = run_quietly(["git", "rev-parse", "HEAD"], cwd=root)
    if commit is None:
        return None
    dirty = run_quietly(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root)
    return f"{commit}+dirty" if dirty else commit


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``; elsewhere what ``platform`` knows)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
