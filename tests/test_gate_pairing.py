"""The gate's rounds (the paired engine with base and head) on scripted members and a fake
clock: exact ratios and decisions, the ABBA order, drift, noise, a failing side."""

from __future__ import annotations

import math
import random

import pytest

from profiler.errors import MeasurementError
from profiler.gate.decision import decide
from profiler.gate.pairing import (
    combine_attempts,
    confirm,
    gate_settings,
    needs_confirmation,
    time_pair,
    timing_case,
)
from profiler.results.gate import SideTiming, TimingCase
from profiler.rounds import PairingSettings
from profiler.stats import ratio_interval
from tests.helpers.fake_members import ScriptedMember, SharedClock, noisy

LIMIT = 0.05


def _gate(base_step: object, head_step: object, *, seconds: float = 60.0,
          target: float = 0.02, **head: object) -> tuple[object, SharedClock]:
    clock = SharedClock()
    members = [ScriptedMember("base", clock, base_step, batch=4),  # type: ignore[arg-type]
               ScriptedMember("head", clock, head_step, batch=4, **head)]  # type: ignore[arg-type]
    outcome = time_pair(members, gate_settings(seconds, target), now=clock.now)
    return timing_case("bench-1", "infer Work b4", outcome, LIMIT), clock


def test_rounds_alternate_which_side_goes_first() -> None:
    case, _ = _gate(0.01, 0.01)
    assert case.rounds >= 8
    assert case.first[:4] == ("base", "head", "base", "head")
    assert len(case.base.blocks) == len(case.head.blocks) == case.rounds
    assert all(len(b) == case.steps_per_block for b in case.head.blocks)


@pytest.mark.parametrize(("head_step", "decision", "ratio"), [
    (0.011, "regression", 1 / 1.1),      # 10% more work per step
    (0.010, "unchanged", 1.0),
    (0.0095, "improved", 1 / 0.95),
    (0.0104, "unchanged", 1 / 1.04),     # 3.8% slower: inside the 5% band
])
def test_exact_step_times_give_exact_ratios_and_decisions(head_step: float, decision: str,
                                                          ratio: float) -> None:
    case, _ = _gate(0.010, head_step)
    assert case.decision == decision
    assert case.ratio == pytest.approx(ratio)
    assert case.ci_low == pytest.approx(ratio) and case.ci_high == pytest.approx(ratio)
    assert case.stopped == "converged" and case.error is None
    assert case.base.images_per_sec == pytest.approx(400.0)
    assert case.head.images_per_sec == pytest.approx(4 / head_step)


def test_a_drifting_machine_does_not_fake_a_regression() -> None:
    # the machine slows down 2% per second, both sides alike: each round's ratio sees the
    # same machine, and ABBA cancels the drift within a round (the second side is slower)
    def drift(t: float) -> float:
        return 0.01 * (1 + t / 50)

    case, clock = _gate(drift, drift)
    assert clock.t > 4 and drift(clock.t) > 1.08 * drift(0.0)
    assert case.decision == "unchanged"
    assert case.ratio == pytest.approx(1.0, abs=1e-3)
    assert case.ci_low is not None and case.ci_high is not None
    assert case.ci_low <= 1.0 <= case.ci_high


def test_noise_makes_a_small_budget_inconclusive_and_says_what_would_decide() -> None:
    case, _ = _gate(noisy(lambda t: 0.01, 0.4, seed=1), noisy(lambda t: 0.0106, 0.4, seed=2),
                    seconds=1.0, target=0.001)
    assert case.decision == "inconclusive" and case.stopped == "time budget"
    assert case.ci_low is not None and case.ci_high is not None
    assert case.ci_low < 1 - LIMIT < case.ci_high
    assert case.needed_rounds is not None and case.needed_rounds > case.rounds
    assert case.needed_seconds is not None and case.needed_seconds > case.seconds


def test_a_side_failing_mid_run_is_an_error_case_with_one_line() -> None:
    failure = MeasurementError("worker died while timing (exit status 3)")
    case, _ = _gate(0.01, 0.01, fail_at_round=3, failure=failure)
    assert case.decision == "error"
    assert case.error == "head: worker died while timing (exit status 3)"
    assert case.head.error == "worker died while timing (exit status 3)"
    assert case.base.error is None
    assert len([b for b in case.head.blocks if b]) == 3


def test_a_gate_pairs_exactly_two_members() -> None:
    clock = SharedClock()
    with pytest.raises(ValueError, match="exactly two"):
        time_pair([ScriptedMember("base", clock, 0.01)], gate_settings(1.0, 0.02))


def test_the_suite_sets_block_time_and_rounds_the_gate_sets_time_target_and_order() -> None:
    suite = PairingSettings(block_time=0.1, min_rounds=12, max_rounds=50, group_time=99.0,
                            target_half_width=0.5, order="shuffle")
    settings = gate_settings(10.0, 0.02, suite)
    assert (settings.block_time, settings.min_rounds, settings.max_rounds) == (0.1, 12, 50)
    assert (settings.group_time, settings.target_half_width) == (10.0, 0.02)
    assert settings.order == "alternate"
    assert gate_settings(10.0, 0.02).block_time == PairingSettings().block_time


# Confirmation in fresh processes: each "process" is one scripted pair of members, so a
# process whose head runs slow for reasons of its own (not the code) is one attempt.


