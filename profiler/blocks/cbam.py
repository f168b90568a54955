"""Convolutional Block Attention Module (CBAM): a channel gate, then a spatial gate.

Paper: Sanghyun Woo, Jongchan Park, Joon-Young Lee, In So Kweon, "CBAM: Convolutional Block
Attention Module", ECCV 2018, arXiv:1807.06521. Official code:
https://github.com/Jongchan/attention-module (``MODELS/cbam.py``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from profiler.blockinfo import BlockInfo, TrafficFloor, variant
from profiler.blocks._common import (
    AttentionBlock,
    check_bool,
    check_choice,
    check_odd_kernel,
    check_positive_int,
)
from profiler.blocks.se import REDUCTION, reduction_terms, se_hidden_channels

__all__ = ["CBAM", "CBAM_POOLING", "CBAMChannelGate", "CBAMSpatialGate", "cbam_traffic"]

CBAM_POOLING: tuple[str, ...] = ("modules", "functional")


def cbam_traffic(x: int, m: int, p: int, train: bool) -> TrafficFloor:
    """Forward ``4X + 4M + P``: read x for the avg/max channel pool; read x for the channel-wise
    avg/max of the rescaled x (2M written); read x and write y (the 7x7 conv reads the 2M
    map). The backward pass is not derived (None)."""
    if train:
        return TrafficFloor(None, "not derived for cbam backward")
    return TrafficFloor(4 * x + 4 * m + p, "4*N*C*H*W*s + 4*N*H*W*s + P")


class CBAMChannelGate(nn.Module):
    """Shared MLP (Linear C->h, ReLU, Linear h->C, biases) over avg- and max-pooled
    descriptors, summed, sigmoid, rescale (the official ``ChannelGate``).

    ``pooling="modules"`` pools with ``nn.AdaptiveAvgPool2d`` / ``nn.AdaptiveMaxPool2d``
    modules; ``"functional"`` with ``F.avg_pool2d`` / ``F.max_pool2d`` over the whole map, as
    the official ``ChannelGate`` does. Same values; counters that hook modules (thop) see
    the pooling only in the first form, fvcore's default counts only ``adaptive_avg_pool2d``.
    """

    def __init__(self, channels: int, hidden: int, bias: bool = True,
                 pooling: str = "modules") -> None:
        super().__init__()
        self.pooling = check_choice("cbam", "pooling", pooling, CBAM_POOLING)
        if self.pooling == "modules":
            self.avg_pool = nn.AdaptiveAvgPool2d(1)
            self.max_pool = nn.AdaptiveMaxPool2d(1)
        self.mlp = nn.Sequential(
            nn.Flatten(1),
            nn.Linear(channels, hidden, bias=bias),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, channels, bias=bias),
        )

    def _pools(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.pooling == "modules":
            return self.avg_pool(x), self.max_pool(x)
        window = (x.shape[2], x.shape[3])
        return (F.avg_pool2d(x, window, stride=window), F.max_pool2d(x, window, stride=window))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        avg, peak = self._pools(x)
        logits = self.mlp(avg) + self.mlp(peak)
        return x * torch.sigmoid(logits)[:, :, None, None]


class CBAMSpatialGate(nn.Module):
    """cat[max over C, mean over C] -> k x k conv 2->1 (no bias) -> BN -> sigmoid -> rescale.

    The channel order (max first, then mean) and the BN settings (eps 1e-5, momentum 0.01)
    are the official ``ChannelPool`` / ``BasicConv``'s.
    """

    def __init__(self, kernel_size: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=(kernel_size - 1) // 2, bias=False)
        self.bn = nn.BatchNorm2d(1, eps=1e-5, momentum=0.01)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat(
            (torch.max(x, dim=1, keepdim=True)[0], torch.mean(x, dim=1, keepdim=True)), dim=1
        )
        return x * torch.sigmoid(self.bn(self.conv(pooled)))


class CBAM(AttentionBlock):
    """CBAM: channel gate (shared MLP over avg and max descriptors) then spatial gate.

    Woo, Park, Lee, Kweon, "CBAM: Convolutional Block Attention Module", ECCV 2018,
    arXiv:1807.06521.

    ``h = C // reduction`` (at least 1), ``k = kernel_size``. ``spatial=False`` keeps the
    channel gate only (the paper's channel-attention ablation). ``bias=False`` drops the MLP
    biases (the official code has them). ``pooling="functional"`` pools the channel gate's
    descriptors with functional calls as the official code does (default ``"modules"``; see
    :class:`CBAMChannelGate`: same values, different counts under module-hook counters).

    Parameters: ``2*C*h + h + C`` (MLP with biases; ``2*C*h`` without) ``+ 2*k*k + 2``
    (spatial conv without bias, BatchNorm2d(1) weight and bias; its 2 running statistics are
    buffers).

    FLOPs per sample, in MACs as fvcore counts them by default: ``C*H*W`` (the average pool)
    + ``4*C*h`` (the MLP runs on both descriptors) + ``2*k*k*H*W`` (spatial conv) + the
    BatchNorm on (1, H, W): ``2*H*W`` in eval mode, ``5*H*W`` in train mode. Work fvcore does
    not count: the max pool (``C*H*W`` comparisons, an unsupported op), ``2*h`` ReLU, ``C``
    adds and ``C`` sigmoid, ``2*C*H*W`` for the channel max and mean, ``H*W`` sigmoid, and
    two rescales of ``C*H*W`` multiplies each.
    """

    block_name = "cbam"
    info = BlockInfo(
        label="CBAM",
        summary="CBAM (Woo et al., ECCV 2018): avg+max channel MLP, then 7x7 spatial gate",
        paper="Woo, Park, Lee, Kweon, ECCV 2018, arXiv:1807.06521",
        params="2Ch + h + C + 2*7*7 + 2 (h = C // r)",
        passes="average and max pools, a shared MLP, channel-wise max and mean maps, a 7x7 "
               "convolution and two rescales",
        traffic=cbam_traffic,
        terms=reduction_terms,
        variants=(
            variant("cbam", "CBAM with pooling modules and MLP biases"),
            variant("cbam-official", "CBAM with functional channel pooling and MLP biases "
                    "(the official code)", pooling="functional"),
            variant("cbam-nobias", "CBAM with pooling modules, without MLP biases",
                    bias=False),
            variant("cbam-official-nobias", "CBAM with functional channel pooling, without "
                    "MLP biases", pooling="functional", bias=False),
        ),
    )

    def __init__(
        self,
        channels: int,
        reduction: int = REDUCTION,
        kernel_size: int = 7,
        spatial: bool = True,
        bias: bool = True,
        pooling: str = "modules",
    ) -> None:
        super().__init__(channels)
        self.reduction = check_positive_int("cbam", "reduction", reduction)
        self.kernel_size = check_odd_kernel("cbam", "kernel_size", kernel_size)
        spatial = check_bool("cbam", "spatial", spatial)
        self.hidden = se_hidden_channels(self.channels, self.reduction)
        bias = check_bool("cbam", "bias", bias)
        self.channel_gate = CBAMChannelGate(self.channels, self.hidden, bias, pooling)
        self.spatial_gate = CBAMSpatialGate(self.kernel_size) if spatial else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        out = self.channel_gate(x)
        if self.spatial_gate is not None:
            out = self.spatial_gate(out)
        return out

    def extra_repr(self) -> str:
        return (f"channels={self.channels}, reduction={self.reduction}, hidden={self.hidden}, "
                f"kernel_size={self.kernel_size}, spatial={self.spatial_gate is not None}")
