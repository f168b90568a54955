"""Suites: declarative TOML files that expand into many count and timing cases.

:func:`load_suite` finds and validates a suite (``suites/README.md`` documents the format),
:func:`expand_suite` turns it into specs for one device, :func:`run_suite` measures them into
a result file (resumable, shardable) and :func:`merge_results` joins shards.

Names load from their modules on first use (PEP 562), so that the parts reports need (suite
discovery, TOML locations) import without the runner's dependencies.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from profiler.suites.definition import BatchSize, Budget, CaseFilter, MatrixEntry, Suite
    from profiler.suites.discover import available_suites, find_suite, suite_dirs
    from profiler.suites.expand import expand_suite
    from profiler.suites.merge import merge_results
    from profiler.suites.parse import load_suite, load_suite_file, parse_suite
    from profiler.suites.runner import (
        RunObserver,
        RunOptions,
        RunPlan,
        RunSummary,
        default_output,
        plan_run,
        run_suite,
    )

# name -> the module of this package that defines it.
_LAZY: dict[str, str] = {
    "BatchSize": "definition",
    "Budget": "definition",
    "CaseFilter": "definition",
    "MatrixEntry": "definition",
    "Suite": "definition",
    "available_suites": "discover",
    "find_suite": "discover",
    "suite_dirs": "discover",
    "expand_suite": "expand",
    "merge_results": "merge",
    "load_suite": "parse",
    "load_suite_file": "parse",
    "parse_suite": "parse",
    "RunObserver": "runner",
    "RunOptions": "runner",
    "RunPlan": "runner",
    "RunSummary": "runner",
    "default_output": "runner",
    "plan_run": "runner",
    "run_suite": "runner",
}

__all__ = [
    "BatchSize",
    "Budget",
    "CaseFilter",
    "MatrixEntry",
    "RunObserver",
    "RunOptions",
    "RunPlan",
    "RunSummary",
    "Suite",
    "available_suites",
    "default_output",
    "expand_suite",
    "find_suite",
    "load_suite",
    "load_suite_file",
    "merge_results",
    "parse_suite",
    "plan_run",
    "run_suite",
    "suite_dirs",
]
assert sorted(__all__) == sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'profiler.suites' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"profiler.suites.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
