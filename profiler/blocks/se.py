"""Squeeze-and-Excitation (SE) block.

Paper: Jie Hu, Li Shen, Gang Sun, "Squeeze-and-Excitation Networks", CVPR 2018,
arXiv:1709.01507. Official code: https://github.com/hujie-frank/SENet (Caffe).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from profiler.blockinfo import BlockInfo, pool_rescale_traffic
from profiler.blocks._common import AttentionBlock, check_bool, check_positive_int

__all__ = ["REDUCTION", "SqueezeExcitation", "reduction_terms", "se_hidden_channels"]

REDUCTION = 16


def se_hidden_channels(channels: int, reduction: int) -> int:
    """The bottleneck width: ``channels // reduction`` as in the official code, at least 1."""
    return max(1, channels // reduction)


def reduction_terms(channels: int, options: Mapping[str, Any]) -> dict[str, float]:
    """The ``r`` of a paper's formula (``2C^2/r``): the block's reduction ratio."""
    return {"r": options.get("reduction", REDUCTION)}


class SqueezeExcitation(AttentionBlock):
    """SE: GAP -> FC C->h (bias) -> ReLU -> FC h->C (bias) -> sigmoid -> rescale.

    Hu, Shen, Sun, "Squeeze-and-Excitation Networks", CVPR 2018, arXiv:1709.01507.

    The two FC layers are 1x1 convolutions on the (N, C, 1, 1) descriptor, as in the Caffe
    release; a Linear layer would have the same parameters and MACs. ``h = C // reduction``
    (integer division, as the official code; at least 1). ``bias=False`` drops both FC biases
    (the paper's Table 2 counts 2C^2/r, i.e. no biases).

    Parameters: ``2*C*h + h + C`` with biases, ``2*C*h`` without.

    FLOPs per sample, in MACs as fvcore counts them by default: ``C*H*W`` (the GAP, counted
    by fvcore as one per input element) + ``2*C*h`` (the two FCs). Elementwise work fvcore
    does not count: ``h`` ReLU, ``C`` sigmoid, ``C*H*W`` rescale multiplies, ``h + C`` bias
    adds.
    """

    block_name = "se"
    info = BlockInfo(
        label="SE",
        summary="Squeeze-and-Excitation (Hu et al., CVPR 2018): FC C->C/r->C, sigmoid; r = 16",
        paper="Hu, Shen, Sun, CVPR 2018, arXiv:1709.01507",
        params="2Ch + h + C (h = C // r; bias=False: 2Ch)",
        passes="a global average pool, two small fully connected layers and a channel-wise "
               "rescale",
        traffic=pool_rescale_traffic,
        terms=reduction_terms,
    )

    def __init__(self, channels: int, reduction: int = REDUCTION, bias: bool = True) -> None:
        super().__init__(channels)
        self.reduction = check_positive_int("se", "reduction", reduction)
        bias = check_bool("se", "bias", bias)
        self.hidden = se_hidden_channels(self.channels, self.reduction)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(self.channels, self.hidden, 1, bias=bias)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(self.hidden, self.channels, 1, bias=bias)
        self.gate = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        y = self.gate(self.fc2(self.relu(self.fc1(self.pool(x)))))
        return x * y

    def extra_repr(self) -> str:
        return f"channels={self.channels}, reduction={self.reduction}, hidden={self.hidden}"
