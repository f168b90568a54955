"""Compare two measurement files case by case and decide what regressed.

Matching: cases are paired by key (attnprof's case id, pytest-benchmark's ``fullname``); the
cases left over are paired by their loose key (workload, mode, batch, dtype and device type;
pytest-benchmark's ``name``) when it is unique in both files, so two runs of a suite with
other timing budgets still compare. Files of different formats, or without a case in common,
cannot be compared (:class:`~profiler.errors.ResultFileError`).

The test, per metric with a rule (:mod:`profiler.compare.rules`):

- exact metrics: a regression when the change exceeds the rule's limit (default: any change);
- timing metrics (noise-aware): a regression when the new value is worse than the baseline by
  more than the limit AND the two files' raw samples (one per repeat or round:
  :class:`~profiler.compare.measurements.MetricValue`) differ significantly, the new ones on
  the worse side: the two-sided Mann-Whitney U test at p < 0.002 (as asv), or, with too few
  samples for the test to ever reach that level, non-overlapping 99% intervals of the two
  medians (:func:`profiler.stats.two_sample_test`). A change past the limit that is
  not significant is ``inconclusive``. pytest-benchmark files without raw data
  are judged on their reported [q1, q3] ranges (overlap); values without samples or ranges
  (peak memory) by the limit alone. Past the limit in the good direction and significant:
  ``improved``; anything else ``unchanged``.
- the files' machines (CPU/GPU model, torch version, thread count) are compared; when they
  differ the comparison says so (:mod:`profiler.compare.machines`): throughput from two
  machines is not comparable, params and FLOPs are.
- a case ``ok`` in the baseline that ended ``error``/``oom``/``skipped`` in the new file is a
  regression (metric ``status``), and so is one the new file lacks (an interrupted or
  crashed run; ``allow_missing`` lists those instead, for partial suites); cases only in the
  new file, and cases that did not end ``ok`` in the baseline, are listed, not gated.

The words are those of ``attnprof gate`` (:data:`profiler.results.gate.DECISIONS`, one
vocabulary for both): a ``regression`` or an ``improvement`` is past the limit and
significant, ``unchanged`` is within the limit, ``inconclusive`` is past it but within the
noise, so the data cannot tell.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from profiler.compare.machines import differences, mixed_machines
from profiler.compare.measurements import CaseMeasurement, MeasurementFile, MetricValue
from profiler.compare.metrics import metric
from profiler.compare.rules import Rule
from profiler.errors import InvalidOptionError, ResultFileError
from profiler.results.gate import Decision
from profiler.stats import intervals_overlap, two_sample_test

__all__ = ["Comparison", "MetricComparison", "compare_files", "judge", "match_cases"]

TEST_EXACT = "exact"
TEST_RANGES = "limit + reported IQR overlap"
TEST_LIMIT = "limit (no samples)"


@dataclass(frozen=True)
class MetricComparison:
    """One metric of one case: both values, the rule, the test used and the outcome."""

    case: str
    metric: str
    baseline: float | None
    new: float | None
    rule: str
    test: str
    outcome: Decision
    note: str = ""

    @property
    def change(self) -> float | None:
        """Relative change new / baseline - 1 (None without both values or a zero baseline)."""
        if self.baseline is None or self.new is None or self.baseline == 0:
            return None
        return self.new / self.baseline - 1.0

    @property
    def regression(self) -> bool:
        return self.outcome == "regression"


@dataclass(frozen=True)
class Comparison:
    """The outcome of comparing two files."""

    baseline: str
    new: str
    format: str
    rows: tuple[MetricComparison, ...]
    matched: int
    loose_matched: int
    only_baseline: tuple[str, ...] = ()
    only_new: tuple[str, ...] = ()
    failed_baseline: tuple[str, ...] = ()
    machine_differences: tuple[str, ...] = ()

    @property
    def regressions(self) -> tuple[MetricComparison, ...]:
        return tuple(r for r in self.rows if r.regression)


Pair = tuple[CaseMeasurement, CaseMeasurement, bool]


def _unique(cases: Sequence[CaseMeasurement]) -> dict[str, CaseMeasurement]:
    tally = Counter(c.loose_key for c in cases)
    return {c.loose_key: c for c in cases if tally[c.loose_key] == 1}


def match_cases(baseline: MeasurementFile, new: MeasurementFile
                ) -> tuple[list[Pair], list[CaseMeasurement], list[CaseMeasurement]]:
    """Pairs (baseline case, new case, matched loosely), then the unmatched of each side."""
    by_key = {c.key: c for c in new.cases}
    pairs: list[Pair] = []
    rest_base = []
    for case in baseline.cases:
        partner = by_key.pop(case.key, None)
        if partner is None:
            rest_base.append(case)
        else:
            pairs.append((case, partner, False))
    rest_new = [c for c in new.cases if c.key in by_key]
    loose_new = _unique(rest_new)
    loose_base = _unique(rest_base)
    only_base = []
    used: set[str] = set()
    for case in rest_base:
        partner = loose_new.get(case.loose_key) if case.loose_key in loose_base else None
        if partner is None:
            only_base.append(case)
        else:
            pairs.append((case, partner, True))
            used.add(partner.key)
    only_new = [c for c in rest_new if c.key not in used]
    return pairs, only_base, only_new


def _allowed(rule: Rule, base: float) -> float:
    return rule.limit * abs(base) if rule.relative else rule.limit


def judge(rule: Rule, base: MetricValue, new: MetricValue) -> tuple[Decision, str]:
    """The outcome of one metric under ``rule``, and the test that decided it."""
    info = rule.info
    if info.exact:
        return ("regression" if abs(new.value - base.value) > _allowed(rule, base.value)
                else "unchanged"), TEST_EXACT
    higher = info.direction == "higher"
    worse = base.value - new.value if higher else new.value - base.value
    allowed = _allowed(rule, base.value)
    if base.has_samples and new.has_samples:
        found = two_sample_test(base.samples, new.samples)
        test = f"limit + {found.test}"
        bad_side = -1 if higher else 1
        apart_worse = found.different and found.direction == bad_side
        apart_better = found.different and found.direction == -bad_side
    elif base.spread is not None and new.spread is not None:
        test = TEST_RANGES
        apart = not intervals_overlap(base.spread, new.spread)
        apart_worse = apart_better = apart
    else:
        test = TEST_LIMIT
        apart_worse = apart_better = True
    if worse > allowed:
        return ("regression" if apart_worse else "inconclusive"), test
    if -worse > allowed and apart_better:
        return "improved", test
    return "unchanged", test


def _status_row(base: CaseMeasurement, new: CaseMeasurement) -> MetricComparison:
    detail = f": {new.error}" if new.error else ""
    return MetricComparison(base.label, "status", None, None, "ok", "status", "regression",
                            f"ok in the baseline, {new.status} in the new file{detail}")


def _rows(base: CaseMeasurement, new: CaseMeasurement, rules: Sequence[Rule],
          loose: bool) -> list[MetricComparison]:
    if base.status != "ok":
        return []
    if new.status != "ok":
        return [_status_row(base, new)]
    note = "matched by workload (case ids differ)" if loose else ""
    rows = []
    for rule in rules:
        old_value, new_value = base.get(rule.metric), new.get(rule.metric)
        if old_value is None or new_value is None:
            continue
        outcome, test = judge(rule, old_value, new_value)
        rows.append(MetricComparison(base.label, rule.metric, old_value.value, new_value.value,
                                     rule.describe(), test, outcome, note))
    return rows


def _missing_row(base: CaseMeasurement) -> MetricComparison:
    return MetricComparison(base.label, "status", None, None, "present", "status",
                            "regression", "ok in the baseline, missing from the new file "
                            "(--allow-missing accepts a partial run)")


def _check_rules_apply(files: Sequence[MeasurementFile], given: Sequence[Rule]) -> None:
    present = {n for f in files for c in f.cases for n in c.metric_names}
    for rule in given:
        if rule.metric not in present:
            valid = ", ".join(sorted(present)) or "(none)"
            raise InvalidOptionError(f"rule {rule.text!r}: no case has metric "
                                     f"{metric(rule.metric).name!r}; these files have: {valid}")


def compare_files(baseline: MeasurementFile, new: MeasurementFile, rules: Sequence[Rule],
                  given: Sequence[Rule] = (), allow_missing: bool = False) -> Comparison:
    """Compare ``new`` against ``baseline`` under ``rules`` (``given``: the user's rules,
    which must each name a metric the files have; ``allow_missing``: a case of the baseline
    that the new file lacks is listed, not a regression)."""
    if baseline.format != new.format:
        raise ResultFileError(f"cannot compare {baseline.source} ({baseline.format}) with "
                              f"{new.source} ({new.format}): different kinds of file")
    _check_rules_apply((baseline, new), given)
    pairs, only_base, only_new = match_cases(baseline, new)
    if not pairs:
        raise ResultFileError(f"{baseline.source} and {new.source} have no case in common "
                              "(matched by case id, then by workload, mode, batch and dtype)")
    rows = [row for base, fresh, loose in pairs for row in _rows(base, fresh, rules, loose)]
    if not allow_missing:
        rows += [_missing_row(case) for case in only_base if case.status == "ok"]
        only_base = [case for case in only_base if case.status != "ok"]
    ordered = sorted(rows, key=lambda r: not r.regression)
    return Comparison(baseline=baseline.source, new=new.source, format=baseline.format,
                      rows=tuple(ordered), matched=len(pairs),
                      loose_matched=sum(1 for _, _, loose in pairs if loose),
                      only_baseline=tuple(c.label for c in only_base),
                      only_new=tuple(c.label for c in only_new),
                      failed_baseline=tuple(f"{b.label} ({b.status})" for b, _, _ in pairs
                                            if b.status != "ok"),
                      machine_differences=(
                          *differences(baseline.machine, new.machine),
                          *mixed_machines(baseline.source, baseline.machines),
                          *mixed_machines(new.source, new.machines)))
