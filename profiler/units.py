"""Units for counts: SI (1e6, 1e9) or binary (2^20, 2^30) prefixes; MACs or FLOPs.

fvcore counts one multiply-add as one "FLOP" (that is, MACs). Papers print either MACs or
2 x MACs as "FLOPs", with M/G meaning 1e6/1e9 or 2^20/2^30, rarely saying which. attnprof
stores exact integers and converts only for display, always naming the unit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from profiler.errors import InvalidOptionError

__all__ = ["BYTE_UNITS", "PREFIXES", "SYSTEMS", "Unit", "format_count", "parse_bytes", "scale",
           "unit"]

System = Literal["si", "binary"]
SYSTEMS: tuple[str, ...] = ("si", "binary")
PREFIXES: tuple[str, ...] = ("", "K", "M", "G", "T")
# Byte-size suffixes (lower case): SI (KB = 10^3) and binary (KiB = 2^10); a bare prefix
# (``8G``) is SI, ``8Gi`` binary.
BYTE_UNITS: dict[str, int] = {
    "": 1, "b": 1,
    **{f"{p.lower()}{b}": 1000**i for i, p in enumerate(PREFIXES) if p for b in ("", "b")},
    **{f"{p.lower()}i{b}": 1024**i for i, p in enumerate(PREFIXES) if p for b in ("", "b")},
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([A-Za-z]*)\s*$")


@dataclass(frozen=True)
class Unit:
    """A display unit: ``prefix`` (K/M/G/T or ""), ``system`` (si or binary), and ``macs_as``
    (1 = a MAC is one FLOP, fvcore's way; 2 = FLOPs = 2 x MACs)."""

    prefix: str = "G"
    system: System = "si"
    macs_as: int = 1

    def __post_init__(self) -> None:
        if self.prefix not in PREFIXES:
            raise InvalidOptionError(f"unknown unit prefix {self.prefix!r}; valid: K, M, G, T")
        if self.system not in SYSTEMS:
            raise InvalidOptionError(f"unknown unit system {self.system!r}; valid: si, binary")
        if self.macs_as not in (1, 2):
            raise InvalidOptionError("macs_as must be 1 (MACs) or 2 (FLOPs = 2 x MACs)")

    @property
    def divisor(self) -> int:
        power = PREFIXES.index(self.prefix)
        return (1000 if self.system == "si" else 1024) ** power

    def convert(self, value: int | float, *, is_flops: bool = False) -> float:
        """``value`` (an exact count; MACs if ``is_flops``) in this unit."""
        factor = self.macs_as if is_flops else 1
        return value * factor / self.divisor

    def label(self, quantity: str = "") -> str:
        """``G`` (SI), ``Gi`` (binary); with a quantity: ``GMACs``, ``GiFLOPs``, ``M params``."""
        prefix = self.prefix + ("i" if self.system == "binary" and self.prefix else "")
        if quantity == "flops":
            return f"{prefix}{'MACs' if self.macs_as == 1 else 'FLOPs'}"
        return f"{prefix} {quantity}".strip() if quantity else prefix


def unit(prefix: str = "G", system: str = "si", macs_as: int = 1) -> Unit:
    """Build a :class:`Unit`, validating the names (one-line errors)."""
    return Unit(prefix=prefix, system=system, macs_as=macs_as)  # type: ignore[arg-type]


def scale(value: int | float, system: str = "si") -> tuple[float, str]:
    """``value`` scaled to the largest prefix that keeps it >= 1, and that prefix."""
    base = 1000 if system == "si" else 1024
    for power in range(len(PREFIXES) - 1, 0, -1):
        if abs(value) >= base**power:
            return value / base**power, PREFIXES[power] + ("i" if system == "binary" else "")
    return float(value), ""


def format_count(value: int | float, system: str = "si", digits: int = 4) -> str:
    """Human form of a count: ``4.112 G``, ``80``, ``24.37 Mi`` (binary)."""
    if isinstance(value, int) and abs(value) < 1000:
        return str(value)
    number, prefix = scale(value, system)
    return f"{number:.{digits}g} {prefix}".rstrip()


def parse_bytes(text: str) -> int:
    """A byte size: ``8GiB`` (8 x 2^30), ``8GB`` or ``8G`` (8 x 10^9), ``512MiB``; a plain
    number is bytes. Anything else is an InvalidOptionError naming the accepted forms."""
    match = _SIZE.match(text)
    factor = BYTE_UNITS.get(match.group(2).lower()) if match else None
    if match is None or factor is None:
        raise InvalidOptionError(f"malformed size {text!r}: expected a number with B, KB, MB, "
                                 "GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of "
                                 "1024), like 8GiB")
    return int(float(match.group(1)) * factor)
