"""Flags that keep a command from losing or clobbering anything: --overwrite, --max-memory.

The rules behind them live elsewhere (:mod:`profiler.output` writes files,
:mod:`profiler.measure.memory.guard` estimates memory); this module only adds the flags and
turns their values into arguments.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from profiler.errors import InvalidOptionError
from profiler.output import check_output
from profiler.units import parse_bytes

__all__ = ["add_max_memory_argument", "add_overwrite_argument", "check_output_argument",
           "memory_limit", "output_path"]


def output_path(text: str) -> Path:
    """argparse ``type`` of an output file: ``Path`` would drop the slash of ``out/``."""
    if not text or text.endswith(("/", os.sep)):
        raise argparse.ArgumentTypeError(f"{text!r} names a folder; give a file name")
    return Path(text)


def add_overwrite_argument(parser: argparse.ArgumentParser, what: str = "-o") -> None:
    """``--overwrite``: replace an existing output (refused otherwise)."""
    parser.add_argument("--overwrite", action="store_true",
                        help=f"replace an existing {what} file (refused otherwise)")


def add_case_output_arguments(parser: argparse.ArgumentParser) -> None:
    """``-o RESULT.json`` (a result file holding the one case measured) and ``--overwrite``."""
    parser.add_argument("-o", "--output", type=output_path, metavar="RESULT.json",
                        help="also write a result file with this case (suite schema)")
    add_overwrite_argument(parser)


def add_max_memory_argument(parser: argparse.ArgumentParser) -> None:
    """``--max-memory SIZE``: the CPU memory guard's limit."""
    parser.add_argument("--max-memory", metavar="SIZE",
                        help="CPU memory limit for a step's estimated peak, like 8GiB or "
                        "500MB (default, and at most: the memory available); a step over it "
                        "is refused "
                        "before it runs (--oom-retry: the largest batch that fits)")


def memory_limit(args: argparse.Namespace) -> int | None:
    """The ``--max-memory`` limit in bytes (None when not given)."""
    text = getattr(args, "max_memory", None)
    if text is None:
        return None
    limit = parse_bytes(text)
    if limit <= 0:
        raise InvalidOptionError(f"--max-memory must be a positive size, got {text!r}")
    from profiler.measure.memory.guard import available_memory_bytes  # torch: when measuring

    room = available_memory_bytes()
    if room is not None and limit > room and not getattr(args, "_memory_noted", False):
        args._memory_noted = True
        print(f"attnprof: note: --max-memory {text} is more than the {room / 2**30:.3g} GiB "
              "available; the limit stays there (--max-memory only lowers it)", file=sys.stderr)
    return limit


def check_output_argument(path: Path | None, args: argparse.Namespace) -> None:
    """Check ``-o`` before any work starts (regular file, --overwrite to replace)."""
    if path is not None:
        check_output(path, overwrite=getattr(args, "overwrite", False))
