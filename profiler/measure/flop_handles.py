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
from math import prod
from typing import Any

from fvcore.nn.activation_count import _DEFAULT_SUPPORTED_OPS as _FVCORE_ACTIVATION_HANDLES
from fvcore.nn.flop_count import _DEFAULT_SUPPORTED_OPS as _FVCORE_FLOP_HANDLES
from fvcore.nn.jit_analysis import _IGNORED_OPS as _FVCORE_IGNORED_OPS
from fvcore.nn.jit_handles import get_shape

__all__ = [
    "EXTRA_FLOP_FORMULAS",
    "FVCORE_ACTIVATION_OPS",
    "FVCORE_FLOP_OPS",
    "FVCORE_IGNORED_OPS",
    "KEY_ACTIVATIONS",
    "KEY_ACTIVATIONS_EXTRA",
    "KEY_FLOPS",
    "KEY_FLOPS_EXTRA",
    "KEY_SEEN",
    "ExtraFormula",
    "combined_handles",
]

Handle = Callable[[list[Any], list[Any]], Any]

FVCORE_FLOP_OPS: frozenset[str] = frozenset(_FVCORE_FLOP_HANDLES)
FVCORE_ACTIVATION_OPS: frozenset[str] = frozenset(_FVCORE_ACTIVATION_HANDLES)
FVCORE_IGNORED_OPS: frozenset[str] = frozenset(_FVCORE_IGNORED_OPS)

# Counter key prefixes of the combined handles: one trace yields every figure, told apart by
# the prefix (``f:conv`` = fvcore FLOPs of ``aten::_convolution``...).
KEY_FLOPS = "f:"
KEY_FLOPS_EXTRA = "e:"
KEY_ACTIVATIONS = "a:"
KEY_ACTIVATIONS_EXTRA = "x:"
KEY_SEEN = "n:"


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
        return _window_area(inputs) * out_elements


def _as_int(value: Any) -> int:
    """fvcore handles return a number or a Counter of numbers."""
    return int(sum(value.values())) if isinstance(value, Counter) else int(value)


def _elements(value: Any) -> int:
    shape = get_shape(value)
    return int(prod(shape)) if shape is not None else 0


def _constant(value: Any) -> Any:
    """A traced constant argument: an int, or a list of ints built by prim::ListConstruct."""
    node = value.node()
    if node.kind() == "prim::ListConstruct":
        return [_constant(v) for v in node.inputs()]
    return value.toIValue()


def _window_area(inputs: list[Any]) -> int:
    """Kernel area of max_pool2d / avg_pool2d (``kernel_size`` is their second argument)."""
    kernel = _constant(inputs[1]) if len(inputs) > 1 else None
    if isinstance(kernel, int):
        return kernel * kernel
    if isinstance(kernel, (list, tuple)) and kernel:
        return int(prod(kernel)) if len(kernel) > 1 else int(kernel[0]) ** 2
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
    """One handle per op that returns every figure of that op under a prefixed key."""
    flop = _FVCORE_FLOP_HANDLES.get(op)
    activation = _FVCORE_ACTIVATION_HANDLES.get(op)
    extra = EXTRA_FLOP_FORMULAS.get(op) if flop is None else None
    name = _short(op)

    def handle(inputs: list[Any], outputs: list[Any]) -> Counter[str]:
        counts: Counter[str] = Counter({KEY_SEEN + op: 1})
        if flop is not None:
            counts[KEY_FLOPS + name] = _as_int(flop(inputs, outputs))
        if extra is not None:
            counts[KEY_FLOPS_EXTRA + name] = int(extra.flops(inputs, outputs))
            counts[KEY_ACTIVATIONS_EXTRA + name] = _elements(outputs[0]) if outputs else 0
        if activation is not None:
            counts[KEY_ACTIVATIONS + name] = _as_int(activation(inputs, outputs))
        return counts

    return handle


def combined_handles() -> dict[str, Handle]:
    """Handles for every op that any convention counts (fvcore's plus the extra ones)."""
    ops = FVCORE_FLOP_OPS | FVCORE_ACTIVATION_OPS | frozenset(EXTRA_FLOP_FORMULAS)
    return {op: _combined(op) for op in sorted(ops)}
