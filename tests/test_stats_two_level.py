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
              within: float) -> list[list[float]]:
    """Per-round ratios: log ratio = log(TRUE_RATIO) + process effect + round noise."""
    out = []
    for _ in range(processes):
        offset = rng.gauss(0.0, between)
        out.append([math.exp(math.log(TRUE_RATIO) + offset + rng.gauss(0.0, within))
                    for _ in range(rounds)])
    return out


def _coverage(processes: int, prior: BetweenPrior | None, seeds: int = 800) -> float:
    rng = random.Random(20261202 + processes)
    hits = 0
    for _ in range(seeds):
        found = two_level_interval(_simulate(rng, processes, 12, 0.02, 0.01), prior).interval
        hits += found.contains(TRUE_RATIO)
    return hits / seeds


def test_coverage_from_the_processes_alone() -> None:
    assert 0.90 <= _coverage(6, None) <= 0.98


def test_coverage_with_few_processes_and_a_calibrated_prior() -> None:
    prior = BetweenPrior(0.02, 30.0, "calibration")
    assert 0.90 <= _coverage(2, prior) <= 0.98


def test_the_within_process_interval_alone_undercovers() -> None:
    """Why the two levels exist: the Wilcoxon interval over all rounds ignores the process."""
    rng = random.Random(7)
    hits = sum(two_level_interval(_simulate(rng, 6, 12, 0.02, 0.01)).within.contains(TRUE_RATIO)
               for _ in range(300))
    assert hits / 300 < 0.8


def test_exact_figures_for_known_input() -> None:
    a, b = [1.0, 1.0, 1.0], [math.exp(0.02)] * 3
    found = two_level_interval([a, b, a, b])
    assert found.variance_source == "processes"
    assert found.df == 3
    assert found.interval.ratio == pytest.approx(math.exp(0.01))
    # s_m = sd(0, .02, 0, .02) = 0.011547; t(0.975, 3) = 3.182446
    reach = 3.182446 * 0.011547005 / 2
    assert found.interval.low == pytest.approx(math.exp(0.01 - reach), rel=1e-6)
    assert found.interval.high == pytest.approx(math.exp(0.01 + reach), rel=1e-6)
    assert found.interval.method == TWO_LEVEL_METHOD
    assert found.within_sd == 0.0
    assert found.between_sd == pytest.approx(0.011547005)
    assert [p.rounds for p in found.processes] == [3, 3, 3, 3]


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
