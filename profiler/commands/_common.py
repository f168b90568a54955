"""Argument helpers shared by several subcommands."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from profiler import defaults
from profiler.defaults import shape_text
from profiler.errors import InvalidOptionError
from profiler.provenance import git_commit, tool_version
from profiler.results.envelope import CaseRecord, ResultFile, write_result_file
from profiler.results.environment import Environment
from profiler.spec import Workload, parse_shape

__all__ = [
    "add_workload_arguments",
    "finite_float",
    "parse_key_values",
    "parse_value",
    "warn_interference",
    "workload_from_args",
    "write_single_case",
]

def finite_float(text: str) -> float:
    """argparse ``type`` of every float flag: a finite number (argparse names the flag)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def warn_interference(groups: Any, source: str = "") -> None:
    """Print the one-line interference warning of ``groups`` (each a sequence of per-round
    telemetry) to stderr, when something interfered."""
    from profiler.report.interference import interference_warning

    line = interference_warning(groups, source)
    if line is not None:
        print(line, file=sys.stderr)


def parse_value(text: str) -> Any:
    """Parse a CLI value: ``3``, ``0.25``, ``true``, ``none``, lists ``3,5,5,7``."""
    if "," in text:
        return [parse_value(part) for part in text.split(",") if part != ""]
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            number = kind(text)
        except ValueError:
            continue
        return number if math.isfinite(number) else text  # nan, inf: left as text
    return text


def parse_key_values(items: list[str] | None, flag: str) -> dict[str, Any]:
    """Parse repeated ``KEY=VALUE`` arguments."""
    options: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidOptionError(f"{flag} expects KEY=VALUE, got {item!r}")
        if key.strip() in options:
            raise InvalidOptionError(f"{flag}: {key.strip()} is given twice; give each key once")
        options[key.strip()] = parse_value(value.strip())
    return options


def add_workload_arguments(parser: argparse.ArgumentParser) -> None:
    """MODEL / --attention / --attention-option / --input, or --block/--channels/--size."""
    parser.add_argument("model", nargs="?", metavar="MODEL",
                        help="registered model name or package.module:attr")
    parser.add_argument("--attention", metavar="A",
                        help="attention block inserted into MODEL (name or module:attr)")
    parser.add_argument("--attention-option", action="append", metavar="KEY=VALUE",
                        help="attention/block option, repeatable (lists: k_size=3,5,5,7)")
    parser.add_argument("--input", metavar="CxHxW",
                        help="per-sample input shape for MODEL (default "
                        f"{shape_text(defaults.INPUT_SHAPE)})")
    parser.add_argument("--block", metavar="NAME", help="measure a single attention block")
    parser.add_argument("--channels", type=int, metavar="C", help="channels for --block")
    parser.add_argument("--size", metavar="HxW",
                        help="feature-map size for --block (default "
                        f"{shape_text(defaults.BLOCK_SIZE)})")


def _check_applicable(args: argparse.Namespace) -> None:
    """Options given for the other kind of workload are errors, not silently ignored."""
    if args.block is not None:
        wrong = [flag for flag, value in (("--input", args.input),
                                          ("--attention", args.attention)) if value is not None]
        if wrong:
            raise InvalidOptionError(f"{' and '.join(wrong)} apply to a MODEL, not to --block "
                                     "(a block takes --channels and --size)")
        return
    wrong = [flag for flag, value in (("--channels", args.channels), ("--size", args.size))
             if value is not None]
    if wrong:
        raise InvalidOptionError(f"{' and '.join(wrong)} apply only with --block NAME "
                                 "(a MODEL takes --input CxHxW)")


def workload_from_args(args: argparse.Namespace) -> Workload:
    """Build the Workload named by :func:`add_workload_arguments`' arguments."""
    options = parse_key_values(args.attention_option, "--attention-option")
    if args.block is not None and args.model is not None:
        raise InvalidOptionError("give either MODEL or --block, not both")
    _check_applicable(args)
    if args.block is not None:
        if args.channels is None:
            raise InvalidOptionError("--block needs --channels C")
        height, width = parse_shape(args.size or shape_text(defaults.BLOCK_SIZE), dims=2)
        return Workload.for_block(args.block, args.channels, (height, width), options)
    if args.model is None:
        raise InvalidOptionError("name a MODEL (see 'attnprof list') or use --block NAME")
    shape = parse_shape(args.input or shape_text(defaults.INPUT_SHAPE), dims=3)
    return Workload.for_model(args.model, args.attention, options, shape)  # type: ignore[arg-type]


def write_single_case(path: Path, record: CaseRecord, environment: Environment,
                      overwrite: bool = False) -> None:
    """Write a result file holding one case (the suite runner's schema) and say where; if it
    cannot be written the OutputError carries the file's text (printed to stdout)."""
    result_file = ResultFile(environment=environment, cases=(record,),
                             tool_version=tool_version(), git_commit=git_commit())
    write_result_file(result_file, path, overwrite=overwrite)
    print(f"wrote {path}", file=sys.stderr)
