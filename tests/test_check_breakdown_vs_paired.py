"""The lead's agreement check (tools/check_breakdown_vs_paired.py): its arithmetic."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

TOOL = Path(__file__).resolve().parents[1] / "tools" / "check_breakdown_vs_paired.py"


@pytest.fixture(scope="module")
def tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_breakdown_vs_paired", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_share_against_one_minus_ratio(tool: ModuleType) -> None:
    row = tool.agreement("infer", "se", {"attention_time_share": 0.12},
                         {"attention": "se", "throughput_ratio": 0.87, "ci_low": 0.85,
                          "ci_high": 0.89})
    assert row.lost == pytest.approx(0.13) and row.difference == pytest.approx(-0.01)
    assert (row.lost_low, row.lost_high) == (pytest.approx(0.11), pytest.approx(0.15))
    assert row.agrees(0.03)
    far = tool.agreement("train", "eca", {"attention_time_share": 0.20},
                         {"attention": "eca", "throughput_ratio": 0.95, "ci_low": 0.94,
                          "ci_high": 0.96})
    assert not far.agrees(0.03)


def test_a_ratio_without_interval_agrees_only_within_the_tolerance(tool: ModuleType) -> None:
    row = tool.agreement("infer", "gc", {"attention_time_share": 0.10},
                         {"attention": "gc", "throughput_ratio": 0.88, "ci_low": None,
                          "ci_high": None})
    assert row.lost_low is None and row.interval == "12.0% [no interval]"
    assert row.agrees(0.03) and not row.agrees(0.01)


def test_a_failed_member_is_an_error_not_a_pass(tool: ModuleType) -> None:
    with pytest.raises(ValueError, match=r"infer cbam: no paired ratio .*oom"):
        tool.agreement("infer", "cbam", {"attention_time_share": 0.1},
                       {"attention": "cbam", "throughput_ratio": None, "status": "oom",
                        "error": "out of memory"})


def test_the_commands_it_runs_are_valid_attnprof_commands(tool: ModuleType) -> None:
    from profiler.cli import build_parser

    options = tool.parse_arguments(["--threads", "2", "--group-time", "30",
                                    "--methods", "se", "eca"])
    bench = tool.bench_arguments(options, "train")
    assert bench[bench.index("--batch") + 1] == "2" and bench.count("--vs") == 2
    parsed = build_parser().parse_args(bench)
    assert (parsed.vs, parsed.memory, parsed.format, parsed.group_time) == (
        ["se", "eca"], False, "json", 30.0)
    breakdown = build_parser().parse_args(tool.breakdown_arguments(options, "train", "eca"))
    assert (breakdown.command, breakdown.attention, breakdown.mode, breakdown.batch,
            breakdown.threads, breakdown.format) == ("breakdown", "eca", "train", 2, 2, "json")
