"""Global Context (GC) block: softmax context pooling, bottleneck transform, add fusion.

Paper: Yue Cao, Jiarui Xu, Stephen Lin, Fangyun Wei, Han Hu, "GCNet: Non-local Networks Meet
Squeeze-Excitation Networks and Beyond", ICCV Workshops 2019, arXiv:1904.11492 (extended as
"Global Context Networks", TPAMI 2020, arXiv:2012.13375). Official code:
https://github.com/xvjiarui/GCNet (``mmdet/ops/gcb/context_block.py``).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import torch
from torch import nn

from profiler.blockinfo import BlockInfo, pool_rescale_traffic, variant
from profiler.blocks._common import AttentionBlock, check_bool, check_number

__all__ = ["GlobalContext", "gc_hidden_channels"]


def _parse_ratio(ratio: Any) -> Any:
    """Accept fraction strings such as ``"1/16"`` (from the command line) besides numbers."""
    if isinstance(ratio, str):
        try:
            return float(Fraction(ratio.strip()))
        except (ValueError, ZeroDivisionError):
            return ratio  # rejected with the usual message below
    return ratio


def gc_hidden_channels(channels: int, ratio: float) -> int:
    """The transform's width ``P = int(C * ratio)`` as in the official code, at least 1."""
    return max(1, int(channels * ratio))


class GlobalContext(AttentionBlock):
    """GC: context = softmax(1x1 conv C->1) weighted sum over H*W; transform = 1x1 C->P ->
    LayerNorm([P, 1, 1]) -> ReLU -> 1x1 P->C; output = x + transform(context).

    Cao, Xu, Lin, Wei, Hu, "GCNet: Non-local Networks Meet Squeeze-Excitation Networks and
    Beyond", ICCV Workshops 2019, arXiv:1904.11492.

    ``P = int(C * ratio)`` (at least 1); ``ratio`` 1/16 is the paper's r16, 1/4 its r4 (a
    number in (0, 1], or a fraction string such as ``"1/4"``). All
    three convolutions have biases, as in the official code. ``zero_init=True`` sets the last
    conv's weight and bias to zero like the official ``reset_parameters`` (the block starts as
    the identity); the context conv uses Kaiming-normal fan-in initialisation as there.

    Parameters: ``(C + 1) + (C*P + P) + 2*P + (P*C + C) = 2*C*P + 3*P + 2*C + 1``.

    FLOPs per sample, in MACs as fvcore counts them by default: ``C*H*W`` (context conv) +
    ``C*H*W`` (the weighted sum, a matmul) + ``2*C*P`` (transform convs) + ``5*P`` (fvcore's
    LayerNorm estimate). Elementwise work fvcore does not count: the softmax over ``H*W``
    (exp, sum, divide), ``P`` ReLU, ``1 + P + C`` bias adds and the ``C*H*W`` fusion adds.
    """

    block_name = "gc"
    info = BlockInfo(
        label="GC",
        summary="Global Context (Cao et al., ICCVW 2019): softmax pooling, C->C/16->C, add",
        paper="Cao, Xu, Lin, Wei, Hu, ICCV Workshops 2019, arXiv:1904.11492",
        params="2CP + 3P + 2C + 1 (P = int(C * ratio), ratio 1/16)",
        passes="a softmax attention pool over all positions, a bottleneck transform with "
               "LayerNorm and a broadcast add",
        traffic=pool_rescale_traffic,  # one online-softmax pass to pool, then read x, write y
        variants=(
            variant("gc-r16", "GC ratio 1/16 in stages c3-c5 (GCNet's r16)"),
            variant("gc-r4", "GC ratio 1/4 in stages c3-c5 (GCNet's r4)", ratio=0.25),
            variant("gc-r16-all", "GC ratio 1/16 in every stage", stages=[1, 2, 3, 4]),
            variant("gc-r4-all", "GC ratio 1/4 in every stage", ratio=0.25,
                    stages=[1, 2, 3, 4]),
        ),
    )

    def __init__(
        self, channels: int, ratio: float | str = 1.0 / 16, zero_init: bool = True
    ) -> None:
        super().__init__(channels)
        self.ratio = check_number("gc", "ratio", _parse_ratio(ratio), positive=True, at_most=1.0)
        zero_init = check_bool("gc", "zero_init", zero_init)
        self.hidden = gc_hidden_channels(self.channels, self.ratio)
        self.conv_mask = nn.Conv2d(self.channels, 1, 1)
        self.softmax = nn.Softmax(dim=2)
        self.transform = nn.Sequential(
            nn.Conv2d(self.channels, self.hidden, 1),
            nn.LayerNorm([self.hidden, 1, 1]),
            nn.ReLU(inplace=True),
            nn.Conv2d(self.hidden, self.channels, 1),
        )
        nn.init.kaiming_normal_(self.conv_mask.weight, mode="fan_in", nonlinearity="relu")
        nn.init.zeros_(self.conv_mask.bias)
        if zero_init:
            nn.init.zeros_(self.transform[-1].weight)
            nn.init.zeros_(self.transform[-1].bias)

    def context(self, x: torch.Tensor) -> torch.Tensor:
        """Attention-pooled (N, C, 1, 1) descriptor, computed as the official ``spatial_pool``."""
        values = x.flatten(2).unsqueeze(1)  # N, 1, C, HW
        weights = self.softmax(self.conv_mask(x).flatten(2)).unsqueeze(-1)  # N, 1, HW, 1
        return torch.matmul(values, weights).squeeze(1).unsqueeze(-1)  # N, C, 1, 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        return x + self.transform(self.context(x))

    def extra_repr(self) -> str:
        return f"channels={self.channels}, ratio={self.ratio:g}, hidden={self.hidden}"
