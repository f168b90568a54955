"""Named configurations: a backbone + an attention block + its options, buildable by name.

They cover the ECA paper's released models (BangguWu/ECANet: ECA-Net18 k3577, ECA-Net34
k3357, ECA-Net50 k3557, ECA-Net101 k3357, ECA-Net152 k3357, ECA-MobileNetV2 k = 1 if C < 96
else 3) and the attention rows of its Table 3 (SE, CBAM, GC). A preset takes no other
attention; ``attention_options`` given to it override the preset's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from profiler.errors import InvalidOptionError
from profiler.spec import Options, freeze_options, thaw_options

__all__ = ["PRESETS", "Preset"]


@dataclass(frozen=True)
class Preset:
    """``name`` = backbone ``backbone`` with block ``attention`` and ``options``."""

    name: str
    backbone: str
    attention: str
    options: Options
    summary: str

    def arguments(
        self, attention: str | None = None, attention_options: Mapping[str, Any] | None = None
    ) -> tuple[str, str, dict[str, Any]]:
        """The :func:`profiler.models.build_model` arguments (backbone, attention, options) of
        this preset, ``attention_options`` overriding its own; a preset takes no attention."""
        if attention is not None:
            raise InvalidOptionError(
                f"model {self.name!r} is a preset ({self.backbone} + {self.attention}) and takes "
                f"no attention, got {attention!r}; use {self.backbone!r} to choose the attention"
            )
        options = {**thaw_options(self.options), **dict(attention_options or {})}
        return self.backbone, self.attention, options


def _preset(name: str, backbone: str, attention: str, options: Mapping[str, Any] | None,
            summary: str) -> Preset:
    return Preset(name, backbone, attention, freeze_options(options), summary)


PRESETS: tuple[Preset, ...] = (
    _preset("eca_resnet18", "resnet18", "eca", {"k_size": [3, 5, 7, 7]},
            "ECA-Net18 as released: resnet18 + eca, k = 3,5,7,7 per stage"),
    _preset("eca_resnet34", "resnet34", "eca", {"k_size": [3, 3, 5, 7]},
            "ECA-Net34 as released: resnet34 + eca, k = 3,3,5,7 per stage"),
    _preset("eca_resnet50", "resnet50", "eca", {"k_size": [3, 5, 5, 7]},
            "ECA-Net50 as released: resnet50 + eca, k = 3,5,5,7 per stage"),
    _preset("eca_resnet101", "resnet101", "eca", {"k_size": [3, 3, 5, 7]},
            "ECA-Net101 as released: resnet101 + eca, k = 3,3,5,7 per stage"),
    _preset("eca_resnet152", "resnet152", "eca", {"k_size": [3, 3, 5, 7]},
            "ECA-Net152 as released: resnet152 + eca, k = 3,3,5,7 per stage"),
    _preset("eca_mobilenet_v2", "mobilenet_v2", "eca", {"k_size": [1, 1, 1, 1, 3, 3, 3]},
            "ECA-MobileNetV2 as released: mobilenet_v2 + eca, k = 1 if C < 96 else 3"),
    _preset("se_resnet50", "resnet50", "se", None,
            "SE-ResNet-50 (ECA paper Table 3): resnet50 + se, r = 16"),
    _preset("se_resnet101", "resnet101", "se", None,
            "SE-ResNet-101 (ECA paper Table 3): resnet101 + se, r = 16"),
    _preset("se_resnet152", "resnet152", "se", None,
            "SE-ResNet-152 (ECA paper Table 3): resnet152 + se, r = 16"),
    _preset("se_mobilenet_v2", "mobilenet_v2", "se", {"reduction": 8},
            "SE-MobileNetV2 (ECA paper Table 3): mobilenet_v2 + se, r = 8"),
    _preset("cbam_resnet50", "resnet50", "cbam", None,
            "CBAM-ResNet-50 (ECA paper Table 3): resnet50 + cbam, r = 16"),
    _preset("cbam_resnet101", "resnet101", "cbam", None,
            "CBAM-ResNet-101 (ECA paper Table 3): resnet101 + cbam, r = 16"),
    _preset("gc_resnet50", "resnet50", "gc", None,
            "GCNet-ResNet-50 (ECA paper Table 3): resnet50 + gc, ratio 1/16, stages c3-c5"),
)
