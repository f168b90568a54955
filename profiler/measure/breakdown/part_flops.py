"""FLOPs of each part of a breakdown, from fvcore's per-module, per-operator counts (no torch).

fvcore counts a module's operators together with its submodules'; a module's *own* operators
are its counts minus its direct children's. Each module's own FLOPs go to the part of that
module (:class:`~profiler.measure.breakdown.attribution.ModuleRole`): its kind outside attention
(containers' own ops are ``other_ops``), inside attention the operation its class stands for,
or for a container the operator's own name (:data:`~profiler.measure.breakdown.attribution.
ATTENTION_OPS`; without shapes an elementwise mul/add counts as the rescale). The counts are
of the forward pass: training's backward costs about twice the forward of every convolution
and linear layer, so the forward shares are the shares of a training step too.
"""

from __future__ import annotations

from collections.abc import Mapping

from profiler.measure.breakdown.attribution import ATTENTION_OPS, ModuleRole
from profiler.results.breakdown import ATTENTION_PREFIX

__all__ = ["PartFlops", "own_operator_flops", "part_flops"]

PerModule = Mapping[str, Mapping[str, int]]


def _parent(path: str) -> str | None:
    if path == "":
        return None
    return path.rsplit(".", 1)[0] if "." in path else ""


def own_operator_flops(per_module: PerModule) -> dict[str, dict[str, int]]:
    """Each module's own operators: its counts minus those of its direct children."""
    own = {path: dict(counts) for path, counts in per_module.items()}
    for path, counts in per_module.items():
        parent = _parent(path)
        if parent is None or parent not in own:
            continue
        for op, value in counts.items():
            own[parent][op] = own[parent].get(op, 0) - value
    return {path: {op: v for op, v in counts.items() if v} for path, counts in own.items()}


class PartFlops:
    """FLOPs by part and by attention module path, and the model's total."""

    def __init__(self, parts: dict[str, int], blocks: dict[str, int], total: int) -> None:
        self.parts = parts
        self.blocks = blocks
        self.total = total

    def share(self, part: str) -> float:
        return self.parts.get(part, 0) / self.total if self.total else 0.0

    def block_share(self, path: str) -> float:
        return self.blocks.get(path, 0) / self.total if self.total else 0.0


def _op_part(op: str) -> str:
    base = op[:-1] if op.endswith("_") else op
    return "conv_fc" if base == "conv" else ATTENTION_OPS.get(base, "other")


def part_flops(per_module: PerModule, roles: Mapping[str, ModuleRole]) -> PartFlops:
    """Sum each module's own FLOPs into its part (module doc)."""
    parts: dict[str, int] = {}
    blocks: dict[str, int] = {}
    for path, counts in own_operator_flops(per_module).items():
        role = roles.get(path, ModuleRole(path))
        for op, value in counts.items():
            if role.attention is not None:
                operation = role.attention_op or _op_part(op)
                part = f"{ATTENTION_PREFIX}{operation}"
                blocks[role.attention] = blocks.get(role.attention, 0) + value
            else:
                part = role.kind or "other_ops"
            parts[part] = parts.get(part, 0) + value
    total = sum((per_module.get("") or {}).values())
    return PartFlops(parts, blocks, total)
