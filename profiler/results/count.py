"""The record a counting run produces (parameters, FLOPs, activations)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = ["CountResult"]


@dataclass(frozen=True)
class CountResult:
    """Counts of one workload at one batch size.

    ``flops`` is fvcore's default total (one multiply-add = one FLOP); ``flops_all`` adds the
    elementwise operators fvcore skips (the "all" convention). Breakdowns map operator names or
    module paths to counts under the fvcore convention. ``unsupported`` lists operators no
    handle counted, with how often they appeared.
    """

    params: int
    attention_params: int
    flops: int
    flops_all: int = 0
    attention_flops: int = 0
    attention_flops_all: int = 0
    activations: int = 0
    batch: int = 1
    input_shape: tuple[int, ...] = ()
    convention: str = "fvcore"
    by_operator: dict[str, int] = field(default_factory=dict)
    by_module: dict[str, int] = field(default_factory=dict)
    unsupported: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["input_shape"] = list(self.input_shape)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CountResult:
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        if "input_shape" in kwargs:
            kwargs["input_shape"] = tuple(kwargs["input_shape"])
        return cls(**kwargs)
