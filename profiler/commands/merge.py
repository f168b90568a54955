"""``attnprof merge PART... -o OUT``: join result files of one suite (e.g. its shards).

All parts must hold the same suite (name and hash). Parts from different devices are refused
unless ``--allow-mixed``; the merged file keeps the first part's environment and lists every
part's under ``parts``. A case in several parts keeps its ``ok`` record; two ``ok`` records
of one case with different results are refused unless ``--prefer first|last``, and so are
shards that do not fit together (1/2 with 2/3, a shard twice without ``--prefer``).
``OUT`` replaces an existing file only with ``--overwrite`` and is never one of the parts.
Exit 2 on mismatched or unreadable files.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from profiler.commands._safety import add_overwrite_argument, output_path
from profiler.output import check_output
from profiler.results.envelope import load_result_file, write_result_file
from profiler.suites.merge import PREFER, merge_results

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "merge", help="join result files of one suite (shards) into one",
        description="Join result files of the same suite (same name and hash), for example "
        "the parts written by 'attnprof run SUITE --shard I/N'. A case found in several "
        "parts keeps its ok record.")
    parser.add_argument("parts", nargs="+", metavar="PART", type=Path,
                        help="result files to join")
    parser.add_argument("-o", "--output", metavar="OUT", type=output_path, required=True,
                        help="merged result file to write")
    parser.add_argument("--allow-mixed", action="store_true",
                        help="merge parts measured on different devices (each part's "
                        "environment is kept under 'parts')")
    parser.add_argument("--prefer", choices=PREFER,
                        help="when two parts hold different ok records of one case (or the same "
                        "shard twice): keep the first part's or the last part's (refused "
                        "otherwise)")
    add_overwrite_argument(parser, "OUT")
    parser.set_defaults(func=run, input_args=('parts',))


def run(args: argparse.Namespace) -> int:
    check_output(args.output, overwrite=args.overwrite, inputs=args.parts)
    parts = [(str(path), load_result_file(path)) for path in args.parts]
    merged = merge_results(parts, allow_mixed=args.allow_mixed, prefer=args.prefer)
    write_result_file(merged, args.output, overwrite=args.overwrite, inputs=args.parts)
    counts = ", ".join(f"{n} {status}" for status, n in merged.status_counts().items())
    planned = merged.suite.planned if merged.suite is not None else 0
    missing = planned - len(merged.cases)
    gap = f"; {missing} of {planned} planned cases missing" if missing > 0 else ""
    print(f"merged {len(parts)} part(s) into {args.output}: {len(merged.cases)} cases "
          f"({counts}){gap}")
    return 0
