"""The ``attnprof`` command line: one subcommand per module in :mod:`profiler.commands`.

Every subcommand exits 0 on success and 2 with a one-line ``attnprof: error: ...`` message on
bad input (argparse errors included), never a traceback. ``compare`` also exits 1 when it finds
a regression; 130 after Ctrl-C, 128 + N after SIGTERM/SIGHUP (cleanup done, see
:mod:`profiler.signals`). An output that cannot be written is one line too, and a result it
held is printed to stdout instead.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from profiler.errors import AttnprofError
from profiler.output import command_inputs
from profiler.signals import Terminated, termination_raises

__all__ = ["EXIT_BAD_INPUT", "ArgumentParser", "build_parser", "main"]

EXIT_BAD_INPUT = 2
# Needed to measure, not to read result files (report, compare, merge run without them).
MEASURING_DEPENDENCIES = ("torch", "fvcore")

# Each module defines ``register(subparsers) -> None``, which adds its parser and sets
# ``func(args) -> int`` as the parser default. Order here is the order of ``--help``.
COMMANDS: tuple[str, ...] = (
    "list",
    "count",
    "conventions",
    "bench",
    "breakdown",
    "calibrate",
    "trace",
    "run",
    "merge",
    "report",
    "table",
    "reproduce",
    "compare",
    "gate",
)


class ArgumentParser(argparse.ArgumentParser):
    """argparse with a one-line error message (no usage dump) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"attnprof: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> ArgumentParser:
    from profiler.provenance import tool_version

    parser = ArgumentParser(
        prog="attnprof",
        description="Profile channel-attention blocks (SE, CBAM, GC, ECA) in CNNs: count "
        "parameters and FLOPs, time training and inference, and check published claims.",
    )
    parser.add_argument("--version", action="version", version=f"attnprof {tool_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND",
                                       parser_class=ArgumentParser)
    for name in COMMANDS:
        module = importlib.import_module(f"profiler.commands.{name}")
        module.register(subparsers)
    return parser


def _module_file(value: object) -> str | None:
    """The source file of a user's ``package.module:attr`` (None for registry names)."""
    if not isinstance(value, str) or ":" not in value:
        return None
    try:  # imports the parent packages only; their failure is the command's to report
        spec = importlib.util.find_spec(value.partition(":")[0])
    except Exception:
        return None
    return spec.origin if spec is not None and spec.origin else None


def input_files(args: argparse.Namespace) -> list[str]:
    """The files a command reads (its parser's ``input_args`` defaults name them, and the
    source of a user's own MODEL, attention or block): no output of the command may be
    written onto one (:func:`profiler.output.command_inputs`)."""
    found: list[str] = []
    for name in getattr(args, "input_args", ()):
        value = getattr(args, name, None)
        for item in value if isinstance(value, list | tuple) else [value]:
            if item is not None and os.path.isfile(item):
                found.append(os.fspath(item))
    for name in ("model", "attention", "block"):
        source = _module_file(getattr(args, name, None))
        if source is not None and os.path.isfile(source):
            found.append(source)
    return found


def _report(exc: AttnprofError) -> int:
    """Print ``exc`` as the one error line; a measurement that could not be saved goes to
    stdout first (OutputError.unsaved), so that nothing measured is lost."""
    unsaved = getattr(exc, "unsaved", None)
    if unsaved:
        sys.stdout.write(unsaved)
        sys.stdout.flush()
    where = "; the result file's content was printed to stdout instead" if unsaved else ""
    print(f"attnprof: error: {exc}{where}", file=sys.stderr)
    return EXIT_BAD_INPUT


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return EXIT_BAD_INPUT
    with termination_raises(), command_inputs(input_files(args)):
        try:
            return int(args.func(args))
        except AttnprofError as exc:
            return _report(exc)
        except ModuleNotFoundError as exc:
            if exc.name is None or exc.name.partition(".")[0] not in MEASURING_DEPENDENCIES:
                raise
            print(f"attnprof: error: '{args.command}' needs {exc.name.partition('.')[0]}, "
                  "which is not installed here (report, compare and merge work without it)",
                  file=sys.stderr)
            return EXIT_BAD_INPUT
        except KeyboardInterrupt:
            print("attnprof: interrupted", file=sys.stderr)
            return 130
        except Terminated as exc:
            print(f"attnprof: {exc}", file=sys.stderr)
            return exc.exit_status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
