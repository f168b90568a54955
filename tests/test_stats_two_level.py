"""The two-level (rounds within processes) interval of profiler.stats, on simulated
data with a known between-process spread."""

from __future__ import annotations

import math
import random

import pytest

from profiler.stats import (
    DEFAULT_BETWEEN_PRIOR,
    TWO_LEVEL_METHOD,
    BetweenPrior,
    between_estimate,
    pooled_between_prior,
    two_level_interval,
)

TRUE_RATIO = 0.9


def _simulate(rng: random.Random, processes: int, rounds: int, between: float,
              within: float, outliers: float = 0.0) -> list[list[float]]:
    """Per-round ratios: log ratio = log(TRUE_RATIO) + process effect + round noise; a share
    ``outliers`` of the rounds has 10 times the noise (a contaminated normal: heavy tails)."""
    out = []
    for _ in range(processes):
        offset = rng.gauss(0.0, between)
        out.append([math.exp(math.log(TRUE_RATIO) + offset + rng.gauss(
            0.0, within * (10.0 if rng.random() < outliers else 1.0))) for _ in range(rounds)])
    return out


def _coverage(processes: int, prior: BetweenPrior | None, seeds: int = 800,
              between: float = 0.02, within: float = 0.01, outliers: float = 0.0) -> float:
    rng = random.Random(20261202 + processes)
    hits = 0
    for _ in range(seeds):
        found = two_level_interval(_simulate(rng, processes, 12, between, within, outliers),
                                   prior).interval
        hits += found.contains(TRUE_RATIO)
    return hits / seeds


def test_coverage_from_the_processes_alone() -> None:
    assert 0.90 <= _coverage(10, None) <= 0.98


def test_coverage_with_several_processes_and_a_pooled_prior() -> None:
    # below 10 processes the run's pooled between-process SD joins the data's spread
    prior = BetweenPrior(0.02, 30.0, "pooled")
    assert 0.90 <= _coverage(5, prior) <= 0.98


def test_coverage_with_few_processes_and_a_calibrated_prior() -> None:
    prior = BetweenPrior(0.02, 30.0, "calibration")
    assert 0.90 <= _coverage(2, prior) <= 0.98


def test_coverage_with_outlier_rounds() -> None:
    """5% of rounds with 10x the noise (heavy tails), as single slow rounds on a busy CPU."""
    assert 0.90 <= _coverage(10, None, outliers=0.05) <= 0.98
    prior = BetweenPrior(0.02, 30.0, "calibration")
    assert 0.90 <= _coverage(2, prior, outliers=0.05) <= 0.98


