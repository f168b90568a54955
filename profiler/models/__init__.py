"""Backbones that attention blocks plug into, registered by name in :data:`MODELS`.

Every attention instance inside a model is the submodule ``attn`` of its unit (for example
``layer1.0.attn`` in a ResNet), so that :func:`attention_modules` and the counting harness find
it by path. A name containing ``:`` loads a user model (``package.module:attr``, a class or a
factory); it receives ``attention=`` and ``attention_options=`` only if its signature takes them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from torch import nn

from profiler.blocks import BLOCKS
from profiler.errors import InvalidOptionError
from profiler.models.mobilenetv2 import MobileNetV2, mobilenet_v2
from profiler.models.placement import STAGES_OPTION, AttentionPlan, plan_attention
from profiler.models.presets import PRESETS, Preset
from profiler.models.resnet import ResNet, resnet18, resnet34, resnet50, resnet101, resnet152
from profiler.registry import Registry, is_import_path

__all__ = [
    "ATTENTION_ATTR",
    "MODELS",
    "STAGES_OPTION",
    "AttentionPlan",
    "MobileNetV2",
    "Preset",
    "ResNet",
    "attention_modules",
    "attention_param_count",
    "build_model",
    "plan_attention",
]

ATTENTION_ATTR = "attn"

MODELS: Registry[nn.Module] = Registry("model")

MODELS.register("resnet18", resnet18, "ResNet-18, torchvision layout (11,689,512 params)")
MODELS.register("resnet34", resnet34, "ResNet-34, torchvision layout (21,797,672 params)")
MODELS.register("resnet50", resnet50, "ResNet-50 v1.5, torchvision layout (25,557,032 params)")
MODELS.register("resnet101", resnet101,
                "ResNet-101 v1.5, torchvision layout (44,549,160 params)")
MODELS.register("resnet152", resnet152,
                "ResNet-152 v1.5, torchvision layout (60,192,808 params)")
MODELS.register("mobilenet_v2", mobilenet_v2,
                "MobileNetV2 1.0, torchvision layout (3,504,872 params)")


def _preset_factory(preset: Preset) -> Callable[..., nn.Module]:
    """The registry's constructor of ``preset``: ``build_model`` with the preset's arguments."""

    def build(attention: str | None = None,
              attention_options: Mapping[str, Any] | None = None) -> nn.Module:
        backbone, block, options = preset.arguments(attention, attention_options)
        return build_model(backbone, block, options)

    build.__name__ = build.__qualname__ = preset.name
    build.__doc__ = preset.summary
    return build


for _preset in PRESETS:
    MODELS.register(_preset.name, _preset_factory(_preset), _preset.summary)


def _accepted_keywords(factory: Callable[..., Any]) -> set[str] | None:
    """Keyword names ``factory`` accepts; None if it takes ``**kwargs``."""
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                 inspect.Parameter.KEYWORD_ONLY)}


def _build_user_model(
    name: str,
    factory: Callable[..., Any],
    attention: str | None,
    attention_options: Mapping[str, Any] | None,
) -> nn.Module:
    accepted = _accepted_keywords(factory)
    kwargs: dict[str, Any] = {}
    for key, value in (("attention", attention), ("attention_options", attention_options)):
        if accepted is None or key in accepted:
            kwargs[key] = value
        elif value:
            raise InvalidOptionError(
                f"user model {name!r} does not accept attention (its signature has no "
                f"{key!r} argument)"
            )
    try:
        model = factory(**kwargs)
    except TypeError as exc:
        raise InvalidOptionError(f"cannot build user model {name!r}: {exc}") from exc
    if not isinstance(model, nn.Module):
        raise InvalidOptionError(
            f"user model {name!r} returned {type(model).__name__}, not a torch.nn.Module"
        )
    return model


def build_model(
    name: str, attention: str | None = None, attention_options: dict[str, Any] | None = None
) -> nn.Module:
    """Build backbone ``name`` with ``attention`` blocks placed as the official code does.

    ``attention`` is a block name or ``package.module:attr``; ``attention_options`` holds the
    block's options, ``stages`` (1-based stage numbers) and per-stage lists (one value per
    stage, e.g. ``{"k_size": [3, 5, 5, 7]}``). Unknown names raise UnknownNameError (a
    ValueError listing the valid names); bad options raise InvalidOptionError.
    """
    factory = MODELS.factory(name)
    if is_import_path(name):
        return _build_user_model(name, factory, attention, attention_options)
    return factory(attention=attention, attention_options=attention_options)


def _block_types() -> tuple[type, ...]:
    return tuple(e.factory for e in BLOCKS.entries() if isinstance(e.factory, type))


def attention_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(path, module) of every attention module of ``model``, outermost only.

    A module counts as attention if its path ends in ``attn`` (where models put every block,
    user blocks included), if it is an instance of a registered block class, or if it has
    ``is_attention = True``. Submodules of a module already found are not listed again. A
    block passed on its own is returned with the path ``""``.
    """
    block_types = _block_types()
    found: list[tuple[str, nn.Module]] = []
    for path, module in model.named_modules():
        if any(path.startswith(f"{outer}.") or not outer for outer, _ in found):
            continue
        if (path.split(".")[-1] == ATTENTION_ATTR or isinstance(module, block_types)
                or getattr(module, "is_attention", False) is True):
            found.append((path, module))
    return found


def attention_param_count(model: nn.Module) -> int:
    """Parameters inside :func:`attention_modules` (each shared tensor counted once)."""
    seen: dict[int, int] = {}
    for _, module in attention_modules(model):
        for param in module.parameters():
            seen[id(param)] = param.numel()
    return sum(seen.values())
