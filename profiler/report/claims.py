"""Kept for imports written before the claims reader moved to :mod:`profiler.claims.paper`."""

from __future__ import annotations

from profiler.claims.paper import (
    CONVENTIONS_SUFFIX,
    AbstractClaim,
    Claims,
    Table2Row,
    Table3Row,
    available_claims,
    claims_path,
    conventions_path,
    load_claims,
    parse_claims,
)

__all__ = [
    "CONVENTIONS_SUFFIX",
    "AbstractClaim",
    "Claims",
    "Table2Row",
    "Table3Row",
    "available_claims",
    "claims_path",
    "conventions_path",
    "load_claims",
    "parse_claims",
]
