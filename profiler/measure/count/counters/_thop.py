"""The machinery every thop release shares, and the per-module formulas they chose from.

thop (pytorch-OpCounter, https://github.com/Lyken17/pytorch-OpCounter) does not trace
operators. ``thop.profile(model, inputs)`` registers a ``total_ops`` buffer on every *leaf*
module, a forward hook on each leaf whose exact type is in its table, runs one forward pass in
eval mode under ``torch.no_grad``, and sums the buffers of the leaves in ``model.modules()``
order. Functional calls (``x * y``, ``torch.sigmoid``, ``F.avg_pool2d``, ``torch.matmul``) and
modules missing from the table (Sigmoid, Softmax, LayerNorm, Flatten) cost nothing.

A :class:`ThopRelease` is one release's behaviour, as data: its table (module type ->
formula), whether a hook *assigns* ``total_ops`` (a module called several times counts its
last call, as in the July 2019 builds) or *adds* to it, and the float type of the buffers and
the sum (float32 until the 2020-04 builds, float64 after). The formulas below are the
releases' own code paths, written with the same arithmetic (Python ints, float32/float64
tensors where thop used them, its one-element buffers as Python floats rounded the same way:
:func:`_float`) so that :func:`thop_count` returns exactly the number the real release returns
(checked against the real builds by ``tools/crosscheck_counters.py`` and
``tests/test_counters_crosscheck.py``). On the ``meta`` device batch norm's output is only made
with its input's shape (:class:`_BatchNormAsShape`).

The part inside attention modules, which thop does not report, is the exact integer sum of
the formulas over the calls of leaves under the attention paths.
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from profiler.results.count import CounterTotal

__all__ = [
    "Formula",
    "ThopRelease",
    "adaptive_avgpool_plus_one",
    "adaptive_maxpool",
    "avgpool_one",
    "avgpool_plus_one",
    "bn_four",
    "bn_two_in_eval",
    "conv_cin_first",
    "conv_per_output",
    "linear_in",
    "linear_two_in_minus_one",
    "linear_two_in_minus_one_plus_bias",
    "maxpool_given_kernel",
    "relu_elements",
    "thop_count",
    "thop_counts",
    "zero",
]

Formula = Callable[[nn.Module, torch.Tensor, torch.Tensor], int]


_FLOAT32 = struct.Struct("f")


def _float(value: float, dtype: torch.dtype) -> float:
    """``value`` as thop stored it, ``torch.Tensor([v])`` (float32) or ``torch.DoubleTensor([v])``
    (float64), held in a Python float: rounded to float32 through ``struct``, or as it is.

    Sums rounded back the same way (:func:`_add`) are exactly the buffers' float32 sums: a
    double holds two float32 values' sum rounded once, and rounding that to float32 again gives
    the correctly rounded float32 sum (double rounding is harmless for +, -, *, / when the wider
    format has at least 2p + 2 bits, 53 >= 2 * 24 + 2; Figueroa, SIGNUM 1995). Python floats
    instead of one-element tensors: a count does ~10^4 of these per release."""
    if dtype == torch.float32:
        return float(_FLOAT32.unpack(_FLOAT32.pack(float(value)))[0])
    return float(value)


def _add(total: float, value: float, dtype: torch.dtype) -> float:
    """``total += value`` on thop's one-element buffers of ``dtype``."""
    return _float(total + value, dtype)


