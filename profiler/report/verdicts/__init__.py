"""Claim checks: every published figure the results can speak to gets a verdict.

:mod:`~profiler.report.verdicts.verdict` defines :class:`~profiler.report.verdicts.verdict.Verdict`;
:mod:`~profiler.report.verdicts.counts` judges parameter and FLOP claims,
:mod:`~profiler.report.verdicts.speed` throughput claims,
:mod:`~profiler.report.verdicts.explain` says why a figure differs, and
:mod:`~profiler.report.verdicts.check` runs them all in report order.
"""
