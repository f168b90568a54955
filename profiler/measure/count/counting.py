"""Count parameters, FLOPs and activations with fvcore, under explicit conventions.

One ``torch.jit`` trace per workload yields every figure: fvcore's default FLOPs, the "all ops"
FLOPs, activations, per operator and per module, and the operators nothing counted (see
:mod:`profiler.measure.count.flop_handles` for every formula). Counting runs the model in eval mode
under ``torch.no_grad`` on the CPU at the spec's batch size. Other counters
(:mod:`profiler.measure.count.counters`: the thop emulations, FlopCounterMode) run on request, on a
copy of the model on the ``meta`` device.

Attention overhead is what sits inside attention modules: the modules
:func:`profiler.models.attention_modules` finds (submodules named ``attn``, or instances of a
registered block); for a single-block workload, the whole block.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

import torch
from torch import nn

from profiler.errors import AttnprofError, MeasurementError, one_line
from profiler.measure.count import counters
from profiler.measure.count.fvcore_trace import count_module
from profiler.measure.device import torch_threads
from profiler.measure.workload import build_module, example_input
from profiler.results.count import CountResult
from profiler.spec import CountSpec, Workload

__all__ = ["count"]

def count(spec: CountSpec) -> CountResult:
    """Count the workload of ``spec`` (params exact; FLOPs/activations at ``spec.batch``).

    fvcore and all come from one trace of the model on the CPU; the other counters of
    ``spec.conventions`` (and ``spec.backward``'s training step, by the first of them that
    counts backward) run on a copy built on the ``meta`` device, where only shapes are
    computed. ``flops`` reports the first counter.

    Counting needs shapes, not speed: it runs on one CPU thread (restored afterwards), so counts
    running beside other work (a suite, CI) do not oversubscribe the cores. Measured on two
    contended cores: the traced forward pass of ResNet-50 at batch 1 took 2.5 s on two threads,
    0.3 s on one.
    """
    workload = spec.workload
    for name in spec.conventions:
        counters.counter(name)
    stepper = next((n for n in spec.conventions if counters.counter(n).backward), spec.counter)
    if spec.backward:
        counters.check_backward(stepper)
    with torch_threads(1):
        module = _build(workload)
        inputs = example_input(workload, spec.batch)
        attention = [""] if workload.is_block else _attention_paths(module)
        traced = count_module(module, inputs, attention, label=workload.label)
        totals = {c.counter: c for c in traced.counters}
        extra = [name for name in dict.fromkeys(spec.conventions) if name not in totals]
        if extra:
            for total in _off_trace(workload, spec.batch, lambda m, x: (
                    counters.count_many(extra, m, x, attention))):
                totals[total.counter] = total
        train_step = None
        if spec.backward:
            train_step = _off_trace(workload, spec.batch, lambda m, x: (
                counters.count_train_step(stepper, m, x, workload.is_block)))
    headline = totals[spec.counter]
    return replace(traced, flops=headline.flops, attention_flops=headline.attention_flops,
                   convention=headline.counter, counters=tuple(totals.values()),
                   train_step_flops=train_step)

def _build(workload: Workload) -> nn.Module:
    try:
        return build_module(workload)
    except AttnprofError:
        raise
    except Exception as exc:
        raise MeasurementError(f"cannot build {workload.label}: "
                               f"{one_line(exc, typed=True)}") from exc

T = TypeVar("T")

def _off_trace(workload: Workload, batch: int,
               run: Callable[[nn.Module, torch.Tensor], T]) -> T:
    """``run`` on a fresh copy of the workload and its input on the ``meta`` device (shapes
    only, no arithmetic); again on the CPU if the module cannot be built or run there."""
    try:
        with torch.device("meta"):
            module = build_module(workload)
        return run(module, torch.empty((batch, *workload.input_shape), device="meta"))
    except AttnprofError:
        raise
    except Exception:
        pass
    try:
        return run(_build(workload), example_input(workload, batch))
    except AttnprofError:
        raise
    except Exception as exc:
        raise MeasurementError(f"cannot count {workload.label}: "
                               f"{one_line(exc, typed=True)}") from exc

def _attention_paths(model: nn.Module) -> list[str]:
    from profiler.models import attention_modules

    return [path for path, _ in attention_modules(model)]
