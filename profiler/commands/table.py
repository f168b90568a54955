"""``attnprof table RESULT...``: the efficiency table of your paper, in LaTeX, CSV or markdown.

Params, FLOPs, training and inference throughput per backbone and method (baseline first, in
the paper's order, as the ECA paper's Table 3), one row per case, from result files merged as
``attnprof report`` merges them and with the report's figures: ``--counter`` and ``--units``
choose the counting convention and units, ``--throughput`` absolute images/s, the share of
the backbone's throughput with its paired 95% interval, or both. Prints to stdout unless
``-o`` is given (written by :mod:`profiler.output`: never over an input, ``--overwrite`` to
replace). Bad input, one line and exit 2: an unknown column or format, results from two
machines without ``--allow-mixed``; a throughput column the results cannot fill is dropped,
with one line on stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from profiler.commands._safety import add_overwrite_argument, output_path
from profiler.output import check_output, write_output
from profiler.report.export import (
    COLUMNS,
    DEFAULT_COLUMNS,
    DEFAULT_COUNTER,
    FORMATS,
    THROUGHPUT,
    UNITS,
    TableOptions,
    build_efficiency_table,
    parse_columns,
    parse_names,
    render,
)
from profiler.results.envelope import load_result_file

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "table", help="the efficiency table of result files in LaTeX, CSV or markdown",
        description="Export result files (from 'attnprof run') as a paper's efficiency table: "
        "params, FLOPs, training and inference throughput per backbone and method, baseline "
        "first, with the report's figures and intervals.")
    parser.add_argument("results", nargs="+", metavar="RESULT", type=Path,
                        help="result files (merged)")
    parser.add_argument("--format", choices=FORMATS, default="markdown",
                        help="latex (booktabs), csv (pandas.read_csv) or markdown (default)")
    parser.add_argument("--columns", default=",".join(DEFAULT_COLUMNS), metavar="LIST",
                        help=f"comma-separated, in order: {', '.join(COLUMNS)} (default "
                        f"{','.join(DEFAULT_COLUMNS)})")
    parser.add_argument("--units", choices=UNITS, default="si",
                        help="si (M = 10^6, G = 10^9; default) or paper (the units of the "
                        "paper-wide counting convention of the results' claims)")
    parser.add_argument("--counter", default=DEFAULT_COUNTER, metavar="NAME",
                        help="FLOP counter whose figures are shown, one recorded in the counts "
                        f"(default {DEFAULT_COUNTER}, as the report)")
    parser.add_argument("--throughput", choices=THROUGHPUT, default="both",
                        help="absolute images/s, share of the backbone's, or both (default)")
    parser.add_argument("--intervals", action=argparse.BooleanOptionalAction, default=True,
                        help="show the IQR of throughput and the 95%% interval of shares "
                        "(default: on)")
    parser.add_argument("--name", action="append", metavar="NAME=LABEL",
                        help="label of a method or backbone as recorded, repeatable "
                        "(mypkg.blocks:SimAM=SimAM, none=ResNet)")
    parser.add_argument("--caption", default="", metavar="TEXT",
                        help="caption text, before the units and the machine")
    parser.add_argument("--label", metavar="tab:NAME", help="LaTeX \\label of the table")
    parser.add_argument("--allow-mixed", action="store_true",
                        help="accept results from several machines (adds a Machine column)")
    parser.add_argument("-o", "--output", metavar="FILE", type=output_path,
                        help="write the table here (default: stdout)")
    add_overwrite_argument(parser, "table")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    options = TableOptions(columns=parse_columns(args.columns), units=args.units,
                           counter=args.counter, throughput=args.throughput,
                           intervals=args.intervals, names=parse_names(args.name),
                           allow_mixed=args.allow_mixed)
    if args.output is not None:
        check_output(args.output, overwrite=args.overwrite, inputs=args.results)
    loaded = [(str(path), load_result_file(path)) for path in args.results]
    table = build_efficiency_table(loaded, options)
    if table.dropped:
        print(f"attnprof: columns dropped: {'; '.join(table.dropped)}", file=sys.stderr)
    text = render(table, args.format, intervals=args.intervals, caption=args.caption,
                  label=args.label)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    write_output(args.output, text, overwrite=args.overwrite, inputs=args.results)
    print(f"wrote {args.output} ({len(table.rows)} rows)", file=sys.stderr)
    return 0
