"""`attnprof merge` (placeholder until its issue lands)."""

from __future__ import annotations

import argparse

from profiler.errors import AttnprofError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("merge", help="(not yet implemented)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise AttnprofError("'attnprof merge' is not implemented yet")
