"""The gate's decision per timing case, and the budget an inconclusive case would need."""

from __future__ import annotations

import math

import pytest

from profiler.gate.decision import decide, rounds_needed, seconds_needed


@pytest.mark.parametrize(("low", "high", "expected"), [
    (0.88, 0.94, "regression"),      # wholly below 0.95
    (0.90, 0.9499, "regression"),
    (0.90, 0.95, "inconclusive"),    # touches the edge: not wholly below
    (0.93, 0.97, "inconclusive"),    # straddles 0.95
    (0.95, 1.05, "unchanged"),       # the band itself
    (0.97, 1.02, "unchanged"),
    (1.03, 1.07, "inconclusive"),    # straddles 1.05
    (1.0501, 1.10, "improved"),
    (0.80, 1.20, "inconclusive"),    # wider than the band
])
def test_decide_at_a_5_percent_limit(low: float, high: float, expected: str) -> None:
    assert decide(low, high, 0.05) == expected


def test_decide_rejects_reversed_intervals_and_bad_limits() -> None:
    with pytest.raises(ValueError, match="reversed"):
        decide(1.1, 0.9, 0.05)
    with pytest.raises(ValueError, match="limit"):
        decide(0.9, 1.1, 1.5)


def test_rounds_needed_scales_with_the_square_of_the_width() -> None:
    # ratio 0.93, half-width 0.04 straddles 0.95: the decision needs half-width 0.02 ->
    # (0.04 / 0.02)^2 = 4 times the rounds
    assert rounds_needed(0.93, 0.89, 0.97, 20, 0.05) == 80
    # inside the band but too wide: ratio 1.00 is 0.05 from either edge, half-width 0.1
    assert rounds_needed(1.0, 0.9, 1.1, 10, 0.05) == 40
    # asymmetric intervals use the wider side
    assert rounds_needed(1.0, 0.98, 1.10, 10, 0.05) == 40
    # already narrow enough: the rounds it had
    assert rounds_needed(1.0, 0.97, 1.03, 12, 0.05) == 12


def test_a_ratio_on_the_edge_can_never_be_decided() -> None:
    assert rounds_needed(0.95, 0.90, 1.00, 10, 0.05) is None
    assert seconds_needed(0.95, 0.90, 1.00, 10, 0.05, 30.0).seconds is None


def test_seconds_needed_scales_the_time_of_the_rounds_run() -> None:
    needed = seconds_needed(0.93, 0.89, 0.97, 20, 0.05, 15.0)
    assert needed.rounds == 80
    assert math.isclose(needed.seconds or 0.0, 60.0)
