"""`attnprof reproduce` (placeholder until its issue lands)."""

from __future__ import annotations

import argparse

from profiler.errors import AttnprofError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("reproduce", help="(not yet implemented)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise AttnprofError("'attnprof reproduce' is not implemented yet")
