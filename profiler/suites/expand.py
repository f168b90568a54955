"""Expand a validated :class:`Suite` into the specs it measures on one device.

Each ``[[matrix]]`` entry is a cartesian product, enumerated in a fixed nesting so that an
interrupted or budget-cut run holds complete comparison groups:

- outermost the subject: model x input (model entries) or shape (block entries);
- then the timing settings: dtype x channels_last x compile x mode x batch (counts: batch);
- innermost what the report compares: attention (or block) x option variant.

Entries expand in file order, each followed by its ``include`` items; ``exclude`` items drop
matching cases of their own entry; a case already produced earlier (same case id) is not
repeated. Batch sizes of timing cases come from, in order of precedence:
``[budget.<device>] batch``, the entry's ``batch``, ``[budget] batch``, then 32. Count cases
use the entry's ``batch`` (default 1) on every device.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Literal

from profiler import defaults
from profiler.devices import device_type
from profiler.errors import AttnprofError, SuiteError
from profiler.spec import BenchSpec, BreakdownSpec, CountSpec, Options, Workload
from profiler.suites.definition import CasePoint, MatrixEntry, Suite

__all__ = ["Spec", "expand_suite"]

Spec = CountSpec | BenchSpec | BreakdownSpec


@dataclass(frozen=True)
class _Subject:
    """The outer axis value: a model at an input shape, or a block input shape."""

    model: str | None
    shape: tuple[int, int, int]

    def workload(self, name: str | None, options: Options) -> Workload:
        if self.model is not None:
            return Workload.for_model(self.model, name, dict(options), self.shape)
        assert name is not None
        return Workload.for_block(name, self.shape[0], self.shape[1:], dict(options))

    def point(self, device: str, name: str | None) -> CasePoint:
        if self.model is not None:
            return CasePoint(device=device, model=self.model,
                             attention="none" if name is None else name, input=self.shape)
        return CasePoint(device=device, block=name, channels=self.shape[0],
                         size=(self.shape[1], self.shape[2]))


@dataclass(frozen=True)
class _Setting:
    """The middle axis value: how a case is run (mode/dtype/flags are None for counts)."""

    batch: int
    mode: str | None = None
    dtype: str | None = None
    channels_last: bool = False
    compile: bool = False


def _subjects(entry: MatrixEntry) -> Iterator[_Subject]:
    if entry.models:
        for model in entry.models:
            for shape in entry.inputs:
                yield _Subject(model, shape)
    else:
        for shape in entry.shapes:
            yield _Subject(None, shape)


def _bench_batches(suite: Suite, entry: MatrixEntry, device: str, mode: str) -> tuple[int, ...]:
    override = dict(suite.device_budgets).get(device_type(device))
    if override is not None and override.batch is not None:
        return (override.batch.for_mode(mode),)
    if entry.batch:
        return entry.batch
    if suite.budget.batch is not None:
        return (suite.budget.batch.for_mode(mode),)
    return (defaults.TIMING_BATCH,)


def _settings(suite: Suite, entry: MatrixEntry, device: str) -> Iterator[_Setting]:
    if entry.kind == "count":
        for batch in entry.batch or (defaults.COUNT_BATCH,):
            yield _Setting(batch)
        return
    for dtype in entry.dtypes:
        for channels_last in entry.channels_last:
            for compiled in entry.compile:
                for mode in entry.modes:
                    for batch in _bench_batches(suite, entry, device, mode):
                        yield _Setting(batch, mode, dtype, channels_last, compiled)


def _inner(entry: MatrixEntry) -> Iterator[tuple[str | None, Options]]:
    names: tuple[str | None, ...] = entry.attention if entry.models else entry.blocks
    for name in names:
        for options in entry.variants_for(name):
            yield name, options


def _spec(suite: Suite, entry: MatrixEntry, device: str, workload: Workload,
          setting: _Setting) -> Spec:
    if entry.kind == "count":
        return CountSpec(workload, batch=setting.batch, conventions=entry.conventions,
                         backward=entry.backward)
    budget = suite.budget_for(device)
    assert setting.mode is not None and setting.dtype is not None
    mode: Literal["infer", "train"] = "train" if setting.mode == "train" else "infer"
    if entry.kind == "breakdown":
        return _breakdown_spec(entry, device, workload, setting, mode, budget.threads,
                               budget.warmup)
    return BenchSpec(
        workload, mode=mode, device=device, batch=setting.batch, dtype=setting.dtype,
        channels_last=setting.channels_last, compile=setting.compile,
        cudnn_benchmark=entry.cudnn_benchmark, threads=budget.threads,
        min_time=defaults.MIN_TIME if budget.min_time is None else budget.min_time,
        repeats=defaults.REPEATS if budget.repeats is None else budget.repeats,
        warmup=defaults.WARMUP if budget.warmup is None else budget.warmup,
    )


def _breakdown_spec(entry: MatrixEntry, device: str, workload: Workload, setting: _Setting,
                    mode: Literal["infer", "train"], threads: int | None,
                    warmup: int | None) -> BreakdownSpec:
    assert setting.dtype is not None
    steps = {name: value for name in ("timed_steps", "profiled_steps")
             if (value := getattr(entry, name)) is not None}
    return BreakdownSpec(workload, mode=mode, device=device, batch=setting.batch,
                         dtype=setting.dtype, channels_last=setting.channels_last,
                         cudnn_benchmark=entry.cudnn_benchmark, threads=threads,
                         warmup=defaults.WARMUP if warmup is None else warmup, **steps)


def _entry_specs(suite: Suite, entry: MatrixEntry, device: str) -> Iterator[Spec]:
    if entry.runs_on(device):
        kind = device_type(device)
        for subject in _subjects(entry):
            for setting in _settings(suite, entry, device):
                for name, options in _inner(entry):
                    point = replace(subject.point(kind, name), mode=setting.mode,
                                    batch=setting.batch, dtype=setting.dtype)
                    if any(f.matches(point) for f in entry.exclude):
                        continue
                    try:
                        workload = subject.workload(name, options)
                        yield _spec(suite, entry, device, workload, setting)
                    except AttnprofError as exc:
                        raise SuiteError(f"{suite.path}: key 'matrix[{entry.index + 1}]': "
                                         f"{exc}") from None
    for item in entry.include:
        yield from _entry_specs(suite, item, device)


def expand_suite(suite: Suite, device: str) -> tuple[Spec, ...]:
    """Every case of ``suite`` on ``device`` (a resolved device such as ``cpu``/``cuda:0``),
    in run order, without duplicates."""
    specs: dict[str, Spec] = {}
    for entry in suite.matrix:
        for spec in _entry_specs(suite, entry, device):
            specs.setdefault(spec.case_id, spec)
    if not specs:
        raise SuiteError(f"{suite.path}: suite {suite.name!r} has no cases on {device}: every "
                         "[[matrix]] entry is limited to other devices or excluded")
    return tuple(specs.values())
