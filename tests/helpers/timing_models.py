"""Tiny networks for the timing-harness tests, loaded as ``tests.helpers.timing_models:NAME``.

They take the same arguments as registered models and blocks (``attention``,
``attention_options`` / ``channels``), so any command accepts them as a user model.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

__all__ = ["FeatureNet", "Gate", "TinyNet"]


class TinyNet(nn.Module):
    """conv-bn-relu x2, global pool, linear: (N, 3, H, W) -> (N, classes) logits."""

    def __init__(self, attention: str | None = None,
                 attention_options: dict[str, Any] | None = None, classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
            nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


class FeatureNet(nn.Module):
    """A model that returns a feature map, not logits (trains on the output's mean)."""

    def __init__(self, attention: str | None = None,
                 attention_options: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Gate(nn.Module):
    """A sigmoid channel gate (pool, linear, sigmoid, rescale): an SE without reduction."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.fc = nn.Linear(channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = torch.sigmoid(self.fc(x.mean(dim=(2, 3))))
        return x * gate[:, :, None, None]
