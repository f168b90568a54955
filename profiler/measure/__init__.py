"""Measuring: counting (params/FLOPs/activations), timing, memory, breakdowns and traces.

Sub-packages, layers pointing one way: :mod:`~profiler.measure.count` and
:mod:`~profiler.measure.memory` use only the shared modules here (case aside);
:mod:`~profiler.measure.timing` uses memory; :mod:`~profiler.measure.breakdown` uses all three.
The shared modules: :mod:`~profiler.measure.workload` (module and input of a spec),
:mod:`~profiler.measure.steps` (the step a run repeats), :mod:`~profiler.measure.device`,
:mod:`~profiler.measure.allocator`, :mod:`~profiler.measure.children`,
:mod:`~profiler.measure.env`; :mod:`~profiler.measure.case` dispatches a spec to its harness.

Measuring knows nothing of reports: every function here returns typed result records
(:mod:`profiler.results`) and never prints.
"""
