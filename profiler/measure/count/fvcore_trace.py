"""One fvcore trace of a module: every operator's FLOPs and activations under each convention.

A ``torch.jit`` trace (fvcore's :class:`~fvcore.nn.jit_analysis.JitModelAnalysis`) with
attnprof's operator handles (:mod:`profiler.measure.count.flop_handles`) yields fvcore's
default FLOPs, the "all ops" FLOPs and activations, per operator and per module, and the
operators nothing counted. The ``fvcore`` and ``all`` counters and breakdowns' part FLOPs read
it; :mod:`profiler.measure.count.counting` runs it for a CountSpec.
"""

from __future__ import annotations

import logging
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from fvcore.nn.jit_analysis import JitModelAnalysis
from torch import nn

from profiler.errors import AttnprofError, MeasurementError, one_line
from profiler.measure.count.flop_handles import FVCORE_FLOP_OPS, OpKey, Tally, combined_handles
from profiler.results.count import BlockCount, CounterTotal, CountResult

__all__ = ["MODULE_DEPTH", "count_module", "flops_by_module_and_operator"]

# by_module keeps modules up to this depth ("layer1.0.attn" is depth 3), enough to see each
# block and its attention module without storing every BN of a ResNet-152.
MODULE_DEPTH = 3


def count_module(
    module: nn.Module,
    inputs: torch.Tensor,
    attention_paths: Sequence[str] = (),
    label: str = "module",
) -> CountResult:
    """Count ``module`` on ``inputs`` in eval mode under ``torch.no_grad`` (its training flag
    is restored afterwards); ``attention_paths`` name its attention modules ("" = all of it).
    A failing trace raises a one-line MeasurementError naming ``label``."""
    per_module, unsupported = _trace(module, inputs, label)
    total = per_module.get("", Counter())
    params = sum(p.numel() for p in module.parameters())
    blocks = tuple(_block_count(path, module, per_module) for path in attention_paths)
    seen = _strip(total, Tally.SEEN)
    fvcore = CounterTotal("fvcore", _sum(total, Tally.FLOPS), sum(b.flops for b in blocks))
    every = CounterTotal("all", _sum(total, Tally.FLOPS) + _sum(total, Tally.FLOPS_EXTRA),
                         sum(b.flops_all for b in blocks))
    return CountResult(
        params=params,
        attention_params=sum(b.params for b in blocks),
        flops=_sum(total, Tally.FLOPS),
        flops_all=_sum(total, Tally.FLOPS) + _sum(total, Tally.FLOPS_EXTRA),
        attention_flops=sum(b.flops for b in blocks),
        attention_flops_all=sum(b.flops_all for b in blocks),
        activations=_sum(total, Tally.ACTIVATIONS),
        activations_all=_sum(total, Tally.ACTIVATIONS) + _sum(total, Tally.ACTIVATIONS_EXTRA),
        attention_activations=sum(b.activations for b in blocks),
        attention_activations_all=sum(b.activations_all for b in blocks),
        batch=int(inputs.shape[0]),
        input_shape=tuple(int(d) for d in inputs.shape[1:]),
        convention="fvcore",
        by_operator=_strip(total, Tally.FLOPS),
        by_operator_all={**_strip(total, Tally.FLOPS), **_strip(total, Tally.FLOPS_EXTRA)},
        by_module=_by_module(per_module),
        blocks=blocks,
        unsupported=_fvcore_unsupported(seen, unsupported),
        uncounted=dict(sorted(unsupported.items())),
        counters=(fvcore, every),
    )


def flops_by_module_and_operator(module: nn.Module, inputs: torch.Tensor
                                 ) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """FLOPs of every module (path -> operator -> FLOPs, submodules included; "" = all of it)
    under the fvcore and the all-operators conventions, from one trace of ``module`` on
    ``inputs`` in eval mode under ``torch.no_grad`` (its training flag is restored)."""
    per_module, _ = _trace(module, inputs, "the model")
    fvcore = {path: _strip(counts, Tally.FLOPS) for path, counts in per_module.items()}
    extra = {path: _strip(counts, Tally.FLOPS_EXTRA) for path, counts in per_module.items()}
    every = {path: {**fvcore[path], **extra[path]} for path in per_module}
    return fvcore, every


def _trace(module: nn.Module, inputs: torch.Tensor, label: str
           ) -> tuple[dict[str, Counter[OpKey]], Counter[str]]:
    """One fvcore trace of ``module`` on ``inputs`` in eval mode under ``torch.no_grad`` (its
    training flag is restored): counts per module path and operator, and the operators it
    could not count. A failing trace raises a one-line MeasurementError naming ``label``."""
    training = module.training
    analysis = _analysis(module.eval(), inputs)
    try:
        with _quiet(), torch.no_grad():
            return analysis.by_module_and_operator(), analysis.unsupported_ops()
    except AttnprofError:
        raise
    except Exception as exc:
        raise MeasurementError(f"cannot trace {label} for counting: "
                               f"{one_line(exc, typed=True)}") from exc
    finally:
        module.train(training)


def _analysis(module: nn.Module, inputs: torch.Tensor) -> JitModelAnalysis:
    analysis = JitModelAnalysis(module, (inputs,))
    analysis.set_op_handle(**combined_handles())
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    analysis.tracer_warnings("none")
    return analysis


def _block_count(path: str, model: nn.Module,
                 per_module: dict[str, Counter[OpKey]]) -> BlockCount:
    counts = per_module.get(path, Counter())
    block = model.get_submodule(path) if path else model
    fvcore = _sum(counts, Tally.FLOPS)
    activations = _sum(counts, Tally.ACTIVATIONS)
    return BlockCount(
        path=path,
        params=sum(p.numel() for p in block.parameters()),
        flops=fvcore,
        flops_all=fvcore + _sum(counts, Tally.FLOPS_EXTRA),
        activations=activations,
        activations_all=activations + _sum(counts, Tally.ACTIVATIONS_EXTRA),
    )


def _sum(counts: Counter[OpKey], tally: Tally) -> int:
    return int(sum(v for k, v in counts.items() if k.tally is tally))


def _strip(counts: Counter[OpKey], tally: Tally) -> dict[str, int]:
    """op -> count of one tally."""
    found = {k.op: int(v) for k, v in counts.items() if k.tally is tally}
    return dict(sorted(found.items()))


def _by_module(per_module: dict[str, Counter[OpKey]]) -> dict[str, int]:
    """fvcore-convention FLOPs of every module up to :data:`MODULE_DEPTH` ("" = total)."""
    rows = {}
    for name, counts in per_module.items():
        depth = 0 if name == "" else name.count(".") + 1
        if depth <= MODULE_DEPTH:
            rows[name] = _sum(counts, Tally.FLOPS)
    return rows


def _fvcore_unsupported(seen: dict[str, int], uncounted: Counter[str]) -> dict[str, int]:
    """Ops that ran but fvcore's default convention does not count, with how often they ran:
    the ops the "all" convention adds (fvcore ignores ``relu`` and ``max`` explicitly, and
    reports the others as unsupported) plus the ops no convention counts."""
    found = {op: n for op, n in seen.items() if op not in FVCORE_FLOP_OPS}
    for op, n in uncounted.items():
        found[op] = found.get(op, 0) + int(n)
    return dict(sorted(found.items()))


@contextmanager
def _quiet() -> Iterator[None]:
    """fvcore and the tracer log and warn; the count result carries what matters instead."""
    logger = logging.getLogger("fvcore")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)
