"""The counting convention a report judges published params and FLOPs under.

The paper does not say how it counted (M = 10^6 or 2^20? multiply-adds or FLOPs? which
operators?). ``attnprof conventions`` chooses one convention for the whole paper and stores
each figure under it beside the claims (``suites/claims/<id>-conventions.toml``, read by
:func:`profiler.claims.findings.load_findings`). This module finds that file for a claims set
and looks findings up by table, backbone, method and quantity.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from profiler.claims.findings import Convention, Finding, load_findings
from profiler.claims.paper import Claims, conventions_path

__all__ = ["ClaimsFindings", "Finding", "load_claims_findings"]


@dataclass(frozen=True)
class ClaimsFindings:
    """What a report knows of one claims set's findings: ``path`` is where they were (or would
    be) read from, ``available`` False when there were none. The findings file itself is a
    :class:`profiler.claims.findings.Findings`."""

    path: Path
    items: tuple[Finding, ...] = ()
    available: bool = False
    convention: Convention | None = None

    def find(self, table: str, backbone: str, method: str, quantity: str) -> Finding | None:
        """The finding for one published figure (``table`` like ``table3`` or ``abstract``)."""
        return next((f for f in self.items if f.key == (table, backbone, method, quantity)),
                    None)

    @property
    def statement(self) -> str:
        """"N of 34 figures reproduce under ..." ("" without findings)."""
        return self.convention.statement if self.convention else ""


def load_claims_findings(claims: Claims) -> ClaimsFindings:
    """The findings stored beside ``claims``; ``available`` is False when there are none."""
    path = conventions_path(claims)
    if not path.is_file():
        return ClaimsFindings(path=path)
    found = load_findings(path)
    return ClaimsFindings(path=path, items=found.items, available=True,
                    convention=found.convention)
