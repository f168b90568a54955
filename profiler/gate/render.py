"""Show a :class:`~profiler.results.gate.GateResult` as a terminal table or as markdown.

Both start with one summary line (the decision and the exit status it gives), then list what
failed first: regressions, changed exact metrics, cases that fail on one side; then every
timing case with both throughputs and the head/base ratio's interval; then, for inconclusive
cases, the budget that would decide them. The markdown form suits ``$GITHUB_STEP_SUMMARY``.
"""

from __future__ import annotations

import math
from collections import Counter

from profiler.gate.decision import EXTRAPOLATION_LIMIT
from profiler.output.display import FORMATS, marked, ratio_with_interval, table
from profiler.results.gate import GateResult, TimingCase

__all__ = ["FORMATS", "render", "summary_line"]

TIMING_HEADERS = ("Case", "Base img/s", "Head img/s", "Head/base [95% CI]", "Rounds",
                  "Decision")
COUNT_HEADERS = ("Case", "Metric", "Base", "Head", "Rule")
_ORDER = {"regression": 0, "error": 1, "inconclusive": 2, "improved": 3, "unchanged": 4}


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value:.4g}"


def _interval(case: TimingCase) -> str:
    return ratio_with_interval(case.ratio, case.ci_low, case.ci_high)


def _decision(case: TimingCase, markdown: bool) -> str:
    if markdown:
        text = marked(case.decision)
    else:
        text = case.decision.upper() if case.decision == "regression" else case.decision
    return f"{text} ({case.confirmation})" if case.confirmation else text


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 90 else f"{seconds:.0f} s"


def summary_line(result: GateResult) -> str:
    """``gate ci-smoke: base main @ 1a2b3c4d vs head working tree: 1 regression, ...``."""
    tally = Counter(c.decision for c in result.timing)
    parts = [f"{tally[d]} {d}" for d in ("regression", "improved", "unchanged", "inconclusive",
                                         "error") if tally[d]]
    changed = len(result.changed_counts)
    parts.append(f"{changed} of {len(result.counts)} count cases changed")
    verdict = "FAIL (exit 1)" if result.exit_status else "pass (exit 0)"
    return (f"gate {result.suite}: {result.head.ref} vs base {result.base.label}, "
            f"limit -{100 * result.limit:g}%: {', '.join(parts)} -> {verdict}")


def _timing_table(result: GateResult, markdown: bool) -> str:
    cases = sorted(result.timing, key=lambda c: _ORDER[c.decision])
    rows = [[c.label, _rate(c.base.images_per_sec), _rate(c.head.images_per_sec),
             _interval(c), str(c.rounds or "–"), _decision(c, markdown)] for c in cases]
    return table(rows, TIMING_HEADERS, "markdown" if markdown else "table")


def _count_lines(result: GateResult, markdown: bool) -> list[str]:
    rows = [[c.label, m.metric, f"{round(m.base):,}", f"{round(m.head):,}", m.rule]
            for c in result.counts for m in c.changed]
    lines = []
    if rows:
        lines += ["exact metrics changed:" if not markdown else "**Exact metrics changed**", "",
                  table(rows, COUNT_HEADERS, "markdown" if markdown else "table"), ""]
    return lines


def _error_lines(result: GateResult) -> list[str]:
    """One line per case and failing side."""
    lines = [f"{c.label}: {c.error}" for c in result.timing if c.error]
    for case in result.counts:
        for side, error in (("base", case.base_error), ("head", case.head_error)):
            if error:
                lines.append(f"{case.label}: {side}: {error}")
    return lines


def _needed_lines(result: GateResult) -> list[str]:
    """What would decide each inconclusive case, and the --max-minutes that would do it."""
    lines = []
    scale = 1.0
    for case in result.timing:
        if case.decision != "inconclusive":
            continue
        needed, seconds = case.needed_rounds, case.needed_seconds
        if case.confirmation == "not confirmed":
            lines.append(_unconfirmed(case))
        elif needed is None or seconds is None:
            lines.append(f"{case.label}: its ratio sits on the limit; no budget would decide it")
        elif case.rounds and needed > EXTRAPOLATION_LIMIT * case.rounds:
            lines.append(f"{case.label}: would need more than {EXTRAPOLATION_LIMIT}x this "
                         f"budget ({case.rounds} rounds, {_minutes(case.seconds)}): too noisy "
                         "here to decide")
        else:
            lines.append(f"{case.label}: about {needed} rounds ({_minutes(seconds)} of timing) "
                         f"would decide it; this run had {case.rounds} "
                         f"({_minutes(case.seconds)})")
            if case.seconds > 0:
                scale = max(scale, seconds / case.seconds)
    if lines and result.max_minutes and scale > 1:
        lines.append(f"rerun with --max-minutes {math.ceil(result.max_minutes * scale)}, or on "
                     "a quieter machine, to decide them")
    elif lines:
        lines.append("rerun on a quieter machine to decide them")
    return lines


def _unconfirmed(case: TimingCase) -> str:
    """What each attempt of a case that was not confirmed said."""
    said = "; ".join(f"{name} {_interval(attempt)} {attempt.decision}"
                     for name, attempt in zip(("first", "fresh processes"), case.attempts,
                                              strict=False))
    return (f"{case.label}: not confirmed ({said}): on this machine two processes of the same "
            "code can differ as much as this change; a quieter machine or a wider limit would "
            "decide it")


def _other_lines(result: GateResult) -> list[str]:
    lines = []
    if result.only_head:
        lines.append(f"only on the head (not compared): {', '.join(result.only_head)}")
    if result.only_base:
        lines.append(f"only on the base (not compared): {', '.join(result.only_base)}")
    if result.not_gated:
        lines.append(f"not gated (neither a count nor a timing case): "
                     f"{', '.join(result.not_gated)}")
    return lines


def render(result: GateResult, fmt: str = "table") -> str:
    """The gate's outcome as ``table`` (terminal) or ``markdown`` text."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; valid: {', '.join(FORMATS)}")
    markdown = fmt == "markdown"
    lines = [f"## attnprof gate: {result.suite}", ""] if markdown else []
    lines += [summary_line(result), ""]
    lines += _count_lines(result, markdown)
    if result.timing:
        lines += [_timing_table(result, markdown), ""]
    errors = _error_lines(result)
    if errors:
        lines += ["**Errors**" if markdown else "errors:", ""]
        lines += [("- " if markdown else "  ") + line for line in errors] + [""]
    needed = _needed_lines(result)
    if needed:
        lines += [("**Inconclusive**: " if markdown else "inconclusive: ") + "the interval "
                  "straddles a limit of the band, so this budget cannot tell", ""]
        lines += [("- " if markdown else "  ") + line for line in needed] + [""]
    lines += _other_lines(result)
    method = next((f"; {c.method}" for c in result.timing if c.method and not c.attempts), "")
    lines.append(f"head/base: throughput ratio per case in percent of the base, rounds "
                 f"alternating which side runs first{method}. regression: interval wholly "
                 f"below {100 * (1 - result.limit):g}%; improved: wholly above "
                 f"{100 * (1 + result.limit):g}%; "
                 "unchanged: inside the band; a regression or improvement is measured again "
                 "in fresh worker processes and stands only if the rounds of both attempts, "
                 "pooled, still say so; elapsed "
                 f"{_minutes(result.elapsed_s)}.")
    return "\n".join(lines).rstrip("\n") + "\n"
