"""Statistics on made-up numbers: raw step times, warm-up settling, paired ratio intervals,
the two-sample test (cross-checked against scipy where it has the same statistic)."""

from __future__ import annotations

import math
import random

import pytest

from profiler.stats import (
    EXACT_SIGNED_RANK_MAX,
    MIN_ROUNDS_FOR_INTERVAL,
    NOISY_IQR_RATIO,
    UNPAIRED_METHOD,
    RatioInterval,
    block_rate,
    cv,
    hodges_lehmann,
    intervals_overlap,
    iqr,
    is_settled,
    median,
    median_interval,
    min_detectable_change,
    normal_signed_rank_rank,
    quantile,
    quartiles,
    ratio_interval,
    round_ratios,
    signed_rank_rank,
    steps_for_budget,
    summarize,
    two_sample_test,
    unpaired_ratio_interval,
)


def test_quantiles_interpolate_linearly_like_numpy() -> None:
    values = [4.0, 1.0, 3.0, 2.0]
    assert quantile(values, 0.25) == pytest.approx(1.75)
    assert quantile(values, 0.75) == pytest.approx(3.25)
    assert median(values) == pytest.approx(2.5)
    assert median([5.0, 1.0, 3.0]) == 3.0
    assert iqr(values) == pytest.approx(1.5)
    assert quantile([7.0], 0.9) == 7.0


def test_cv_is_sample_stdev_over_mean() -> None:
    # mean 5, sample variance 32/7
    assert cv([2, 4, 4, 4, 5, 5, 7, 9]) == pytest.approx((32 / 7) ** 0.5 / 5)
    assert cv([3.0]) == 0.0


@pytest.mark.parametrize("bad", [[], ()])
def test_empty_samples_are_rejected(bad: list[float]) -> None:
    with pytest.raises(ValueError, match="empty"):
        median(bad)


def test_quantile_outside_unit_interval_is_rejected() -> None:
    with pytest.raises(ValueError):
        quantile([1.0], 1.5)


def test_summary_of_step_times() -> None:
    steps = [0.10, 0.10, 0.10, 0.20]  # images/s at batch 10: 100, 100, 100, 50
    summary = summarize(steps, batch=10)
    assert summary.images_per_sec == pytest.approx(100.0)
    assert summary.images_per_sec_iqr == pytest.approx(100.0 - 87.5)
    assert summary.step_ms_median == pytest.approx(100.0)
    assert summary.step_ms_iqr == pytest.approx(125.0 - 100.0)
    assert summary.noisy  # 12.5 / 100 > 10%
    flat = summarize([0.1] * 5, batch=10)
    assert not flat.noisy and flat.images_per_sec_iqr == pytest.approx(0.0)
    assert flat.images_per_sec_cv == pytest.approx(0.0)


def test_noisy_threshold_is_ten_percent() -> None:
    assert NOISY_IQR_RATIO == 0.10
    # rates 100, 100, 109, 109 -> IQR 9 (< 10% of the median 104.5)
    steps = [10 / r for r in (100.0, 100.0, 109.0, 109.0)]
    assert not summarize(steps, batch=10).noisy


def test_summary_rejects_non_positive_times() -> None:
    with pytest.raises(ValueError, match="positive"):
        summarize([0.1, 0.0], batch=1)


def test_flat_times_settle_after_two_windows() -> None:
    assert not is_settled([1.0] * 5, window=3, tolerance=0.05)
    assert is_settled([1.0] * 6, window=3, tolerance=0.05)


def test_a_slow_first_phase_is_not_settled() -> None:
    times = [5.0, 4.0, 3.0, 1.0, 1.0, 1.0]
    assert not is_settled(times, window=3, tolerance=0.05)
    assert is_settled([*times, 1.0, 1.0, 1.0], window=3, tolerance=0.05)


def test_drift_within_tolerance_settles() -> None:
    assert is_settled([1.0, 1.0, 1.0, 1.04, 1.04, 1.04], window=3, tolerance=0.05)
    assert not is_settled([1.0, 1.0, 1.0, 1.06, 1.06, 1.06], window=3, tolerance=0.05)


