"""The record a breakdown run produces: where one step's time goes, beside FLOPs and bytes.

A breakdown splits one measured step of a workload into *parts* (:data:`PARTS`): the model's
layers by kind (convolution, batch norm, activation, pooling, classifier), the operations
inside its attention blocks (pooling, 1-D conv / FC, sigmoid, rescale, other), the model's own
glue ops (residual adds, reshapes), the loss, the optimizer, and what the profiler saw but
could not tie to any of them (``unattributed``). For each part it stores the measured time,
its share of the profiled step, and its share of the model's FLOPs (fvcore, forward) and of
the minimal memory traffic (the traffic model of :mod:`profiler.measure.breakdown.traffic`).

``step_ms`` is the step time measured *without* the profiler; ``profiled_step_ms`` is the step
the profiler saw (raw). Recording events costs time, so the profiler's cost per event is
calibrated independently (on a probe network, in the same run) and taken out of the parts
(:mod:`profiler.measure.breakdown.compensation`): ``overhead_ms`` per step in all, each part's
``overhead_ms``, and ``compensated_step_ms = profiled_step_ms - overhead_ms``, which the
parts add up to exactly. ``leftover_ms = step_ms - compensated_step_ms`` is what the
compensated profile does not explain (launch gaps the profiler hides, drift between the timed
and the profiled steps, error in the calibration); ``agrees`` says whether it is within
:data:`AGREEMENT_TOLERANCE` of ``step_ms``. ``raw_leftover_ms`` is the same before
compensation. Nothing here measures or renders; it loads without torch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from profiler.results.fields import known_fields

__all__ = [
    "AGREEMENT_TOLERANCE",
    "ATTENTION_PARTS",
    "ATTENTION_PREFIX",
    "PARTS",
    "PART_LABELS",
    "BlockShare",
    "BreakdownResult",
    "PartShare",
    "part_label",
]

# |step_ms - compensated_step_ms| / step_ms within this: the parts explain the measured step.
AGREEMENT_TOLERANCE = 0.05
ATTENTION_PREFIX = "attention."

# Every part, in the order tables and plots show them, with its label.
PART_LABELS: dict[str, str] = {
    "convolution": "convolution",
    "batch_norm": "batch norm",
    "activation": "activation",
    "pooling": "pooling",
    "classifier": "classifier (Linear)",
    "attention.pooling": "attention: pooling",
    "attention.conv_fc": "attention: 1-D conv / FC",
    "attention.sigmoid": "attention: sigmoid",
    "attention.rescale": "attention: rescale / fusion",
    "attention.other": "attention: other",
    "other_ops": "other model ops (residual adds, reshapes)",
    "loss": "loss",
    "optimizer": "optimizer (SGD step, zero_grad)",
    "unattributed": "unattributed (Python, framework, autograd bookkeeping, idle device)",
}
PARTS: tuple[str, ...] = tuple(PART_LABELS)
ATTENTION_PARTS: tuple[str, ...] = tuple(p for p in PARTS if p.startswith(ATTENTION_PREFIX))


def part_label(part: str) -> str:
    """The display label of a part id (the id itself when unknown)."""
    return PART_LABELS.get(part, part)


@dataclass(frozen=True)
class PartShare:
    """One part of the step.

    ``ms`` is its time per step (self time of the operations attributed to it, averaged over
    the profiled steps, less ``overhead_ms``: the profiler's cost charged to it);
    ``time_share`` = ms / compensated step. ``flops_share`` is its share of
    the model's fvcore FLOPs (forward pass; the loss, optimizer and unattributed parts have
    none), ``flops_all_share`` the same under the all-operators convention. ``bytes`` is its
    minimal memory traffic per step and ``bytes_share`` its share of the modeled total;
    ``achieved_gbps`` = bytes / ms (None without traffic or time).
    """

    part: str
    ms: float
    time_share: float
    flops_share: float = 0.0
    bytes_share: float = 0.0
    flops: int = 0
    flops_all_share: float = 0.0
    bytes: int = 0
    achieved_gbps: float | None = None
    overhead_ms: float = 0.0

    @property
    def label(self) -> str:
        return part_label(self.part)

    @property
    def is_attention(self) -> bool:
        return self.part.startswith(ATTENTION_PREFIX)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PartShare:
        return cls(**known_fields(cls, data))


@dataclass(frozen=True)
class BlockShare:
    """One attention module of the model (``path``; "" for a block measured alone); ``ms``
    compensated as the parts are (``overhead_ms`` taken out)."""

    path: str
    ms: float
    time_share: float
    flops_share: float = 0.0
    bytes: int = 0
    overhead_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BlockShare:
        return cls(**known_fields(cls, data))


@dataclass(frozen=True)
class BreakdownResult:
    """Where one step's time goes (module doc). Times in ms per step, bytes per step.

    ``samples`` are the raw times (seconds) of the steps timed without the profiler;
    ``step_ms`` is their median. ``time_source`` says which profiler time the parts are made
    of (``cpu_self_time`` on the CPU, ``device_self_time`` for kernels on a GPU). The
    ``attention_*`` fields sum the attention parts; ``attention_gbps`` is the attention ops'
    minimal traffic over their time, ``copy_gbps`` the device's measured copy bandwidth.
    ``flops`` is the model's fvcore total for the batch (forward).

    Compensation (module doc): ``profiler_overhead_us_per_op`` is the calibrated cost of one
    recorded event (None where nothing was calibrated: on a GPU, or in older files),
    ``overhead_rounds_us`` the calibration rounds' estimates, ``probe_events_per_step`` the
    events of one probe step, ``events_per_step`` those of one profiled step of the model;
    ``overhead_calibration_reused``: the calibration is the one an earlier breakdown of the
    same kind of step made in the same process (calibrated once per process and kind).
    """

    step_ms: float
    parts: tuple[PartShare, ...]
    attention_time_share: float
    attention_flops_share: float
    attention_bytes_share: float = 0.0
    attention_ms: float = 0.0
    attention_bytes: int = 0
    attention_gbps: float | None = None
    copy_gbps: float | None = None
    profiled_step_ms: float = 0.0
    leftover_ms: float = 0.0
    leftover_share: float = 0.0
    agrees: bool = False
    samples: list[float] = field(default_factory=list)
    profiled_steps: int = 0
    warmup_steps: int = 0
    batch: int = 0
    flops: int = 0
    bytes: int = 0
    clock: str = ""
    time_source: str = ""
    blocks: tuple[BlockShare, ...] = ()
    compensated_step_ms: float = 0.0
    overhead_ms: float = 0.0
    profiler_overhead_us_per_op: float | None = None
    overhead_rounds_us: list[float] = field(default_factory=list)
    probe_events_per_step: float = 0.0
    events_per_step: float = 0.0
    overhead_calibration_reused: bool = False
    raw_leftover_ms: float = 0.0
    raw_leftover_share: float = 0.0

    @property
    def parts_ms(self) -> float:
        """What the parts add up to: the compensated step (the profiled one in files written
        before compensation)."""
        return self.compensated_step_ms or self.profiled_step_ms

    def part(self, name: str) -> PartShare | None:
        return next((p for p in self.parts if p.part == name), None)

    @property
    def attention_parts(self) -> tuple[PartShare, ...]:
        return tuple(p for p in self.parts if p.is_attention)

    @property
    def attention_fraction_of_copy(self) -> float | None:
        if self.attention_gbps is None or not self.copy_gbps:
            return None
        return self.attention_gbps / self.copy_gbps

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["parts"] = [p.to_dict() for p in self.parts]
        data["blocks"] = [b.to_dict() for b in self.blocks]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BreakdownResult:
        kwargs = known_fields(cls, data)
        kwargs["parts"] = tuple(PartShare.from_dict(p) for p in data.get("parts") or [])
        kwargs["blocks"] = tuple(BlockShare.from_dict(b) for b in data.get("blocks") or [])
        for name in ("samples", "overhead_rounds_us"):
            if name in kwargs:
                kwargs[name] = [float(s) for s in kwargs[name]]
        return cls(**kwargs)
