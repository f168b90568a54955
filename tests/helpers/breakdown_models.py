"""Toy networks whose parts' costs are known, for the breakdown tests.

``HeavyConvNet``: one deliberately heavy convolution (32 -> 64 channels, 5x5, on a
32-channel input: 800 multiply-adds per output element), a ReLU on its output, a tiny
attention gate, a linear head, and no batch norm or pooling layer at all (its global mean is
the model's own code: "other model ops").
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from tests.helpers.user_objects import Gate

__all__ = ["HEAVY_CHANNELS", "HEAVY_KERNEL", "IN_CHANNELS", "HeavyConvNet"]

IN_CHANNELS = 32
HEAVY_CHANNELS = 64
HEAVY_KERNEL = 5


class HeavyConvNet(nn.Module):
    """conv 5x5 (heavy) -> ReLU -> attn (tiny gate) -> mean -> Linear head."""

    def __init__(self, attention: str | None = None,
                 attention_options: dict[str, Any] | None = None, classes: int = 10) -> None:
        super().__init__()
        self.conv = nn.Conv2d(IN_CHANNELS, HEAVY_CHANNELS, HEAVY_KERNEL, padding=HEAVY_KERNEL // 2,
                              bias=False)
        self.act = nn.ReLU()
        self.attn = Gate(HEAVY_CHANNELS)  # attention by name: mean, linear, sigmoid, rescale
        self.head = nn.Linear(HEAVY_CHANNELS, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.attn(self.act(self.conv(x)))
        return self.head(x.mean(dim=(2, 3)))
