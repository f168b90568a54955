"""The thop-style module-hook counters, on a tiny network worked out by hand."""

from __future__ import annotations

import torch
from torch import nn

from profiler.measure.thop_style import HOOK_COUNTERS, hook_counts


class _Net(nn.Module):
    """conv(bias) -> BN -> ReLU -> MaxPool2d(2) -> the same ReLU again -> GAP -> Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.pool(self.relu(self.bn(self.conv(x)))))
        return self.fc(torch.flatten(self.gap(x), 1))


X = torch.randn(1, 3, 8, 8)
CONV = 4 * 8 * 8 * (3 * 9 + 1)  # output elements x (C_in * k * k + bias)
BN = 4 * (4 * 8 * 8)  # 4 per input element
RELU_FIRST, RELU_SECOND = 4 * 8 * 8, 4 * 4 * 4  # 1 per input element, per call
MAXPOOL = 2 * (4 * 4 * 4)  # kernel_size=2 as given (thop's quirk: not 2*2) x output
GAP = (4 * 4 + 1) * 4  # (window + 1) per output element
FC = (2 * 4 - 1) * 5  # (2 * in_features - 1) per output element


def test_thop_2019_formulas_by_hand() -> None:
    counts = hook_counts(_Net(), X)
    assert set(counts) == set(HOOK_COUNTERS)
    assert counts["thop-2019"].total == CONV + BN + RELU_FIRST + RELU_SECOND + MAXPOOL + GAP + FC
    # once: the shared ReLU counts its last call only
    assert counts["thop-2019-once"].total == CONV + BN + RELU_SECOND + MAXPOOL + GAP + FC
    assert counts["conv+fc"].total == 4 * 8 * 8 * 3 * 9 + 4 * 5  # multiply-adds, no bias


def test_attention_paths_and_invisible_pools() -> None:
    counts = hook_counts(_Net(), X, ["pool", "gap"])
    assert counts["thop-2019"].attention == MAXPOOL + GAP
    hidden = hook_counts(_Net(), X, ["pool", "gap"], no_pools_under=["pool"])
    assert hidden["thop-2019"].attention == GAP
    assert hidden["thop-2019"].total == counts["thop-2019"].total - MAXPOOL


def test_hooks_are_removed_and_mode_restored() -> None:
    net = _Net().train()
    hook_counts(net, X)
    assert net.training
    assert all(not m._forward_hooks for m in net.modules())
