"""A user's own blocks and models, loaded in tests as ``tests.helpers.user_objects:NAME``.

They take the same arguments as registered models and blocks (``attention``,
``attention_options`` / ``channels``), so any command accepts them, the way users plug in their
own code. :class:`TinyNet` is the small model of the timing, memory and trace tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from profiler.models import plan_attention

__all__ = ["MLP", "FeatureNet", "Gate", "Halve", "OomGate", "OomNet", "PlainNet", "TinyGate",
           "TinyNet", "not_a_module", "tiny_gate"]


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


class Gate(nn.Module):
    """A sigmoid channel gate (pool, linear, sigmoid, rescale): an SE without reduction."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.fc = nn.Linear(channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = torch.sigmoid(self.fc(x.mean(dim=(2, 3))))
        return x * gate[:, :, None, None]


class TinyNet(nn.Module):
    """conv 3->8, BN, ReLU, [attn], conv 8->16 stride 2, BN, ReLU, GAP, FC 16->10 (logits).

    One attention stage (8 channels) at ``attn``, placed by :func:`profiler.models.plan_attention`
    like a registered backbone's.
    """

    def __init__(self, attention: str | None = None,
                 attention_options: Mapping[str, Any] | None = None, classes: int = 10) -> None:
        super().__init__()
        plan = plan_attention(attention, attention_options, model="TinyNet", num_stages=1)
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8),
                                  nn.ReLU())
        self.attn = plan.block(1, 8)
        self.features = nn.Sequential(
            nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        if self.attn is not None:
            x = self.attn(x)
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


class FeatureNet(nn.Module):
    """A model that returns a feature map, not logits (trains on the output's mean)."""

    def __init__(self, attention: str | None = None,
                 attention_options: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class PlainNet(nn.Module):
    """A user model that takes no attention arguments."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.mean(dim=(2, 3)))


class MLP(nn.Module):
    """flatten, linear 48->32, ReLU, linear 32->10: (N, 3, 4, 4) -> (N, 10) logits.

    Its activations are known exactly: see ``tests/test_memory_guard.py``.
    """

    def __init__(self, attention: str | None = None,
                 attention_options: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(48, 32), nn.ReLU(), nn.Linear(32, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class _RunsOutOfMemory(nn.Module):
    """Runs ``inner``, then raises the CPU allocator's out-of-memory error from its
    ``fail_after``-th forward on (counted per instance), as a batch too large would."""

    fail_after = 12

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.calls >= self.fail_after:
            raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to "
                               "allocate 1073741824 bytes.")
        return self.inner(x)


class OomNet(_RunsOutOfMemory):
    """A TinyNet that runs out of memory mid-run."""

    def __init__(self, attention: str | None = None,
                 attention_options: dict[str, Any] | None = None) -> None:
        super().__init__(TinyNet())


class OomGate(_RunsOutOfMemory):
    """A :class:`Gate` that runs out of memory mid-run."""

    def __init__(self, channels: int) -> None:
        super().__init__(Gate(channels))


class Halve(nn.Module):
    """Not an attention block: keeps half of the channels (another output shape)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.keep = channels // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, : self.keep]
