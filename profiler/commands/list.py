"""``attnprof list``: every block, model, suite and FLOP counter, one line each."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from profiler.errors import one_line
from profiler.measure.count.counters import COUNTERS
from profiler.suites.discover import available_suites

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "list", help="list blocks, models and suites",
        description="List every registered attention block, model and benchmark suite.")
    parser.set_defaults(func=run)


def _section(title: str, rows: list[tuple[str, str]]) -> list[str]:
    width = max((len(name) for name, _ in rows), default=0)
    lines = [f"{title}:"]
    lines += [f"  {name.ljust(width)}  {summary}" for name, summary in rows]
    return lines


def _suite_summary(path: Path) -> str:
    """The suite's ``description`` (first line), read without full validation."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return f"(unreadable: {one_line(exc, typed=False)})"
    meta = doc.get("suite")
    text = meta.get("description") if isinstance(meta, dict) else None
    return str(text).strip().splitlines()[0] if text else f"({path})"


def run(args: argparse.Namespace) -> int:
    from profiler.blocks import BLOCKS  # the registries need torch: load them when listing
    from profiler.models import MODELS

    lines = _section("blocks", [(e.name, e.summary) for e in BLOCKS.entries()])
    lines += ["", *_section("models", [(e.name, e.summary) for e in MODELS.entries()])]
    suites = available_suites()
    lines += ["", *_section("suites", [(n, _suite_summary(p)) for n, p in suites.items()])]
    lines += ["", *_section("counters (attnprof count --counter NAME)",
                            [(c.name, c.emulates) for c in COUNTERS.values()])]
    lines += ["", "User blocks and models load as package.module:attr; a suite can also be "
              "given as a path to its .toml file."]
    print("\n".join(lines))
    return 0