def zero(module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    """``zero_ops``: registered, counts nothing."""
    return 0


def conv_cin_first(module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    """July 2019 ``count_convNd``: ``C_in * y.numel * (prod(kernel) + bias) // groups``
    (a bias costs C_in per output element)."""
    kernel = module.weight.size()[2:].numel()
    bias = 1 if module.bias is not None else 0
    return module.in_channels * y.nelement() * (kernel + bias) // module.groups


def conv_per_output(module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    """Aug 2019 on ``count_convNd``: ``y.numel * (C_in // groups * prod(kernel) + bias)``."""
    kernel = module.weight.size()[2:].numel()
    bias = 1 if module.bias is not None else 0
    return y.nelement() * (module.in_channels // module.groups * kernel + bias)


def bn_four(module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    """2019 ``count_bn``: ``4 * x.numel`` (subtract, divide, scale, shift)."""
    return 4 * x.numel()


def bn_two_in_eval(module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    """2020 ``count_bn``: ``2 * x.numel`` in eval mode (thop profiles in eval mode)."""
    return 2 * x.numel()


def relu_elements(module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    """``count_relu``: ``x.numel``."""
    return x.numel()


def _given_kernel(module: nn.Module, dtype: torch.dtype) -> torch.Tensor:
    """``torch.prod(torch.Tensor([m.kernel_size]))``: an int ``k`` stays ``k`` (not k*k)."""
    return torch.prod(_float_list([module.kernel_size], dtype))


def _float_list(values: list[object], dtype: torch.dtype) -> torch.Tensor:
    return torch.Tensor(values) if dtype == torch.float32 else torch.DoubleTensor(values)


def maxpool_given_kernel(module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    """June-July 1 2019 ``count_maxpool``: ``prod(kernel_size as given) * y.numel``."""
    return int(_given_kernel(module, torch.float32) * y.numel())


def _adaptive_kernel(module: nn.Module, x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``Tensor([*x.shape[2:]]) // Tensor(list((m.output_size,))).squeeze()``."""
    spatial = _float_list([*x.shape[2:]], dtype)
    return spatial // _float_list(list((module.output_size,)), dtype).squeeze()


def adaptive_maxpool(module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    """June-July 1 2019 ``count_adap_maxpool``: ``prod(x spatial // output_size) * y.numel``."""
    return int(torch.prod(_adaptive_kernel(module, x, torch.float32)) * y.numel())


def avgpool_plus_one(module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    """2019 ``count_avgpool``: ``(prod(kernel_size as given) + 1) * y.numel``."""
    return int((_given_kernel(module, torch.float32) + 1) * y.numel())


def avgpool_one(module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    """2020 ``count_avgpool``: ``1 * y.numel``."""
    return y.numel()


def adaptive_avgpool_plus_one(dtype: torch.dtype, from_output: bool = False) -> Formula:
    """``count_adap_avgpool``: ``(prod(x spatial // k) + 1) * y.numel`` in ``dtype``, with
    ``k`` the module's ``output_size`` (``from_output``: the output's spatial shape, as the
    builds from 2020-06 on)."""

    def formula(module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
        if from_output:
            kernel = _float_list([*x.shape[2:]], dtype) // _float_list([*y.shape[2:]], dtype)
        else:
            kernel = _adaptive_kernel(module, x, dtype)
        return int((torch.prod(kernel) + 1) * y.numel())

    formula.__doc__ = adaptive_avgpool_plus_one.__doc__
    return formula


def linear_two_in_minus_one(module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    """2019 ``count_linear``: ``(2 * in_features - 1) * y.numel`` (bias ignored)."""
    return (2 * module.in_features - 1) * y.numel()


def linear_two_in_minus_one_plus_bias(module: nn.Module, x: torch.Tensor,
                                      y: torch.Tensor) -> int:
    """Oct 2019 to Jan 2020 ``count_linear``: ``(2 * in_features - 1 + bias) * y.numel``."""
    bias = 1 if module.bias is not None else 0
    return (2 * module.in_features - 1 + bias) * y.numel()


def linear_in(module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    """Apr 2020 on ``count_linear``: ``in_features * y.numel`` (multiply-adds)."""
    return module.in_features * y.numel()


@dataclass(frozen=True)
class ThopRelease:
    """One thop release's behaviour.

    ``version`` names it (the newest build with exactly this behaviour on attnprof's modules);
    ``builds`` lists every PyPI build it reproduces; ``table`` maps hooked module types
    (exact types, as thop's ``type(m) in register_hooks``) to formulas; ``accumulate`` is
    ``"last"`` when a hook assigned ``m.total_ops = ...`` (a module called several times,
    like torchvision's shared Bottleneck ReLU, counts its last call) or ``"sum"`` for
    ``+=``; ``dtype`` is the buffers' and the total's float type; ``params_of`` says whose
    parameters the reported params sum (``"leaves"``: every leaf module; ``"hooked"``: only
    modules with a formula, as the builds from 2020-04 on).
    """

    version: str
    builds: tuple[str, ...]
    table: Mapping[type[nn.Module], Formula]
    accumulate: Literal["last", "sum"]
    dtype: torch.dtype = torch.float32
    params_of: Literal["leaves", "hooked"] = "leaves"


def _under(path: str, prefixes: Sequence[str]) -> bool:
    return any(p == "" or path == p or path.startswith(f"{p}.") for p in prefixes)


def _leaves(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(path, m) for path, m in model.named_modules() if not any(True for _ in m.children())]


def thop_count(release: ThopRelease, name: str, model: nn.Module, inputs: torch.Tensor,
               attention_paths: Sequence[str] = ()) -> CounterTotal:
    """Count ``model`` on ``inputs`` as ``release`` of thop would (``flops`` and ``params``
    as the release returns them; ``attention_flops`` the exact sum inside
    ``attention_paths``). Runs in eval mode under ``torch.no_grad``; the training flag and
    the hooks are restored. Works on the ``meta`` device (only shapes are read)."""
    return thop_counts(((name, release),), model, inputs, attention_paths)[0]


class _BatchNormAsShape(TorchFunctionMode):
    """On the ``meta`` device a tensor is only a shape, and thop's hooks read only shapes: batch
    norm's output is a tensor like its input. Its meta kernel is a Python decomposition that
    takes two thirds of a ResNet's counting forward; every other function runs as it is."""

    def __torch_function__(self, func: Callable[..., object], types: object,
                           args: tuple[object, ...] = (),
                           kwargs: Mapping[str, object] | None = None) -> object:
        if func is F.batch_norm:
            inputs = args[0] if args else (kwargs or {})["input"]
            assert isinstance(inputs, torch.Tensor)
            return torch.empty_like(inputs)
        return func(*args, **(kwargs or {}))


class _Tally:
    """One release's buffers (one per leaf) and its exact sum inside attention modules."""

    def __init__(self, release: ThopRelease, leaves: list[tuple[str, nn.Module]]) -> None:
        self.release = release
        self.buffers = dict.fromkeys((id(m) for _, m in leaves), 0.0)
        self.inside = 0

    def add(self, module: nn.Module, x: torch.Tensor, y: torch.Tensor, inside: bool) -> None:
        formula = self.release.table.get(type(module))
        if formula is None:
            return
        ops = int(formula(module, x, y))
        value = _float(ops, self.release.dtype)
        if self.release.accumulate == "last":
            self.buffers[id(module)] = value
        else:
            self.buffers[id(module)] = _add(self.buffers[id(module)], value, self.release.dtype)
        self.inside += ops if inside else 0


def thop_counts(releases: Sequence[tuple[str, ThopRelease]], model: nn.Module,
                inputs: torch.Tensor, attention_paths: Sequence[str] = ()) -> list[CounterTotal]:
    """:func:`thop_count` for several (name, release) pairs from one forward pass."""
    leaves = _leaves(model)
    tallies = [_Tally(release, leaves) for _, release in releases]
    hooked = set().union(*(r.table for _, r in releases))

    def hook_for(path: str) -> Callable[..., None]:
        inside = bool(attention_paths) and _under(path, attention_paths)

        def record(module: nn.Module, args: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
            for tally in tallies:
                tally.add(module, args[0], out, inside)

        return record

    handles = [module.register_forward_hook(hook_for(path)) for path, module in leaves
               if type(module) in hooked]
    training = model.training
    shapes_only = _BatchNormAsShape() if inputs.device.type == "meta" else contextlib.nullcontext()
    try:
        model.eval()
        with torch.no_grad(), shapes_only:
            model(inputs)
    finally:
        model.train(training)
        for handle in handles:
            handle.remove()
    return [CounterTotal(name, _sum([t.buffers[id(m)] for _, m in leaves], t.release.dtype),
                         t.inside, params=_params(t.release, leaves))
            for (name, _), t in zip(releases, tallies, strict=True)]


def _sum(values: list[float], dtype: torch.dtype) -> int:
    """``total = 0; total += m.total_ops`` over the leaves, in their order, then ``.item()``
    (``0 + buffer`` is the first buffer itself)."""
    total = 0.0
    for value in values:
        total = _add(total, value, dtype)
    return int(total)


def _params(release: ThopRelease, leaves: list[tuple[str, nn.Module]]) -> int:
    sums = []
    for _, module in leaves:
        if release.params_of == "hooked" and type(module) not in release.table:
            continue
        buffer = 0.0
        for p in module.parameters():
            buffer = _add(buffer, _float(p.numel(), release.dtype), release.dtype)
        sums.append(buffer)
    return _sum(sums, release.dtype)

