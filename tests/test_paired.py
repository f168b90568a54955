"""The rounds engine on scripted members and a fake clock: exact rounds, drift, stopping rule,
time budgets, failures."""

from __future__ import annotations

import pytest

from profiler.errors import InvalidOptionError, MeasurementError
from profiler.rounds import (
    DEFAULT_TARGET_HALF_WIDTH,
    MemberOutcome,
    PairingSettings,
    paired_interval,
    run_rounds,
)
from profiler.stats import median
from tests.helpers.fake_members import ScriptedMember, SharedClock, noisy
from tests.test_import_graph import _chain, _loaded_on_import

SETTINGS = PairingSettings(block_time=0.25, min_rounds=8, max_rounds=100, group_time=1e9)


def _members(clock: SharedClock, *steps: object, **kwargs: object) -> list[ScriptedMember]:
    return [ScriptedMember(f"m{i}", clock, step, **kwargs)  # type: ignore[arg-type]
            for i, step in enumerate(steps)]


def test_exact_durations_give_exact_ratios_in_min_rounds() -> None:
    clock = SharedClock()
    members = _members(clock, 0.1, 0.125, 0.05)
    outcome = run_rounds(members, SETTINGS, seed=1, now=clock.now)
    assert outcome.stopped == "converged" and outcome.rounds == SETTINGS.min_rounds
    assert outcome.steps_per_round == 2  # ceil(0.25 s / 0.125 s, the slowest member)
    assert all(sorted(order) == [0, 1, 2] for order in outcome.orders)
    assert len(set(outcome.orders)) > 1  # shuffled afresh
    assert outcome.comparisons[0] is None
    first, second = outcome.comparisons[1], outcome.comparisons[2]
    assert first is not None and second is not None
    assert first.ratio == pytest.approx(0.8) and first.low == pytest.approx(0.8)
    assert second.ratio == pytest.approx(2.0) and second.high == pytest.approx(2.0)
    assert first.rounds == SETTINGS.min_rounds
    for member in outcome.members:
        assert member.status == "ok" and member.warmup_times and member.rounds_run == 8
        assert len(member.samples) == 16
    # the clock ran warm-up (3 steps each) and 8 rounds of 2 steps of each member
    assert clock.t == pytest.approx(3 * 0.275 + 8 * 2 * 0.275)
    assert outcome.warmup_s == pytest.approx(3 * 0.275)


def test_the_seed_fixes_the_orders() -> None:
    def orders(seed: int) -> tuple[tuple[int, ...], ...]:
        clock = SharedClock()
        return run_rounds(_members(clock, 0.1, 0.1, 0.1, 0.1), SETTINGS, seed=seed,
                          now=clock.now).orders

    assert orders(5) == orders(5) != orders(6)
    clock = SharedClock()
    drawn = run_rounds(_members(clock, 0.1, 0.1), SETTINGS, now=clock.now)
    assert isinstance(drawn.seed, int)


def test_alternate_order_is_abba() -> None:
    clock = SharedClock()
    settings = PairingSettings(block_time=0.1, min_rounds=6, order="alternate")
    outcome = run_rounds(_members(clock, 0.1, 0.1), settings, now=clock.now)
    assert outcome.orders == ((0, 1), (1, 0)) * 3


def _drift(base: float) -> object:
    """The machine slows down by 5% per second of fake time (a busy neighbour ramping up)."""
    return lambda t: base * (1.0 + 0.05 * t)


def test_drift_fools_unpaired_ratios_but_not_paired_ones() -> None:
    truth = 0.1 / 0.11  # B does 10% more work per step: B keeps 90.9% of A's throughput
    # unpaired, as the suite runner timed cases before: all of A, then all of B
    clock = SharedClock()
    a, b = _members(clock, _drift(0.1), _drift(0.11))
    a.warm_up()
    a_times = a.time_block(40)
    b.warm_up()
    b_times = b.time_block(40)
    unpaired = median(a_times) / median(b_times)
    assert abs(unpaired - truth) / truth > 0.05  # drift between the two runs: >5% off

    clock = SharedClock()
    members = _members(clock, noisy(_drift(0.1), 0.01, 1), noisy(_drift(0.11), 0.01, 2))
    outcome = run_rounds(members, SETTINGS, seed=3, now=clock.now)
    paired = outcome.comparisons[1]
    assert paired is not None and paired.contains(truth)
    assert abs(paired.ratio - truth) / truth < 0.005
    assert clock.t > 5  # the machine slowed down by more than 25% during the rounds


