"""The efficiency table's data: what was asked (:class:`TableOptions`), and the table built
(:class:`EfficiencyTable` of :class:`Row` and :class:`Column`, each figure a :class:`Cell`).

Plain data; :mod:`~profiler.report.export.efficiency` fills it from result files and one
module per format renders it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from profiler.errors import InvalidOptionError
from profiler.results.environment import Environment

__all__ = [
    "COLUMNS",
    "DEFAULT_COLUMNS",
    "DEFAULT_COUNTER",
    "MISSING",
    "MODES",
    "MODE_WORDS",
    "THROUGHPUT",
    "UNITS",
    "Cell",
    "Column",
    "EfficiencyTable",
    "Row",
    "TableOptions",
    "parse_columns",
    "parse_names",
]

COLUMNS: tuple[str, ...] = ("params", "flops", "train", "infer", "memory")
DEFAULT_COLUMNS: tuple[str, ...] = ("params", "flops", "train", "infer")
UNITS: tuple[str, ...] = ("paper", "si")
THROUGHPUT: tuple[str, ...] = ("absolute", "share", "both")
MODES: tuple[str, ...] = ("train", "infer")
DEFAULT_COUNTER = "fvcore"
MODE_WORDS = {"train": "training", "infer": "inference"}


@dataclass(frozen=True)
class TableOptions:
    """What ``attnprof table`` was asked for (the flags of its command line)."""

    columns: tuple[str, ...] = DEFAULT_COLUMNS
    units: str = "si"
    counter: str = DEFAULT_COUNTER
    throughput: str = "both"
    intervals: bool = True
    names: tuple[tuple[str, str], ...] = ()
    allow_mixed: bool = False


@dataclass(frozen=True)
class Cell:
    """One figure: ``value`` unrounded (None: not measured), ``text`` as the report prints
    the number alone, ``spread`` the IQR (absolute throughput), ``low``/``high`` an interval,
    ``mark`` a flag (``noisy``, ``unpaired``, "" none) and ``markdown`` the report's cell."""

    value: float | None
    text: str = "–"
    markdown: str = "–"
    spread: float | None = None
    spread_text: str = ""
    low: float | None = None
    high: float | None = None
    low_text: str = ""
    high_text: str = ""
    mark: str = ""
    paired: bool | None = None


MISSING = Cell(None)


@dataclass(frozen=True)
class Column:
    """A column: ``id`` (``params``, ``train_fps``, ``train_share``...), its header, unit
    and kind (``count``, ``fps``, ``share``, ``memory``: how it is rendered)."""

    id: str
    header: str
    unit: str
    kind: str


@dataclass(frozen=True)
class Row:
    """One case: its backbone and method (labels and registry names), the machine that timed
    it, the batch and precision of each timed mode, and a cell per column id."""

    backbone: str
    method: str
    model: str
    method_name: str
    options: str
    machine: str
    cells: Mapping[str, Cell]
    batches: Mapping[str, int] = field(default_factory=dict)
    dtype: str = ""
    device: str = ""


@dataclass(frozen=True)
class EfficiencyTable:
    """Rows in the paper's order, the columns kept, and what the caption must say."""

    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    units: str
    machines: tuple[Environment, ...]
    mixed: bool
    dropped: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    counter: str = DEFAULT_COUNTER

    @property
    def machine_text(self) -> str:
        """``cpu (AMD EPYC, 2 threads), torch 2.13.0+cpu, batch 2, fp32`` (one machine)."""
        shown = {c.id.split("_")[0] for c in self.columns if c.kind != "count"}
        return _machine_text(self.machines, self.rows, shown)


def _machine_text(machines: Sequence[Environment], rows: Sequence[Row],
                  modes: set[str]) -> str:
    if len(machines) == 1:
        env = machines[0]
        threads = f", {env.torch_threads} threads" if env.device.startswith("cpu") and \
            env.torch_threads else ""
        where = [f"{env.device} ({env.device_name}{threads})" if env.device_name
                 else env.device, f"torch {env.torch_version}"]
    else:
        where = ["the machines of the Machine column"]
    batches = []
    for mode in (m for m in MODES if m in modes):
        found = list(dict.fromkeys(str(r.batches[mode]) for r in rows if mode in r.batches))
        if found:
            batches.append(f"batch {'/'.join(found)} ({MODE_WORDS[mode]})")
    dtypes = "/".join(dict.fromkeys(r.dtype for r in rows if r.dtype)) if modes else ""
    parts = [*where, *batches, *([dtypes] if dtypes else [])]
    return ", ".join(parts)


# --- options ----------------------------------------------------------------------------------

def parse_columns(text: str) -> tuple[str, ...]:
    """``params,flops,train`` -> a tuple of column names; an unknown name is an error."""
    names = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [n for n in names if n not in COLUMNS]
    if unknown or not names:
        raise InvalidOptionError(f"unknown column {', '.join(map(repr, unknown)) or '(none)'} "
                                 f"in --columns; valid: {', '.join(COLUMNS)}")
    return names


def parse_names(items: Sequence[str] | None) -> tuple[tuple[str, str], ...]:
    """Repeated ``--name KEY=LABEL`` (``mypkg.blocks:SimAM=SimAM``, ``none=ResNet``)."""
    pairs = []
    for item in items or ():
        key, sep, label = item.rpartition("=")
        if not sep or not key.strip() or not label.strip():
            raise InvalidOptionError(f"--name expects NAME=LABEL (a method or backbone as "
                                     f"recorded, e.g. mypkg.blocks:SimAM=SimAM), got {item!r}")
        pairs.append((key.strip(), label.strip()))
    return tuple(pairs)
