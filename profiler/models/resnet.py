"""ResNet-18/34/50/101/152 in torchvision's v1.5 layout, with attention on the residual branch.

Paper: Kaiming He, Xiangyu Zhang, Shaoqing Ren, Jian Sun, "Deep Residual Learning for Image
Recognition", CVPR 2016, arXiv:1512.03385. Written from the architecture (no torchvision
import); module names match torchvision's so its state dicts load into the plain models.
"v1.5" puts the stride of a downsampling Bottleneck on its 3x3 conv, not the first 1x1.

Attention sits where the official SE, CBAM, GC and ECA code puts it: on the residual branch,
after the unit's last BatchNorm (``bn2`` in BasicBlock, ``bn3`` in Bottleneck), before the
addition of the shortcut, as the submodule ``attn`` of the unit (``layer1.0.attn``). Stages
1..4 are ``layer1..layer4`` (c2..c5); GC defaults to stages 2-4 (c3-c5) as in GCNet, every
other block to all four.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from profiler.models.placement import AttentionPlan, plan_attention

__all__ = [
    "DEFAULT_STAGES",
    "BasicBlock",
    "Bottleneck",
    "ResNet",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
]

# Blocks whose default stages are not all four (GCNet inserts GC in c3-c5 only).
DEFAULT_STAGES: dict[str, tuple[int, ...]] = {"gc": (2, 3, 4)}


def _conv3x3(inplanes: int, planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)


def _conv1x1(inplanes: int, planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(inplanes, planes, 1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """3x3 -> BN -> ReLU -> 3x3 -> BN -> [attn] -> + shortcut -> ReLU (ResNet-18/34)."""

    expansion = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        attn: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.conv1 = _conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.attn = attn
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.attn is not None:
            out = self.attn(out)
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(_residual_add(out, identity, self.attn))


def _residual_add(
    out: torch.Tensor, identity: torch.Tensor, attn: nn.Module | None
) -> torch.Tensor:
    """``out += identity`` in place, as torchvision and the official ECA/SE code do (it saves
    one activation tensor), except after a user block: its output may be saved for its own
    backward (``return torch.sigmoid(x)``), which an in-place add would corrupt, so it gets
    ``out + identity``.
    """
    if attn is not None and not getattr(attn, "is_attention", False):
        return out + identity
    out += identity
    return out


class Bottleneck(nn.Module):
    """1x1 -> BN -> ReLU -> 3x3 (stride) -> BN -> ReLU -> 1x1 -> BN -> [attn] -> + shortcut ->
    ReLU (ResNet-50/101/152, v1.5)."""

    expansion = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        attn: nn.Module | None = None,
    ) -> None:
        super().__init__()
        width = planes
        self.conv1 = _conv1x1(inplanes, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = _conv3x3(width, width, stride)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = _conv1x1(width, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.attn = attn
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.attn is not None:
            out = self.attn(out)
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(_residual_add(out, identity, self.attn))


Unit = type[BasicBlock] | type[Bottleneck]


class ResNet(nn.Module):
    """Stem (7x7/2 conv, BN, ReLU, 3x3/2 max pool), four stages, global pool, FC."""

    def __init__(
        self, unit: Unit, layers: Sequence[int], plan: AttentionPlan, num_classes: int = 1000
    ) -> None:
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self._make_stage(unit, 64, layers[0], 1, plan, stage=1)
        self.layer2 = self._make_stage(unit, 128, layers[1], 2, plan, stage=2)
        self.layer3 = self._make_stage(unit, 256, layers[2], 2, plan, stage=3)
        self.layer4 = self._make_stage(unit, 512, layers[3], 2, plan, stage=4)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512 * unit.expansion, num_classes)
        _init_backbone(self)

    def _make_stage(
        self, unit: Unit, planes: int, blocks: int, stride: int, plan: AttentionPlan, stage: int
    ) -> nn.Sequential:
        out_channels = planes * unit.expansion
        downsample = None
        if stride != 1 or self.inplanes != out_channels:
            downsample = nn.Sequential(
                _conv1x1(self.inplanes, out_channels, stride), nn.BatchNorm2d(out_channels)
            )
        units = [unit(self.inplanes, planes, stride, downsample, plan.block(stage, out_channels))]
        self.inplanes = out_channels
        units += [unit(out_channels, planes, attn=plan.block(stage, out_channels))
                  for _ in range(1, blocks)]
        return nn.Sequential(*units)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def _init_backbone(model: nn.Module) -> None:
    """torchvision's ResNet initialisation, applied outside the attention modules (which keep
    their own, e.g. GC's zero-initialised last conv). Nothing to initialise on the meta
    device (no storage; counting builds there)."""
    if any(p.is_meta for p in model.parameters()):
        return
    for path, module in model.named_modules():
        if "attn" in path.split("."):
            continue
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)


def _resnet(
    name: str,
    unit: Unit,
    layers: Sequence[int],
    attention: str | None,
    attention_options: Mapping[str, Any] | None,
    num_classes: int,
) -> ResNet:
    plan = plan_attention(attention, attention_options, model=name, num_stages=4,
                          default_stages=DEFAULT_STAGES)
    return ResNet(unit, layers, plan, num_classes)


def resnet18(
    attention: str | None = None,
    attention_options: Mapping[str, Any] | None = None,
    num_classes: int = 1000,
) -> ResNet:
    """ResNet-18: BasicBlock x (2, 2, 2, 2); 11,689,512 parameters without attention."""
    return _resnet("resnet18", BasicBlock, (2, 2, 2, 2), attention, attention_options,
                   num_classes)


def resnet34(
    attention: str | None = None,
    attention_options: Mapping[str, Any] | None = None,
    num_classes: int = 1000,
) -> ResNet:
    """ResNet-34: BasicBlock x (3, 4, 6, 3); 21,797,672 parameters without attention."""
    return _resnet("resnet34", BasicBlock, (3, 4, 6, 3), attention, attention_options,
                   num_classes)


def resnet50(
    attention: str | None = None,
    attention_options: Mapping[str, Any] | None = None,
    num_classes: int = 1000,
) -> ResNet:
    """ResNet-50 v1.5: Bottleneck x (3, 4, 6, 3); 25,557,032 parameters without attention."""
    return _resnet("resnet50", Bottleneck, (3, 4, 6, 3), attention, attention_options,
                   num_classes)


def resnet101(
    attention: str | None = None,
    attention_options: Mapping[str, Any] | None = None,
    num_classes: int = 1000,
) -> ResNet:
    """ResNet-101 v1.5: Bottleneck x (3, 4, 23, 3); 44,549,160 parameters without attention."""
    return _resnet("resnet101", Bottleneck, (3, 4, 23, 3), attention, attention_options,
                   num_classes)


def resnet152(
    attention: str | None = None,
    attention_options: Mapping[str, Any] | None = None,
    num_classes: int = 1000,
) -> ResNet:
    """ResNet-152 v1.5: Bottleneck x (3, 8, 36, 3); 60,192,808 parameters without attention."""
    return _resnet("resnet152", Bottleneck, (3, 8, 36, 3), attention, attention_options,
                   num_classes)
