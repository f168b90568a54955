"""The channel-attention ablations of the ECA paper's Table 2: SE-Var1/2/3 and ECA-NS.

Paper: Qilong Wang, Banggu Wu, Pengfei Zhu, Peihua Li, Wangmeng Zuo, Qinghua Hu, "ECA-Net:
Efficient Channel Attention for Deep Convolutional Neural Networks", CVPR 2020,
arXiv:1910.03151, Section 3.2 and Table 2. The official repository does not release these
variants; they are written here from the paper's equations. Table 2's parameter column (SE-Var2
C, SE-Var3 C^2, ECA-NS k*C) implies no biases, which is the default; ``bias=True`` on
SE-Var2/SE-Var3 is an extension not in the paper.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from profiler.blockinfo import BlockInfo, pool_rescale_traffic
from profiler.blocks._common import AttentionBlock, check_bool
from profiler.blocks.eca import kernel_terms, resolve_kernel_size

__all__ = ["ECANonShared", "SEVar1", "SEVar2", "SEVar3"]

PAPER = "Wang et al., CVPR 2020 (ECA-Net), Table 2, arXiv:1910.03151"
NS_KERNEL = 3  # ECA-NS's k in Table 2


def _ns_terms(channels: int, options: Mapping[str, Any]) -> dict[str, float]:
    return kernel_terms(channels, options, default=NS_KERNEL)


class SEVar1(AttentionBlock):
    """SE-Var1: ``x * sigmoid(GAP(x))``, no parameters (ECA paper, Eq. 3, Table 2).

    Wang et al., "ECA-Net", CVPR 2020, arXiv:1910.03151.

    Parameters: ``0``.

    FLOPs per sample, in MACs as fvcore counts them by default: ``C*H*W`` (the GAP).
    Elementwise work fvcore does not count: ``C`` sigmoid, ``C*H*W`` rescale multiplies.
    """

    block_name = "se_var1"
    info = BlockInfo(
        label="SE-Var1",
        summary="ECA paper ablation SE-Var1: sigmoid(GAP); 0 params",
        paper=PAPER, params="0",
        passes="a global average pool, a sigmoid and a channel-wise rescale",
        traffic=pool_rescale_traffic,
    )

    def __init__(self, channels: int) -> None:
        super().__init__(channels)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.gate = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        return x * self.gate(self.pool(x))


class SEVar2(AttentionBlock):
    """SE-Var2: ``x * sigmoid(w ⊙ GAP(x))``, one weight per channel (ECA paper, Eq. 4).

    Wang et al., "ECA-Net", CVPR 2020, arXiv:1910.03151.

    Implemented as a depthwise 1x1 convolution (groups = C) on the (N, C, 1, 1) descriptor.

    Parameters: ``C`` (``2*C`` with ``bias=True``, not in the paper).

    FLOPs per sample, in MACs as fvcore counts them by default: ``C*H*W`` (GAP) + ``C``.
    Elementwise work fvcore does not count: ``C`` sigmoid, ``C*H*W`` rescale multiplies.
    """

    block_name = "se_var2"
    info = BlockInfo(
        label="SE-Var2",
        summary="ECA paper ablation SE-Var2: one weight per channel; C params",
        paper=PAPER, params="C",
        passes="a global average pool, one weight per channel and a channel-wise rescale",
        traffic=pool_rescale_traffic,
    )

    def __init__(self, channels: int, bias: bool = False) -> None:
        super().__init__(channels)
        bias = check_bool("se_var2", "bias", bias)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Conv2d(self.channels, self.channels, 1, groups=self.channels, bias=bias)
        self.gate = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        return x * self.gate(self.fc(self.pool(x)))


class SEVar3(AttentionBlock):
    """SE-Var3: ``x * sigmoid(W GAP(x))``, one full C x C FC layer (ECA paper, Eq. 5).

    Wang et al., "ECA-Net", CVPR 2020, arXiv:1910.03151.

    Implemented as a 1x1 convolution C->C on the (N, C, 1, 1) descriptor, without bias as the
    paper's C^2 parameter count implies.

    Parameters: ``C*C`` (``C*C + C`` with ``bias=True``, not in the paper).

    FLOPs per sample, in MACs as fvcore counts them by default: ``C*H*W`` (GAP) + ``C*C``.
    Elementwise work fvcore does not count: ``C`` sigmoid, ``C*H*W`` rescale multiplies.
    """

    block_name = "se_var3"
    info = BlockInfo(
        label="SE-Var3",
        summary="ECA paper ablation SE-Var3: one C x C FC; C^2 params",
        paper=PAPER, params="C^2",
        passes="a global average pool, one C x C fully connected layer and a channel-wise "
               "rescale",
        traffic=pool_rescale_traffic,
    )

    def __init__(self, channels: int, bias: bool = False) -> None:
        super().__init__(channels)
        bias = check_bool("se_var3", "bias", bias)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Conv2d(self.channels, self.channels, 1, bias=bias)
        self.gate = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        return x * self.gate(self.fc(self.pool(x)))


class ECANonShared(AttentionBlock):
    """ECA-NS: each channel's gate from its k neighbours with its own k weights (Eq. 6-7).

    Wang et al., "ECA-Net", CVPR 2020, arXiv:1910.03151: ``w_i = sigmoid(sum_j w_i^j y_i^j)``
    over the k channels around i, weights not shared across channels (ECA shares them).

    Implemented as a banded local convolution: the pooled descriptor is zero-padded by
    ``(k-1)//2`` at both ends (as ECA's Conv1d), unfolded into (N, C, k) windows, and a
    depthwise Conv1d(C, C, k, groups=C, no bias) gives one output per channel. ``k_size``
    defaults to 3 (Table 2); None or ``"adaptive"`` uses psi(C).

    Parameters: ``k*C``.

    FLOPs per sample, in MACs as fvcore counts them by default: ``C*H*W`` (GAP) + ``k*C``.
    Elementwise work fvcore does not count: ``C`` sigmoid, ``C*H*W`` rescale multiplies (the
    pad and unfold only move data).
    """

    block_name = "eca_ns"
    info = BlockInfo(
        label="ECA-NS",
        summary="ECA paper ablation ECA-NS: k non-shared weights per channel; k*C params",
        paper=PAPER, params="kC",
        passes="a global average pool, a non-shared local convolution across channels and a "
               "channel-wise rescale",
        traffic=pool_rescale_traffic,
        terms=_ns_terms,
    )

    def __init__(
        self, channels: int, k_size: int | str | None = NS_KERNEL, gamma: float = 2,
        b: float = 1
    ) -> None:
        super().__init__(channels)
        self.k_size = resolve_kernel_size(self.channels, k_size, gamma, b, block="eca_ns")
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.conv = nn.Conv1d(
            self.channels, self.channels, self.k_size, groups=self.channels, bias=False
        )
        self.gate = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        pad = (self.k_size - 1) // 2
        y = F.pad(self.pool(x).flatten(1), (pad, pad))  # N, C + k - 1
        windows = y.unfold(1, self.k_size, 1)  # N, C, k: channel i's neighbourhood
        return x * self.gate(self.conv(windows)).unsqueeze(-1)  # conv: N, C, 1

    def extra_repr(self) -> str:
        return f"channels={self.channels}, k_size={self.k_size}"
