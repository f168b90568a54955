"""The counting-convention analysis a report judges published params and FLOPs under.

The paper does not say how it counted (M = 10^6 or 2^20? multiply-adds or FLOPs? which
operators?). The counting work analyses that per published figure and stores the result beside
the claims (``suites/claims/<id>-conventions.toml``, read by
:func:`profiler.measure.conventions.load_findings`). This module finds that file for a claims
set and looks findings up by table, backbone, method and quantity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from profiler.measure.conventions import ConventionFinding, load_findings
from profiler.report.claims import Claims, conventions_path

__all__ = ["Finding", "Findings", "load_claims_findings"]

Finding = ConventionFinding


def _table_key(name: str) -> str:
    return name.lower().replace(" ", "").replace("_", "")


@dataclass(frozen=True)
class Findings:
    """The findings of one claims set; ``path`` is where they were (or would be) read from."""

    path: Path
    items: tuple[Finding, ...] = ()
    available: bool = False

    def find(self, table: str, backbone: str, method: str, quantity: str) -> Finding | None:
        """The finding for one published figure (``table`` like ``table3`` or ``abstract``)."""
        key = _table_key(table)
        return next((f for f in self.items if _table_key(f.table) == key
                     and f.backbone == backbone and f.method == method
                     and f.quantity == quantity), None)


def load_claims_findings(claims: Claims) -> Findings:
    """The findings stored beside ``claims``; ``available`` is False when there are none."""
    path = conventions_path(claims)
    if not path.is_file():
        return Findings(path=path)
    items: Sequence[Finding] = load_findings(path)
    return Findings(path=path, items=tuple(items), available=True)
