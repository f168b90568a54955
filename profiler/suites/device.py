"""Resolve a suite's or the user's device string to one this machine has.

``auto`` becomes ``cuda`` when a CUDA device is available, else ``cpu``; every other name is
checked by :func:`profiler.measure.device.resolve_device` (asking for ``cuda`` or ``cuda:N``
without one raises :class:`~profiler.errors.DeviceUnavailableError`). The name is returned as
the user spelled it (``cuda`` stays ``cuda``), because it is part of every timing case's id.
"""

from __future__ import annotations

import re

import torch

from profiler.errors import InvalidOptionError
from profiler.measure.device import resolve_device as check_device

__all__ = ["DEVICE_CHOICES", "resolve_device", "valid_device"]

DEVICE_CHOICES = "auto, cpu, cuda, cuda:N"
_DEVICE = re.compile(r"^(auto|cpu|cuda|cuda:\d+)$")


def valid_device(text: str) -> bool:
    return bool(_DEVICE.match(text))


def resolve_device(requested: str) -> str:
    """``auto``/``cpu``/``cuda``/``cuda:N`` -> a device present on this machine."""
    if not valid_device(requested):
        raise InvalidOptionError(f"unknown device {requested!r}; valid: {DEVICE_CHOICES}")
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    check_device(requested)
    return requested
