"""The report reads in one screen: a summary of about 40 lines first, then details whose
table cells stay short (long explanations become numbered notes under their table)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from profiler.claims.paper import load_claims
from profiler.report.build import ReportRequest, build_report
from profiler.report.names import backbone_label
from profiler.report.tables import MAX_CELL, Notes, Table

RESULTS = Path(__file__).resolve().parent / "fixtures" / "results"
REPORTS = Path(__file__).resolve().parents[1] / "reports"
FIXTURES = {
    "paper-fixture": RESULTS / "eca-paper-cpu.json",
    "smoke": RESULTS / "baseline.json",
    "paper-committed": REPORTS / "eca-paper-cpu.json",
}
SUMMARY_LINES = 40


@pytest.fixture(scope="module", params=sorted(FIXTURES))
def report(request: pytest.FixtureRequest) -> str:
    return build_report(ReportRequest(results=(FIXTURES[request.param],))).markdown


def _section(text: str, heading: str) -> str:
    return text.split(f"\n## {heading}\n")[1].split("\n## ")[0]


def _cells(line: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]


def _tables(text: str) -> list[list[str]]:
    """Every markdown table of ``text`` as its lines (separator rows left out)."""
    tables: list[list[str]] = [[]]
    for line in text.splitlines():
        if line.startswith("|"):
            if not re.fullmatch(r"\|[-|: ]+\|", line):
                tables[-1].append(line)
        elif tables[-1]:
            tables.append([])
    return [t for t in tables if t]


def test_no_table_cell_is_longer_than_the_limit(report: str) -> None:
    longest = max((c for table in _tables(report) for line in table for c in _cells(line)),
                  key=len)
    assert len(longest) <= MAX_CELL, longest


def test_every_note_number_is_listed_under_its_table(report: str) -> None:
    blocks = report.split("\n\n")
    for index, block in enumerate(blocks):
        if not block.startswith("|"):
            continue
        refs = {int(n) for n in re.findall(r"\| \[(\d+)\] +\|", block)}
        listed = {int(n) for n in re.findall(r"^- \[(\d+)\] ", "\n".join(blocks[index + 1:
                                                                             index + 2]),
                                             re.MULTILINE)}
        assert refs <= listed, (sorted(refs - listed), block[:200])


def test_summary_fits_one_screen_and_says_what_ran(report: str) -> None:
    summary = _section(report, "Summary")
    assert len(summary.strip().splitlines()) + 2 <= SUMMARY_LINES  # + heading and gap
    assert "torch 2.13.0+cpu" in summary and "fvcore 0.1.5" in summary
    assert re.search(r"measured 20\d\d-\d\d-\d\d", summary) and "AMD EPYC" in summary
    assert re.search(r"batch \d+", summary)
    assert report.index("## Summary") < report.index("\n## ", report.index("## Summary") + 1)


@pytest.mark.parametrize("name", ["paper-fixture", "paper-committed"])
def test_summary_of_a_paper_run_has_every_claim(name: str) -> None:
    built = build_report(ReportRequest(results=(FIXTURES[name],)))
    summary = _section(built.markdown, "Summary")
    assert built.check is not None and f"**{built.check.summary()}**" in summary
    claims = load_claims("eca-cvpr2020")
    for row in claims.table3:
        if row.buildable:
            line = next(x for x in summary.splitlines()
                        if x.startswith(f"| {backbone_label(row.backbone)} / {row.label} "))
            assert f"{row.params_m:.2f}M →" in line and f"{row.gflops:g} G →" in line
    for title, verdicts in built.check.by_section():
        counted = next(x for x in summary.splitlines() if x.startswith(f"| {title} "))
        assert sum(int(n) for n in re.findall(r"\| (\d+) ", counted)) == len(verdicts)


def test_long_texts_become_notes_and_short_ones_stay() -> None:
    notes = Notes()
    long_text = "x" * 100
    assert notes.cell("short reason") == "short reason"
    assert notes.cell(long_text) == "[1]" and notes.cell("y" * 90) == "[2]"
    assert notes.cell(long_text) == "[1]"  # the same text keeps its number
    table = Table("T", "", ("A", "Why"), (("a", "[1]"), ("b", "[2]")), notes.items())
    assert table.to_markdown().endswith(f"\n\n- [1] {long_text}\n- [2] {'y' * 90}\n")
