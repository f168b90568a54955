"""What would decide an inconclusive throughput verdict: exact extrapolations, and the
sentence on the committed fixture's inconclusive verdicts (an older, one-process file)."""

from __future__ import annotations

from pathlib import Path

from profiler.claims.paper import load_claims
from profiler.report.data import collect
from profiler.report.verdicts.decide import Effort, what_would_decide
from profiler.report.verdicts.speed import ordering_verdicts, ratio_verdicts
from profiler.results.envelope import load_result_file

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "results" / "eca-paper-cpu.json"


def test_more_rounds_from_the_rounds_and_their_time() -> None:
    # 16 rounds in 40 s (2.5 s each) reached +-10 pp; +-5 pp needs 16 x (10/5)^2 = 64 rounds:
    # 48 more, 120 s
    effort = Effort(rounds=16, rounds_s=40.0)
    assert what_would_decide(0.10, 0.05, effort) == (
        "to decide: more rounds: about 64 instead of 16 (~2.0 min more) would narrow "
        "±10.0 pp to ±5.0 pp")


def test_more_processes_when_the_spread_between_them_dominates() -> None:
    # 3 processes of 100 s each reached +-4 pp; +-2 pp needs 12: 9 more, 900 s
    effort = Effort(rounds=30, rounds_s=60.0, processes=3, duration_s=300.0,
                    between_dominates=True)
    assert what_would_decide(0.04, 0.02, effort) == (
        "to decide: more processes: about 12 instead of 3 (~15 min more) would narrow "
        "±4.0 pp to ±2.0 pp")
    within = Effort(rounds=30, rounds_s=60.0, processes=3, duration_s=300.0,
                    between_dominates=False)
    assert what_would_decide(0.04, 0.02, within).startswith("to decide: more rounds: about 120")


def test_a_quieter_machine_when_no_sensible_budget_would_do() -> None:
    # a 0.1% difference at +-2 pp: 400x the rounds
    text = what_would_decide(0.02, 0.001, Effort(rounds=16, rounds_s=40.0))
    assert text.startswith("to decide: a quieter machine (at this run's noise it would take "
                           "about 6400 rounds")
    assert what_would_decide(0.02, 0.0, Effort(rounds=16, rounds_s=40.0)).startswith(
        "to decide: a quieter machine")
    assert "time them together" in what_would_decide(0.02, 0.01, None)


def test_every_inconclusive_verdict_of_the_fixture_says_what_would_decide_it() -> None:
    data = collect([("paper", load_result_file(FIXTURE))])
    claims = load_claims("eca-cvpr2020")
    verdicts = [*ratio_verdicts(claims, data), *ordering_verdicts(claims, data)]
    inconclusive = [v for v in verdicts if v.status == "inconclusive"]
    assert inconclusive
    for verdict in inconclusive:
        assert "to decide: " in verdict.explanation, verdict
    assert all("to decide" not in v.explanation for v in verdicts
               if v.status != "inconclusive")
