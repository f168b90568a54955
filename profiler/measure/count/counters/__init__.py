"""FLOP counters by name: what each one is or emulates, and one call to run it.

A published FLOPs figure is only as meaningful as the tool that printed it, so every counter
here is named after what it is: a tool attnprof runs live (``fvcore``, ``torch``), attnprof's
own all-operators convention (``all``), or an emulation of one real release of thop, the
module-hook counter of 2019-2020 papers, checked build by build against the real packages
(``tools/crosscheck_counters.py``, ``tests/test_counters_crosscheck.py``). Each counter is one
module whose docstring names the release and gives its formulas.

:data:`COUNTERS` is the registry (importing it needs no torch); :func:`count_with` runs one
counter on a model and returns a :class:`~profiler.results.count.CounterTotal`;
:func:`count_train_step` counts forward + backward with the counters that can
(:data:`BACKWARD_COUNTERS`). An unknown name raises a one-line UnknownNameError listing the
valid ones.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from profiler.errors import InvalidOptionError, UnknownNameError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from profiler.results.count import CounterTotal

__all__ = [
    "BACKWARD_COUNTERS",
    "COUNTERS",
    "DEFAULT_COUNTER",
    "TRACE_COUNTERS",
    "FlopCounter",
    "check_backward",
    "count_many",
    "count_train_step",
    "count_with",
    "counter",
]


@dataclass(frozen=True)
class FlopCounter:
    """One FLOP counter: ``name``; ``emulates`` (the real tool and release, or what attnprof
    runs live); ``summary``; the implementing ``module`` and ``function``; ``per_mac`` how
    many FLOPs it counts per multiply-add (1: its figures are MACs; 2: ``torch``);
    ``backward`` whether it can count a training step; ``release`` the name of the
    module's :class:`~profiler.measure.count.counters._thop.ThopRelease` for thop emulations (which
    then share one forward pass, :func:`count_many`)."""

    name: str
    emulates: str
    summary: str
    module: str
    function: str = "count"
    per_mac: int = 1
    backward: bool = False
    release: str = ""

    def load(self) -> Callable[..., CounterTotal]:
        """The counting function (imports its module, and torch, on first use)."""
        module = importlib.import_module(f"{__name__}.{self.module}")
        found: Callable[..., CounterTotal] = getattr(module, self.function)
        return found


_LIST: tuple[FlopCounter, ...] = (
    FlopCounter(
        "fvcore", "fvcore 0.1.5 FlopCountAnalysis defaults, run live",
        "conv/linear/matmul multiply-adds, BN 2 per element, GAP 1 per input element; "
        "elementwise ops free", "fvcore_default"),
    FlopCounter(
        "all", "attnprof's all-operators convention, no external tool",
        "fvcore plus 1 per element of every elementwise op, reduction and pooling window",
        "all_ops"),
    FlopCounter(
        "thop-0.0.23", "thop 0.0.23.post1907171430 to 0.0.23.post1908021522, on PyPI 17 Jul "
        "to 2 Aug 2019", "module hooks, last call per module; conv C_in*y*(k+bias)//g, BN 4, "
        "ReLU 1, max pooling 0, Linear 2*in-1; float32 sum", "thop_0_0_23", release="LATE"),
    FlopCounter(
        "thop-0.0.23-early", "thop 0.0.22 to 0.0.23.post1907011323, on PyPI June to 16 Jul "
        "2019", "thop-0.0.23 with max pooling counted (an int kernel k counts k)",
        "thop_0_0_23", "count_early", release="EARLY"),
    FlopCounter(
        "thop-0.0.31-aug", "thop 0.0.23.post1908061459 to 0.0.31.post1909230639, on PyPI "
        "6 Aug to Sep 2019", "module hooks, every call; conv y*(C_in/g*k+bias), BN 4, "
        "ReLU 0, Linear 2*in-1; float32 sum", "thop_0_0_31", "count_august",
        release="AUGUST"),
    FlopCounter(
        "thop-0.0.31", "thop 0.0.31.post1910280903 and 0.0.31.post1912272122, on PyPI Oct "
        "to Dec 2019", "thop-0.0.31-aug with Linear 2*in-1+bias", "thop_0_0_31",
        release="OCTOBER"),
    FlopCounter(
        "thop-2020-jan", "thop 0.0.31.post2001170342, on PyPI Jan 2020",
        "module hooks, every call; conv y*(C_in/g*k+bias), BN 2 (eval), ReLU 0, "
        "Linear 2*in-1+bias; float32 sum", "thop_2020", "count_january", release="JANUARY"),
    FlopCounter(
        "thop-2020", "thop 0.0.31.post2004101309 to 0.0.4.post2009191310, on PyPI Apr to "
        "Sep 2020", "module hooks, every call; conv y*(C_in/g*k+bias), BN 2 (eval), ReLU 0, "
        "Linear in*out; float64 sum", "thop_2020", release="LATER"),
    FlopCounter(
        "torch", "torch.utils.flop_counter.FlopCounterMode of the installed torch, run live",
        "2 FLOPs per multiply-add of conv/matmul; nothing else; forward and training step",
        "torch_flops", per_mac=2, backward=True),
)

COUNTERS: dict[str, FlopCounter] = {c.name: c for c in _LIST}
DEFAULT_COUNTER = "fvcore"
TRACE_COUNTERS: tuple[str, ...] = ("fvcore", "all")  # from the one fvcore trace of a count
BACKWARD_COUNTERS: tuple[str, ...] = tuple(c.name for c in _LIST if c.backward)


def counter(name: str) -> FlopCounter:
    """The counter called ``name``; UnknownNameError listing the valid names otherwise."""
    try:
        return COUNTERS[name]
    except KeyError:
        raise UnknownNameError(f"unknown counter {name!r}; valid: {', '.join(COUNTERS)}") \
            from None


def check_backward(name: str) -> None:
    """InvalidOptionError unless ``name`` can count a training step."""
    if not counter(name).backward:
        raise InvalidOptionError(
            f"counter {name!r} cannot count backward; counters that can: "
            f"{', '.join(BACKWARD_COUNTERS)}")


def count_with(name: str, model: nn.Module, inputs: torch.Tensor,
               attention_paths: Sequence[str] = ()) -> CounterTotal:
    """Run counter ``name`` on ``model`` and ``inputs``; ``attention_paths`` are module path
    prefixes ("" = the whole model) whose part is reported apart."""
    return counter(name).load()(model, inputs, attention_paths)


def count_many(names: Sequence[str], model: nn.Module, inputs: torch.Tensor,
               attention_paths: Sequence[str] = ()) -> list[CounterTotal]:
    """:func:`count_with` for several counters; the thop emulations share one forward pass."""
    from profiler.measure.count.counters._thop import thop_counts

    chosen = [counter(name) for name in names]
    releases = [(c.name, getattr(importlib.import_module(f"{__name__}.{c.module}"), c.release))
                for c in chosen if c.release]
    found = {t.counter: t for t in (thop_counts(releases, model, inputs, attention_paths)
                                    if releases else [])}
    for c in chosen:
        if c.name not in found:
            found[c.name] = c.load()(model, inputs, attention_paths)
    return [found[name] for name in names]


def count_train_step(name: str, model: nn.Module, inputs: torch.Tensor,
                     input_grad: bool = False) -> int:
    """Forward + backward FLOPs of one training step, with a counter that can count it
    (``input_grad``: the input's gradient too, for a block counted alone)."""
    check_backward(name)
    module = importlib.import_module(f"{__name__}.{counter(name).module}")
    function: Callable[..., int] = module.count_train_step
    return int(function(model, inputs, input_grad))