def test_rounds_go_on_until_the_interval_is_narrow_enough() -> None:
    clock = SharedClock()
    members = _members(clock, noisy(lambda t: 0.1, 0.15, 4), noisy(lambda t: 0.1, 0.15, 5))
    outcome = run_rounds(members, PairingSettings(block_time=0.1, min_rounds=8,
                                                  max_rounds=500, group_time=1e9),
                         seed=2, now=clock.now)
    assert outcome.stopped == "converged" and outcome.rounds > 8
    final = outcome.comparisons[1]
    assert final is not None and final.half_width < DEFAULT_TARGET_HALF_WIDTH
    # one round fewer was not enough
    shorter = [MemberOutcome(m.name, m.batch, times=m.times[:-1]) for m in outcome.members]
    before = paired_interval(shorter[1], shorter[0])
    assert before is not None and before.half_width >= DEFAULT_TARGET_HALF_WIDTH


def test_time_budget_ends_the_rounds() -> None:
    clock = SharedClock()
    members = _members(clock, noisy(lambda t: 0.1, 0.5, 4), noisy(lambda t: 0.1, 0.5, 5))
    settings = PairingSettings(block_time=0.1, min_rounds=8, max_rounds=10_000, group_time=5.0)
    outcome = run_rounds(members, settings, seed=1, now=clock.now)
    assert outcome.stopped == "time budget"
    per_round = 0.2
    assert outcome.rounds == pytest.approx(5.0 / per_round, abs=3)
    assert outcome.rounds_s >= 5.0 and outcome.rounds_s - 5.0 < 2 * per_round * 1.5
    interval = outcome.comparisons[1]
    assert interval is not None and interval.half_width >= settings.target_half_width


def test_min_rounds_run_even_past_the_budget_and_the_deadline() -> None:
    clock = SharedClock()
    members = _members(clock, noisy(lambda t: 1.0, 0.5, 4), noisy(lambda t: 1.0, 0.5, 5))
    settings = PairingSettings(block_time=1.0, min_rounds=6, group_time=0.0)
    outcome = run_rounds(members, settings, seed=1, now=clock.now, deadline=0.0)
    assert outcome.rounds == 6 and outcome.stopped == "time budget"


def test_deadline_cuts_a_long_group_budget() -> None:
    clock = SharedClock()
    members = _members(clock, noisy(lambda t: 0.1, 0.5, 4), noisy(lambda t: 0.1, 0.5, 5))
    settings = PairingSettings(block_time=0.1, min_rounds=2, max_rounds=10_000,
                               group_time=1000.0)
    outcome = run_rounds(members, settings, seed=1, now=clock.now, deadline=3.0)
    assert outcome.stopped == "time budget" and clock.t < 3.5


def test_max_rounds() -> None:
    clock = SharedClock()
    members = _members(clock, noisy(lambda t: 0.1, 0.5, 4), noisy(lambda t: 0.1, 0.5, 5))
    settings = PairingSettings(block_time=0.1, min_rounds=3, max_rounds=9, group_time=1e9)
    outcome = run_rounds(members, settings, seed=1, now=clock.now)
    assert outcome.stopped == "max rounds" and outcome.rounds == 9


def test_a_member_running_out_of_memory_mid_group_leaves_the_rest_measured() -> None:
    clock = SharedClock()
    members = _members(clock, 0.1, 0.2, 0.05)
    members[1].fail_at_round = 3
    outcome = run_rounds(members, SETTINGS, seed=1, now=clock.now)
    failed = outcome.members[1]
    assert failed.status == "oom" and failed.error is not None and "out of memory" in failed.error
    assert failed.rounds_run == 3 and all(block is None for block in failed.times[3:])
    partial = outcome.comparisons[1]
    assert partial is not None and partial.rounds == 3 and partial.ratio == pytest.approx(0.5)
    assert partial.low is None  # three rounds give no 95% interval
    kept = outcome.comparisons[2]
    assert kept is not None and kept.ratio == pytest.approx(2.0) and kept.rounds == 8
    assert outcome.stopped == "converged"
    assert all(m.status == "ok" and m.rounds_run == 8 for m in (outcome.members[0],
                                                                outcome.members[2]))


