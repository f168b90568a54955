"""Name -> constructor registries, and loading user objects by ``module:attr``.

A registry maps a short name to a factory and a one-line summary, the way timm's
``create_attn`` maps ``"eca"`` to ``EcaModule``. Adding a block or a model is one file plus one
``register`` line. An unknown name raises :class:`~profiler.errors.UnknownNameError` listing the
valid names. Any name containing ``:`` is treated as ``package.module:attribute`` and imported.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from profiler.errors import UnknownNameError, one_line

__all__ = ["Entry", "Registry", "is_import_path", "load_object"]

T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered constructor."""

    name: str
    factory: Callable[..., T]
    summary: str


def is_import_path(name: str) -> bool:
    """True for ``package.module:attr`` strings (user-supplied objects)."""
    return ":" in name


def load_object(path: str) -> Any:
    """Import ``package.module:attr`` (``attr`` may be dotted) and return the object."""
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise UnknownNameError(f"{path!r} is not of the form 'package.module:attr'")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise UnknownNameError(
            f"cannot import module {module_name!r} from {path!r}: {exc}"
        ) from exc
    except (Exception, SystemExit) as exc:  # the module itself fails while it is imported
        raise UnknownNameError(f"cannot import module {module_name!r} from {path!r}: it "
                               f"raised {one_line(exc, typed=True)}") from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise UnknownNameError(f"module {module_name!r} has no attribute {attr!r}") from exc
    return obj


class Registry(Generic[T]):
    """A typed mapping from names to constructors of ``T``."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}

    def register(self, name: str, factory: Callable[..., T], summary: str) -> None:
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = Entry(name, factory, summary)

    def unregister(self, name: str) -> None:
        """Remove a registered name (a plug-in or a test undoing its ``register``)."""
        self.entry(name)
        del self._entries[name]

    def names(self) -> list[str]:
        return sorted(self._entries)

    def entries(self) -> Iterator[Entry[T]]:
        for name in self.names():
            yield self._entries[name]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def entry(self, name: str) -> Entry[T]:
        """The entry for a registered name; raises UnknownNameError listing the valid ones."""
        try:
            return self._entries[name]
        except KeyError:
            valid = ", ".join(self.names())
            raise UnknownNameError(
                f"unknown {self.kind} {name!r}; valid: {valid} (or 'package.module:attr')"
            ) from None

    def factory(self, name: str) -> Callable[..., T]:
        """The constructor for a registered name or a ``module:attr`` path."""
        if is_import_path(name):
            obj = load_object(name)
            if not callable(obj):
                raise UnknownNameError(f"{name!r} is not callable (need a class or a factory)")
            return obj
        return self.entry(name).factory
