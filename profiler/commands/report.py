"""``attnprof report RESULT...``: a markdown report, checked against a paper's claims.

Result files are merged in memory (a case in several files keeps its ok record). Claims
default to the suite's (``claims = "eca-cvpr2020"`` in ``eca-paper``); ``--claims none``
leaves them out. Prints to stdout unless ``-o`` is given; ``--plots DIR`` writes PNG plots
linked from the markdown with relative paths. Existing report and plot files are replaced
only with ``--overwrite``. Every input is validated first (:mod:`profiler.results.validate`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from profiler.claims.paper import available_claims
from profiler.commands._safety import add_overwrite_argument, output_path
from profiler.output import check_output, write_output

__all__ = ["register", "run", "write_text"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report", help="write a markdown report of result files, with claim verdicts",
        description="Render result files (from 'attnprof run') as a markdown report: tables "
        "in the paper's layout with units, the paper's numbers beside ours with a verdict per "
        "claim, plots and the environment.")
    parser.add_argument("results", nargs="+", metavar="RESULT", type=Path,
                        help="result files (merged)")
    parser.add_argument("-o", "--output", metavar="REPORT.md", type=output_path,
                        help="write the report here (default: stdout)")
    parser.add_argument("--claims", metavar="ID|PATH",
                        help="claims to check: an id "
                        f"({', '.join(available_claims()) or 'none found'}), a claims file, "
                        "or 'none' (default: the suite's claims, if any)")
    parser.add_argument("--plots", metavar="DIR", type=Path,
                        help="write PNG plots into DIR and link them")
    parser.add_argument("--title", help="report title (default: from the claims and suite)")
    add_overwrite_argument(parser, "report and plot")
    parser.set_defaults(func=run, input_args=('results', 'claims'))


def write_text(text: str, output: Path | None, overwrite: bool = False) -> None:
    """Write ``text`` to ``output`` (creating folders; see :mod:`profiler.output`), or to
    stdout."""
    if output is None:
        sys.stdout.write(text)
        return
    write_output(output, text, overwrite=overwrite)


def run(args: argparse.Namespace) -> int:
    from profiler.report.build import ReportRequest, build_report  # matplotlib: import late

    if args.output is not None:
        check_output(args.output, overwrite=args.overwrite, inputs=args.results)
    report = build_report(ReportRequest(results=tuple(args.results), output=args.output,
                                        claims=args.claims, plots_dir=args.plots,
                                        title=args.title, overwrite=args.overwrite))
    write_text(report.markdown, args.output, args.overwrite)
    if args.output is not None:
        check = f"; claims: {report.check.summary()}" if report.check else ""
        print(f"wrote {args.output} ({len(report.plots)} plots){check}")
    return 0
