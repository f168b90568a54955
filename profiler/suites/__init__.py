"""Suites: declarative TOML files that expand into many count and timing cases.

:func:`load_suite` finds and validates a suite (``suites/README.md`` documents the format),
:func:`expand_suite` turns it into specs for one device, :func:`run_suite` measures them into
a result file (resumable, shardable) and :func:`merge_results` joins shards.
"""

from __future__ import annotations

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
