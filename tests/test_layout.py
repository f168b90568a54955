"""The tree stays readable: no folder of ``profiler/`` holds more modules at its top level than
a newcomer can take in (README, "Architecture"). ``commands/`` is exempt: one module per
subcommand. Modules are the ``*.py`` files of a folder, ``__init__.py`` included.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "profiler"
MOST = 15
LIMITS = {"measure": 10, "commands": None}  # None: no limit


def _folders() -> list[Path]:
    return sorted({ROOT, *(p.parent for p in ROOT.rglob("*.py"))})


def _name(folder: Path) -> str:
    return folder.relative_to(ROOT).as_posix() if folder != ROOT else "."


def test_the_folders_are_found() -> None:
    names = {_name(f) for f in _folders()}
    assert {".", "measure", "measure/timing", "measure/count/counters", "commands"} <= names


@pytest.mark.parametrize("folder", _folders(), ids=_name)
def test_a_folder_holds_few_modules(folder: Path) -> None:
    limit = LIMITS.get(_name(folder), MOST)
    modules = sorted(p.name for p in folder.glob("*.py"))
    if limit is not None:
        assert len(modules) <= limit, \
            f"profiler/{_name(folder)} holds {len(modules)} modules (at most {limit}): split it " \
            f"into sub-packages whose names say what they hold: {modules}"
