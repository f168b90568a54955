"""Breakdown cases in suites: the matrix kind, its keys, expansion and the shipped suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from profiler.errors import SuiteError
from profiler.spec import BenchSpec, BreakdownSpec
from profiler.suites import expand_suite, load_suite, load_suite_file
from profiler.suites.runner import estimated_seconds
from tests.helpers.specs import no_member_memory_child

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


_TINY_ENTRY = """\
models = ["tests.helpers.user_objects:TinyNet"]
attention = ["none", "se"]
input = "3x16x16"
modes = ["infer"]
"""
PAIRED_AND_BROKEN_DOWN = """\
[suite]
name = "bd-paired"

[budget]
warmup = 1
threads = 1
batch = 2
min_time = 0.01
repeats = 3
block_time = 0.002
min_rounds = 6
max_rounds = 8
group_time = 1
processes = 1                 # one worker: the paired ratio is the point, not its spread

[[matrix]]
kind = "bench"
""" + _TINY_ENTRY + """
[[matrix]]
kind = "breakdown"
timed_steps = 1
profiled_steps = 1
""" + _TINY_ENTRY


@pytest.mark.slow  # a suite run (two timings, two breakdowns) and its report, end to end
def test_a_suite_run_sets_each_breakdown_beside_its_paired_ratio(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from profiler.cli import main
    from profiler.results import load_result_file

    no_member_memory_child(monkeypatch)  # memory is not the point here

    suite, result, report = tmp_path / "bd.toml", tmp_path / "bd.json", tmp_path / "bd.md"
    suite.write_text(PAIRED_AND_BROKEN_DOWN)
    assert main(["run", str(suite), "-o", str(result), "--device", "cpu"]) == 0
    loaded = load_result_file(result)
    assert loaded.status_counts()["ok"] == 4
    (group,) = loaded.groups  # the two timings; the breakdowns are timed alone
    assert {c.kind for c in loaded.cases if c.group_id == group.group_id} == {"bench"}
    assert main(["report", str(result), "-o", str(report)]) == 0
    capsys.readouterr()
    text = report.read_text()
    cost = text[text.index("### Attention cost"):]
    assert "throughput lost (1 - paired ratio) [95% CI]" in cost
    (row,) = [line for line in cost.splitlines() if line.startswith("| SE")]
    cell = row.rstrip(" |").rsplit("|", 1)[1].strip()
    assert "[" in cell and cell.endswith("]")  # paired: an interval, no unpaired mark
