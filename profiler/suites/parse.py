"""Load a suite file (TOML, standard-library ``tomllib``) into a validated :class:`Suite`.

Everything is checked before any work starts: TOML syntax, unknown keys (with a suggestion),
value types, block and model names (registered or importable ``module:attr``), shapes, the
claims id. Each problem raises :class:`~profiler.errors.SuiteError` with one line naming the
file, the line and the key, for example::

    suites/mine.toml:12: key 'matrix[2].attention': unknown block 'sex' (did you mean 'se'?);
    valid: cbam, eca, ... or package.module:attr

The file format is described in ``suites/README.md``.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from profiler.devices import DEVICE_CHOICES, DEVICE_TYPES, is_device
from profiler.errors import AttnprofError, SuiteError
from profiler.suites.context import SuiteContext, did_you_mean
from profiler.suites.definition import BatchSize, Budget, MatrixEntry, Suite
from profiler.suites.discover import claims_dirs, find_suite
from profiler.suites.groups import pairing_settings
from profiler.suites.matrix import parse_entry
from profiler.suites.toml_lines import KeyPath

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["load_suite", "load_suite_file", "parse_suite", "suite_hash"]

_TOP_KEYS = ("suite", "budget", "matrix")
_SUITE_KEYS = ("name", "description", "claims", "device")
_BUDGET_KEYS = ("min_time", "repeats", "warmup", "threads", "max_minutes", "batch", "paired",
                "block_time", "min_rounds", "max_rounds", "group_time", "target_half_width",
                "processes")
_LINE = re.compile(r"at line (\d+)")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def suite_hash(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _name(ctx: SuiteContext, meta: Mapping[str, Any], path: Path) -> str:
    """The suite's name: letters, digits, '-', '_' and '.', never a path (it names files), and
    not starting with '.' (a hidden file)."""
    name = ctx.string(meta["name"], ("suite", "name")) if "name" in meta else path.stem
    if not _NAME.match(name) or name.startswith("."):
        why = (f"suite name {name!r} is not a name" if "name" in meta
               else f"the file name gives the suite name {name!r}, which is not a name")
        raise ctx.error(("suite", "name") if "name" in meta else (),
                        f"{why}: use letters, digits, '-', '_' and '.', not first (it names "
                        "the result file results/<name>-<device>.json)", name)
    return name


def _batch(ctx: SuiteContext, value: Any, path: KeyPath) -> BatchSize:
    if isinstance(value, Mapping):
        ctx.check_keys(value, ("infer", "train"), path)
        if set(value) != {"infer", "train"}:
            raise ctx.error(path, "a batch table needs both infer and train, like "
                            "{ infer = 8, train = 4 }")
        return BatchSize(ctx.integer(value["infer"], (*path, "infer")),
                         ctx.integer(value["train"], (*path, "train")))
    size = ctx.integer(value, path)
    return BatchSize(size, size)


def _budget(ctx: SuiteContext, raw: Mapping[str, Any], path: KeyPath) -> Budget:
    def get(key: str) -> Any:
        return raw.get(key)

    def at(key: str) -> KeyPath:
        return (*path, key)

    return Budget(
        min_time=None if get("min_time") is None else ctx.number(get("min_time"), at("min_time")),
        repeats=None if get("repeats") is None else ctx.integer(get("repeats"), at("repeats")),
        warmup=None if get("warmup") is None else ctx.integer(get("warmup"), at("warmup"), 0),
        threads=None if get("threads") is None else ctx.integer(get("threads"), at("threads")),
        max_minutes=None if get("max_minutes") is None
        else ctx.number(get("max_minutes"), at("max_minutes"), positive=True),
        batch=None if get("batch") is None else _batch(ctx, get("batch"), at("batch")),
        paired=None if get("paired") is None else ctx.boolean(get("paired"), at("paired")),
        block_time=None if get("block_time") is None
        else ctx.number(get("block_time"), at("block_time")),
        min_rounds=None if get("min_rounds") is None
        else ctx.integer(get("min_rounds"), at("min_rounds")),
        max_rounds=None if get("max_rounds") is None
        else ctx.integer(get("max_rounds"), at("max_rounds")),
        group_time=None if get("group_time") is None
        else ctx.number(get("group_time"), at("group_time")),
        target_half_width=None if get("target_half_width") is None
        else ctx.number(get("target_half_width"), at("target_half_width"), positive=True),
        processes=None if get("processes") is None
        else ctx.integer(get("processes"), at("processes")),
    )


def _budgets(ctx: SuiteContext, raw: Any) -> tuple[Budget, tuple[tuple[str, Budget], ...]]:
    if raw is None:
        return Budget(), ()
    table = ctx.table(raw, ("budget",))
    ctx.check_keys(table, (*_BUDGET_KEYS, *DEVICE_TYPES), ("budget",))
    per_device = []
    for device in DEVICE_TYPES:
        if device in table:
            sub = ctx.table(table[device], ("budget", device))
            ctx.check_keys(sub, _BUDGET_KEYS, ("budget", device))
            per_device.append((device, _budget(ctx, sub, ("budget", device))))
    budget = _budget(ctx, table, ("budget",))
    for device, override in [("", budget), *per_device]:
        path: KeyPath = ("budget", device) if device else ("budget",)
        try:
            pairing_settings(budget.overridden_by(override))
        except AttnprofError as exc:
            raise ctx.error(path, str(exc)) from None
    return budget, tuple(per_device)


def _claims(ctx: SuiteContext, value: Any, path: Path) -> str:
    claims = ctx.string(value, ("suite", "claims"))
    folders = claims_dirs(path)
    if any((folder / f"{claims}.toml").is_file() for folder in folders):
        return claims
    known = sorted({p.stem for folder in folders for p in folder.glob("*.toml")})
    raise ctx.error(("suite", "claims"), f"unknown claims {claims!r}"
                    f"{did_you_mean(claims, known)}; valid: {', '.join(known) or '(none)'}",
                    claims)


def _matrix(ctx: SuiteContext, raw: Any) -> tuple[MatrixEntry, ...]:
    if raw is None or raw == []:
        end = max(len(ctx.text.rstrip().splitlines()), 1)
        raise ctx.error(("matrix",), "no [[matrix]] entries: a suite needs at least one",
                        line=end)
    if not isinstance(raw, list):
        raise ctx.error(("matrix",), "expected [[matrix]] tables")
    return tuple(parse_entry(ctx, entry, ("matrix", i), i) for i, entry in enumerate(raw))


def parse_suite(data: bytes, path: Path) -> Suite:
    """Validate suite file bytes; ``path`` names the file in errors and in the result."""
    display = _display(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SuiteError(f"{display}: not a UTF-8 text file") from None
    ctx = SuiteContext(display, text)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc).splitlines()[0]
        match = _LINE.search(message)
        where = f"{display}:{match.group(1)}" if match else display
        near = ""
        if match:
            source = text.splitlines()[int(match.group(1)) - 1].strip()
            near = f" in {source[:60]!r}" if source else ""
        raise SuiteError(f"{where}: TOML syntax error{near}: {message}") from None
    ctx.check_keys(doc, _TOP_KEYS, ())
    meta = ctx.table(doc.get("suite", {}), ("suite",))
    ctx.check_keys(meta, _SUITE_KEYS, ("suite",))
    device = ctx.string(meta.get("device", "auto"), ("suite", "device"))
    if not is_device(device, allow_auto=True):
        raise ctx.error(("suite", "device"), f"unknown device {device!r}; valid: "
                        f"{DEVICE_CHOICES}", device)
    budget, device_budgets = _budgets(ctx, doc.get("budget"))
    return Suite(
        name=_name(ctx, meta, path),
        path=path,
        hash=suite_hash(data),
        description=str(meta.get("description", "")) if "description" not in meta
        else ctx.string(meta["description"], ("suite", "description")),
        claims=_claims(ctx, meta["claims"], path) if "claims" in meta else None,
        device=device,
        budget=budget,
        device_budgets=device_budgets,
        matrix=_matrix(ctx, doc.get("matrix")),
    )


def load_suite_file(path: str | Path) -> Suite:
    """Read and validate the suite file at ``path``."""
    file = Path(path)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise SuiteError(f"{_display(file)}: cannot read suite file: {exc.strerror}") from None
    return parse_suite(data, file)


def load_suite(name_or_path: str) -> Suite:
    """Find a suite by name (``eca-paper``) or path and load it."""
    return load_suite_file(find_suite(name_or_path))
