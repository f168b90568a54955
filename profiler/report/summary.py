"""The report's first screen: what ran, how many claims hold, one compact table of the claims.

Generic on purpose: the claims table pivots :class:`~profiler.report.verdicts.verdict.Verdict` rows,
one row per ``subject`` and one column per ``column`` a verdict names, each cell the verdict's
``brief`` (``paper → ours``) and its mark. Any verdict that fills ``column`` and ``brief``
appears here, whatever rule produced it; the counts table counts every verdict by section.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from profiler.output.display import mark, marked, mode_name
from profiler.report.data import ReportData, RunInfo
from profiler.report.interference import disturbance_lines
from profiler.report.tables import Table
from profiler.report.verdicts.verdict import STATUSES, ClaimsCheck, Verdict

__all__ = ["claims_glance", "run_lines", "status_counts_table", "summary_markdown"]

def _unique(values: Iterable[str]) -> str:
    return "/".join(dict.fromkeys(values)) or "–"


def _when(run: RunInfo) -> str:
    start, end = run.created_utc[:10], run.updated_utc[:10]
    return start if not end or end == start else f"{start} to {end}"


def _device(run: RunInfo) -> str:
    env = run.environment
    name = f" ({env.device_name}" + (f", {env.torch_threads} threads)" if env.device == "cpu"
                                     and env.torch_threads else ")")
    return env.device + (name if env.device_name else "")


def _run_line(run: RunInfo) -> str:
    env = run.environment
    counts = ", ".join(f"{n} {s}" for s, n in run.status_counts if n) or "no cases"
    what = f"suite `{run.suite.name}`" if run.suite else "single cases"
    return (f"{_device(run)}; torch {env.torch_version or '–'}, fvcore "
            f"{env.fvcore_version or '–'}; measured {_when(run)} (UTC); {what}: {counts}")


def run_lines(data: ReportData) -> list[str]:
    """What ran: one line per input (device, versions, date, cases), then the timing setup."""
    lines = [_run_line(run) for run in data.runs]
    parts = []
    for mode in ("infer", "train"):
        batches = _unique(str(b.batch) for b in data.benches if b.spec.mode == mode)
        if batches != "–":
            parts.append(f"{mode_name(mode)} at batch {batches}")
    if parts:
        lines.append(f"timed {', '.join(parts)}; {_unique(b.spec.dtype for b in data.benches)}")
    return lines + disturbance_lines(data.groups)


def status_counts_table(check: ClaimsCheck) -> Table:
    """How many verdicts of each status, per section of the report."""
    rows = []
    for title, verdicts in check.by_section():
        tally = [sum(v.status == status for v in verdicts) for status in STATUSES]
        rows.append((title, *(str(n) if n else "·" for n in tally)))
    headers = (marked(s) for s in STATUSES)
    return Table("Verdicts by section", "", ("Claims", *headers), tuple(rows))


def claims_glance(verdicts: Sequence[Verdict]) -> Table | None:
    """Subjects x columns of the verdicts that name a summary ``column``."""
    shown = [v for v in verdicts if v.column]
    if not shown:
        return None
    columns = list(dict.fromkeys(v.column for v in shown))
    cells: dict[str, dict[str, str]] = {}
    for verdict in shown:
        row = cells.setdefault(verdict.subject, {})
        row[verdict.column] = f"{verdict.brief} {mark(verdict.status) or f'({verdict.status})'}"
    rows = tuple((subject, *(row.get(c, "") for c in columns)) for subject, row in cells.items())
    return Table("The paper's claims at a glance", "", ("Network", *columns), rows)


LEGEND = ("Cells: the paper's figure → ours (under the paper-wide counting convention above; "
          "FPS as the share of the backbone's images/s kept), then the verdict: "
          + ", ".join(marked(s) for s in STATUSES if mark(s))
          + ", (n.a.) nothing to compare; – not measured. The sections below give every "
          "verdict with its reason.")


def summary_markdown(data: ReportData, check: ClaimsCheck | None) -> str:
    """The Summary section's body (about 40 lines for a paper's Table 3)."""
    parts = ["\n".join(f"- {line}" for line in run_lines(data))]
    if check is not None:
        claims = check.claims
        parts.append(f"Against {claims.title}: **{check.summary() or 'no claim checked'}**.")
        if check.findings.statement:
            parts.append(f"Parameters and FLOPs, one counting convention for the whole paper: "
                         f"{check.findings.statement}")
        parts.append(status_counts_table(check).to_markdown().rstrip())
        glance = claims_glance(check.verdicts)
        if glance is not None:
            parts += [glance.to_markdown().rstrip(), LEGEND]
    return "\n\n".join(parts)
