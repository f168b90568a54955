"""A block added the way the README says: this one file, plus ``BLOCKS.register("toy", ToyGate)``.

Everything attnprof needs to know about it is here: the module, and its ``info`` (label,
paper, parameter formula, what its timings come from, its memory-traffic floor). The test that
registers it (``tests/test_toy_block.py``) takes it through count, bench, report and compare.
"""

from __future__ import annotations

import torch
from torch import nn

from profiler.blockinfo import BlockInfo, TrafficFloor
from profiler.blocks import AttentionBlock

__all__ = ["TOY_FORMULA", "ToyGate", "toy_traffic"]

TOY_FORMULA = "toy: 2*N*C*H*W*s + P (read x, write y)"


def toy_traffic(x: int, m: int, p: int, train: bool) -> TrafficFloor:
    """Read x and write y forward; in training also read dy and write dx, and P three times."""
    if train:
        return TrafficFloor(4 * x + 3 * p, "toy: 4*N*C*H*W*s + 3*P")
    return TrafficFloor(2 * x + p, TOY_FORMULA)


class ToyGate(AttentionBlock):
    """``x * sigmoid(w_c)``: a learned gate per channel, ``C`` parameters, no pooling."""

    block_name = "toy"
    info = BlockInfo(
        label="Toy gate",
        summary="toy gate (tests): x * sigmoid(w_c); C params",
        paper="attnprof's tests",
        params="C",
        passes="one channel-wise rescale by a learned gate",
        traffic=toy_traffic,
    )

    def __init__(self, channels: int) -> None:
        super().__init__(channels)
        self.weight = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        return x * torch.sigmoid(self.weight)[None, :, None, None]