def test_steps_for_budget() -> None:
    assert steps_for_budget(1.0, 0.1, minimum=3) == 10
    assert steps_for_budget(1.0, 0.3, minimum=3) == 4
    assert steps_for_budget(1.0, 2.0, minimum=3) == 3
    assert steps_for_budget(0.0, 0.0, minimum=0) == 1


# --- paired ratios: Hodges-Lehmann + Wilcoxon signed-rank ----------------------------------

# Two-sided 5% critical values T of the Wilcoxon signed-rank test (reject when T+ <= T),
# from the standard tables: the interval's k is T + 1.
SIGNED_RANK_TABLE = {6: 0, 7: 2, 8: 3, 9: 5, 10: 8, 11: 10, 12: 13, 13: 17, 14: 21, 15: 25,
                     16: 29, 17: 34, 18: 40, 19: 46, 20: 52, 25: 89, 30: 137}


@pytest.mark.parametrize(("n", "critical"), sorted(SIGNED_RANK_TABLE.items()))
def test_signed_rank_ranks_match_the_published_table(n: int, critical: int) -> None:
    assert signed_rank_rank(n, 0.95) == critical + 1


def test_no_95_interval_below_six_rounds() -> None:
    assert signed_rank_rank(5, 0.95) is None
    interval = ratio_interval([1.0, 1.1, 0.9, 1.05, 0.95])
    assert interval.low is None and interval.high is None and not interval.has_interval
    assert interval.half_width == math.inf and interval.contains(2.0)
    assert MIN_ROUNDS_FOR_INTERVAL == 6


def test_normal_approximation_agrees_with_the_exact_ranks_where_it_takes_over() -> None:
    for n in range(30, EXACT_SIGNED_RANK_MAX + 1):
        exact = signed_rank_rank(n, 0.95)
        assert exact is not None and abs(normal_signed_rank_rank(n, 0.95) - exact) <= 1
    assert signed_rank_rank(EXACT_SIGNED_RANK_MAX + 1) == \
        normal_signed_rank_rank(EXACT_SIGNED_RANK_MAX + 1)


def test_hodges_lehmann_is_the_median_of_walsh_averages() -> None:
    values = [0.0, 1.0, 5.0]
    # Walsh averages: 0, 0.5, 2.5, 1, 3, 5 -> median of 6 = (1 + 2.5) / 2
    assert hodges_lehmann(values) == pytest.approx(1.75)
    assert hodges_lehmann([2.0] * 7) == 2.0


def test_constant_ratios_give_a_point_interval() -> None:
    interval = ratio_interval([0.8] * 10)
    assert interval.ratio == pytest.approx(0.8)
    assert interval.low == pytest.approx(0.8) and interval.high == pytest.approx(0.8)
    assert interval.half_width == pytest.approx(0.0) and interval.rounds == 10


def test_interval_ends_are_where_the_signed_rank_test_turns_significant() -> None:
    """Independent check with scipy: shifting the log ratios by a value just inside the
    interval keeps the exact two-sided test at p > 5%; just outside it drops to p <= 5%."""
    from scipy.stats import wilcoxon

    rng = random.Random(3)
    ratios = [0.95 * math.exp(rng.gauss(0.0, 0.02)) for _ in range(14)]
    interval = ratio_interval(ratios)
    assert interval.low is not None and interval.high is not None
    logs = [math.log(r) for r in ratios]
    for end, inward in ((math.log(interval.low), 1e-9), (math.log(interval.high), -1e-9)):
        inside = wilcoxon([d - (end + inward) for d in logs], method="exact").pvalue
        outside = wilcoxon([d - (end - inward) for d in logs], method="exact").pvalue
        assert inside > 0.05 >= outside


def test_interval_covers_the_true_ratio_95_percent_of_the_time() -> None:
    rng = random.Random(7)
    hits, trials = 0, 1000
    for _ in range(trials):
        ratios = [0.9 * math.exp(rng.gauss(0.0, 0.03)) for _ in range(12)]
        hits += ratio_interval(ratios).contains(0.9)
    assert 0.93 <= hits / trials <= 0.985  # exact coverage at n = 12 is 1 - 2 * 0.0212


