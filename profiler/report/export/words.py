"""What an efficiency table says around its figures: the units and the machine, in one caption.

Shared by the LaTeX caption and the markdown units line, so both say the same thing.
"""

from __future__ import annotations

from profiler.report.export.model import DEFAULT_COUNTER, EfficiencyTable
from profiler.stats import CONFIDENCE, NOISY_IQR_RATIO

__all__ = ["caption_text", "units_text"]

_COUNTERS = {
    DEFAULT_COUNTER: "fvcore's convention (one multiply-add counts as one FLOP)",
    "all": "fvcore's convention plus the elementwise operators it skips",
    "torch": "torch's FlopCounterMode (2 FLOPs per multiply-add)",
}
_UNITS = {"si": ("M = 10^6", "G = 10^9"), "binary": ("Mi = 2^20", "Gi = 2^30")}


def units_text(table: EfficiencyTable, intervals: bool) -> str:
    """One sentence per kind of column present: its unit, how it was measured."""
    kinds = {c.kind for c in table.columns}
    ids = {c.id for c in table.columns}
    mega, giga = _UNITS[table.units]
    counter = _COUNTERS.get(table.counter, f"the {table.counter} counter")
    parts = []
    if "params" in ids:
        parts.append(f"#Param in {mega} parameters")
    if "flops" in ids:
        parts.append(f"FLOPs in {giga} per image under {counter}")
    if "fps" in kinds:
        spread = ", median ± IQR of the raw samples" if intervals else ", median"
        parts.append(f"throughput (FPS) in images/s{spread}")
    if "share" in kinds:
        interval = f" with its {CONFIDENCE:.0%} interval" if intervals else ""
        parts.append(f"share: % of the same backbone's throughput{interval}, paired over "
                     "interleaved rounds (‡: timed apart, unpaired)")
    if "memory" in kinds:
        parts.append("peak memory in MiB (2^20 bytes)")
    noisy = f"; †: noisy (IQR/median above {NOISY_IQR_RATIO:.0%})" if "fps" in kinds else ""
    return "; ".join(parts) + noisy + "."


def caption_text(table: EfficiencyTable, caption: str, intervals: bool) -> str:
    """The user's caption, then the units and the machine (device, torch, batch, precision)."""
    lead = caption.strip()
    if lead and not lead.endswith((".", "!", "?")):
        lead += "."
    measured = f"Measured on {table.machine_text}."
    return " ".join(p for p in (lead, units_text(table, intervals), measured) if p)
