"""Operator handles: what each traced ``aten::`` operator costs under each convention.

Two FLOP conventions are counted from one trace:

``fvcore``
    fvcore's defaults, unchanged (:data:`FVCORE_FLOP_OPS`). One multiply-add counts as one
    FLOP. Convolution: ``out_elements * C_in/groups * kh * kw`` (no bias); linear/matmul:
    ``out_elements * in_features`` (no bias); batch norm in eval: ``2 * elements`` with an
    affine transform (``1 *`` without); group/layer norm: ``5 * elements`` (affine) else ``4 *``;
    adaptive average pooling: ``1 * input elements``; upsampling nearest ``1``/bilinear ``4``
    per output element. Everything else is *not* counted: elementwise ops (sigmoid, mul, add,
    relu...), reductions (mean, amax) and pooling (max_pool2d). Those ops are reported in the
    count result's ``unsupported`` field, never silently dropped.

``all``
    fvcore's counts plus the elementwise work fvcore skips, with these formulas
    (:data:`EXTRA_FLOP_FORMULAS`), each counted as one FLOP per elementary operation:

    - unary elementwise (sigmoid, relu, relu6/hardtanh, hardswish, hardsigmoid, silu, gelu,
      tanh, exp, sqrt, rsqrt, neg, abs, reciprocal): ``1 * output elements``;
    - binary elementwise (add, sub, mul, div, and their in-place forms, maximum, minimum):
      ``1 * output elements`` (a broadcast rescale ``x * s`` costs N*C*H*W, not N*C);
    - reductions (mean, sum, amax, amin, max/min over a dim, var): ``1 * input elements``;
    - softmax / log_softmax: ``3 * elements`` (exponent, sum, division);
    - max/avg pooling with a window: ``kh * kw * output elements``; adaptive max pooling:
      ``1 * input elements``.

    The excitation (sigmoid) and the rescaling (mul) of attention blocks live here.

Operators that move data without arithmetic (view, cat, transpose, unfold, pad, dropout in
eval...) cost nothing in both conventions; fvcore's own ignore list (which also holds ``relu``
and ``max``) is honoured by the fvcore convention.

Activations follow fvcore's :class:`~fvcore.nn.ActivationCountAnalysis` (output elements of
convolutions and matrix products, :data:`FVCORE_ACTIVATION_OPS`); the ``all`` convention adds the
output elements of every elementwise and reduction op above: the tensors the broadcast
rescale writes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from math import prod
from typing import Any, NamedTuple

from fvcore.nn.activation_count import _DEFAULT_SUPPORTED_OPS as _FVCORE_ACTIVATION_HANDLES
from fvcore.nn.flop_count import _DEFAULT_SUPPORTED_OPS as _FVCORE_FLOP_HANDLES
from fvcore.nn.jit_analysis import _IGNORED_OPS as _FVCORE_IGNORED_OPS
from fvcore.nn.jit_handles import get_shape

__all__ = [
    "EXTRA_FLOP_FORMULAS",
    "FVCORE_ACTIVATION_OPS",
    "FVCORE_FLOP_OPS",
    "FVCORE_IGNORED_OPS",
    "ExtraFormula",
    "OpKey",
    "Tally",
    "combined_handles",
]

Handle = Callable[[list[Any], list[Any]], Any]

FVCORE_FLOP_OPS: frozenset[str] = frozenset(_FVCORE_FLOP_HANDLES)
FVCORE_ACTIVATION_OPS: frozenset[str] = frozenset(_FVCORE_ACTIVATION_HANDLES)
FVCORE_IGNORED_OPS: frozenset[str] = frozenset(_FVCORE_IGNORED_OPS)



class Tally(Enum):
    """What a count of one traced op measures: one trace yields every figure."""

    FLOPS = "fvcore FLOPs"
    FLOPS_EXTRA = "FLOPs the all-ops convention adds"
    ACTIVATIONS = "fvcore activations"
    ACTIVATIONS_EXTRA = "activations the all-ops convention adds"
    SEEN = "calls"


class OpKey(NamedTuple):
    """The key of one figure in fvcore's per-module Counter: what it measures, of which op
    (``OpKey(Tally.FLOPS, "conv")``). Typed, so figures are never told apart by parsing."""

    tally: Tally
    op: str


@dataclass(frozen=True)
class ExtraFormula:
    """How the ``all`` convention counts one op: ``scale * elements`` of its input or output,
    or ``kernel area * output elements`` for windowed pooling."""

    scale: int
    of: str  # "input" | "output" | "window"
    description: str

    def flops(self, inputs: list[Any], outputs: list[Any]) -> int:
        out_elements = _elements(outputs[0]) if outputs else 0
        if self.of == "output":
            return self.scale * out_elements
        if self.of == "input":
            return self.scale * _elements(inputs[0])
        return _window_area(inputs, outputs) * out_elements


def _as_int(value: Any) -> int:
    """fvcore handles return a number or a Counter of numbers."""
    return int(sum(value.values())) if isinstance(value, Counter) else int(value)


def _elements(value: Any) -> int:
    shape = get_shape(value)
    return int(prod(shape)) if shape is not None else 0


def _constant(value: Any) -> Any:
    """A traced constant argument: an int, or a list of ints built by prim::ListConstruct;
    None when the value was computed in the trace (``F.avg_pool2d(x, x.shape[2:])``)."""
    node = value.node()
    if node.kind() == "prim::ListConstruct":
        items = [_constant(v) for v in node.inputs()]
        return None if any(i is None for i in items) else items
    return value.toIValue()


def _window_area(inputs: list[Any], outputs: list[Any]) -> int:
    """Kernel area of max_pool2d / avg_pool2d (``kernel_size`` is their second argument).
    A kernel computed from the input's shape (global pooling written functionally) is not a
    trace constant: its area is then input H*W // output H*W per dimension."""
    kernel = _constant(inputs[1]) if len(inputs) > 1 else None
    if isinstance(kernel, int):
        return kernel * kernel
    if isinstance(kernel, (list, tuple)) and kernel:
        return int(prod(kernel)) if len(kernel) > 1 else int(kernel[0]) ** 2
    shape_in, shape_out = get_shape(inputs[0]), get_shape(outputs[0]) if outputs else None
    if shape_in and shape_out and len(shape_in) == len(shape_out) >= 2:
        return int(prod(i // max(o, 1) for i, o in zip(shape_in[-2:], shape_out[-2:],
                                                        strict=True)))
    return 1


