"""Find the line of a key in TOML text, so that suite errors can say ``file:line``.

``tomllib`` returns plain dicts without positions. This module scans the text itself: it
tracks table headers (``[budget.cpu]``, ``[[matrix]]`` with its occurrence index) and
``key =`` lines (dotted keys included), and returns the line whose key path is the longest
prefix of the path asked for. It understands the TOML that suites are written in; for
anything it cannot place it returns None and the error names the key without a line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["KeyPath", "format_key_path", "locate_line"]

KeyPath = tuple[str | int, ...]

_KEY_PART = r'(?:[A-Za-z0-9_-]+|"[^"]*"|\'[^\']*\')'
_DOTTED = rf"{_KEY_PART}(?:\s*\.\s*{_KEY_PART})*"
_ARRAY_HEADER = re.compile(rf"^\s*\[\[\s*({_DOTTED})\s*\]\]")
_TABLE_HEADER = re.compile(rf"^\s*\[\s*({_DOTTED})\s*\]")
_KEY_LINE = re.compile(rf"^\s*({_DOTTED})\s*=")
_SPLIT = re.compile(rf"{_KEY_PART}")


@dataclass(frozen=True)
class _Mark:
    """A line that names a key path: a header or a ``key =`` line."""

    line: int
    path: KeyPath
    header: bool


def _parts(dotted: str) -> list[str]:
    return [p.strip("\"'") for p in _SPLIT.findall(dotted)]


def _resolve(parts: Sequence[str], arrays: dict[KeyPath, int]) -> KeyPath:
    """Insert the current index after every prefix that names an array of tables."""
    path: KeyPath = ()
    for part in parts:
        path = (*path, part)
        if path in arrays:
            path = (*path, arrays[path])
    return path


def _marks(text: str) -> list[_Mark]:
    marks: list[_Mark] = []
    arrays: dict[KeyPath, int] = {}
    current: KeyPath = ()
    for number, line in enumerate(text.splitlines(), start=1):
        if match := _ARRAY_HEADER.match(line):
            parts = _parts(match.group(1))
            parent = _resolve(parts[:-1], arrays)
            key = (*parent, parts[-1])
            arrays[key] = arrays.get(key, -1) + 1
            current = (*key, arrays[key])
            marks.append(_Mark(number, current, header=True))
        elif match := _TABLE_HEADER.match(line):
            current = _resolve(_parts(match.group(1)), arrays)
            marks.append(_Mark(number, current, header=True))
        elif match := _KEY_LINE.match(line):
            marks.append(_Mark(number, (*current, *_parts(match.group(1))), header=False))
    return marks


def _value_line(lines: list[str], start: int, value: str) -> int | None:
    """First line at or after ``start`` (1-based), before the next header, quoting ``value``."""
    quoted = (f'"{value}"', f"'{value}'")
    for number in range(start, len(lines) + 1):
        line = lines[number - 1]
        if number > start and (_ARRAY_HEADER.match(line) or _TABLE_HEADER.match(line)):
            return None
        if any(q in line for q in quoted):
            return number
    return None


def locate_line(text: str, path: KeyPath, value: str | None = None) -> int | None:
    """The 1-based line that defines ``path`` (or its nearest enclosing key or table).

    ``path`` mixes keys and array-of-tables indices, for example ``("matrix", 1, "models")``
    for the ``models`` key of the second ``[[matrix]]``. With ``value``, the line quoting that
    string inside the key's value is preferred (an unknown name in a multi-line list).
    """
    best: _Mark | None = None
    for mark in _marks(text):
        longer = best is None or len(mark.path) > len(best.path)
        if longer and mark.path == path[: len(mark.path)]:
            best = mark
    if best is None:
        return None
    if value is not None and best.path == path[: len(best.path)]:
        found = _value_line(text.splitlines(), best.line, value)
        if found is not None:
            return found
    return best.line


def format_key_path(path: KeyPath) -> str:
    """``("matrix", 1, "models")`` -> ``matrix[2].models`` (array indices shown 1-based)."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part + 1}]"
        else:
            out += f".{part}" if out else part
    return out
