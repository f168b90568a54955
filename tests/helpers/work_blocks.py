"""Test-fixture blocks that do a known amount of extra work (not sleeps), for checking that
paired timing tells small differences apart (``tools/acceptance_paired.py``).

:class:`Work` multiplies its input by a constant ``passes`` times: each pass is one
elementwise kernel that reads and writes the whole feature map, so the block's time grows in
proportion to ``passes`` (every pass is the same kernel on the same tensor). ``work21`` does
5% more work than ``work20``; ``work51`` 2% more than ``work50``. The output is the input
scaled by 0.999^passes: same shape, finite, so the block can also sit inside a model.
:class:`Conv1x1` is compute-bound extra work for use inside a model (a steadier share of the
step than elementwise passes, whose cost there moves with cache residency).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["Conv1x1", "Work", "work20", "work21", "work50", "work51"]


class Work(nn.Module):
    """``passes`` elementwise passes over the input (see the module doc)."""

    def __init__(self, channels: int, passes: int = 20) -> None:
        super().__init__()
        self.channels = channels
        self.passes = passes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        for _ in range(self.passes):
            y = y * 0.999
        return y


def work20(channels: int) -> Work:
    return Work(channels, 20)


def work21(channels: int) -> Work:
    """5% more work than :func:`work20`."""
    return Work(channels, 21)


def work50(channels: int) -> Work:
    return Work(channels, 50)


def work51(channels: int) -> Work:
    """2% more work than :func:`work50`."""
    return Work(channels, 51)


class Conv1x1(nn.Module):
    """A 1x1 convolution C -> C as an attention block: compute-bound extra work (C^2 H W
    multiply-adds per image), so that inside a model it costs a steady share of the step."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)