def test_coverage_and_width_on_a_noisy_cpu_with_outlier_rounds() -> None:
    """Per-round SD 10% (a 2-core CPU), 1.5% between processes, 5% outlier rounds; 6
    processes of 12 rounds. The old mean-based estimate gave a median half-width of 5.8
    points here (the outliers' share of the process means' spread); the HL estimate 3.3."""
    rng = random.Random(11)
    found = [two_level_interval(_simulate(rng, 6, 12, 0.015, 0.10, 0.05)).interval
             for _ in range(600)]
    assert 0.90 <= sum(f.contains(TRUE_RATIO) for f in found) / len(found) <= 0.98
    widths = sorted(f.half_width for f in found)
    assert widths[len(widths) // 2] < 0.045


def test_one_wild_round_moves_the_estimate_far_less_than_the_mean() -> None:
    """12 rounds of 1% noise around a known log ratio, one of them +0.44 (as measured on a
    busy 2-core CPU): the mean moves by ~0.44/12 = 0.037, the HL estimate by far less."""
    rng = random.Random(3)
    truth = math.log(TRUE_RATIO)
    hl_errors, mean_errors = [], []
    for _ in range(200):
        logs = [truth + rng.gauss(0.0, 0.01) for _ in range(11)] + [truth + 0.44]
        found = two_level_interval([[math.exp(x) for x in logs]])
        hl_errors.append(abs(math.log(found.processes[0].ratio) - truth))
        mean_errors.append(abs(sum(logs) / len(logs) - truth))
    hl, mean = sum(hl_errors) / 200, sum(mean_errors) / 200
    assert mean > 0.03
    assert hl < 0.2 * mean
    # nor does it inflate the within-process SD (a sample SD would be about 0.13)
    assert found.within_sd < 0.02


def test_the_within_process_interval_alone_undercovers() -> None:
    """Why the two levels exist: the Wilcoxon interval over all rounds ignores the process."""
    rng = random.Random(7)
    hits = sum(two_level_interval(_simulate(rng, 6, 12, 0.02, 0.01)).within.contains(TRUE_RATIO)
               for _ in range(300))
    assert hits / 300 < 0.8


def test_exact_figures_for_known_input() -> None:
    a, b = [1.0, 1.0, 1.0], [math.exp(0.02)] * 3
    found = two_level_interval([a, b] * 5)
    assert found.variance_source == "processes"
    assert found.df == 9
    assert found.interval.ratio == pytest.approx(math.exp(0.01))
    # s_m = sd(0, .02, ... 10 values) = sqrt(10 * 1e-4 / 9) = 0.0105409; t(0.975, 9) = 2.262157
    reach = 2.262157 * 0.010540926 / math.sqrt(10)
    assert found.interval.low == pytest.approx(math.exp(0.01 - reach), rel=1e-6)
    assert found.interval.high == pytest.approx(math.exp(0.01 + reach), rel=1e-6)
    assert found.interval.method == TWO_LEVEL_METHOD
    assert found.within_sd == 0.0
    assert found.between_sd == pytest.approx(0.010540926)
    assert [p.rounds for p in found.processes] == [3] * 10
    # four processes: their spread (3 df) pooled with the default prior (4 df)
    four = two_level_interval([a, b, a, b])
    assert four.variance_source == "default" and four.df == 7


def test_exact_figures_with_an_outlier_round() -> None:
    """Two processes under the default prior, worked out by hand.

    A = 0, .01, .02, .30: Walsh averages 0, .005, .01, .01, .015, .02, .15, .155, .16, .30,
    HL = (.015 + .02) / 2 = .0175 (the mean would be .0825); median .015, |deviations|
    .015, .005, .005, .285. B = .04, .05, .06, .05: HL .05, median .05, |deviations| .01, 0,
    .01, 0. Pooled |deviations| sorted 0, 0, .005, .005, .01, .01, .015, .285: MAD .0075.
    """
    a, b = [0.0, 0.01, 0.02, 0.30], [0.04, 0.05, 0.06, 0.05]
    found = two_level_interval([[math.exp(x) for x in a], [math.exp(x) for x in b]])
    sigma = 1.4826 * 0.0075
    assert found.within_sd == pytest.approx(sigma)
    assert [math.log(p.ratio) for p in found.processes] == pytest.approx([0.0175, 0.05])
    assert [p.within_sd for p in found.processes] == pytest.approx([1.4826 * 0.01,
                                                                    1.4826 * 0.005])
    v = (math.pi / 3) * sigma ** 2 / 4  # each process's HL variance, 4 rounds
    assert [p.estimate_se for p in found.processes] == pytest.approx([math.sqrt(v)] * 2)
    centre = (0.0175 + 0.05) / 2
    spread = (0.05 - 0.0175) ** 2 / 2  # sample variance of two values
    assert found.interval.ratio == pytest.approx(math.exp(centre))
    assert found.variance_source == "default" and found.df == 5
    pooled = (1 * spread + 4 * (0.03 ** 2 + v)) / 5  # the default prior: SD 3%, 4 df
    reach = 2.570582 * math.sqrt(pooled / 2)  # t(0.975, 5 df)
    assert found.interval.low == pytest.approx(math.exp(centre - reach), rel=1e-6)
    assert found.interval.high == pytest.approx(math.exp(centre + reach), rel=1e-6)
    assert found.between_sd == pytest.approx(math.sqrt(spread - v))
    variance, df = between_estimate([a, b])
    assert variance == pytest.approx(spread - v) and df == 1


def test_one_process_takes_the_prior() -> None:
    found = two_level_interval([[1.0, 1.0, 1.0, 1.0]])
    assert found.variance_source == "default"
    assert found.df == DEFAULT_BETWEEN_PRIOR.df
    assert found.between_sd is None
    reach = math.log(found.interval.high)
    assert reach == pytest.approx(2.776445 * DEFAULT_BETWEEN_PRIOR.sd, rel=1e-5)


def test_between_estimate_subtracts_the_within_noise() -> None:
    variance, df = between_estimate([[0.0, 0.02], [0.0, 0.02]])
    assert (variance, df) == (0.0, 1)
    variance, df = between_estimate([[0.0, 0.0], [0.04, 0.04]])
    assert variance == pytest.approx(0.0008) and df == 1


def test_pooled_prior_weights_by_degrees_of_freedom() -> None:
    prior = pooled_between_prior([(0.0004, 1), (0.0001, 3), (0.5, 0)])
    assert prior is not None and prior.source == "pooled"
    assert prior.df == 4 and prior.sd == pytest.approx(math.sqrt(0.000175))
    assert pooled_between_prior([(0.1, 0)]) is None


def test_bad_input() -> None:
    with pytest.raises(ValueError):
        two_level_interval([[], []])
    with pytest.raises(ValueError):
        BetweenPrior(0.01, 3, "guess")
