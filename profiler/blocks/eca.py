"""Efficient Channel Attention (ECA) block and the paper's adaptive kernel size psi(C).

Paper: Qilong Wang, Banggu Wu, Pengfei Zhu, Peihua Li, Wangmeng Zuo, Qinghua Hu, "ECA-Net:
Efficient Channel Attention for Deep Convolutional Neural Networks", CVPR 2020,
arXiv:1910.03151. Official code: https://github.com/BangguWu/ECANet (``models/eca_module.py``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from profiler.blockinfo import BlockInfo, pool_rescale_traffic, variant
from profiler.blocks._common import AttentionBlock, check_channels, check_number, check_odd_kernel
from profiler.errors import InvalidOptionError

__all__ = ["ADAPTIVE", "ECA", "eca_kernel_size", "kernel_terms", "resolve_kernel_size"]

ADAPTIVE = "adaptive"


def eca_kernel_size(channels: int, gamma: float = 2, b: float = 1) -> int:
    """The paper's adaptive kernel size psi(C) (Eq. 12-13 of arXiv:1910.03151).

    ``t = int(abs((log2(C) + b) / gamma))``; ``k = t`` if ``t`` is odd, else ``t + 1``.
    With gamma=2, b=1: C=64 -> 3, 128..1024 -> 5, 2048 and 4096 -> 7.
    """
    channels = check_channels(channels)
    gamma = check_number("eca", "gamma", gamma, positive=True)
    b = check_number("eca", "b", b)
    t = int(abs((math.log2(channels) + b) / gamma))
    return t if t % 2 else t + 1


def resolve_kernel_size(
    channels: int, k_size: Any = None, gamma: float = 2, b: float = 1, block: str = "eca"
) -> int:
    """``k_size`` itself if it is a kernel size, psi(C) if it is None or ``"adaptive"``."""
    if k_size is None or k_size == ADAPTIVE:
        return eca_kernel_size(channels, gamma, b)
    if isinstance(k_size, str):
        raise InvalidOptionError(
            f"{block}: option k_size must be a positive odd integer or 'adaptive', got {k_size!r}"
        )
    return check_odd_kernel(block, "k_size", k_size)


def kernel_terms(channels: int, options: Mapping[str, Any],
                 default: int | str | None = None) -> dict[str, float]:
    """The ``k`` of a paper's formula (``k``, ``k*C``): the kernel size the block would use."""
    psi = {key: options[key] for key in ("gamma", "b") if key in options}
    return {"k": resolve_kernel_size(channels, options.get("k_size", default), **psi)}


class ECA(AttentionBlock):
    """ECA: GAP -> Conv1d(1, 1, k, padding (k-1)//2, no bias) across channels -> sigmoid ->
    rescale.

    Wang, Wu, Zhu, Li, Zuo, Hu, "ECA-Net: Efficient Channel Attention for Deep Convolutional
    Neural Networks", CVPR 2020, arXiv:1910.03151.

    ``k_size``: a positive odd integer, or None / ``"adaptive"`` (default) for the paper's
    psi(C) with ``gamma`` and ``b`` (see :func:`eca_kernel_size`). The official code takes k
    per stage instead; :func:`profiler.build_model` accepts such per-stage lists.

    Parameters: ``k``.

    FLOPs per sample, in MACs as fvcore counts them by default: ``C*H*W`` (the GAP, one per
    input element) + ``k*C`` (the 1-D convolution). Elementwise work fvcore does not count:
    ``C`` sigmoid and ``C*H*W`` rescale multiplies.
    """

    block_name = "eca"
    info = BlockInfo(
        label="ECA",
        summary="ECA (Wang et al., CVPR 2020): 1-D conv across channels, k = psi(C); k params",
        paper="Wang, Wu, Zhu, Li, Zuo, Hu, CVPR 2020, arXiv:1910.03151",
        params="k (k = psi(C) = nearest odd of (log2 C + 1) / 2, or a fixed k_size)",
        passes="a global average pool, a 1-D convolution across channels and a channel-wise "
               "rescale",
        traffic=pool_rescale_traffic,
        terms=kernel_terms,
        variants=(
            variant("eca-released", "ECA with the released per-stage kernel sizes"),
            variant("eca-adaptive", "ECA with the paper's adaptive psi(C) kernel sizes",
                    k_size="adaptive"),
            variant("eca-k3", "ECA with k = 3 everywhere", k_size=3),
        ),
    )

    def __init__(
        self, channels: int, k_size: int | str | None = None, gamma: float = 2, b: float = 1
    ) -> None:
        super().__init__(channels)
        self.k_size = resolve_kernel_size(self.channels, k_size, gamma, b)
        self.adaptive = k_size is None or k_size == ADAPTIVE
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.conv = nn.Conv1d(1, 1, self.k_size, padding=(self.k_size - 1) // 2, bias=False)
        self.gate = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        y = self.pool(x)  # N, C, 1, 1
        y = self.conv(y.squeeze(-1).transpose(-1, -2)).transpose(-1, -2).unsqueeze(-1)
        return x * self.gate(y)

    def extra_repr(self) -> str:
        how = "adaptive" if self.adaptive else "fixed"
        return f"channels={self.channels}, k_size={self.k_size} ({how})"
