"""The record a counting run produces (parameters, FLOPs, activations)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from profiler.results.fields import known_fields

__all__ = ["BlockCount", "CountResult", "CounterTotal"]


@dataclass(frozen=True)
class CounterTotal:
    """What one FLOP counter (:mod:`profiler.measure.count.counters`) counted: ``flops`` for the
    whole workload and ``attention_flops`` inside its attention modules, in the counter's own
    unit (multiply-adds for fvcore, all and the thop emulations; 2 per multiply-add for
    ``torch``). ``params`` is the parameter count as the counter itself reports it (thop
    sums parameters in floating point, so its figure can differ from the exact count by a
    few); None for counters that report none (the exact count is ``CountResult.params``)."""

    counter: str
    flops: int
    attention_flops: int = 0
    params: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CounterTotal:
        return cls(**known_fields(cls, data))


@dataclass(frozen=True)
class BlockCount:
    """Counts of one attention module inside a model (``path`` "" = the whole workload)."""

    path: str
    params: int
    flops: int
    flops_all: int
    activations: int = 0
    activations_all: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BlockCount:
        return cls(**known_fields(cls, data))


@dataclass(frozen=True)
class CountResult:
    """Counts of one workload at one batch size.

    ``flops`` is the total of the counter named by ``convention`` (fvcore's default unless the
    count asked for another: ``attnprof count --counter NAME``); ``flops_all`` adds the
    elementwise operators fvcore skips (the "all" convention, see
    :mod:`profiler.measure.count.flop_handles`). ``counters`` holds every counter that ran, each in
    its own typed record (fvcore and all always; others on request); ``train_step_flops`` is
    the forward + backward count of a training step (``--backward``, FlopCounterMode's 2 per
    multiply-add), None when not counted. ``attention_*`` count only what sits inside the
    attention modules, listed one by one in ``blocks``. ``by_operator`` (fvcore) and
    ``by_operator_all`` map operator names to FLOPs; ``by_module`` maps module paths ("" is the
    whole model) to fvcore FLOPs. ``unsupported`` lists the operators that ran but fvcore's
    default does not count, with how often they ran; ``uncounted`` the ones no convention
    counts. Activations are output elements (fvcore's ActivationCountAnalysis; ``_all`` adds
    the outputs of elementwise ops).
    """

    params: int
    attention_params: int
    flops: int
    flops_all: int = 0
    attention_flops: int = 0
    attention_flops_all: int = 0
    activations: int = 0
    activations_all: int = 0
    attention_activations: int = 0
    attention_activations_all: int = 0
    batch: int = 1
    input_shape: tuple[int, ...] = ()
    convention: str = "fvcore"
    by_operator: dict[str, int] = field(default_factory=dict)
    by_operator_all: dict[str, int] = field(default_factory=dict)
    by_module: dict[str, int] = field(default_factory=dict)
    blocks: tuple[BlockCount, ...] = ()
    unsupported: dict[str, int] = field(default_factory=dict)
    uncounted: dict[str, int] = field(default_factory=dict)
    counters: tuple[CounterTotal, ...] = ()
    train_step_flops: int | None = None

    def counted(self, counter: str) -> CounterTotal | None:
        """The record of ``counter`` if it ran."""
        return next((c for c in self.counters if c.counter == counter), None)

    @property
    def backbone_params(self) -> int:
        return self.params - self.attention_params

    @property
    def backbone_flops(self) -> int:
        return self.flops - self.attention_flops

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["input_shape"] = list(self.input_shape)
        data["blocks"] = [b.to_dict() for b in self.blocks]
        data["counters"] = [c.to_dict() for c in self.counters]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CountResult:
        kwargs = known_fields(cls, data)
        if "input_shape" in kwargs:
            kwargs["input_shape"] = tuple(kwargs["input_shape"])
        if "blocks" in kwargs:
            kwargs["blocks"] = tuple(BlockCount.from_dict(b) for b in kwargs["blocks"])
        if "counters" in kwargs:
            kwargs["counters"] = tuple(CounterTotal.from_dict(c) for c in kwargs["counters"])
        return cls(**kwargs)
