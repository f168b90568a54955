"""Timing: throughput and latency of a step, alone, in a comparison group, or across ranks.

:mod:`~profiler.measure.timing.bench` times one :class:`~profiler.spec.BenchSpec` with the rules
of :mod:`~profiler.measure.timing.loop` (warm-up, settling, rounds) in this process or with
:mod:`~profiler.measure.timing.distributed` (torchrun); :mod:`~profiler.measure.timing.group`
times several cases together through the torch-free rounds engine (:mod:`profiler.rounds`),
each a :mod:`~profiler.measure.timing.members` member. Clocks and the bandwidth floor sit
beside them. Timing uses :mod:`profiler.measure.memory`, never the other way round.
"""
