"""A neutral view of a file to compare: cases, each with named metric values and samples.

Two formats are read, detected by content: attnprof result files (``"schema":
"attnprof.result"``) and pytest-benchmark JSON (``--benchmark-json``: a ``benchmarks`` list
with ``stats``; see :mod:`profiler.compare.pytest_benchmark`), both by
:func:`profiler.compare.load.load_measurements`.

Each case has a ``key`` (attnprof's case id; pytest-benchmark's ``fullname``) and a
``loose_key`` used when keys differ between the files (for example the two runs used other
timing budgets, which changes the case id): attnprof ``bench <workload> <mode> b<batch>
<dtype> <device type>`` or ``count <workload> b<batch>``; pytest-benchmark's ``name``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from profiler.compare.machines import Machine
from profiler.devices import device_type
from profiler.results.bench import BenchResult
from profiler.results.count import CountResult
from profiler.results.envelope import CaseRecord, ResultFile
from profiler.results.jobs import case_machines
from profiler.results.telemetry import RoundTelemetry
from profiler.stats import block_rate

__all__ = [
    "CaseMeasurement",
    "Format",
    "MeasurementFile",
    "MetricValue",
    "from_result_file",
]

Format = Literal["attnprof", "pytest-benchmark"]


@dataclass(frozen=True)
class MetricValue:
    """One figure: its value and the raw samples behind it (if any). ``spread`` is a
    reported range without samples (pytest-benchmark's q1/q3 when it kept no raw data).

    The samples of an attnprof timing are one per repeat (or per round of a comparison
    group): that block's images over its time (``step_ms_median``: its mean step time).
    Steps inside one block run back to back and are not independent; repeats are, which is
    what the two-sample test needs (asv's samples are likewise one per repeat)."""

    value: float
    samples: tuple[float, ...] = ()
    spread: tuple[float, float] | None = None

    @property
    def has_samples(self) -> bool:
        return len(self.samples) >= 2


@dataclass(frozen=True)
class CaseMeasurement:
    """One case of a file: how it ended and its metrics."""

    key: str
    loose_key: str
    label: str
    status: str = "ok"
    error: str | None = None
    values: tuple[tuple[str, MetricValue], ...] = ()

    def get(self, name: str) -> MetricValue | None:
        return next((v for n, v in self.values if n == name), None)

    @property
    def metric_names(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self.values)


@dataclass(frozen=True)
class MeasurementFile:
    """The cases of one file, in its order."""

    source: str
    format: Format
    cases: tuple[CaseMeasurement, ...]
    machine: Machine | None = None
    # per comparison group of the file, its rounds' telemetry (for the interference warning)
    telemetry: tuple[tuple[RoundTelemetry, ...], ...] = ()
    machines: tuple[str, ...] = ()


def _count_values(result: CountResult) -> tuple[tuple[str, MetricValue], ...]:
    return (("params", MetricValue(result.params)),
            ("attention_params", MetricValue(result.attention_params)),
            ("flops", MetricValue(result.flops)),
            ("flops_all", MetricValue(result.flops_all)))


def _blocks(result: BenchResult) -> list[tuple[float, ...]]:
    """The raw step times cut into the repeats (or rounds) they were timed in; one block per
    step when the file does not say how many steps a repeat had."""
    times = tuple(t for t in result.samples if t > 0)
    size = result.steps_per_repeat
    if size <= 0 or len(times) != len(result.samples) or len(times) % size:
        return [(t,) for t in times]
    return [times[i:i + size] for i in range(0, len(times), size)]


def _bench_values(result: BenchResult, batch: int) -> tuple[tuple[str, MetricValue], ...]:
    blocks = _blocks(result)
    values = [("images_per_sec",
               MetricValue(result.images_per_sec, tuple(block_rate(b, batch) for b in blocks))),
              ("step_ms_median",
               MetricValue(result.step_ms_median,
                           tuple(1e3 * sum(b) / len(b) for b in blocks)))]
    if result.peak_memory_bytes is not None:
        values.append(("peak_memory_bytes", MetricValue(result.peak_memory_bytes)))
    return tuple(values)


def _loose_key(record: CaseRecord) -> str:
    spec = record.spec
    if record.kind in ("bench", "breakdown"):
        mode, dtype = getattr(spec, "mode", ""), getattr(spec, "dtype", "")
        device = device_type(str(getattr(spec, "device", "")))
        return f"{record.kind} {spec.workload.label} {mode} b{spec.batch} {dtype} {device}"
    return f"count {spec.workload.label} b{spec.batch}"


def _case(record: CaseRecord) -> CaseMeasurement:
    values: tuple[tuple[str, MetricValue], ...] = ()
    if isinstance(record.result, CountResult):
        values = _count_values(record.result)
    elif isinstance(record.result, BenchResult):
        values = _bench_values(record.result, record.result.batch or record.spec.batch)
    return CaseMeasurement(key=record.case_id, loose_key=_loose_key(record),
                           label=record.spec.label, status=record.status, error=record.error,
                           values=values)


def from_result_file(result: ResultFile, source: str) -> MeasurementFile:
    """The cases of an attnprof result file."""
    return MeasurementFile(source=source, format="attnprof",
                           cases=tuple(_case(r) for r in result.cases),
                           machine=Machine.of_environment(result.environment),
                           telemetry=tuple(g.telemetry for g in result.groups),
                           machines=tuple(dict.fromkeys(case_machines(result.jobs).values())))