def _unary(name: str) -> ExtraFormula:
    return ExtraFormula(1, "output", f"{name}: 1 FLOP per output element")


_UNARY = ("sigmoid", "relu", "hardtanh", "hardswish", "hardsigmoid", "silu", "gelu", "tanh",
          "exp", "sqrt", "rsqrt", "neg", "abs", "reciprocal", "leaky_relu", "elu")
_BINARY = ("add", "sub", "mul", "div", "rsub", "maximum", "minimum")
_REDUCTIONS = ("mean", "sum", "amax", "amin", "max", "min", "var", "std", "logsumexp")

EXTRA_FLOP_FORMULAS: dict[str, ExtraFormula] = {
    **{f"aten::{op}{s}": _unary(op) for op in _UNARY for s in ("", "_")},
    **{f"aten::{op}{s}": ExtraFormula(1, "output", f"{op}: 1 FLOP per output element "
                                      "(after broadcasting)")
       for op in _BINARY for s in ("", "_")},
    **{f"aten::{op}": ExtraFormula(1, "input", f"{op}: 1 FLOP per input element")
       for op in _REDUCTIONS},
    "aten::softmax": ExtraFormula(3, "input", "softmax: 3 FLOPs per element (exp, sum, div)"),
    "aten::_softmax": ExtraFormula(3, "input", "softmax: 3 FLOPs per element (exp, sum, div)"),
    "aten::log_softmax": ExtraFormula(3, "input", "log_softmax: 3 FLOPs per element"),
    "aten::max_pool2d": ExtraFormula(1, "window", "max_pool2d: kh*kw per output element"),
    "aten::avg_pool2d": ExtraFormula(1, "window", "avg_pool2d: kh*kw per output element"),
    "aten::adaptive_max_pool2d": ExtraFormula(1, "input", "adaptive_max_pool2d: 1 per input "
                                              "element"),
}


# fvcore's own name for ops whose traced name is an implementation detail.
_OP_NAMES = {"aten::_convolution": "conv"}


def _short(op: str) -> str:
    return _OP_NAMES.get(op, op.split("::", 1)[-1])


def _combined(op: str) -> Handle:
    """One handle per op that returns every figure of that op, each under its :class:`OpKey`
    (fvcore sums the Counters per module; the keys need only be hashable)."""
    flop = _FVCORE_FLOP_HANDLES.get(op)
    activation = _FVCORE_ACTIVATION_HANDLES.get(op)
    extra = EXTRA_FLOP_FORMULAS.get(op) if flop is None else None
    name = _short(op)

    def handle(inputs: list[Any], outputs: list[Any]) -> Counter[OpKey]:
        counts: Counter[OpKey] = Counter({OpKey(Tally.SEEN, op): 1})
        if flop is not None:
            counts[OpKey(Tally.FLOPS, name)] = _as_int(flop(inputs, outputs))
        if extra is not None:
            counts[OpKey(Tally.FLOPS_EXTRA, name)] = int(extra.flops(inputs, outputs))
            counts[OpKey(Tally.ACTIVATIONS_EXTRA, name)] = (_elements(outputs[0]) if outputs
                                                            else 0)
        if activation is not None:
            counts[OpKey(Tally.ACTIVATIONS, name)] = _as_int(activation(inputs, outputs))
        return counts

    return handle


def combined_handles() -> dict[str, Handle]:
    """Handles for every op that any convention counts (fvcore's plus the extra ones)."""
    ops = FVCORE_FLOP_OPS | FVCORE_ACTIVATION_OPS | frozenset(EXTRA_FLOP_FORMULAS)
    return {op: _combined(op) for op in sorted(ops)}
