"""Numbers formatted for table cells: significant figures trimmed, one unit per column.

Percentages and ratios with their intervals are written by :mod:`profiler.output.display`.

Units used in reports (stated in every table's unit line): parameters in M = 10^6, FLOPs in
G = 10^9 per image (fvcore's convention: one multiply-add counts as one FLOP), throughput in
images/s, times in ms, memory in MiB = 2^20 bytes.
"""

from __future__ import annotations

import math
from decimal import Decimal

__all__ = [
    "NOISY_MARK",
    "giga",
    "mib",
    "points",
    "printed_decimals",
    "sig",
    "with_spread",
]

NOISY_MARK = "†"


def sig(value: float | None, digits: int = 3) -> str:
    """``value`` with ``digits`` significant figures (integers past that are kept whole)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    if magnitude < -3:
        return f"{value:.{max(0, digits - 1)}e}"
    decimals = max(0, digits - 1 - magnitude)
    return f"{value:.{decimals}f}"


def with_spread(median: float, iqr: float, noisy: bool = False, digits: int = 3) -> str:
    """``median ± IQR``, the IQR at the median's precision, ``†`` when noisy."""
    text = sig(median, digits)
    decimals = len(text.split(".")[1]) if "." in text and "e" not in text else 0
    mark = f" {NOISY_MARK}" if noisy else ""
    return f"{text} ± {iqr:.{decimals}f}{mark}"






def giga(value: float) -> str:
    """A count in G = 10^9: two decimals from 1 G up, four below (MobileNetV2's 0.3148)."""
    scaled = value / 1e9
    return f"{scaled:.2f}" if abs(scaled) >= 1 else f"{scaled:.4f}"






def points(value: float | None) -> str:
    """A difference of two ratios in percentage points: ``+2.1 pp``."""
    return "–" if value is None else f"{100 * value:+.1f} pp"


def mib(value: int | None) -> str:
    return "–" if value is None else f"{value / 2**20:.0f}"


def printed_decimals(value: float, minimum: int = 0) -> int:
    """Decimal places a published number was printed with (at least ``minimum``).

    TOML drops trailing zeros (``3.40`` reads as ``3.4``), so callers pass the precision a
    table prints its column with as ``minimum``.
    """
    exponent = Decimal(repr(float(value))).normalize().as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return max(places, minimum)
