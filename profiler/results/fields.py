"""Read records written by other versions: keep only the fields a dataclass knows.

Result files follow one rule for what they do not know (``docs/result-schema.md``): readers
ignore unknown fields and fill missing ones with defaults. :func:`known_fields` is that rule
for every record's ``from_dict``. Torch-free.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

__all__ = ["known_fields"]


def known_fields(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``data`` that name a field of the dataclass ``cls``."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}
