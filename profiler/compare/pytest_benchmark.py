"""Read pytest-benchmark's JSON (``pytest --benchmark-json=FILE``) for ``attnprof compare``.

The file holds ``machine_info``, ``commit_info``, ``datetime``, ``version`` and a
``benchmarks`` list; each benchmark has ``name``, ``fullname``, ``group``, ``params`` and
``stats`` with ``min``, ``max``, ``mean``, ``stddev``, ``median``, ``iqr``, ``q1``, ``q3``,
``rounds``, ``ops`` (seconds per round, ops = 1 / mean) and, with
``--benchmark-save-data``, ``data``: the raw round times. Times are lower-is-better metrics
(``median``, alias ``time``; ``mean``, ``min``, ``max``), ``ops`` higher-is-better. The
noise test uses the raw data when present; without it, the reported ``q1``/``q3`` range.
"""

from __future__ import annotations

from typing import Any

from profiler.compare.machines import Machine
from profiler.compare.measurements import CaseMeasurement, MeasurementFile, MetricValue
from profiler.errors import ResultFileError
from profiler.results.validate import validate_pytest_benchmark

__all__ = ["from_pytest_benchmark", "is_pytest_benchmark"]

_TIMES = ("median", "mean", "min", "max")


def is_pytest_benchmark(data: Any) -> bool:
    """True for a pytest-benchmark JSON document."""
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        return False
    return all(isinstance(b, dict) and isinstance(b.get("stats"), dict)
               for b in data["benchmarks"])


def _number(stats: dict[str, Any], key: str, source: str, name: str) -> float:
    value = stats.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ResultFileError(f"{source}: benchmark {name!r} has no numeric stats.{key}")
    return float(value)


def _case(bench: dict[str, Any], source: str) -> CaseMeasurement:
    name = bench.get("name")
    fullname = bench.get("fullname") or name
    if not isinstance(name, str) or not isinstance(fullname, str):
        raise ResultFileError(f"{source}: a benchmark has no name")
    stats = bench["stats"]
    raw = stats.get("data") or []
    data = tuple(float(x) for x in raw if isinstance(x, (int, float)) and x > 0)
    values: list[tuple[str, MetricValue]] = []
    for key in _TIMES:
        value = _number(stats, key, source, name)
        if key in ("median", "mean"):
            if len(data) >= 2:
                values.append((key, MetricValue(value, data)))
            else:
                values.append((key, MetricValue(value, (), (_number(stats, "q1", source, name),
                                                            _number(stats, "q3", source, name)))))
        else:
            values.append((key, MetricValue(value)))
    mean = _number(stats, "mean", source, name)
    ops = float(stats.get("ops") or (1.0 / mean if mean > 0 else 0.0))
    q1, q3 = _number(stats, "q1", source, name), _number(stats, "q3", source, name)
    rates = tuple(1.0 / t for t in data)
    spread = (1.0 / q3, 1.0 / q1) if q1 > 0 and q3 > 0 else None
    values.append(("ops", MetricValue(ops, rates) if len(rates) >= 2
                   else MetricValue(ops, (), spread)))
    group = bench.get("group")
    label = f"{fullname} [{group}]" if group else fullname
    return CaseMeasurement(key=fullname, loose_key=name, label=label, values=tuple(values))


def from_pytest_benchmark(data: dict[str, Any], source: str) -> MeasurementFile:
    """The benchmarks of a pytest-benchmark JSON document as cases (validated first)."""
    validate_pytest_benchmark(data, source)
    return MeasurementFile(source=source, format="pytest-benchmark",
                           cases=tuple(_case(b, source) for b in data["benchmarks"]),
                           machine=Machine.of_pytest_benchmark(data))
