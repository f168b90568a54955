"""What a report is made of: the cases of one or more result files, merged and typed.

:func:`collect` merges result files in memory (a case id present in several files keeps its
first ``ok`` record: :mod:`profiler.results.merge_rule`, as ``attnprof merge``) and splits the
cases into counts and timings of networks and of single blocks, plus the cases that did not
finish (error, oom, skipped). Lookups match a claims row by backbone, attention and options: a
case matches when its options contain the row's (so the paper's "ECA-Net" row matches
``resnet50+eca[k_size=3557]``); among several, an exact options match wins, then the first in
file order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from profiler.results.bench import BenchResult
from profiler.results.breakdown import BreakdownResult
from profiler.results.count import CountResult
from profiler.results.envelope import CaseRecord, ResultFile, SuiteInfo
from profiler.results.environment import Environment
from profiler.results.group import GroupResult
from profiler.results.jobs import case_machines
from profiler.results.merge_rule import keep_ok_groups, keep_ok_records
from profiler.spec import BenchSpec, BreakdownSpec, CountSpec, Options, Workload

__all__ = ["BenchEntry", "BreakdownEntry", "CountEntry", "ReportData", "RunInfo", "collect",
           "method_of"]

PAPER_INPUT = (3, 224, 224)


def method_of(workload: Workload) -> str:
    """``none`` for a plain backbone, else the attention (or block) name."""
    if workload.block is not None:
        return workload.block
    return workload.attention or "none"


def _options_match(have: Options, want: Options) -> bool:
    return set(want) <= set(have)


@dataclass(frozen=True)
class CountEntry:
    """A finished count case. Counts are per image (divided by the batch counted)."""

    spec: CountSpec
    result: CountResult

    @property
    def workload(self) -> Workload:
        return self.spec.workload

    def _per_image(self, value: int) -> float:
        return value / max(1, self.result.batch or self.spec.batch)

    @property
    def flops(self) -> float:
        """fvcore's FLOPs per image (whichever counter the case headlined)."""
        fvcore = self.result.counted("fvcore")
        return self._per_image(self.result.flops if fvcore is None else fvcore.flops)

    def flops_by(self, counter: str) -> float | None:
        """FLOPs per image as ``counter`` counted them, in its own unit (multiply-adds, or 2
        per multiply-add for ``torch``); None when that counter did not run on this case."""
        total = self.result.counted(counter)
        return None if total is None else self._per_image(total.flops)

    def params_by(self, counter: str) -> int | None:
        """Parameters as ``counter`` reports them (thop's own sum; the exact count for counters
        that report none), as the counting conventions read them; None when it did not run."""
        total = self.result.counted(counter)
        if total is None:
            return None
        return self.result.params if total.params is None else total.params

    @property
    def train_step_flops(self) -> float | None:
        """Forward + backward FLOPs of a training step per image, if counted."""
        total = self.result.train_step_flops
        return None if total is None else self._per_image(total)

    @property
    def flops_all(self) -> float:
        return self._per_image(self.result.flops_all)

    @property
    def attention_flops(self) -> float:
        fvcore = self.result.counted("fvcore")
        return self._per_image(self.result.attention_flops if fvcore is None
                               else fvcore.attention_flops)

    @property
    def attention_flops_all(self) -> float:
        return self._per_image(self.result.attention_flops_all)


@dataclass(frozen=True)
class BenchEntry:
    """A finished timing case."""

    spec: BenchSpec
    result: BenchResult

    @property
    def workload(self) -> Workload:
        return self.spec.workload

    @property
    def batch(self) -> int:
        return self.result.batch or self.spec.batch

    def rates(self) -> list[float]:
        """Images/s of every raw sample (``batch / step time``)."""
        return [self.batch / t for t in self.result.samples if t > 0]


@dataclass(frozen=True)
class BreakdownEntry:
    """A finished breakdown case (where one step's time goes)."""

    spec: BreakdownSpec
    result: BreakdownResult

    @property
    def workload(self) -> Workload:
        return self.spec.workload


