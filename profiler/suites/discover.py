"""Find suite files by name: ``./suites/`` first, then the suites shipped beside the package.

A suite is named by its file stem (``suites/eca-paper.toml`` is ``eca-paper``). An argument
that is a path to an existing file, or ends in ``.toml``, is used as a path. Claims files live
in a ``claims/`` folder beside the suites and are not suites.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import profiler
from profiler.errors import UnknownNameError

__all__ = [
    "available_suites",
    "claims_dirs",
    "find_named_file",
    "find_suite",
    "named_files",
    "suite_dirs",
]


def suite_dirs() -> tuple[Path, ...]:
    """Existing suite folders, searched in order: ``./suites``, then the repository's."""
    candidates = (Path.cwd() / "suites", Path(profiler.__file__).resolve().parents[1] / "suites")
    found: list[Path] = []
    for folder in candidates:
        if folder.is_dir() and all(folder.resolve() != f.resolve() for f in found):
            found.append(folder)
    return tuple(found)


def claims_dirs(suite_path: Path | None = None) -> tuple[Path, ...]:
    """Where a suite's ``claims = "<id>"`` is looked for: beside it, then the suite folders."""
    folders = [suite_path.parent / "claims"] if suite_path is not None else []
    folders += [folder / "claims" for folder in suite_dirs()]
    unique: list[Path] = []
    for folder in folders:
        if folder.is_dir() and all(folder.resolve() != u.resolve() for u in unique):
            unique.append(folder)
    return tuple(unique)


def named_files(folders: Iterable[Path], skip_suffix: str | None = None) -> dict[str, Path]:
    """Stem -> ``.toml`` file in ``folders``, sorted by stem; the first folder wins a name.
    Stems ending in ``skip_suffix`` are left out."""
    found: dict[str, Path] = {}
    for folder in folders:
        for path in sorted(folder.glob("*.toml")):
            if skip_suffix is None or not path.stem.endswith(skip_suffix):
                found.setdefault(path.stem, path)
    return dict(sorted(found.items()))


def find_named_file(kind: str, name_or_path: str, known: Mapping[str, Path],
                    hint: str = "", searched: str = "") -> Path:
    """The file ``name_or_path`` names: an existing path, or a name among ``known``.

    A missing path, or an unknown name, raises :class:`UnknownNameError` in one line: the
    ``hint`` (e.g. "did you mean"), the valid names, and where they were ``searched``.
    """
    as_path = Path(name_or_path)
    if as_path.is_file():
        return as_path
    if name_or_path.endswith(".toml") or "/" in name_or_path:
        raise UnknownNameError(f"{kind} file {name_or_path!r} does not exist")
    if name_or_path in known:
        return known[name_or_path]
    raise UnknownNameError(f"unknown {kind} {name_or_path!r}{hint}; valid: "
                           f"{', '.join(known) or '(none found)'}"
                           f"{f' (searched {searched})' if searched else ''}, or a path to a "
                           ".toml file")


def available_suites() -> dict[str, Path]:
    """Suite name -> file, sorted by name; the first folder wins for a name in both."""
    return named_files(suite_dirs())


def find_suite(name_or_path: str) -> Path:
    """The file of suite ``name_or_path`` (a name or a path)."""
    where = ", ".join(str(d) for d in suite_dirs()) or "no suites/ folder found"
    return find_named_file("suite", name_or_path, available_suites(), searched=where)
