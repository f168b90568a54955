"""The gate's outcome: exit status, result file round trip, table and markdown."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from profiler.errors import ResultFileError
from profiler.gate.driver import pair_cases
from profiler.gate.render import render, summary_line
from profiler.output import write_output
from profiler.results.gate import (
    CountCase,
    GateResult,
    MetricRow,
    SideInfo,
    SideTiming,
    TimingCase,
    load_gate_result,
    ref_label,
)

BASE = SideInfo("base", "main", "/tmp/base", "1a2b3c4d5e6f7a8b9c0d", python="3.11")
HEAD = SideInfo("head", "working tree", "/repo", "ffffeeee0000")


def _timing(decision: str, ratio: float | None, low: float | None, high: float | None,
            **extra: object) -> TimingCase:
    side = SideTiming(batch=4, warmup_steps=6, step_s=0.01, blocks=((0.01, 0.01),) * 8)
    return TimingCase(case_id=f"bench-{decision}", label=f"infer {decision} b4", decision=decision,
                      base=side, head=side, ratio=ratio, ci_low=low, ci_high=high, rounds=8,
                      steps_per_block=2, seconds=4.0, first=("base", "head") * 4,
                      stopped="converged", method="hodges-lehmann", **extra)  # type: ignore[arg-type]


def _result(*timing: TimingCase, counts: tuple[CountCase, ...] = ()) -> GateResult:
    return GateResult(suite="ci-smoke", suite_path="/repo/suites/ci-smoke.toml", device="cpu",
                      limit=0.05, base=BASE, head=HEAD, rules=("params:+0",),
                      timing=timing, counts=counts, only_head=("infer new b4",),
                      not_gated=("breakdown eca b4",),
                      max_minutes=5.0, elapsed_s=100.0)


UNCHANGED = _timing("unchanged", 1.0, 0.98, 1.02)
REGRESSION = _timing("regression", 0.9, 0.88, 0.92)
INCONCLUSIVE = _timing("inconclusive", 0.95, 0.93, 0.97, needed_rounds=32, needed_seconds=16.0)
HOPELESS = replace(_timing("inconclusive", 0.96, 0.7, 1.3, needed_rounds=900, needed_seconds=450.0),
                   label="infer hopeless b4")
SAME = CountCase("count-1", "count se b1", (MetricRow("params", 10, 10, "exact", False),))
CHANGED = CountCase("count-2", "count eca b1", (MetricRow("params", 80, 81, "exact", True),))


def test_exit_status() -> None:
    assert _result(UNCHANGED, INCONCLUSIVE, counts=(SAME,)).exit_status == 0
    assert _result(UNCHANGED, REGRESSION).exit_status == 1
    assert _result(UNCHANGED, counts=(CHANGED,)).exit_status == 1
    broken = _timing("error", None, None, None, error="head: worker died")
    broken = replace(broken, head=replace(broken.head, error="worker died"))
    assert _result(broken).exit_status == 1
    base_only = replace(broken, head=replace(broken.head, error=None),
                        base=replace(broken.base, error="worker died"))
    assert _result(base_only).exit_status == 0
    assert _result(counts=(CountCase("c", "count x", head_error="boom"),)).exit_status == 1


def test_the_result_file_round_trips(tmp_path: Path) -> None:
    result = _result(UNCHANGED, REGRESSION, INCONCLUSIVE, counts=(SAME, CHANGED))
    path = write_output(tmp_path / "gate.json", json.dumps(result.to_dict()))
    data = json.loads(path.read_text())
    assert data["schema"] == "attnprof.gate" and data["exit_status"] == 1
    assert data["base"]["commit"] == BASE.commit and data["head"]["ref"] == "working tree"
    assert data["timing"][0]["base"]["blocks"][0] == [0.01, 0.01]
    assert load_gate_result(path) == result


def test_loading_something_else_is_one_line(tmp_path: Path) -> None:
    other = write_output(tmp_path / "r.json", json.dumps({"schema": "attnprof.result"}))
    with pytest.raises(ResultFileError, match="not an attnprof gate result"):
        load_gate_result(other)
    newer = write_output(tmp_path / "n.json",
                         json.dumps({"schema": "attnprof.gate", "schema_version": 99}))
    with pytest.raises(ResultFileError, match="upgrade"):
        load_gate_result(newer)


def test_ref_label() -> None:
    assert ref_label("main", "1a2b3c4d5e") == "main @ 1a2b3c4d"
    assert ref_label("1a2b3c", "1a2b3c4d5e") == "1a2b3c4d"
    assert ref_label("../old", None) == "../old"


def test_table_lists_failures_first_and_what_would_decide() -> None:
    result = _result(UNCHANGED, INCONCLUSIVE, REGRESSION, HOPELESS, counts=(SAME, CHANGED))
    text = render(result)
    lines = text.splitlines()
    assert lines[0] == summary_line(result)
    assert lines[0].startswith("gate ci-smoke: working tree vs base main @ 1a2b3c4d, limit -5%")
    assert "1 regression, 1 unchanged, 2 inconclusive, 1 of 2 count cases changed" in lines[0]
    assert lines[0].endswith("FAIL (exit 1)")
    assert text.index("count eca b1") < text.index("REGRESSION") < text.index("infer unchanged")
    assert "90.0% [88.0, 92.0]" in text
    assert "about 32 rounds (16 s of timing) would decide it" in text
    assert "rerun with --max-minutes 20, or on a quieter machine" in text  # 5 min x 16 s / 4 s
    # 900 rounds from 8: extrapolated too far to mean anything
    assert "infer hopeless b4: would need more than 20x this budget (8 rounds, 4 s)" in text
    assert "only on the head (not compared): infer new b4" in text
    assert "not gated (neither a count nor a timing case): breakdown eca b4" in text


def test_markdown_for_the_step_summary() -> None:
    text = render(_result(UNCHANGED, REGRESSION), "markdown")
    assert text.startswith("## attnprof gate: ci-smoke\n")
    assert "| infer regression b4 |" in text and "❌ regression" in text
    assert "✅ unchanged" in text


def test_pair_cases_by_id_then_label() -> None:
    base = [{"id": "a", "kind": "bench", "label": "x"}, {"id": "b", "kind": "bench", "label": "y"},
            {"id": "c", "kind": "count", "label": "gone"}]
    head = [{"id": "a", "kind": "bench", "label": "x"}, {"id": "b2", "kind": "bench", "label": "y"},
            {"id": "d", "kind": "count", "label": "new"}]
    pairs, only_base, only_head = pair_cases(base, head)
    assert [(p.base["id"], p.head["id"]) for p in pairs] == [("a", "a"), ("b", "b2")]
    assert only_base == ["gone"] and only_head == ["new"]


def _unconfirmed() -> TimingCase:
    slow = _timing("regression", 0.9, 0.88, 0.92)
    fine = _timing("unchanged", 1.0, 0.98, 1.02)
    return replace(fine, case_id="bench-slow-process", label="infer slow process b4",
                   decision="inconclusive", ratio=0.9487, ci_low=0.88, ci_high=1.02,
                   rounds=16, confirmation="not confirmed", attempts=(slow, fine))


def test_attempts_round_trip_and_an_unconfirmed_case_says_why(tmp_path: Path) -> None:
    confirmed = replace(REGRESSION, confirmation="confirmed", attempts=(REGRESSION, REGRESSION))
    result = _result(confirmed, _unconfirmed())
    path = write_output(tmp_path / "gate.json", json.dumps(result.to_dict()))
    data = json.loads(path.read_text())
    assert [len(c["attempts"]) for c in data["timing"]] == [2, 2]
    assert data["timing"][1]["attempts"][0]["decision"] == "regression"
    assert load_gate_result(path) == result
    text = render(result)
    assert "REGRESSION (confirmed)" in text and "inconclusive (not confirmed)" in text
    assert ("infer slow process b4: not confirmed (first 90.0% [88.0, 92.0] regression; "
            "fresh processes 100.0% [98.0, 102.0] unchanged)") in text
    assert "stands only if the rounds of both attempts, pooled, still say so" in text
    assert "❌ regression (confirmed)" in render(result, "markdown")
    with pytest.raises(ValueError, match="unknown confirmation"):
        replace(REGRESSION, confirmation="maybe")
