"""Squeeze-and-Excitation (SE) block.

Paper: Jie Hu, Li Shen, Gang Sun, "Squeeze-and-Excitation Networks", CVPR 2018,
arXiv:1709.01507. Official code: https://github.com/hujie-frank/SENet (Caffe).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from profiler.blockinfo import BlockInfo, pool_rescale_traffic, variant
from profiler.blocks._common import (
    AttentionBlock,
    check_bool,
    check_choice,
    check_positive_int,
)

__all__ = [
    "REDUCTION",
    "SE_FC_LAYERS",
    "SqueezeExcitation",
    "reduction_terms",
    "se_hidden_channels",
]

REDUCTION = 16
SE_FC_LAYERS: tuple[str, ...] = ("conv", "linear")


def se_hidden_channels(channels: int, reduction: int) -> int:
    """The bottleneck width: ``channels // reduction`` as in the official code, at least 1."""
    return max(1, channels // reduction)


def reduction_terms(channels: int, options: Mapping[str, Any]) -> dict[str, float]:
    """The ``r`` of a paper's formula (``2C^2/r``): the block's reduction ratio."""
    return {"r": options.get("reduction", REDUCTION)}


def _conv1x1(channels_in: int, channels_out: int, bias: bool) -> nn.Module:
    return nn.Conv2d(channels_in, channels_out, 1, bias=bias)


def _linear(channels_in: int, channels_out: int, bias: bool) -> nn.Module:
    return nn.Linear(channels_in, channels_out, bias=bias)


class SqueezeExcitation(AttentionBlock):
    """SE: GAP -> FC C->h (bias) -> ReLU -> FC h->C (bias) -> sigmoid -> rescale.

    Hu, Shen, Sun, "Squeeze-and-Excitation Networks", CVPR 2018, arXiv:1709.01507.

    ``fc="conv"`` (default): the two FC layers are 1x1 convolutions on the (N, C, 1, 1)
    descriptor, as in the Caffe release. ``fc="linear"``: they are ``nn.Linear`` layers on the
    flattened (N, C) descriptor, as in the widely used PyTorch port senet.pytorch
    (moskomule/senet.pytorch, ``SELayer``: Linear without bias) and torchvision-style code.
    Both have the same parameters and multiply-adds and compute the same function (the weights
    are reshaped views of each other); only counters that dispatch on module types tell them
    apart (thop counts a Linear as ``(2 * in - 1) * out`` operations in its 2019 releases, a
    1x1 convolution as ``in * out``). ``h = C // reduction`` (integer division, as the
    official code; at least 1). ``bias=False`` drops both FC biases (the paper's Table 2
    counts 2C^2/r, i.e. no biases).

    Parameters: ``2*C*h + h + C`` with biases, ``2*C*h`` without (either ``fc``).

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
        variants=(
            variant("se", "SE with 1x1-conv FCs and biases (the Caffe release)"),
            variant("se-nobias", "SE with 1x1-conv FCs without biases (Table 2's 2C^2/r)",
                    bias=False),
            variant("se-linear", "SE with Linear FCs and biases", fc="linear"),
            variant("se-linear-nobias", "SE with Linear FCs without biases (senet.pytorch)",
                    fc="linear", bias=False),
        ),
    )

    def __init__(self, channels: int, reduction: int = REDUCTION, bias: bool = True,
                 fc: str = "conv") -> None:
        super().__init__(channels)
        self.reduction = check_positive_int("se", "reduction", reduction)
        bias = check_bool("se", "bias", bias)
        self.fc = check_choice("se", "fc", fc, SE_FC_LAYERS)
        self.hidden = se_hidden_channels(self.channels, self.reduction)
        self.pool = nn.AdaptiveAvgPool2d(1)
        layer = _linear if self.fc == "linear" else _conv1x1
        self.fc1 = layer(self.channels, self.hidden, bias)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = layer(self.hidden, self.channels, bias)
        self.gate = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        y = self.pool(x)
        if self.fc == "linear":
            y = self.gate(self.fc2(self.relu(self.fc1(y.flatten(1)))))[:, :, None, None]
        else:
            y = self.gate(self.fc2(self.relu(self.fc1(y))))
        return x * y

    def extra_repr(self) -> str:
        return (f"channels={self.channels}, reduction={self.reduction}, hidden={self.hidden}, "
                f"fc={self.fc}")
