"""``attnprof gate``: measure a suite on a base tree and the head tree together, and decide.

One worker process per side (:mod:`profiler.gate.worker`, driven through
:mod:`profiler.gate.side`) imports that side's code; :mod:`profiler.gate.worktree` checks the
base ref out into a temporary git worktree; :mod:`profiler.gate.driver` pairs the sides'
cases, compares counts exactly and times each timing case in interleaved rounds
(:mod:`profiler.gate.pairing`); :mod:`profiler.gate.decision` turns each head/base ratio
interval into regression / improved / unchanged / inconclusive; :mod:`profiler.results.gate`
holds the outcome and its file, :mod:`profiler.gate.render` shows it.

This package module imports nothing: ``python -m profiler.gate.worker`` must not load the
driver (import from the modules above).
"""
