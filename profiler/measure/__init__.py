"""Measuring harnesses: counting (params/FLOPs/activations), timing, memory, traces.

Measuring knows nothing of reports: every function here returns typed result records
(:mod:`profiler.results`) and never prints.
"""
