"""Statistics of raw step times and the warm-up settling rule, on made-up numbers."""

from __future__ import annotations

import pytest

from profiler.measure.stats import (
    NOISY_IQR_RATIO,
    cv,
    iqr,
    is_settled,
    median,
    quantile,
    steps_for_budget,
    summarize,
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
