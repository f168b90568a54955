"""``attnprof list``: every block, model and suite with a one-line description."""

from __future__ import annotations

import argparse

from profiler.blocks import BLOCKS
from profiler.models import MODELS


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


def run(args: argparse.Namespace) -> int:
    lines = _section("blocks", [(e.name, e.summary) for e in BLOCKS.entries()])
    lines += [""] + _section("models", [(e.name, e.summary) for e in MODELS.entries()])
    lines += ["", "User blocks and models load as package.module:attr."]
    print("\n".join(lines))
    return 0
