"""Attention blocks: one module per paper, registered by name in :data:`BLOCKS`.

Every block takes ``channels`` first and maps (N, C, H, W) to (N, C, H, W). Everything about a
block lives in its file: the module, its docstring (paper, formulas) and its ``info``
(:class:`~profiler.blockinfo.BlockInfo`: label, paper, parameter and traffic formulas, what
explains its timings), which :meth:`BlockRegistry.info` hands to reports and measurements.
Adding a block is one file plus one ``BLOCKS.register`` line below. A name containing ``:``
loads a user block (``package.module:attr``, a class or a factory taking ``channels`` first).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from torch import nn

from profiler.blockinfo import BlockInfo
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
    "BlockRegistry",
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



class BlockRegistry(Registry[nn.Module]):
    """The block registry: constructors by name, and what each block declares about itself."""

    def register(self, name: str, factory: Callable[..., nn.Module],
                 summary: str | None = None) -> None:
        """Register ``factory`` as ``name``; the summary defaults to its ``info.summary``."""
        super().register(name, factory, summary or declared_info(factory, name).summary)

    def info(self, name: str) -> BlockInfo:
        """The :class:`~profiler.blockinfo.BlockInfo` block ``name`` (registered, or a
        ``package.module:attr`` path) declares; :meth:`BlockInfo.default` if it declares none.
        Unknown names raise UnknownNameError like :meth:`factory`."""
        return declared_info(self.factory(name), name)


def declared_info(factory: Callable[..., Any], name: str) -> BlockInfo:
    """``factory.info`` when it is a :class:`BlockInfo`, else the defaults for ``name``."""
    info = getattr(factory, "info", None)
    return info if isinstance(info, BlockInfo) else BlockInfo.default(name)


BLOCKS = BlockRegistry("block")

BLOCKS.register("se", SqueezeExcitation)
BLOCKS.register("cbam", CBAM)
BLOCKS.register("gc", GlobalContext)
BLOCKS.register("eca", ECA)
BLOCKS.register("se_var1", SEVar1)
BLOCKS.register("se_var2", SEVar2)
BLOCKS.register("se_var3", SEVar3)
BLOCKS.register("eca_ns", ECANonShared)


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
