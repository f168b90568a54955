"""Typed reads of TOML values that fail with a one-line ``file:line: key '...': ...`` error.

:class:`SuiteContext` holds a suite file's text and display name. Every reader takes the key
path of the value it checks, so that the :class:`~profiler.errors.SuiteError` it raises names
the file, the line (found by :func:`~profiler.suites.toml_lines.locate_line`) and the key.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from profiler.errors import AttnprofError, SuiteError
from profiler.registry import Registry, is_import_path, load_object
from profiler.spec import parse_shape
from profiler.suites.toml_lines import KeyPath, format_key_path, locate_line

__all__ = ["SuiteContext", "did_you_mean"]

T = TypeVar("T")


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for a close match, else an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


@dataclass(frozen=True)
class SuiteContext:
    """A suite file being read: where errors point to."""

    display: str
    text: str

    def error(self, path: KeyPath, message: str, value: str | None = None,
              line: int | None = None) -> SuiteError:
        """A SuiteError at ``path``'s line (or ``line`` when the key is missing)."""
        if line is None and path:
            line = locate_line(self.text, path, value)
        where = f"{self.display}:{line}" if line is not None else self.display
        key = f" key '{format_key_path(path)}':" if path else ""
        return SuiteError(f"{where}:{key} {message}")

    # --- tables and keys -------------------------------------------------------------------

    def table(self, value: Any, path: KeyPath) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.error(path, f"expected a table, got {_type_name(value)}")
        return value

    def check_keys(self, table: Mapping[str, Any], allowed: Iterable[str], path: KeyPath) -> None:
        """Reject keys outside ``allowed``, suggesting the closest valid one."""
        valid = sorted(allowed)
        for key in table:
            if key not in valid:
                raise self.error((*path, key), f"unknown key{did_you_mean(key, valid)}; "
                                 f"valid here: {', '.join(valid)}")

    # --- scalars ---------------------------------------------------------------------------

    def string(self, value: Any, path: KeyPath) -> str:
        if not isinstance(value, str) or not value:
            raise self.error(path, f"expected a non-empty string, got {_type_name(value)}")
        return value

    def boolean(self, value: Any, path: KeyPath) -> bool:
        if not isinstance(value, bool):
            raise self.error(path, f"expected true or false, got {_type_name(value)}")
        return value

    def integer(self, value: Any, path: KeyPath, minimum: int = 1) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.error(path, f"expected an integer >= {minimum}, got {value!r}")
        return value

    def number(self, value: Any, path: KeyPath, positive: bool = False) -> float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) \
            and math.isfinite(value)
        if not ok or value < 0 or (positive and value == 0):
            bound = "> 0" if positive else ">= 0"
            raise self.error(path, f"expected a number {bound}, got {value!r}")
        return float(value)

    def choice(self, value: Any, path: KeyPath, choices: Iterable[str]) -> str:
        valid = list(choices)
        if value not in valid:
            hint = did_you_mean(value, valid) if isinstance(value, str) else ""
            raise self.error(path, f"invalid value {value!r}{hint}; valid: {', '.join(valid)}",
                             value if isinstance(value, str) else None)
        return str(value)

    def shape(self, value: Any, path: KeyPath, dims: int) -> tuple[int, ...]:
        text = self.string(value, path)
        try:
            return parse_shape(text, dims=dims)
        except AttnprofError as exc:
            raise self.error(path, str(exc), text) from None

    def shape3(self, value: Any, path: KeyPath) -> tuple[int, int, int]:
        """``CxHxW``."""
        c, h, w = self.shape(value, path, 3)
        return (c, h, w)

    def size2(self, value: Any, path: KeyPath) -> tuple[int, int]:
        """``HxW``."""
        h, w = self.shape(value, path, 2)
        return (h, w)

    def name(self, value: Any, path: KeyPath, registry: Registry[Any]) -> str:
        """A registered name or an importable ``package.module:attr``."""
        text = self.string(value, path)
        if is_import_path(text):
            try:
                obj = load_object(text)
            except AttnprofError as exc:
                raise self.error(path, str(exc), text) from None
            if not callable(obj):
                raise self.error(path, f"{text!r} is not callable (need a class or a factory)",
                                 text)
        elif text not in registry:
            names = registry.names()
            raise self.error(path, f"unknown {registry.kind} {text!r}{did_you_mean(text, names)};"
                             f" valid: {', '.join(names) or '(none registered)'}"
                             f" or package.module:attr", text)
        return text

    # --- lists -----------------------------------------------------------------------------

    def items(self, value: Any, path: KeyPath, read: Callable[[Any, KeyPath], T]) -> tuple[T, ...]:
        """One value or a non-empty list of values, each read with ``read``."""
        values = value if isinstance(value, list) else [value]
        if not values:
            raise self.error(path, "empty list: give at least one value")
        out = tuple(read(v, path) for v in values)
        if len(set(out)) != len(out):
            raise self.error(path, "a value is listed twice")
        return out


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"