@dataclass(frozen=True)
class RunInfo:
    """Where one input file was measured."""

    source: str
    environment: Environment
    suite: SuiteInfo | None
    tool_version: str
    git_commit: str | None
    created_utc: str
    updated_utc: str
    status_counts: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class ReportData:
    """Every case of the report's inputs, by kind, and the comparison groups that timed some
    of them together (calibrations included)."""

    counts: tuple[CountEntry, ...]
    benches: tuple[BenchEntry, ...]
    unfinished: tuple[CaseRecord, ...]
    runs: tuple[RunInfo, ...]
    breakdowns: tuple[BreakdownEntry, ...] = ()
    groups: tuple[GroupResult, ...] = ()
    machines: tuple[tuple[str, str], ...] = ()

    def machine_of(self, case_id: str) -> str:
        """The machine that measured a case ("" where the files do not say: not a cluster
        run); from each file's ``jobs`` (hostname and GPU or CPU model)."""
        return dict(self.machines).get(case_id, "")

    @property
    def machine_names(self) -> tuple[str, ...]:
        """Every machine named by the inputs' jobs, in order of first appearance."""
        return tuple(dict.fromkeys(machine for _, machine in self.machines))

    @property
    def calibrations(self) -> tuple[GroupResult, ...]:
        return tuple(g for g in self.groups if g.kind == "calibration")

    @property
    def model_counts(self) -> tuple[CountEntry, ...]:
        return tuple(c for c in self.counts if not c.workload.is_block)

    @property
    def model_benches(self) -> tuple[BenchEntry, ...]:
        return tuple(b for b in self.benches if not b.workload.is_block)

    @property
    def block_counts(self) -> tuple[CountEntry, ...]:
        return tuple(c for c in self.counts if c.workload.is_block)

    @property
    def block_benches(self) -> tuple[BenchEntry, ...]:
        return tuple(b for b in self.benches if b.workload.is_block)

    @property
    def claims_id(self) -> str | None:
        """The claims named by the first input's suite, if any."""
        return next((r.suite.claims for r in self.runs if r.suite and r.suite.claims), None)

    def count_for(self, model: str, method: str, options: Options = (),
                  input_shape: tuple[int, int, int] = PAPER_INPUT) -> CountEntry | None:
        return _best([c for c in self.model_counts
                      if _same(c.workload, model, method, options, input_shape)], options)

    def bench_for(self, model: str, method: str, mode: str, options: Options = (),
                  input_shape: tuple[int, int, int] = PAPER_INPUT) -> BenchEntry | None:
        return _best([b for b in self.model_benches if b.spec.mode == mode
                      and _same(b.workload, model, method, options, input_shape)], options)

    def breakdown_for(self, model: str, method: str, mode: str, options: Options = (),
                      input_shape: tuple[int, int, int] = PAPER_INPUT) -> BreakdownEntry | None:
        return _best([b for b in self.breakdowns if b.spec.mode == mode and not
                      b.workload.is_block and _same(b.workload, model, method, options,
                                                    input_shape)], options)

    def unfinished_for(self, model: str, method: str) -> tuple[CaseRecord, ...]:
        return tuple(r for r in self.unfinished if r.spec.workload.model == model
                     and method_of(r.spec.workload) == method)


E = TypeVar("E", CountEntry, BenchEntry, BreakdownEntry)


def _same(workload: Workload, model: str, method: str, options: Options,
          input_shape: tuple[int, int, int]) -> bool:
    return (workload.model == model and method_of(workload) == method
            and workload.input_shape == input_shape
            and _options_match(workload.options, options))


def _best(found: list[E], options: Options) -> E | None:
    exact = [e for e in found if e.workload.options == options]
    candidates = exact or found
    return candidates[0] if candidates else None


def _run_info(source: str, result: ResultFile) -> RunInfo:
    return RunInfo(source=source, environment=result.environment, suite=result.suite,
                   tool_version=result.tool_version, git_commit=result.git_commit,
                   created_utc=result.created_utc,
                   updated_utc=result.updated_utc or result.created_utc,
                   status_counts=tuple(result.status_counts().items()))


def collect(results: Sequence[tuple[str, ResultFile]]) -> ReportData:
    """Merge ``(source, file)`` pairs into one :class:`ReportData` (first ok record wins)."""
    chosen = keep_ok_records(record for _, result in results for record in result.cases)
    groups = keep_ok_groups(group for _, result in results for group in result.groups)
    counts: list[CountEntry] = []
    benches: list[BenchEntry] = []
    breakdowns: list[BreakdownEntry] = []
    unfinished: list[CaseRecord] = []
    for record in chosen.values():
        if record.status != "ok" or record.result is None:
            unfinished.append(record)
        elif isinstance(record.spec, CountSpec) and isinstance(record.result, CountResult):
            counts.append(CountEntry(record.spec, record.result))
        elif isinstance(record.spec, BenchSpec) and isinstance(record.result, BenchResult):
            benches.append(BenchEntry(record.spec, record.result))
        elif isinstance(record.spec, BreakdownSpec) and \
                isinstance(record.result, BreakdownResult):
            breakdowns.append(BreakdownEntry(record.spec, record.result))
    machines: dict[str, str] = {}
    for _, result in results:
        machines.update(case_machines(result.jobs))
    return ReportData(counts=tuple(counts), benches=tuple(benches),
                      unfinished=tuple(unfinished), machines=tuple(machines.items()),
                      runs=tuple(_run_info(source, result) for source, result in results),
                      groups=tuple(groups.values()), breakdowns=tuple(breakdowns))
