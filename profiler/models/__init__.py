"""Backbones that attention blocks plug into, registered by name in :data:`MODELS`."""

from __future__ import annotations

from typing import Any

from torch import nn

from profiler.registry import Registry

__all__ = ["MODELS", "build_model"]

MODELS: Registry[nn.Module] = Registry("model")


def build_model(
    name: str, attention: str | None = None, attention_options: dict[str, Any] | None = None
) -> nn.Module:
    """Build backbone ``name`` with ``attention`` blocks placed as the official code does."""
    return MODELS.factory(name)(attention=attention, attention_options=attention_options)
