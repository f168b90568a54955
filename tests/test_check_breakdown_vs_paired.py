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
