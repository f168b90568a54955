"""MobileNetV2 (width 1.0) in torchvision's layout, with attention after each projection BN.

Paper: Mark Sandler, Andrew Howard, Menglong Zhu, Andrey Zhmoginov, Liang-Chieh Chen,
"MobileNetV2: Inverted Residuals and Linear Bottlenecks", CVPR 2018, arXiv:1801.04381.
Written from the architecture (no torchvision import), module names as torchvision's:
channels rounded to multiples of 8, final 1x1 conv to 1280, classifier Dropout(0.2) + Linear;
3,504,872 parameters.

Attention as in the official ECA code (``eca_mobilenetv2.py``): after the projection (last)
BN of every inverted residual, before the residual addition, as the submodule ``attn`` of the
unit (``features.1.attn``). Stages are the seven rows (t, c, n, s) of the paper's Table 2:
1: 16 ch, 2: 24, 3: 32, 4: 64, 5: 96, 6: 160, 7: 320 (1, 2, 3, 4, 3, 3, 1 units).

Backbone defaults (user options override them):
- ECA: ``k_size`` per stage (1, 1, 1, 1, 3, 3, 3), the official rule "k = 1 if C < 96 else 3"
  (C < 96 exactly in stages 1-4); pass ``k_size="adaptive"`` for the paper's psi(C).
- SE: ``reduction=8``, the paper's MobileNetV2 setting.
- GC: stages 3-7 (stride 8 and coarser), the analogue of GCNet's c3-c5.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from profiler.models.placement import AttentionPlan, plan_attention

__all__ = [
    "BLOCK_DEFAULTS",
    "DEFAULT_STAGES",
    "SETTINGS",
    "InvertedResidual",
    "MobileNetV2",
    "make_divisible",
    "mobilenet_v2",
]

# (expansion t, output channels c, repeats n, first stride s), one row per stage.
SETTINGS: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
DEFAULT_STAGES: dict[str, tuple[int, ...]] = {"gc": (3, 4, 5, 6, 7)}
BLOCK_DEFAULTS: dict[str, dict[str, Any]] = {
    "eca": {"k_size": [1, 1, 1, 1, 3, 3, 3]},
    "se": {"reduction": 8},
}


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round ``value`` to the nearest multiple of ``divisor`` without losing more than 10%."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def _conv_bn_relu6(
    inplanes: int, planes: int, kernel_size: int = 3, stride: int = 1, groups: int = 1
) -> nn.Sequential:
    padding = (kernel_size - 1) // 2
    return nn.Sequential(
        nn.Conv2d(inplanes, planes, kernel_size, stride, padding, groups=groups, bias=False),
        nn.BatchNorm2d(planes),
        nn.ReLU6(inplace=True),
    )


class InvertedResidual(nn.Module):
    """[1x1 expand -> BN -> ReLU6] -> 3x3 depthwise -> BN -> ReLU6 -> 1x1 project -> BN ->
    [attn] -> (+ input when stride 1 and channels match)."""

    def __init__(
        self, inplanes: int, planes: int, stride: int, expand_ratio: int,
        attn: nn.Module | None = None,
    ) -> None:
        super().__init__()
        hidden = inplanes * expand_ratio
        self.use_res_connect = stride == 1 and inplanes == planes
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(_conv_bn_relu6(inplanes, hidden, kernel_size=1))
        layers += [
            _conv_bn_relu6(hidden, hidden, stride=stride, groups=hidden),
            nn.Conv2d(hidden, planes, 1, bias=False),
            nn.BatchNorm2d(planes),
        ]
        self.conv = nn.Sequential(*layers)
        self.out_channels = planes
        self.attn = attn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        if self.attn is not None:
            out = self.attn(out)
        return x + out if self.use_res_connect else out


class MobileNetV2(nn.Module):
    """Stem 3x3/2 conv to 32, 17 inverted residuals in 7 stages, 1x1 conv to 1280, classifier."""

    def __init__(self, plan: AttentionPlan, num_classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        inplanes = make_divisible(32)
        self.last_channel = make_divisible(1280)
        features: list[nn.Module] = [_conv_bn_relu6(3, inplanes, stride=2)]
        for stage, (t, c, n, s) in enumerate(SETTINGS, start=1):
            planes = make_divisible(c)
            for i in range(n):
                attn = plan.block(stage, planes)
                features.append(InvertedResidual(inplanes, planes, s if i == 0 else 1, t, attn))
                inplanes = planes
        features.append(_conv_bn_relu6(inplanes, self.last_channel, kernel_size=1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), nn.Linear(self.last_channel, num_classes)
        )
        _init_backbone(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))


def _init_backbone(model: nn.Module) -> None:
    """torchvision's MobileNetV2 initialisation, outside the attention modules. Nothing to
    initialise on the meta device (no storage; counting builds there)."""
    if any(p.is_meta for p in model.parameters()):
        return
    for path, module in model.named_modules():
        if "attn" in path.split("."):
            continue
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, 0, 0.01)
            nn.init.zeros_(module.bias)


def mobilenet_v2(
    attention: str | None = None,
    attention_options: Mapping[str, Any] | None = None,
    num_classes: int = 1000,
) -> MobileNetV2:
    """MobileNetV2 width 1.0; 3,504,872 parameters without attention (see module docstring)."""
    plan = plan_attention(attention, attention_options, model="mobilenet_v2",
                          num_stages=len(SETTINGS), default_stages=DEFAULT_STAGES,
                          block_defaults=BLOCK_DEFAULTS)
    return MobileNetV2(plan, num_classes)
