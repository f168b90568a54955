"""The one typed reader of a paper's published figures (``suites/claims/<id>.toml``).

A claims file is data transcribed from a paper: its abstract's headline numbers, its Table 3
(params, FLOPs, training and inference FPS per backbone and method) and its Table 2 (module
parameter formulas). :func:`load_claims` reads one into frozen dataclasses; the counting
convention analysis (:mod:`profiler.claims.conventions`) and the reports
(:mod:`profiler.report.verdicts.verdict`) both read claims through it.

Conventions of the file (see ``suites/claims/eca-cvpr2020.toml``): params in millions as
printed (``params_m``), FLOPs in G as printed (``gflops``), FPS in images/s with ``0`` meaning
N/A (no public code, no timing); ``method = "none"`` is the plain backbone; rows attnprof
cannot build carry ``buildable = false`` (and optionally a ``reason``). Files named
``<id>-conventions.toml`` beside the claims hold the counting-convention analysis and are not
claims.

Every problem raises a one-line :class:`~profiler.errors.SuiteError` naming the file, line and
key; an unknown id raises :class:`~profiler.errors.UnknownNameError` listing the ids found.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from profiler.errors import SuiteError
from profiler.spec import Options, freeze_options
from profiler.suites.context import SuiteContext, did_you_mean
from profiler.suites.discover import claims_dirs, find_named_file, named_files
from profiler.suites.toml_lines import KeyPath

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "CONVENTIONS_SUFFIX",
    "AbstractClaim",
    "Claims",
    "Table2Row",
    "Table3Row",
    "available_claims",
    "claims_path",
    "conventions_path",
    "load_claims",
    "parse_claims",
]

CONVENTIONS_SUFFIX = "-conventions"
_TOP_KEYS = ("id", "title", "source", "code", "fps_hardware", "abstract", "table3", "table2")
_ABSTRACT_KEYS = ("source", "backbone", "method", "module_params", "backbone_params_m",
                  "module_gflops", "backbone_gflops", "top1_gain_min")
_TABLE3_KEYS = ("backbone", "method", "label", "buildable", "reason", "options", "params_m",
                "gflops", "train_fps", "infer_fps", "top1", "top5", "source")
_TABLE2_KEYS = ("method", "label", "options", "module_params", "top1", "top5", "source")


@dataclass(frozen=True)
class AbstractClaim:
    """The abstract's headline: the module's cost against its backbone's (ResNet-50)."""

    backbone: str
    method: str
    module_params: int
    backbone_params_m: float
    module_gflops: float
    backbone_gflops: float
    top1_gain_min: float | None = None
    source: str = "Abstract"


@dataclass(frozen=True)
class Table3Row:
    """One row of Table 3. FPS are None where the paper prints N/A."""

    backbone: str
    method: str
    label: str
    params_m: float
    gflops: float
    train_fps: float | None
    infer_fps: float | None
    top1: float | None = None
    top5: float | None = None
    buildable: bool = True
    reason: str = ""
    options: Options = ()

    @property
    def attention(self) -> str | None:
        """The attention name as in a workload (None for the plain backbone)."""
        return None if self.method == "none" else self.method

    def fps(self, mode: str) -> float | None:
        """The paper's FPS for ``infer`` or ``train``."""
        return self.infer_fps if mode == "infer" else self.train_fps

    @property
    def not_built_reason(self) -> str:
        return self.reason or f"attnprof has no implementation of {self.label} ({self.method!r})"


@dataclass(frozen=True)
class Table2Row:
    """One row of Table 2: a module variant and its parameter formula (``2C^2/r``, ``k``...)."""

    method: str
    label: str
    module_params: str
    top1: float | None = None
    top5: float | None = None
    options: Options = ()


@dataclass(frozen=True)
class Claims:
    """A paper's published figures, as loaded from its claims file."""

    id: str
    title: str
    path: Path
    source: str = ""
    code: str = ""
    fps_hardware: str = ""
    abstract: AbstractClaim | None = None
    table3: tuple[Table3Row, ...] = ()
    table2: tuple[Table2Row, ...] = ()

    def backbones(self) -> tuple[str, ...]:
        """Backbones of Table 3, in the paper's order."""
        return tuple(dict.fromkeys(r.backbone for r in self.table3))

    def rows(self, backbone: str) -> tuple[Table3Row, ...]:
        return tuple(r for r in self.table3 if r.backbone == backbone)

    def baseline(self, backbone: str) -> Table3Row | None:
        """The plain backbone's row (``method = "none"``)."""
        return next((r for r in self.rows(backbone) if r.method == "none"), None)


def available_claims() -> dict[str, Path]:
    """Claims id -> file in the claims folders (``-conventions`` files excluded)."""
    return named_files(claims_dirs(), skip_suffix=CONVENTIONS_SUFFIX)


def claims_path(id_or_path: str) -> Path:
    """The file of claims ``id_or_path`` (an id such as ``eca-cvpr2020`` or a path)."""
    known = available_claims()
    return find_named_file("claims", id_or_path, known, did_you_mean(id_or_path, known))


def conventions_path(claims: Claims) -> Path:
    """Where the counting-convention analysis of ``claims`` lives (may not exist)."""
    return claims.path.with_name(f"{claims.path.stem}{CONVENTIONS_SUFFIX}.toml")


