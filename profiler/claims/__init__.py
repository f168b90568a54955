"""A paper's published figures, and how attnprof's counts relate to them.

:mod:`~profiler.claims.paper` reads a claims file into typed records;
:mod:`~profiler.claims.figures` lists its params/FLOPs figures as printed (unit, precision);
:mod:`~profiler.claims.conventions` finds the one counting convention (counter, units,
implementation per method) that reproduces the most of them; :mod:`~profiler.claims.findings`
is the typed findings file that analysis writes and reports read. Nothing here needs torch or
measures anything: counts come in as :class:`~profiler.results.count.CountResult` records.
"""

from __future__ import annotations

from profiler.claims.paper import (
    AbstractClaim,
    Claims,
    Table2Row,
    Table3Row,
    available_claims,
    conventions_path,
    load_claims,
)

__all__ = [
    "AbstractClaim",
    "Claims",
    "Table2Row",
    "Table3Row",
    "available_claims",
    "conventions_path",
    "load_claims",
]
