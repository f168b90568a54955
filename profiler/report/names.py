"""Display names: registry names as the paper prints them (``resnet50`` -> ``ResNet-50``)."""

from __future__ import annotations

import re

__all__ = ["backbone_label", "method_label"]

_METHODS = {"none": "none", "se": "SE", "cbam": "CBAM", "gc": "GC", "eca": "ECA",
            "se_var1": "SE-Var1", "se_var2": "SE-Var2", "se_var3": "SE-Var3",
            "eca_ns": "ECA-NS"}
_RESNET = re.compile(r"^resnet(\d+)$")


def backbone_label(model: str) -> str:
    """``resnet50`` -> ``ResNet-50``, ``mobilenet_v2`` -> ``MobileNetV2``, else unchanged."""
    if match := _RESNET.match(model):
        return f"ResNet-{match.group(1)}"
    if model == "mobilenet_v2":
        return "MobileNetV2"
    return model


def method_label(method: str) -> str:
    """``se`` -> ``SE``; ``none`` (the plain backbone) stays ``none``; others unchanged."""
    return _METHODS.get(method, method)
