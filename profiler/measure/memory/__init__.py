"""Memory: a step's peak (:mod:`~profiler.measure.memory.peak`), the CPU memory guard that
refuses what will not fit (:mod:`~profiler.measure.memory.guard`), and CUDA memory snapshots
(:mod:`~profiler.measure.memory.snapshot`). Uses only the shared pieces of
:mod:`profiler.measure`.
"""
