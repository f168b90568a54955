"""Read and validate one ``[[matrix]]`` table into a :class:`MatrixEntry`.

Keys by role (see ``suites/README.md``):

- always: ``kind`` ("count" | "bench" | "breakdown"), ``batch``, ``devices``, ``options``,
  ``variants``, ``exclude``, ``include``;
- model entries: ``models``, ``attention``, ``input``;
- block entries: ``blocks`` and either ``shapes`` or ``channels`` x ``sizes``;
- timing only: ``modes``, ``dtype``, ``channels_last``, ``compile``, ``cudnn_benchmark``
  (breakdowns take the same but ``compile``);
- breakdown only: ``timed_steps``, ``profiled_steps``;
- counting only: ``conventions`` (counter names, the first is the result's ``flops``),
  ``backward`` (also count a training step with the first counter that can).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from profiler.devices import DEVICE_TYPES
from profiler.measure.count.counters import BACKWARD_COUNTERS, COUNTERS
from profiler.registry import Registry
from profiler.spec import DTYPES, MODES, freeze_options
from profiler.suites.context import SuiteContext
from profiler.suites.definition import FILTER_AXES, CaseFilter, MatrixEntry
from profiler.suites.toml_lines import KeyPath

__all__ = ["CONVENTIONS", "parse_entry"]

# Counters a count entry may ask for (profiler.measure.count.counters).
CONVENTIONS: tuple[str, ...] = tuple(COUNTERS)

_COMMON = {"kind", "batch", "devices", "options", "variants", "exclude", "include"}
_MODEL_KEYS = {"models", "attention", "input"}
_BLOCK_KEYS = {"blocks", "shapes", "channels", "sizes"}
_BENCH_KEYS = {"modes", "dtype", "channels_last", "compile", "cudnn_benchmark"}
_COUNT_KEYS = {"conventions", "backward"}
_BREAKDOWN_KEYS = {"timed_steps", "profiled_steps"}
KINDS: tuple[str, ...] = ("count", "bench", "breakdown")
_ALL_KEYS = _COMMON | _MODEL_KEYS | _BLOCK_KEYS | _BENCH_KEYS | _COUNT_KEYS | _BREAKDOWN_KEYS


def _wrong_keys(kind: str) -> set[str]:
    """Keys that do not apply to an entry of ``kind``."""
    if kind == "count":
        return _BENCH_KEYS | _BREAKDOWN_KEYS
    if kind == "breakdown":
        return _COUNT_KEYS | {"compile"}
    return _COUNT_KEYS | _BREAKDOWN_KEYS


def _blocks() -> Registry[Any]:
    from profiler.blocks import BLOCKS  # the block classes need torch: load on first check

    return BLOCKS


def _models() -> Registry[Any]:
    from profiler.models import MODELS

    return MODELS


def _attention(ctx: SuiteContext, value: Any, path: KeyPath) -> str | None:
    if value == "none":
        return None
    return ctx.name(value, path, _blocks())


def _check_roles(ctx: SuiteContext, raw: Mapping[str, Any], path: KeyPath) -> str:
    """Check ``kind`` and that model, block, timing and counting keys are not mixed."""
    if "kind" not in raw:
        raise ctx.error(path, 'missing key "kind" (count, bench or breakdown)')
    kind = ctx.choice(raw["kind"], (*path, "kind"), KINDS)
    if ("models" in raw) == ("blocks" in raw):
        raise ctx.error(path, "give exactly one of models = [...] or blocks = [...]")
    group, other = ("models", _BLOCK_KEYS) if "models" in raw else ("blocks", _MODEL_KEYS)
    wrong_kind = _wrong_keys(kind)
    for key in raw:
        if key in other:
            raise ctx.error((*path, key), f"does not apply to an entry with {group} = [...]")
        if key in wrong_kind:
            raise ctx.error((*path, key), f'does not apply to kind = "{kind}"')
    return kind


def _block_shapes(ctx: SuiteContext, raw: Mapping[str, Any], path: KeyPath
                  ) -> tuple[tuple[int, int, int], ...]:
    if "shapes" in raw:
        if "channels" in raw or "sizes" in raw:
            raise ctx.error((*path, "shapes"), "give either shapes or channels and sizes")
        return ctx.items(raw["shapes"], (*path, "shapes"), ctx.shape3)
    if "channels" not in raw or "sizes" not in raw:
        raise ctx.error(path, "a block entry needs shapes = [...] or both channels and sizes")
    channels = ctx.items(raw["channels"], (*path, "channels"), ctx.integer)
    sizes = ctx.items(raw["sizes"], (*path, "sizes"), ctx.size2)
    return tuple((c, s[0], s[1]) for c in channels for s in sizes)


def _named_options(ctx: SuiteContext, raw: Any, path: KeyPath, names: tuple[str | None, ...],
                   variants: bool, role: str, strict: bool = True) -> tuple[tuple[str, Any], ...]:
    """``options.<name> = {...}`` or ``variants.<name> = [{...}, ...]`` for listed names.

    Not ``strict`` (tables an include item inherits), names the entry lacks are dropped.
    """
    table = ctx.table(raw, path)
    listed = [n for n in names if n is not None]
    out: list[tuple[str, Any]] = []
    for name, value in table.items():
        key = (*path, name)
        if name not in listed:
            if not strict:
                continue
            raise ctx.error(key, f"{name!r} is not one of this entry's {role}: "
                            f"{', '.join(listed) or '(none)'}")
        if variants:
            if not isinstance(value, list) or not value:
                raise ctx.error(key, "expected a non-empty list of option tables")
            out.append((name, tuple(freeze_options(ctx.table(v, key)) for v in value)))
        else:
            out.append((name, freeze_options(ctx.table(value, key))))
    return tuple(out)


def _filter_value(ctx: SuiteContext, axis: str, value: Any, path: KeyPath, *,
                  known: Mapping[str, tuple[Any, ...]]) -> Any:
    """One exclude value, in the form :class:`CasePoint` holds it."""
    if axis == "input":
        return ctx.shape3(value, path)
    if axis == "sizes":
        return ctx.size2(value, path)
    if axis in ("channels", "batch"):
        return ctx.integer(value, path)
    allowed = [str(v) for v in known[axis]]
    return ctx.choice(value, path, allowed)


def _exclude(ctx: SuiteContext, raw: Any, path: KeyPath, entry: MatrixEntry
             ) -> tuple[CaseFilter, ...]:
    if not isinstance(raw, list):
        raise ctx.error(path, 'expected a list of tables like [{ modes = "train" }]')
    known: dict[str, tuple[Any, ...]] = {
        "models": entry.models, "blocks": entry.blocks, "modes": entry.modes,
        "attention": tuple("none" if a is None else a for a in entry.attention),
        "dtype": entry.dtypes, "devices": DEVICE_TYPES,
    }
    filters = []
    for i, item in enumerate(raw):
        item_path = (*path, i)
        table = ctx.table(item, item_path)
        ctx.check_keys(table, FILTER_AXES, item_path)
        if not table:
            raise ctx.error(item_path, "an empty exclude item would exclude every case")
        axes = []
        for key, value in table.items():
            values = ctx.items(value, (*item_path, key),
                               partial(_filter_value, ctx, key, known=known))
            axes.append((FILTER_AXES[key], frozenset(values)))
        filters.append(CaseFilter(tuple(axes)))
    return tuple(filters)


def _include(ctx: SuiteContext, raw: Any, path: KeyPath, parent: Mapping[str, Any],
             index: int) -> tuple[MatrixEntry, ...]:
    """Each item is the parent entry with the item's keys replacing the parent's."""
    if not isinstance(raw, list):
        raise ctx.error(path, "expected a list of tables (each a partial matrix entry)")
    base = {k: v for k, v in parent.items() if k not in ("include", "exclude")}
    entries = []
    for i, item in enumerate(raw):
        item_path = (*path, i)
        table = ctx.table(item, item_path)
        for key in ("kind", "include", "exclude"):
            if key in table:
                raise ctx.error((*item_path, key), "cannot be set inside an include item")
        dropped = _BLOCK_KEYS if "models" in table else _MODEL_KEYS if "blocks" in table else set()
        merged = {k: v for k, v in base.items() if k not in dropped} | dict(table)
        inherited = frozenset(k for k in merged if k not in table)
        entries.append(parse_entry(ctx, merged, item_path, index, inherited))
    return tuple(entries)


def parse_entry(ctx: SuiteContext, raw_value: Any, path: KeyPath, index: int,
                inherited: frozenset[str] = frozenset()) -> MatrixEntry:
    """Validate one matrix table; ``index`` is its 0-based position among ``[[matrix]]``;
    ``inherited`` are keys an include item took from its parent entry."""
    raw = ctx.table(raw_value, path)
    ctx.check_keys(raw, _ALL_KEYS, path)
    kind = _check_roles(ctx, raw, path)

    def key(name: str) -> KeyPath:
        return (*path, name)

    fields: dict[str, Any] = {"index": index, "kind": kind}
    if "models" in raw:
        fields["models"] = ctx.items(raw["models"], key("models"),
                                     lambda v, p: ctx.name(v, p, _models()))
        if "attention" in raw:
            fields["attention"] = ctx.items(raw["attention"], key("attention"),
                                            lambda v, p: _attention(ctx, v, p))
        if "input" in raw:
            fields["inputs"] = ctx.items(raw["input"], key("input"), ctx.shape3)
        names: tuple[str | None, ...] = fields.get("attention", (None,))
        role = "attention"
    else:
        fields["blocks"] = ctx.items(raw["blocks"], key("blocks"),
                                     lambda v, p: ctx.name(v, p, _blocks()))
        fields["shapes"] = _block_shapes(ctx, raw, path)
        names = fields["blocks"]
        role = "blocks"
    if "batch" in raw:
        fields["batch"] = ctx.items(raw["batch"], key("batch"), ctx.integer)
    if "devices" in raw:
        fields["devices"] = ctx.items(raw["devices"], key("devices"),
                                      lambda v, p: ctx.choice(v, p, DEVICE_TYPES))
    if "modes" in raw:
        fields["modes"] = ctx.items(raw["modes"], key("modes"),
                                    lambda v, p: ctx.choice(v, p, MODES))
    if "dtype" in raw:
        fields["dtypes"] = ctx.items(raw["dtype"], key("dtype"),
                                     lambda v, p: ctx.choice(v, p, DTYPES))
    for flag in ("channels_last", "compile"):
        if flag in raw:
            fields[flag] = ctx.items(raw[flag], key(flag), ctx.boolean)
    if "cudnn_benchmark" in raw:
        fields["cudnn_benchmark"] = ctx.boolean(raw["cudnn_benchmark"], key("cudnn_benchmark"))
    for steps in sorted(_BREAKDOWN_KEYS):
        if steps in raw:
            fields[steps] = ctx.integer(raw[steps], key(steps))
    if "conventions" in raw:
        fields["conventions"] = ctx.items(raw["conventions"], key("conventions"),
                                          lambda v, p: ctx.choice(v, p, CONVENTIONS))
    if "backward" in raw:
        fields["backward"] = ctx.boolean(raw["backward"], key("backward"))
        chosen = fields.get("conventions", MatrixEntry.conventions)
        able = [c for c in chosen if COUNTERS[c].backward]
        if fields["backward"] and not able:
            raise ctx.error(key("backward"), "backward = true needs a counter that counts "
                            f"backward in conventions: {', '.join(BACKWARD_COUNTERS)}")
    if "options" in raw:
        fields["options"] = _named_options(ctx, raw["options"], key("options"), names,
                                           False, role, "options" not in inherited)
    if "variants" in raw:
        fields["variants"] = _named_options(ctx, raw["variants"], key("variants"), names,
                                            True, role, "variants" not in inherited)
    entry = MatrixEntry(**fields)
    extra: dict[str, Any] = {}
    if "exclude" in raw:
        extra["exclude"] = _exclude(ctx, raw["exclude"], key("exclude"), entry)
    if "include" in raw:
        extra["include"] = _include(ctx, raw["include"], key("include"), raw, index)
    return MatrixEntry(**fields, **extra) if extra else entry
