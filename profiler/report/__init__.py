"""Reports: result files rendered as markdown, checked against a paper's claims.

Layers, one direction: :mod:`~profiler.claims.paper` loads the published figures,
:mod:`~profiler.report.data` merges result files, :mod:`~profiler.report.verdicts.verdict` judges
each claim, :mod:`~profiler.report.tables` and :mod:`~profiler.report.plots` format and draw,
:mod:`~profiler.report.markdown` assembles, :mod:`~profiler.report.build` ties them together
for ``attnprof report`` and ``attnprof reproduce``. Nothing here measures.
"""

from __future__ import annotations

from profiler.claims.paper import (
    AbstractClaim,
    Claims,
    Table2Row,
    Table3Row,
    available_claims,
    load_claims,
)
from profiler.report.build import Report, ReportRequest, build_report
from profiler.report.data import ReportData, collect
from profiler.report.verdicts.check import check_claims
from profiler.report.verdicts.verdict import ClaimsCheck, Verdict

__all__ = [
    "AbstractClaim",
    "Claims",
    "ClaimsCheck",
    "Report",
    "ReportData",
    "ReportRequest",
    "Table2Row",
    "Table3Row",
    "Verdict",
    "available_claims",
    "build_report",
    "check_claims",
    "collect",
    "load_claims",
]