def _optional_number(ctx: SuiteContext, raw: Mapping[str, Any], key: str,
                     path: KeyPath) -> float | None:
    return None if key not in raw else ctx.number(raw[key], (*path, key))


def _required(ctx: SuiteContext, raw: Mapping[str, Any], key: str, path: KeyPath) -> Any:
    if key not in raw:
        raise ctx.error(path, f"missing key {key!r}")
    return raw[key]


def _fps(ctx: SuiteContext, raw: Mapping[str, Any], key: str, path: KeyPath) -> float | None:
    value = ctx.number(_required(ctx, raw, key, path), (*path, key))
    return None if value == 0 else value


def _options(ctx: SuiteContext, raw: Mapping[str, Any], path: KeyPath) -> Options:
    if "options" not in raw:
        return ()
    return freeze_options(ctx.table(raw["options"], (*path, "options")))


def _abstract(ctx: SuiteContext, raw: Any) -> AbstractClaim:
    path: KeyPath = ("abstract",)
    table = ctx.table(raw, path)
    ctx.check_keys(table, _ABSTRACT_KEYS, path)

    def number(key: str) -> float:
        return ctx.number(_required(ctx, table, key, path), (*path, key))

    return AbstractClaim(
        backbone=ctx.string(_required(ctx, table, "backbone", path), (*path, "backbone")),
        method=ctx.string(table.get("method", "eca"), (*path, "method")),
        module_params=ctx.integer(_required(ctx, table, "module_params", path),
                                  (*path, "module_params"), minimum=0),
        backbone_params_m=number("backbone_params_m"),
        module_gflops=number("module_gflops"),
        backbone_gflops=number("backbone_gflops"),
        top1_gain_min=_optional_number(ctx, table, "top1_gain_min", path),
        source=str(table.get("source", "Abstract")),
    )


def _table3_row(ctx: SuiteContext, raw: Any, index: int) -> Table3Row:
    path: KeyPath = ("table3", index)
    row = ctx.table(raw, path)
    ctx.check_keys(row, _TABLE3_KEYS, path)

    def text(key: str) -> str:
        return ctx.string(_required(ctx, row, key, path), (*path, key))

    return Table3Row(
        backbone=text("backbone"), method=text("method"), label=text("label"),
        params_m=ctx.number(_required(ctx, row, "params_m", path), (*path, "params_m")),
        gflops=ctx.number(_required(ctx, row, "gflops", path), (*path, "gflops")),
        train_fps=_fps(ctx, row, "train_fps", path), infer_fps=_fps(ctx, row, "infer_fps", path),
        top1=_optional_number(ctx, row, "top1", path),
        top5=_optional_number(ctx, row, "top5", path),
        buildable=ctx.boolean(row.get("buildable", True), (*path, "buildable")),
        reason=str(row.get("reason", "")), options=_options(ctx, row, path),
    )


def _table2_row(ctx: SuiteContext, raw: Any, index: int) -> Table2Row:
    path: KeyPath = ("table2", index)
    row = ctx.table(raw, path)
    ctx.check_keys(row, _TABLE2_KEYS, path)
    return Table2Row(
        method=ctx.string(_required(ctx, row, "method", path), (*path, "method")),
        label=ctx.string(_required(ctx, row, "label", path), (*path, "label")),
        module_params=ctx.string(_required(ctx, row, "module_params", path),
                                 (*path, "module_params")),
        top1=_optional_number(ctx, row, "top1", path),
        top5=_optional_number(ctx, row, "top5", path),
        options=_options(ctx, row, path),
    )


def _rows(ctx: SuiteContext, data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise ctx.error((key,), f"expected an array of tables ([[{key}]]), got a single value")
    return value


def parse_claims(text: str, path: Path) -> Claims:
    """Parse the text of a claims file (``path`` names it in errors)."""
    ctx = SuiteContext(display=str(path), text=text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SuiteError(f"{path}: invalid TOML: {exc}") from None
    ctx.check_keys(data, _TOP_KEYS, ())
    claims_id = ctx.string(data.get("id", path.stem), ("id",))
    table3 = tuple(_table3_row(ctx, raw, i) for i, raw in enumerate(_rows(ctx, data, "table3")))
    seen: set[tuple[str, str, Options]] = set()
    for index, row in enumerate(table3):
        key = (row.backbone, row.method, row.options)
        if key in seen:
            raise ctx.error(("table3", index, "method"), f"row {row.backbone}/{row.method} is "
                            "listed twice")
        seen.add(key)
    return Claims(
        id=claims_id,
        title=str(data.get("title", claims_id)),
        path=path,
        source=str(data.get("source", "")),
        code=str(data.get("code", "")),
        fps_hardware=str(data.get("fps_hardware", "")),
        abstract=None if "abstract" not in data else _abstract(ctx, data["abstract"]),
        table3=table3,
        table2=tuple(_table2_row(ctx, raw, i) for i, raw in enumerate(_rows(ctx, data, "table2"))),
    )


def load_claims(id_or_path: str | Path) -> Claims:
    """Load claims by id (``eca-cvpr2020``, looked up in the claims folders) or by path."""
    path = claims_path(str(id_or_path))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SuiteError(f"{path}: cannot read claims file: {exc}") from None
    return parse_claims(text, path)