def _attempt(base_step: float, head_step: float) -> TimingCase:
    case, _ = _gate(base_step, head_step)
    return case


def test_a_regression_confirmed_in_fresh_processes_stands() -> None:
    first, second = _attempt(0.010, 0.0110), _attempt(0.010, 0.0112)
    assert first.decision == second.decision == "regression"
    case = confirm(first, lambda: second, LIMIT)
    assert case.decision == "regression" and case.confirmation == "confirmed"
    assert case.attempts == (first, second)
    # the rounds of both attempts pooled: two exact clusters, the estimate midway (in log)
    assert case.ci_low == pytest.approx(1 / 1.12) and case.ci_high == pytest.approx(1 / 1.1)
    assert case.ratio == pytest.approx((1 / 1.1 / 1.12) ** 0.5)
    assert case.rounds == first.rounds + second.rounds
    assert case.head.blocks == first.head.blocks + second.head.blocks
    assert case.head.images_per_sec is not None
    assert 4 / 0.0112 < case.head.images_per_sec < 4 / 0.0110
    assert "fresh worker processes" in case.method and case.needed_rounds is None


def test_a_slow_process_is_not_a_regression_when_fresh_processes_disagree() -> None:
    # identical code; the head's first process runs 12% slower for the whole attempt
    first = _attempt(0.010, 0.0112)
    assert first.decision == "regression"  # one attempt alone would be fooled
    case = confirm(first, lambda: _attempt(0.010, 0.0100), LIMIT)
    assert case.decision == "inconclusive" and case.confirmation == "not confirmed"
    assert case.ci_low == pytest.approx(1 / 1.12) and case.ci_high == pytest.approx(1.0)
    assert case.needed_rounds is None and case.needed_seconds is None
    improved = confirm(_attempt(0.0110, 0.010), lambda: _attempt(0.010, 0.0101), LIMIT)
    assert improved.decision == "inconclusive" and improved.confirmation == "not confirmed"


def test_an_improvement_is_confirmed_too_and_other_decisions_are_not_measured_again() -> None:
    case = confirm(_attempt(0.0110, 0.010), lambda: _attempt(0.0110, 0.0100), LIMIT)
    assert case.decision == "improved" and case.confirmation == "confirmed"

    def never() -> TimingCase:
        raise AssertionError("measured again")

    for head_step in (0.0100, 0.0104):  # unchanged
        first = _attempt(0.010, head_step)
        assert confirm(first, never, LIMIT) is first and not needs_confirmation(first)
    noisy_case, _ = _gate(noisy(lambda t: 0.01, 0.4, seed=1),
                          noisy(lambda t: 0.0106, 0.4, seed=2), seconds=1.0, target=0.001)
    assert noisy_case.decision == "inconclusive" and confirm(noisy_case, never, LIMIT) is noisy_case


def test_fresh_processes_that_fail_make_an_error_case() -> None:
    first = _attempt(0.010, 0.0112)
    failed = TimingCase(case_id=first.case_id, label=first.label, decision="error",
                        error="head: worker died while loading (exit status 3)",
                        head=SideTiming(error="worker died while loading (exit status 3)"))
    case = combine_attempts(first, failed, LIMIT)
    assert case.decision == "error" and case.error == failed.error
    assert case.head.error == failed.head.error and case.attempts == (first, failed)


def _simulated_attempt(log_ratios: list[float]) -> TimingCase:
    """An attempt whose rounds had these head/base log throughput ratios (one step each)."""
    interval = ratio_interval([math.exp(x) for x in log_ratios])
    assert interval.low is not None and interval.high is not None
    base = SideTiming(batch=1, blocks=tuple((0.01,) for _ in log_ratios))
    head = SideTiming(batch=1, blocks=tuple((0.01 / math.exp(x),) for x in log_ratios))
    return TimingCase(case_id="bench-1", label="infer sim b1",
                      decision=decide(interval.low, interval.high, LIMIT), base=base,
                      head=head, ratio=interval.ratio, ci_low=interval.low,
                      ci_high=interval.high, rounds=len(log_ratios))


def _gates(delta: float, spread: float, rng: random.Random, trials: int = 300
           ) -> tuple[float, float]:
    """Share of gates that say regression with one attempt, and after confirmation: each
    attempt's processes add a head/base offset drawn with ``spread`` per process, and each
    round noise of 4.5% (about ±2% intervals over 20 rounds)."""
    def attempt() -> TimingCase:
        offset = rng.gauss(0.0, spread * math.sqrt(2))
        return _simulated_attempt([delta + offset + rng.gauss(0.0, 0.045) for _ in range(20)])

    single = confirmed = 0
    for _ in range(trials):
        first = attempt()
        single += first.decision == "regression"
        confirmed += confirm(first, attempt, LIMIT).decision == "regression"
    return single / trials, confirmed / trials


def test_confirmation_cuts_false_regressions_and_keeps_detections() -> None:
    rng = random.Random(7)
    single, confirmed = _gates(0.0, 0.05, rng)  # identical code, 5% spread per process
    assert single > 0.1 and confirmed < single / 2.5
    single, confirmed = _gates(math.log(0.91), 0.015, rng)  # 9% slower, 1.5% spread
    assert single > 0.7 and confirmed > single - 0.05
