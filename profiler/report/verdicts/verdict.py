"""Claim checks: every published figure the results can speak to gets a :class:`Verdict`.

Statuses:

- ``pass``: our measurement agrees with the claim within the stated tolerance;
- ``fail``: it does not, and the difference is larger than the measurement's uncertainty
  (the explanation says why it differs);
- ``partial``: part of a compound claim holds (explained);
- ``inconclusive``: the measurement is too uncertain (a throughput interval wider than the
  tolerance, or one that contains 100% for an ordering), so it can neither confirm nor
  refute the claim;
- ``n.a.``: the results hold no measurement for it, or the paper gives no number.

Rules per kind (:mod:`profiler.report.verdicts.counts` and :mod:`profiler.report.verdicts.speed`,
run together by :func:`profiler.report.verdicts.check.check_claims`):
params and FLOPs are judged under the one counting convention ``attnprof conventions`` chose
for the whole paper (``suites/claims/<id>-conventions.toml``; a miss carries the nearest
alternative as a post-hoc note, never a pass), or, without that analysis, as
M = 10^6 parameters and fvcore's FLOPs at the precision the paper prints. Throughput is
judged as each method's ratio to its own backbone (absolute FPS depend on the hardware), its
95% interval against the paper's share ±
:data:`~profiler.report.verdicts.speed.RATIO_TOLERANCE`; orderings ("ECA is faster than SE")
per backbone and mode, on the interval of the two methods' ratio.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from profiler.claims.paper import Claims
from profiler.report.verdicts.findings import ClaimsFindings

__all__ = ["SECTIONS", "STATUSES", "ClaimsCheck", "Status", "Verdict"]

Status = Literal["pass", "fail", "partial", "inconclusive", "n.a."]
STATUSES: tuple[Status, ...] = ("pass", "fail", "partial", "inconclusive", "n.a.")
# The report's sections of verdicts (title, kinds), in order; other kinds follow, by kind.
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Abstract", ("abstract",)),
    ("Parameters and FLOPs (Table 3)", ("params", "flops")),
    ("Throughput relative to the backbone (Table 3)", ("throughput",)),
    ("Orderings (Table 3)", ("ordering",)),
    ("Module parameters (Table 2)", ("table2",)),
)


@dataclass(frozen=True)
class Verdict:
    """One claim checked: what the paper says, what we measured, and the outcome.

    ``kind`` groups verdicts in the report: ``params``, ``flops``, ``throughput``,
    ``ordering``, ``abstract`` or ``table2``. A verdict with a ``column`` also has a cell in
    the report's one-screen summary table (row ``subject``, that column), showing ``brief``:
    the paper's figure and ours in a few characters (``87.3% → 110.6%``).
    """

    kind: str
    subject: str
    claim: str
    status: Status
    paper: str
    ours: str
    explanation: str = ""
    column: str = ""
    brief: str = ""

    def in_column(self, column: str, paper: str, ours: str) -> Verdict:
        """This verdict with a summary cell: ``column``, showing ``paper → ours``."""
        return replace(self, column=column, brief=f"{paper} → {ours}")


@dataclass(frozen=True)
class ClaimsCheck:
    """All verdicts of one claims set against one report's data."""

    claims: Claims
    findings: ClaimsFindings
    verdicts: tuple[Verdict, ...]

    def of_kind(self, kind: str) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if v.kind == kind)

    def counts(self) -> dict[Status, int]:
        """How many verdicts have each status (all statuses present)."""
        tally: dict[Status, int] = dict.fromkeys(STATUSES, 0)
        for verdict in self.verdicts:
            tally[verdict.status] += 1
        return tally

    def by_section(self) -> list[tuple[str, tuple[Verdict, ...]]]:
        """The verdicts of each of :data:`SECTIONS` (empty ones left out), then of any other
        kind, one section per kind, in order of appearance."""
        known = {kind for _, kinds in SECTIONS for kind in kinds}
        others = dict.fromkeys(v.kind for v in self.verdicts if v.kind not in known)
        groups = [*SECTIONS, *((kind, (kind,)) for kind in others)]
        found = [(title, tuple(v for v in self.verdicts if v.kind in kinds))
                 for title, kinds in groups]
        return [(title, verdicts) for title, verdicts in found if verdicts]

    def summary(self) -> str:
        """``12 pass, 3 fail, ...`` (statuses with a zero count left out)."""
        return ", ".join(f"{n} {status}" for status, n in self.counts().items() if n)
