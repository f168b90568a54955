"""A user's own block and models, loaded in tests as ``tests.helpers.user_objects:NAME``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from profiler.models import plan_attention

__all__ = ["PlainNet", "TinyGate", "TinyNet", "not_a_module", "tiny_gate"]


class TinyGate(nn.Module):
    """``x * sigmoid(scale * w_c)``: one weight per channel, ``channels`` parameters.

    Deliberately not marked ``is_attention``: models find it by its ``attn`` path.
    """

    def __init__(self, channels: int, scale: float = 1.0) -> None:
        super().__init__()
        self.scale = scale
        self.weight = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.scale * self.weight)[None, :, None, None]


def tiny_gate(channels: int) -> nn.Module:
    """A factory function instead of a class."""
    return TinyGate(channels, scale=2.0)


def not_a_module(channels: int) -> str:
    """A broken user factory: returns something that is not a module."""
    return f"{channels} channels"


class TinyNet(nn.Module):
    """conv 3->8 -> BN -> ReLU -> [attn] -> GAP -> FC 8->10; one stage."""

    def __init__(
        self, attention: str | None = None, attention_options: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__()
        plan = plan_attention(attention, attention_options, model="TinyNet", num_stages=1)
        self.conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.attn = plan.block(1, 8)
        self.fc = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn(self.conv(x)))
        if self.attn is not None:
            x = self.attn(x)
        return self.fc(x.mean(dim=(2, 3)))


class PlainNet(nn.Module):
    """A user model that takes no attention arguments."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.mean(dim=(2, 3)))
