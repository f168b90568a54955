"""Regression gating: rules, the noise-aware test, case matching, pytest-benchmark input."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import pytest

from profiler.compare import (
    MetricValue,
    compare_files,
    judge,
    load_measurements,
    parse_rule,
    resolve_rules,
)
from profiler.compare.judge import match_cases
from profiler.compare.measurements import CaseMeasurement, MeasurementFile
from profiler.compare.metrics import format_value
from profiler.errors import InvalidOptionError, ResultFileError

FIXTURES = Path(__file__).resolve().parent / "fixtures"
RESULTS = FIXTURES / "results"
PYTEST_BENCHMARK = FIXTURES / "pytest-benchmark"


# --- rules ----------------------------------------------------------------------------------

def test_parse_relative_rules_by_direction() -> None:
    drop = parse_rule("images_per_sec:-5%")
    assert (drop.metric, drop.limit, drop.relative) == ("images_per_sec", 0.05, True)
    rise = parse_rule("step_ms_median:+10%")
    assert (rise.limit, rise.relative, rise.describe()) == (0.1, True, "+10%")
    assert parse_rule("time:+5%").metric == "median"


def test_parse_absolute_and_exact_rules() -> None:
    memory = parse_rule("peak_memory_bytes:+50MB")
    assert (memory.limit, memory.relative) == (50e6, False)
    assert parse_rule("peak_memory_bytes:+1MiB").limit == 2**20
    exact = parse_rule("params:+0")
    assert (exact.limit, exact.describe()) == (0.0, "exact")
    assert parse_rule("params:1%").describe() == "±1%"
    assert not parse_rule("images_per_sec:off").enabled


@pytest.mark.parametrize("text", ["images_per_sec", "images_per_sec:", ":-5%",
                                  "images_per_sec:fast", "images_per_sec:+5%",
                                  "step_ms_median:-10%", "peak_memory_bytes:+5XB",
                                  "images_per_sec:-5ms", "throughput:-5%"])
def test_malformed_rules_are_one_line_errors(text: str) -> None:
    with pytest.raises(InvalidOptionError) as info:
        parse_rule(text)
    assert "\n" not in str(info.value)


def test_wrong_sign_names_the_right_form() -> None:
    with pytest.raises(InvalidOptionError, match=r"images_per_sec:-5%"):
        parse_rule("images_per_sec:+5%")


def test_given_rules_replace_defaults_of_their_metric_only() -> None:
    rules = {r.metric: r for r in resolve_rules(["images_per_sec:-25%", "step_ms_median:+10%"])}
    assert rules["images_per_sec"].limit == 0.25
    assert rules["step_ms_median"].limit == 0.1
    assert rules["params"].limit == 0 and rules["flops"].limit == 0
    assert "images_per_sec" not in {r.metric for r in resolve_rules(["images_per_sec:off"])}
    with pytest.raises(InvalidOptionError, match="two --fail-on rules"):
        resolve_rules(["params:0", "params:1%"])


# --- the noise-aware test -------------------------------------------------------------------

def _samples(median: float, spread: float, n: int = 20, seed: int = 0) -> MetricValue:
    """``n`` samples spread uniformly within ±``spread`` (relative) of ``median``."""
    rng = random.Random(seed)
    values = [median * (1 + rng.uniform(-spread, spread)) for _ in range(n - 1)]
    return MetricValue(median, (median, *values))


def test_drop_past_limit_and_significant_is_a_regression() -> None:
    from scipy.stats import mannwhitneyu

    rule = parse_rule("images_per_sec:-5%")
    base, new = _samples(100, 0.02), _samples(90, 0.02, seed=1)
    outcome, test = judge(rule, base, new)
    assert (outcome, test) == ("regression", "limit + Mann-Whitney U")
    assert mannwhitneyu(base.samples, new.samples).pvalue < 0.002


def test_drop_past_limit_but_not_significant_is_noise() -> None:
    rule = parse_rule("images_per_sec:-5%")
    assert judge(rule, _samples(100, 0.3), _samples(90, 0.3, seed=1))[0] == "inconclusive"


def test_too_few_samples_fall_back_to_median_intervals() -> None:
    rule = parse_rule("images_per_sec:-5%")
    outcome, test = judge(rule, MetricValue(100, (99.0, 100.0, 101.0)),
                          MetricValue(90, (89.0, 90.0, 91.0)))
    assert outcome == "regression" and "median intervals" in test
    assert judge(rule, MetricValue(100, (80.0, 100.0, 120.0)),
                 MetricValue(90, (85.0, 90.0, 95.0)))[0] == "inconclusive"


def test_small_change_is_ok_and_large_gain_improved() -> None:
    rule = parse_rule("images_per_sec:-5%")
    assert judge(rule, _samples(100, 0.02), _samples(97, 0.02, seed=1))[0] == "unchanged"
    assert judge(rule, _samples(100, 0.02), _samples(120, 0.02, seed=1))[0] == "improved"


def test_lower_is_better_metric_regresses_when_it_rises() -> None:
    rule = parse_rule("step_ms_median:+10%")
    assert judge(rule, _samples(10, 0.01), _samples(12, 0.01, seed=1))[0] == "regression"
    assert judge(rule, _samples(10, 0.01), _samples(8, 0.01, seed=1))[0] == "improved"


def test_reported_ranges_without_samples() -> None:
    rule = parse_rule("median:+5%")
    apart = judge(rule, MetricValue(1.0, (), (0.99, 1.01)), MetricValue(1.2, (), (1.19, 1.21)))
    assert apart == ("regression", "limit + reported IQR overlap")
    assert judge(rule, MetricValue(1.0, (), (0.8, 1.2)),
                 MetricValue(1.2, (), (1.1, 1.3)))[0] == "inconclusive"


def test_without_samples_the_limit_alone_decides() -> None:
    rule = parse_rule("peak_memory_bytes:+50MB")
    outcome, test = judge(rule, MetricValue(100e6), MetricValue(151e6))
    assert (outcome, test) == ("regression", "limit (no samples)")
    assert judge(rule, MetricValue(100e6), MetricValue(149e6))[0] == "unchanged"


def test_exact_metric_any_change_unless_relaxed() -> None:
    assert judge(parse_rule("params:0"), MetricValue(1000), MetricValue(1001))[0] == "regression"
    assert judge(parse_rule("params:0"), MetricValue(1000), MetricValue(1000))[0] == "unchanged"
    assert judge(parse_rule("params:1%"), MetricValue(1000), MetricValue(995))[0] == "unchanged"
    assert judge(parse_rule("params:+2"), MetricValue(1000), MetricValue(997))[0] == "regression"


# --- matching -------------------------------------------------------------------------------

def _case(key: str, loose: str, value: float = 1.0) -> CaseMeasurement:
    return CaseMeasurement(key, loose, loose, values=(("params", MetricValue(value)),))


def test_cases_match_by_key_then_by_unique_loose_key() -> None:
    base = MeasurementFile("a", "attnprof", (_case("k1", "w1"), _case("k2", "w2"),
                                             _case("k3", "w3"), _case("k4", "w3")))
    new = MeasurementFile("b", "attnprof", (_case("k1", "w1"), _case("x2", "w2"),
                                            _case("x3", "w3"), _case("x5", "w5")))
    pairs, only_base, only_new = match_cases(base, new)
    assert [(b.key, n.key, loose) for b, n, loose in pairs] == [("k1", "k1", False),
                                                                ("k2", "x2", True)]
    assert [c.key for c in only_base] == ["k3", "k4"]  # w3 is ambiguous in the baseline
    assert [c.key for c in only_new] == ["x3", "x5"]


def test_budget_change_still_compares(tmp_path: Path) -> None:
    data = json.loads((RESULTS / "baseline.json").read_text())
    for case in data["cases"]:
        if case["kind"] == "bench":
            case["spec"]["min_time"] = 2.0  # another budget: another case id
    other = tmp_path / "other-budget.json"
    other.write_text(json.dumps(data))
    baseline = load_measurements(RESULTS / "baseline.json")
    comparison = compare_files(baseline, load_measurements(other), resolve_rules([]))
    assert comparison.matched == len(baseline.cases)
    assert comparison.loose_matched == sum(1 for c in data["cases"] if c["kind"] == "bench")
    assert not comparison.regressions


def test_no_common_case_and_mixed_formats_are_refused() -> None:
    left = MeasurementFile("a", "attnprof", (_case("k1", "w1"),))
    right = MeasurementFile("b", "attnprof", (_case("k2", "w2"),))
    with pytest.raises(ResultFileError, match="no case in common"):
        compare_files(left, right, resolve_rules([]))
    with pytest.raises(ResultFileError, match="different kinds"):
        compare_files(left, replace(right, format="pytest-benchmark"), resolve_rules([]))


def test_failed_case_in_new_file_is_a_regression() -> None:
    base = MeasurementFile("a", "attnprof", (_case("k1", "w1"),))
    failed = replace(_case("k1", "w1"), status="error", error="boom", values=())
    comparison = compare_files(base, MeasurementFile("b", "attnprof", (failed,)),
                               resolve_rules([]))
    assert [(r.metric, r.outcome) for r in comparison.rows] == [("status", "regression")]
    assert "error in the new file: boom" in comparison.rows[0].note


def test_case_failed_in_baseline_is_listed_not_gated() -> None:
    failed = replace(_case("k1", "w1"), status="oom", values=())
    base = MeasurementFile("a", "attnprof", (failed, _case("k2", "w2")))
    new = MeasurementFile("b", "attnprof", (_case("k1", "w1"), _case("k2", "w2", 2.0)))
    comparison = compare_files(base, new, resolve_rules([]))
    assert comparison.failed_baseline == ("w1 (oom)",)
    assert [(r.case, r.outcome) for r in comparison.rows] == [("w2", "regression")]


def test_rule_for_a_metric_no_case_has_is_refused() -> None:
    baseline = load_measurements(RESULTS / "baseline.json")
    given = [parse_rule("time:+10%")]
    with pytest.raises(InvalidOptionError, match="no case has metric 'median'"):
        compare_files(baseline, baseline, resolve_rules(["time:+10%"]), given)


# --- the fixtures ---------------------------------------------------------------------------

def test_attnprof_fixture_metrics() -> None:
    baseline = load_measurements(RESULTS / "baseline.json")
    assert baseline.format == "attnprof"
    bench = next(c for c in baseline.cases if c.label.startswith("infer resnet18 "))
    rate = bench.get("images_per_sec")
    assert rate is not None and rate.has_samples and len(rate.samples) >= 3
    assert min(rate.samples) <= rate.value <= max(rate.samples)
    count = next(c for c in baseline.cases if c.label == "count resnet18 b1")
    assert count.get("params") == MetricValue(11689512)


def test_real_slowdown_is_caught_and_noise_is_not() -> None:
    rules = resolve_rules([])
    baseline = load_measurements(RESULTS / "baseline.json")
    slow = compare_files(baseline, load_measurements(RESULTS / "new-slow.json"), rules)
    caught = {r.case for r in slow.regressions}
    assert "infer resnet18 b4 fp32 cpu" in caught and "train resnet18+eca b4 fp32 cpu" in caught
    assert all(r.metric == "images_per_sec" for r in slow.regressions)
    noise = compare_files(baseline, load_measurements(RESULTS / "new-noise.json"), rules)
    assert not noise.regressions


def test_noise_past_a_tight_limit_is_within_noise() -> None:
    rules = resolve_rules(["images_per_sec:-1%"])
    baseline = load_measurements(RESULTS / "baseline.json")
    noise = compare_files(baseline, load_measurements(RESULTS / "new-noise.json"), rules)
    outcomes = {r.outcome for r in noise.rows}
    assert "inconclusive" in outcomes and not noise.regressions


def test_pytest_benchmark_reader() -> None:
    baseline = load_measurements(PYTEST_BENCHMARK / "baseline.json")
    assert baseline.format == "pytest-benchmark"
    case = baseline.cases[0]
    assert case.key.endswith("::" + case.loose_key)
    median = case.get("median")
    assert median is not None and median.has_samples and len(median.samples) >= 10
    data = json.loads((PYTEST_BENCHMARK / "baseline.json").read_text())
    assert median.value == data["benchmarks"][0]["stats"]["median"]
    assert {"median", "mean", "min", "max", "ops"} <= set(case.metric_names)


def test_pytest_benchmark_without_raw_data_uses_stats_quartiles(tmp_path: Path) -> None:
    data = json.loads((PYTEST_BENCHMARK / "baseline.json").read_text())
    for bench in data["benchmarks"]:
        bench["stats"].pop("data", None)
    path = tmp_path / "no-data.json"
    path.write_text(json.dumps(data))
    median = load_measurements(path).cases[0].get("median")
    stats = data["benchmarks"][0]["stats"]
    assert median is not None and median.spread == (stats["q1"], stats["q3"])


def test_pytest_benchmark_slowdown_and_rerun() -> None:
    rules = resolve_rules([])
    baseline = load_measurements(PYTEST_BENCHMARK / "baseline.json")
    slow = compare_files(baseline, load_measurements(PYTEST_BENCHMARK / "slow.json"), rules)
    assert {r.metric for r in slow.regressions} == {"median"}
    assert len(slow.regressions) == len(baseline.cases)
    rerun = compare_files(baseline, load_measurements(PYTEST_BENCHMARK / "rerun.json"), rules)
    assert not rerun.regressions


def test_unknown_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"hello": 1}')
    with pytest.raises(ResultFileError, match="neither an attnprof result file"):
        load_measurements(path)


def test_format_value_units() -> None:
    assert format_value("params", 1234567) == "1,234,567"
    assert format_value("median", 0.00205) == "2.05 ms"
    assert format_value("peak_memory_bytes", 2**21) == "2.0 MiB"
    assert format_value("images_per_sec", 14.2857) == "14.29 images/s"
