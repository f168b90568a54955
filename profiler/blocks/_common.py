"""What every attention block shares: the base class, input checks and option validators.

Validators raise :class:`~profiler.errors.InvalidOptionError` with a one-line message that
names the option, the value given and what is allowed.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from profiler.blockinfo import BlockInfo
from profiler.errors import InvalidOptionError

__all__ = [
    "AttentionBlock",
    "check_bool",
    "check_channels",
    "check_choice",
    "check_number",
    "check_odd_kernel",
    "check_positive_int",
]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_channels(channels: Any) -> int:
    """``channels`` must be a positive integer."""
    if not _is_int(channels) or channels <= 0:
        raise InvalidOptionError(f"channels must be a positive integer, got {channels!r}")
    return int(channels)


def check_positive_int(block: str, option: str, value: Any) -> int:
    """A positive integer option (e.g. ``reduction``)."""
    if not _is_int(value) or value <= 0:
        raise InvalidOptionError(
            f"{block}: option {option} must be a positive integer, got {value!r}"
        )
    return int(value)


def check_odd_kernel(block: str, option: str, value: Any) -> int:
    """A kernel size: a positive odd integer (so that 'same' padding is symmetric)."""
    if not _is_int(value) or value <= 0 or value % 2 == 0:
        raise InvalidOptionError(
            f"{block}: option {option} must be a positive odd integer, got {value!r}"
        )
    return int(value)


def check_bool(block: str, option: str, value: Any) -> bool:
    """A true/false option."""
    if not isinstance(value, bool):
        raise InvalidOptionError(f"{block}: option {option} must be true or false, got {value!r}")
    return value


def check_choice(block: str, option: str, value: Any, choices: tuple[str, ...]) -> str:
    """One of a few named choices (e.g. SE's ``fc``: ``conv`` or ``linear``)."""
    if not isinstance(value, str) or value not in choices:
        raise InvalidOptionError(
            f"{block}: option {option} must be one of {', '.join(choices)}, got {value!r}"
        )
    return value


def check_number(
    block: str, option: str, value: Any, *, positive: bool = False, at_most: float | None = None
) -> float:
    """A real number option, optionally > 0 and <= ``at_most``."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok and positive and not value > 0:
        ok = False
    if ok and at_most is not None and value > at_most:
        ok = False
    if not ok:
        bounds = " > 0" if positive else ""
        bounds += f" and <= {at_most}" if at_most is not None else ""
        raise InvalidOptionError(
            f"{block}: option {option} must be a number{bounds}, got {value!r}"
        )
    return float(value)


class AttentionBlock(nn.Module):
    """Base of every attention block: (N, C, H, W) -> (N, C, H, W) for a fixed C.

    ``info`` is what the block says about itself (:class:`~profiler.blockinfo.BlockInfo`:
    label, paper, formulas, the passes that explain its timings); every block sets its own.
    ``is_attention`` marks the module for :func:`profiler.models.attention_modules`. Forward
    passes call :meth:`check_input`, a shape check on sizes only (no tensor data), skipped
    under ``torch.jit.trace`` (fvcore), so traced graphs hold no data-dependent control flow.
    """

    is_attention: ClassVar[bool] = True
    block_name: ClassVar[str] = "attention"
    info: ClassVar[BlockInfo | None] = None

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = check_channels(channels)

    def check_input(self, x: torch.Tensor) -> None:
        """Raise InvalidOptionError (a ValueError) unless ``x`` is (N, channels, H, W).

        Skipped while ``torch.jit.trace`` records (sizes are traced values there; the trace
        example input already ran through the eager check when the model was first used).
        """
        if torch.jit.is_tracing():
            return
        if x.dim() != 4:
            raise InvalidOptionError(
                f"{self.block_name}: expected a 4-D (N, C, H, W) input, got shape "
                f"{tuple(x.shape)}"
            )
        if x.shape[1] != self.channels:
            raise InvalidOptionError(
                f"{self.block_name}: built for {self.channels} channels, input has "
                f"{x.shape[1]} (shape {tuple(x.shape)})"
            )

    def extra_repr(self) -> str:
        return f"channels={self.channels}"
