"""Regression gating: compare two measurement files and decide what regressed.

Reads attnprof result files and pytest-benchmark JSON (:mod:`profiler.compare.measurements`),
parses rules such as ``images_per_sec:-5%`` (:mod:`profiler.compare.rules`), applies the
noise-aware test (:mod:`profiler.compare.judge`) and renders the outcome
(:mod:`profiler.compare.render`). Comparison is not a report: nothing here reads claims.
"""

from __future__ import annotations

from profiler.compare.judge import Comparison, MetricComparison, compare_files, judge
from profiler.compare.load import load_measurements
from profiler.compare.measurements import (
    CaseMeasurement,
    MeasurementFile,
    MetricValue,
)
from profiler.compare.metrics import METRICS, Metric
from profiler.compare.render import FORMATS, render
from profiler.compare.rules import DEFAULT_RULES, Rule, parse_rule, resolve_rules

__all__ = [
    "DEFAULT_RULES",
    "FORMATS",
    "METRICS",
    "CaseMeasurement",
    "Comparison",
    "MeasurementFile",
    "Metric",
    "MetricComparison",
    "MetricValue",
    "Rule",
    "compare_files",
    "judge",
    "load_measurements",
    "parse_rule",
    "render",
    "resolve_rules",
]
