"""Attention blocks: one module per paper, registered by name in :data:`BLOCKS`.

Every block takes ``channels`` first and maps (N, C, H, W) to (N, C, H, W).
"""

from __future__ import annotations

from typing import Any

from torch import nn

from profiler.registry import Registry

__all__ = ["BLOCKS", "build_block"]

BLOCKS: Registry[nn.Module] = Registry("block")


def build_block(name: str, channels: int, **options: Any) -> nn.Module:
    """Build attention block ``name`` (registered, or ``package.module:attr``) for ``channels``."""
    return BLOCKS.factory(name)(channels, **options)
