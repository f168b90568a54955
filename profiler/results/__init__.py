"""Result records: what came out of a measurement, and the versioned result file.

Measuring code produces these records; reports and comparisons consume them. Nothing here
measures or renders, and nothing here needs torch: a result file loads anywhere.
"""

from __future__ import annotations

from profiler.results.bench import BenchResult
from profiler.results.count import CountResult
from profiler.results.envelope import (
    SCHEMA_VERSION,
    CaseRecord,
    ResultFile,
    SuiteInfo,
    load_result_file,
    write_result_file,
)
from profiler.results.environment import Environment
from profiler.results.group import GroupResult

__all__ = [
    "SCHEMA_VERSION",
    "BenchResult",
    "CaseRecord",
    "CountResult",
    "Environment",
    "GroupResult",
    "ResultFile",
    "SuiteInfo",
    "load_result_file",
    "write_result_file",
]