def test_a_member_failing_in_warm_up_is_recorded_with_its_error() -> None:
    clock = SharedClock()
    members = _members(clock, 0.1, 0.1, 0.1)
    members[2].fail_in_warm_up = True
    members[2].failure = RuntimeError("shape mismatch\nmore detail")
    outcome = run_rounds(members, SETTINGS, seed=1, now=clock.now)
    failed = outcome.members[2]
    assert failed.status == "error" and failed.error == "RuntimeError: shape mismatch"
    assert failed.rounds_run == 0 and outcome.comparisons[2] is None
    assert outcome.members[1].rounds_run == 8 and outcome.stopped == "converged"
    assert all(2 not in order for order in outcome.orders)


def test_attnprof_errors_keep_their_own_message() -> None:
    clock = SharedClock()
    members = _members(clock, 0.1, 0.1)
    members[1].fail_at_round = 0
    members[1].failure = MeasurementError("resnet50+x failed: bad option")
    outcome = run_rounds(members, SETTINGS, seed=1, now=clock.now)
    assert outcome.members[1].error == "resnet50+x failed: bad option"


def test_a_failed_baseline_leaves_nothing_to_compare_after_min_rounds() -> None:
    clock = SharedClock()
    members = _members(clock, 0.1, 0.1, 0.1)
    members[0].fail_at_round = 2
    outcome = run_rounds(members, SETTINGS, seed=1, now=clock.now)
    assert outcome.stopped == "nothing to compare" and outcome.rounds == SETTINGS.min_rounds
    assert outcome.members[1].rounds_run == 8  # still timed for its own figures


def test_every_member_failing_stops_the_group() -> None:
    clock = SharedClock()
    members = _members(clock, 0.1, 0.1, fail_in_warm_up=True)
    outcome = run_rounds(members, SETTINGS, seed=1, now=clock.now)
    assert outcome.stopped == "nothing to compare" and outcome.rounds == 0
    assert [m.status for m in outcome.members] == ["oom", "oom"]


def test_baseline_other_than_the_first() -> None:
    clock = SharedClock()
    outcome = run_rounds(_members(clock, 0.2, 0.1), SETTINGS, baseline=1, seed=1,
                         now=clock.now)
    assert outcome.comparisons[1] is None
    found = outcome.comparisons[0]
    assert found is not None and found.ratio == pytest.approx(0.5)


def test_members_with_other_batches_compare_images_per_second() -> None:
    clock = SharedClock()
    members = [ScriptedMember("a", clock, 0.1, batch=4), ScriptedMember("b", clock, 0.1, batch=2)]
    outcome = run_rounds(members, SETTINGS, seed=1, now=clock.now)
    found = outcome.comparisons[1]
    assert found is not None and found.ratio == pytest.approx(0.5)


@pytest.mark.parametrize("kwargs", [{"order": "random"}, {"min_rounds": 0},
                                    {"min_rounds": 5, "max_rounds": 4},
                                    {"target_half_width": 0.0}, {"confidence": 1.0}])
def test_bad_settings_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidOptionError):
        PairingSettings(**kwargs)  # type: ignore[arg-type]


def test_a_group_needs_two_members_and_a_valid_baseline() -> None:
    clock = SharedClock()
    with pytest.raises(InvalidOptionError, match="two members"):
        run_rounds(_members(clock, 0.1), SETTINGS)
    with pytest.raises(InvalidOptionError, match="baseline"):
        run_rounds(_members(clock, 0.1, 0.1), SETTINGS, baseline=2)


def test_settings_round_trip() -> None:
    settings = PairingSettings(block_time=0.3, min_rounds=6, order="alternate")
    assert PairingSettings.from_dict({**settings.to_dict(), "unknown": 1}) == settings


@pytest.mark.parametrize("module", ["profiler.stats", "profiler.rounds"])
def test_statistics_and_engine_load_without_torch(module: str) -> None:
    """The engine is driven by worker processes too (the gate); the statistics are read by
    report and compare: neither may load torch."""
    loaded, parent = _loaded_on_import(module)
    heavy = sorted(m for m in loaded if m.split(".")[0] in ("torch", "fvcore"))
    assert not heavy, _chain(parent, heavy[0], module) if heavy else ""
