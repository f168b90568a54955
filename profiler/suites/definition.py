"""Typed form of a suite file: :class:`Suite`, :class:`Budget`, :class:`MatrixEntry`.

These are what :mod:`profiler.suites.parse` produces from TOML after validation, and what
:mod:`profiler.suites.expand` turns into specs. They are plain frozen data; see
``suites/README.md`` for the file format they mirror.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal

from profiler import defaults
from profiler.devices import device_type
from profiler.spec import MODES, Options

__all__ = [
    "FILTER_AXES",
    "BatchSize",
    "Budget",
    "CaseFilter",
    "CasePoint",
    "MatrixEntry",
    "Suite",
]

Kind = Literal["count", "bench", "breakdown"]
Shape3 = tuple[int, int, int]


@dataclass(frozen=True)
class BatchSize:
    """A batch size per timing mode (``batch = 8`` sets both)."""

    infer: int
    train: int

    def for_mode(self, mode: str) -> int:
        return self.train if mode == "train" else self.infer


@dataclass(frozen=True)
class Budget:
    """Measurement budget; ``None`` fields inherit (device table > ``[budget]`` > defaults).

    ``min_time``/``repeats``/``warmup``/``threads`` go into every BenchSpec; ``batch``
    applies to timing cases only (counts are per image and keep the matrix's batch);
    ``max_minutes`` bounds the wall clock of a whole run: cases that would start later are
    recorded as ``skipped``. ``paired`` (default true) times comparison groups together in
    interleaved rounds, with ``block_time``, ``min_rounds``, ``max_rounds``, ``group_time``
    and ``target_half_width`` as in :class:`~profiler.rounds.PairingSettings`; ``processes``
    is how many worker processes time each group (default: the run's plan, 3 without one; a
    planned run gives fewer only when the budget cannot fit them).
    """

    min_time: float | None = None
    repeats: int | None = None
    warmup: int | None = None
    threads: int | None = None
    max_minutes: float | None = None
    batch: BatchSize | None = None
    paired: bool | None = None
    block_time: float | None = None
    min_rounds: int | None = None
    max_rounds: int | None = None
    group_time: float | None = None
    target_half_width: float | None = None
    processes: int | None = None

    def overridden_by(self, other: Budget) -> Budget:
        """A copy where every field ``other`` sets replaces this one's."""
        changes = {f.name: getattr(other, f.name) for f in fields(other)
                   if getattr(other, f.name) is not None}
        return replace(self, **changes)


@dataclass(frozen=True)
class CasePoint:
    """The coordinates of one expanded case, which ``exclude`` filters match against.

    ``attention`` is ``"none"`` for a plain backbone; model fields are None for blocks and
    block fields None for models; ``mode`` is None for counts.
    """

    device: str
    model: str | None = None
    attention: str | None = None
    input: Shape3 | None = None
    block: str | None = None
    channels: int | None = None
    size: tuple[int, int] | None = None
    mode: str | None = None
    batch: int | None = None
    dtype: str | None = None


# exclude key (as written in the suite) -> CasePoint field.
FILTER_AXES: dict[str, str] = {
    "models": "model",
    "attention": "attention",
    "input": "input",
    "blocks": "block",
    "channels": "channels",
    "sizes": "size",
    "modes": "mode",
    "batch": "batch",
    "dtype": "dtype",
    "devices": "device",
}


@dataclass(frozen=True)
class CaseFilter:
    """One ``exclude`` item: a case matches when every named axis holds one of its values."""

    axes: tuple[tuple[str, frozenset[Any]], ...]

    def matches(self, point: CasePoint) -> bool:
        return all(getattr(point, name) in allowed for name, allowed in self.axes)


@dataclass(frozen=True)
class MatrixEntry:
    """One ``[[matrix]]`` table (or one of its ``include`` items), validated.

    Exactly one of ``models`` and ``blocks`` is non-empty. ``attention`` holds None for
    ``"none"``. ``batch`` empty means "from the budget". ``options`` maps an attention or
    block name to options for every case of it; ``variants`` maps a name to option sets
    that each give a separate case (merged over ``options``). ``devices`` empty means all.
    """

    index: int
    kind: Kind
    models: tuple[str, ...] = ()
    attention: tuple[str | None, ...] = (None,)
    inputs: tuple[Shape3, ...] = (defaults.INPUT_SHAPE,)
    blocks: tuple[str, ...] = ()
    shapes: tuple[Shape3, ...] = ()
    modes: tuple[str, ...] = MODES
    batch: tuple[int, ...] = ()
    dtypes: tuple[str, ...] = (defaults.DTYPE,)
    channels_last: tuple[bool, ...] = (False,)
    compile: tuple[bool, ...] = (False,)
    cudnn_benchmark: bool = True
    conventions: tuple[str, ...] = defaults.COUNT_CONVENTIONS
    timed_steps: int | None = None
    profiled_steps: int | None = None
    backward: bool = False
    options: tuple[tuple[str, Options], ...] = ()
    variants: tuple[tuple[str, tuple[Options, ...]], ...] = ()
    devices: tuple[str, ...] = ()
    exclude: tuple[CaseFilter, ...] = ()
    include: tuple[MatrixEntry, ...] = ()

    def options_for(self, name: str | None) -> Options:
        return dict(self.options).get(name, ()) if name is not None else ()

    def variants_for(self, name: str | None) -> tuple[Options, ...]:
        """The option sets of ``name``'s cases (fixed options merged under each variant)."""
        base = dict(self.options_for(name))
        found = dict(self.variants).get(name) if name is not None else None
        if not found:
            return (tuple(sorted(base.items())),)
        return tuple(tuple(sorted({**base, **dict(v)}.items())) for v in found)

    def runs_on(self, device: str) -> bool:
        return not self.devices or device_type(device) in self.devices


@dataclass(frozen=True)
class Suite:
    """A validated suite file. ``hash`` is ``sha256:<hex>`` of the file's bytes."""

    name: str
    path: Path
    hash: str
    description: str = ""
    claims: str | None = None
    device: str = "auto"
    budget: Budget = Budget()
    device_budgets: tuple[tuple[str, Budget], ...] = ()
    matrix: tuple[MatrixEntry, ...] = ()

    def budget_for(self, device: str) -> Budget:
        """``[budget]`` overridden by ``[budget.<device type>]``."""
        override = dict(self.device_budgets).get(device_type(device))
        return self.budget if override is None else self.budget.overridden_by(override)
