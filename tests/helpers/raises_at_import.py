"""A user module that fails while it is imported (``tests.helpers.raises_at_import:Net``)."""

from __future__ import annotations

raise RuntimeError("this module cannot be imported")
