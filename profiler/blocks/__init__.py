"""Attention blocks: one module per paper, registered by name in :data:`BLOCKS`.

Every block takes ``channels`` first and maps (N, C, H, W) to (N, C, H, W). Adding a block is
one file plus one ``BLOCKS.register`` line below. A name containing ``:`` loads a user block
(``package.module:attr``, a class or a factory taking ``channels`` first).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from torch import nn

from profiler.blocks._common import AttentionBlock, check_channels
from profiler.blocks.ablations import ECANonShared, SEVar1, SEVar2, SEVar3
from profiler.blocks.cbam import CBAM
from profiler.blocks.eca import ECA, eca_kernel_size
from profiler.blocks.gc import GlobalContext
from profiler.blocks.se import SqueezeExcitation
from profiler.errors import InvalidOptionError
from profiler.registry import Registry, is_import_path

__all__ = [
    "BLOCKS",
    "CBAM",
    "ECA",
    "AttentionBlock",
    "ECANonShared",
    "GlobalContext",
    "SEVar1",
    "SEVar2",
    "SEVar3",
    "SqueezeExcitation",
    "block_options",
    "build_block",
    "check_block_options",
    "eca_kernel_size",
]

BLOCKS: Registry[nn.Module] = Registry("block")

BLOCKS.register("se", SqueezeExcitation,
                "Squeeze-and-Excitation (Hu et al., CVPR 2018): FC C->C/r->C, sigmoid; r = 16")
BLOCKS.register("cbam", CBAM,
                "CBAM (Woo et al., ECCV 2018): avg+max channel MLP, then 7x7 spatial gate")
BLOCKS.register("gc", GlobalContext,
                "Global Context (Cao et al., ICCVW 2019): softmax pooling, C->C/16->C, add")
BLOCKS.register("eca", ECA,
                "ECA (Wang et al., CVPR 2020): 1-D conv across channels, k = psi(C); k params")
BLOCKS.register("se_var1", SEVar1, "ECA paper ablation SE-Var1: sigmoid(GAP); 0 params")
BLOCKS.register("se_var2", SEVar2,
                "ECA paper ablation SE-Var2: one weight per channel; C params")
BLOCKS.register("se_var3", SEVar3, "ECA paper ablation SE-Var3: one C x C FC; C^2 params")
BLOCKS.register("eca_ns", ECANonShared,
                "ECA paper ablation ECA-NS: k non-shared weights per channel; k*C params")


def _parameters_after_first(factory: Callable[..., Any]) -> list[inspect.Parameter] | None:
    """Keyword options a factory accepts after its first argument; None if it takes **kwargs
    or its signature cannot be read."""
    try:
        params = list(inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return [p for p in params[1:] if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                inspect.Parameter.KEYWORD_ONLY)]


def block_options(name: str) -> tuple[str, ...] | None:
    """The option names block ``name`` accepts (None: it takes any keyword, ``**kwargs``)."""
    params = _parameters_after_first(BLOCKS.factory(name))
    return None if params is None else tuple(p.name for p in params)


def check_block_options(name: str, options: dict[str, Any] | list[str]) -> None:
    """Raise InvalidOptionError naming the first option block ``name`` does not accept."""
    accepted = block_options(name)
    if accepted is None:
        return
    for key in options:
        if key not in accepted:
            valid = ", ".join(accepted) if accepted else "none"
            raise InvalidOptionError(
                f"block {name!r} has no option {key!r}; valid options: {valid}"
            )


def build_block(name: str, channels: int, **options: Any) -> nn.Module:
    """Build attention block ``name`` (registered, or ``package.module:attr``) for ``channels``.

    Raises UnknownNameError (a ValueError listing the valid names) for an unknown name and
    InvalidOptionError for a bad channel count or option.
    """
    factory = BLOCKS.factory(name)
    check_channels(channels)
    check_block_options(name, options)
    if not is_import_path(name):
        return factory(channels, **options)
    try:
        module = factory(channels, **options)
    except TypeError as exc:
        raise InvalidOptionError(
            f"cannot build user block {name!r} for {channels} channels with options "
            f"{options}: {exc}"
        ) from exc
    if not isinstance(module, nn.Module):
        raise InvalidOptionError(
            f"user block {name!r} returned {type(module).__name__}, not a torch.nn.Module"
        )
    return module
