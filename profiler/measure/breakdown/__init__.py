"""Breakdowns and traces: where one step's time goes, attributed to the model's parts.

:mod:`~profiler.measure.breakdown.harness` runs a :class:`~profiler.spec.BreakdownSpec`: a
profiled window (:mod:`~profiler.measure.breakdown.profiling`), its operations placed in parts
(:mod:`~profiler.measure.breakdown.attribution`, :mod:`~profiler.measure.breakdown.parts`),
the profiler's own cost taken out (:mod:`~profiler.measure.breakdown.overhead`,
:mod:`~profiler.measure.breakdown.compensation`), each part's FLOPs and minimal traffic beside
it (:mod:`~profiler.measure.breakdown.part_flops`, :mod:`~profiler.measure.breakdown.traffic`).
:mod:`~profiler.measure.breakdown.trace` writes Chrome traces. The top layer of measuring: it
uses counting, timing and memory.
"""
