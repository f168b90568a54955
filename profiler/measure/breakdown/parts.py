"""Which part of a model each module is: the one table of module kinds.

:data:`MODULE_KINDS` maps ``torch.nn`` classes to the parts of a breakdown
(:data:`profiler.results.breakdown.PARTS`); a module's kind is the first entry its class is an
instance of. Attention modules come from the models' own detection
(:func:`profiler.models.attention_modules`: submodules named ``attn``, instances of registered
blocks, ``is_attention = True``); everything inside one is attention, split by operation:
:data:`ATTENTION_MODULE_OPS` names the operation a leaf module class stands for (the rest is
named by the op itself, :data:`profiler.measure.breakdown.attribution.ATTENTION_OPS`).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd
from torch.nn.modules.pooling import (
    _AdaptiveAvgPoolNd,
    _AdaptiveMaxPoolNd,
    _AvgPoolNd,
    _MaxPoolNd,
)

from profiler.measure.breakdown.attribution import ModuleRole

__all__ = ["ATTENTION_MODULE_OPS", "MODULE_KINDS", "module_kind", "module_roles"]

_POOLS: tuple[type[nn.Module], ...] = (_MaxPoolNd, _AvgPoolNd, _AdaptiveAvgPoolNd,
                                       _AdaptiveMaxPoolNd)
_ACTIVATIONS: tuple[type[nn.Module], ...] = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU,
    nn.Mish, nn.Hardswish, nn.Hardsigmoid, nn.Hardtanh, nn.Sigmoid, nn.Tanh, nn.Softplus,
)

# class -> part, first match wins (the kind table of the breakdown).
MODULE_KINDS: tuple[tuple[tuple[type[nn.Module], ...], str], ...] = (
    ((_ConvNd,), "convolution"),
    ((_BatchNorm,), "batch_norm"),
    (_ACTIVATIONS, "activation"),
    (_POOLS, "pooling"),
    ((nn.Linear,), "classifier"),
)

# Inside an attention module: class -> attention operation (first match wins).
ATTENTION_MODULE_OPS: tuple[tuple[tuple[type[nn.Module], ...], str], ...] = (
    ((_ConvNd, nn.Linear), "conv_fc"),
    ((*_POOLS, nn.Softmax), "pooling"),
    ((nn.Sigmoid, nn.Hardsigmoid), "sigmoid"),
)


def _first(module: nn.Module, table: Sequence[tuple[tuple[type[nn.Module], ...], str]]
           ) -> str | None:
    return next((name for classes, name in table if isinstance(module, classes)), None)


def module_kind(module: nn.Module) -> str | None:
    """The part of a module outside attention (None: a container or an unknown leaf)."""
    return _first(module, MODULE_KINDS)


def _attention_op(module: nn.Module) -> str | None:
    if any(True for _ in module.children()):
        return None  # a container: its own ops are named by the op
    return _first(module, ATTENTION_MODULE_OPS) or "other"


def module_roles(model: nn.Module, attention_paths: Sequence[str]) -> dict[str, ModuleRole]:
    """The role of every module of ``model`` by path ("" = the model itself).

    ``attention_paths`` are the attention modules (outermost ones; "" makes the whole model
    attention, as for a block measured alone).
    """
    roles: dict[str, ModuleRole] = {}
    for path, module in model.named_modules():
        owner = next((a for a in attention_paths
                      if a == "" or path == a or path.startswith(f"{a}.")), None)
        if owner is None:
            roles[path] = ModuleRole(path, kind=module_kind(module))
        else:
            operation = None if path == owner else _attention_op(module)
            roles[path] = ModuleRole(path, attention=owner, attention_op=operation)
    return roles
