"""Read a file to compare, whichever of the two formats it is (detected by content).

Above both readers: :mod:`profiler.compare.measurements` (attnprof result files) and
:mod:`profiler.compare.pytest_benchmark` (pytest-benchmark JSON) know nothing of each other's
format beyond the neutral view the first defines.
"""

from __future__ import annotations

from pathlib import Path

from profiler.compare.measurements import MeasurementFile, from_result_file
from profiler.compare.pytest_benchmark import from_pytest_benchmark, is_pytest_benchmark
from profiler.errors import ResultFileError
from profiler.results.envelope import SCHEMA, ResultFile, read_json_file

__all__ = ["load_measurements"]


def load_measurements(path: str | Path) -> MeasurementFile:
    """Read an attnprof result file or a pytest-benchmark JSON file (detected by content)."""
    source = str(path)
    data = read_json_file(path)
    if isinstance(data, dict) and data.get("schema") == SCHEMA:
        return from_result_file(ResultFile.from_dict(data, source), source)
    if is_pytest_benchmark(data):
        return from_pytest_benchmark(data, source)
    raise ResultFileError(f"{source}: neither an attnprof result file (schema {SCHEMA!r}) nor "
                          "pytest-benchmark JSON (a 'benchmarks' list with 'stats')")
