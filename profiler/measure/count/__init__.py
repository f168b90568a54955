"""Counting: parameters, FLOPs and activations of a workload, under named conventions.

:mod:`~profiler.measure.count.counting` runs a :class:`~profiler.spec.CountSpec`;
:mod:`~profiler.measure.count.fvcore_trace` is its one fvcore trace, priced by
:mod:`~profiler.measure.count.flop_handles`; :mod:`~profiler.measure.count.counters` holds the
named FLOP counters (fvcore, torch, thop emulations); :mod:`~profiler.measure.count.variants`
the implementation variants that explain published counts.
"""