def test_inverse_interval_is_reciprocal() -> None:
    interval = ratio_interval([0.9, 0.92, 0.88, 0.91, 0.9, 0.93, 0.89, 0.9])
    other = ratio_interval([1 / r for r in (0.9, 0.92, 0.88, 0.91, 0.9, 0.93, 0.89, 0.9)])
    inverse = interval.inverse()
    assert inverse.ratio == pytest.approx(other.ratio)
    assert inverse.low == pytest.approx(other.low) and inverse.high == pytest.approx(other.high)


def test_side_of() -> None:
    interval = RatioInterval(0.9, 0.85, 0.95, 10)
    assert interval.side_of(1.0) == -1 and interval.side_of(0.8) == 1
    assert interval.side_of(0.9) == 0 and interval.contains(0.95)
    assert interval.half_width == pytest.approx(0.05)


def test_block_rate_and_round_ratios() -> None:
    assert block_rate([0.1, 0.3], batch=4) == pytest.approx(8 / 0.4)
    member = [[0.2, 0.2], None, [0.1]]
    baseline = [[0.1, 0.1], [0.1], [0.1]]
    # round 0: member 2 img / 0.4 s vs 2 img / 0.2 s -> 0.5; round 1 skipped; round 2: 1.0
    assert round_ratios(member, baseline, 1, 1) == pytest.approx([0.5, 1.0])
    # batches differ: member 2 images per step
    assert round_ratios([[0.2]], [[0.1]], 2, 1) == pytest.approx([1.0])
    with pytest.raises(ValueError):
        round_ratios([[0.1]], [], 1, 1)


def test_min_detectable_change_scales_the_half_width() -> None:
    interval = RatioInterval(1.0, 0.99, 1.01, 20)
    assert min_detectable_change(interval) == pytest.approx(0.01 * (1.959964 + 0.841621)
                                                            / 1.959964, rel=1e-5)
    assert min_detectable_change(RatioInterval(1.0, None, None, 3)) is None


# --- one sample, two samples ---------------------------------------------------------------


def test_median_interval_order_statistics() -> None:
    values = [float(v) for v in range(1, 11)]
    # P(B(10, 1/2) <= 1) = 11/1024 <= 2.5% < P(B <= 2) = 56/1024: x_(2), x_(9)
    assert median_interval(values, 0.95) == (2.0, 9.0)
    assert median_interval([3.0, 1.0, 2.0], 0.95) == (1.0, 3.0)  # too few: the range


def test_unpaired_ratio_interval() -> None:
    member = [float(v) for v in range(90, 111)]   # median 100
    baseline = [float(v) for v in range(190, 211)]  # median 200
    interval = unpaired_ratio_interval(member, baseline)
    assert interval.ratio == pytest.approx(0.5)
    assert interval.low is not None and interval.high is not None
    assert interval.low < 0.5 < interval.high and interval.method == UNPAIRED_METHOD
    assert interval.rounds == 21


def test_two_sample_test_uses_mann_whitney_with_enough_samples() -> None:
    from scipy.stats import mannwhitneyu

    rng = random.Random(1)
    base = [1.0 + rng.gauss(0, 0.01) for _ in range(30)]
    slow = [1.1 + rng.gauss(0, 0.01) for _ in range(30)]
    same = [1.0 + rng.gauss(0, 0.01) for _ in range(30)]
    found = two_sample_test(base, slow)
    assert found.different and found.direction == 1 and found.test == "Mann-Whitney U"
    assert found.p_value == pytest.approx(mannwhitneyu(base, slow).pvalue)
    assert not two_sample_test(base, same).different


def test_two_sample_test_falls_back_to_interval_overlap_with_few_samples() -> None:
    # 3 vs 3 samples: the smallest two-sided p is 2/20 = 0.1, never below alpha
    found = two_sample_test([1.0, 1.01, 0.99], [2.0, 2.01, 1.99])
    assert found.p_value is None and "overlap" in found.test
    assert found.different and found.direction == 1
    assert not two_sample_test([1.0, 1.5, 0.5], [1.2, 1.3, 1.1]).different


def test_quartiles_and_overlap() -> None:
    assert quartiles([4.0, 1.0, 3.0, 2.0]) == pytest.approx((1.75, 2.5, 3.25))
    assert intervals_overlap((1.0, 2.0), (2.0, 3.0))
    assert not intervals_overlap((1.0, 2.0), (2.1, 3.0))
