"""Device strings: the one place that says what ``auto``, ``cpu``, ``cuda`` and ``cuda:N`` mean.

Plain text rules, no torch: parsing and validating a device name, its type (``cuda:1`` ->
``cuda``, the key of a suite's ``[budget.<type>]``) and the choices shown in messages. Which of
these devices this machine has is the measuring side's question
(:mod:`profiler.measure.device`).
"""

from __future__ import annotations

import re

from profiler.errors import InvalidOptionError

__all__ = [
    "AUTO",
    "DEVICE_CHOICES",
    "DEVICE_TYPES",
    "MEASURE_CHOICES",
    "check_device",
    "device_index",
    "device_type",
    "is_device",
]

AUTO = "auto"
DEVICE_TYPES: tuple[str, ...] = ("cpu", "cuda")
# What a measurement names (a spec's device) and what a run may ask for (``auto`` too).
MEASURE_CHOICES = "cpu, cuda, cuda:N"
DEVICE_CHOICES = f"{AUTO}, {MEASURE_CHOICES}"

_DEVICE = re.compile(r"^(cpu|cuda|cuda:\d+)$")


def is_device(text: str, allow_auto: bool = False) -> bool:
    """True for ``cpu``, ``cuda``, ``cuda:N`` (and ``auto`` with ``allow_auto``)."""
    return bool(_DEVICE.match(text)) or (allow_auto and text == AUTO)


def check_device(text: str, allow_auto: bool = False) -> str:
    """``text`` itself if it is a device name; else InvalidOptionError listing the choices."""
    if not is_device(text, allow_auto):
        choices = DEVICE_CHOICES if allow_auto else MEASURE_CHOICES
        raise InvalidOptionError(f"unknown device {text!r}; valid: {choices}")
    return text


def device_type(device: str) -> str:
    """``cuda:1`` -> ``cuda``; ``cpu`` -> ``cpu``."""
    return device.split(":", 1)[0]


def device_index(device: str) -> int | None:
    """``cuda:1`` -> 1; ``cuda`` or ``cpu`` -> None."""
    _, sep, index = device.partition(":")
    return int(index) if sep else None
