"""Breakdown cases in suites: the matrix kind, its keys, expansion and the shipped suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from profiler.errors import SuiteError
from profiler.spec import BenchSpec, BreakdownSpec
from profiler.suites import expand_suite, load_suite, load_suite_file
from profiler.suites.runner import estimated_seconds

SUITE = """\
[suite]
name = "bd"

[budget]
warmup = 1
threads = 1

[budget.cpu]
batch = { infer = 8, train = 4 }

[[matrix]]
kind = "breakdown"
models = ["resnet18"]
attention = ["none", "eca"]
modes = ["infer", "train"]
profiled_steps = 1
"""


def _load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "bd.toml"
    path.write_text(text)
    return load_suite_file(path)


def test_breakdown_entries_expand_to_breakdown_specs(tmp_path: Path) -> None:
    specs = expand_suite(_load(tmp_path, SUITE), "cpu")  # type: ignore[arg-type]
    assert all(isinstance(s, BreakdownSpec) for s in specs) and len(specs) == 4
    assert [(s.mode, s.workload.attention, s.batch) for s in specs] == [
        ("infer", None, 8), ("infer", "eca", 8), ("train", None, 4), ("train", "eca", 4)]
    first = specs[0]
    assert isinstance(first, BreakdownSpec)
    assert (first.warmup, first.threads, first.timed_steps, first.profiled_steps) == (1, 1, 3, 1)
    assert first.case_id.startswith("breakdown-") and estimated_seconds(first) > 0


@pytest.mark.parametrize(("extra", "message"), [
    ("compile = true", 'does not apply to kind = "breakdown"'),
    ('conventions = ["fvcore"]', 'does not apply to kind = "breakdown"'),
    ("timed_steps = 0", "timed_steps"),
])
def test_bad_breakdown_keys_are_one_line_errors(tmp_path: Path, extra: str,
                                                message: str) -> None:
    with pytest.raises(SuiteError) as info:
        _load(tmp_path, SUITE + extra + "\n")
    assert message in str(info.value) and "\n" not in str(info.value)


def test_steps_keys_belong_to_breakdowns(tmp_path: Path) -> None:
    text = SUITE.replace('kind = "breakdown"', 'kind = "bench"')
    with pytest.raises(SuiteError, match=r'profiled_steps.*does not apply to kind = "bench"'):
        _load(tmp_path, text)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_eca_paper_breaks_resnet50_down_right_after_timing_it(device: str) -> None:
    specs = expand_suite(load_suite("eca-paper"), device)
    kinds = [s.kind for s in specs]
    first = kinds.index("breakdown")
    breakdowns = specs[first:first + 10]
    assert all(isinstance(s, BreakdownSpec) for s in breakdowns) and kinds.count("breakdown") == 10
    # right after the ResNet-50 timing group, before the other backbones' timing (so a run
    # that reaches max_minutes skips those, not the breakdowns)
    before = [s for s in specs[:first] if isinstance(s, BenchSpec)]
    assert before and {s.workload.model for s in before} == {"resnet50"}
    assert {(s.workload.model, s.workload.attention) for s in breakdowns} == {
        ("resnet50", a) for a in (None, "se", "cbam", "gc", "eca")}
    assert {(s.timed_steps, s.profiled_steps) for s in breakdowns} == {(2, 1)}
    # at the timing batch of the same mode, so the report sets them beside the paired ratios
    timing_batch = {s.mode: s.batch for s in before}
    assert {(s.mode, s.batch) for s in breakdowns} == set(timing_batch.items())
