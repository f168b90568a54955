"""Display names and block metadata for reports (``resnet50`` -> ``ResNet-50``, ``se`` -> ``SE``).

A block's label and the words that explain its timings come from the block itself
(:meth:`profiler.blocks.BlockRegistry.info`). Reading them needs the block classes, hence
torch: where torch (or a user block's module) cannot be imported, a report still renders,
with :meth:`~profiler.blockinfo.BlockInfo.default` (the registry name as the label).
"""

from __future__ import annotations

import re

from profiler.blockinfo import BlockInfo
from profiler.errors import AttnprofError

__all__ = ["NO_ATTENTION", "backbone_label", "block_info", "method_label"]

NO_ATTENTION = "none"
_RESNET = re.compile(r"^resnet(\d+)$")


def backbone_label(model: str) -> str:
    """``resnet50`` -> ``ResNet-50``, ``mobilenet_v2`` -> ``MobileNetV2``, else unchanged."""
    if match := _RESNET.match(model):
        return f"ResNet-{match.group(1)}"
    if model == "mobilenet_v2":
        return "MobileNetV2"
    return model


def block_info(name: str) -> BlockInfo:
    """What block ``name`` declares about itself; the defaults when it cannot be loaded."""
    try:
        from profiler.blocks import BLOCKS  # needs torch
    except ImportError:
        return BlockInfo.default(name)
    try:
        return BLOCKS.info(name)
    except (AttnprofError, ImportError):
        return BlockInfo.default(name)


def method_label(method: str) -> str:
    """``se`` -> ``SE`` (the block's label); ``none`` (the plain backbone) stays ``none``."""
    return method if method == NO_ATTENTION else block_info(method).label
