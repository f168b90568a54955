"""Check a claims set against a report's data: every kind of verdict, in report order.

The rules are in :mod:`profiler.report.verdicts.counts` (params, FLOPs, the abstract, Table 2)
and :mod:`profiler.report.verdicts.speed` (throughput ratios and orderings); the verdict types
in :mod:`profiler.report.verdicts.verdict`.
"""

from __future__ import annotations

from collections.abc import Sequence

from profiler.claims.paper import Claims
from profiler.report.data import ReportData
from profiler.report.verdicts.counts import abstract_verdicts, count_verdicts, table2_verdicts
from profiler.report.verdicts.findings import ClaimsFindings
from profiler.report.verdicts.speed import ordering_verdicts, ratio_verdicts
from profiler.report.verdicts.verdict import ClaimsCheck, Verdict

__all__ = ["check_claims"]


def check_claims(claims: Claims, data: ReportData, findings: ClaimsFindings) -> ClaimsCheck:
    """Check every claim of ``claims`` that ``data`` can speak to."""
    verdicts: Sequence[Verdict] = [
        *abstract_verdicts(claims, data, findings),
        *count_verdicts(claims, data, findings),
        *ratio_verdicts(claims, data),
        *ordering_verdicts(claims, data),
        *table2_verdicts(claims, data),
    ]
    return ClaimsCheck(claims=claims, findings=findings, verdicts=tuple(verdicts))
