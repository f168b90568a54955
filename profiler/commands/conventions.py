"""``attnprof conventions``: the one counting convention of a paper, and each figure under it.

Counts every implementation variant of every method of the claims' Table 3 rows with every
counter (:mod:`profiler.measure.count.counters`, :mod:`profiler.measure.count.variants`), chooses
the paper-wide hypothesis that reproduces the most params/FLOPs figures
(:mod:`profiler.claims.conventions`), and prints each figure under it. ``--write FILE``
stores the findings that reports judge published counts by (TOML, see
:mod:`profiler.claims.findings`; an existing file only with ``--overwrite``). About 2-3
minutes on two cores for the ECA paper.
"""

from __future__ import annotations

import argparse

from profiler.claims.conventions import Implementation, analyse
from profiler.claims.figures import figures
from profiler.claims.findings import Findings, dump_findings
from profiler.claims.paper import available_claims, load_claims
from profiler.commands._safety import add_overwrite_argument, check_output_argument, output_path
from profiler.commands.report import write_text
from profiler.measure.count.counters import COUNTERS

__all__ = ["register", "render", "run"]

DEFAULT_CLAIMS = "eca-cvpr2020"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "conventions", help="find the one counting convention of a paper's params/FLOPs",
        description="Count every implementation variant with every FLOP counter, choose the "
        "paper-wide hypothesis (counter, units, one implementation per method) that "
        "reproduces the most published params/FLOPs figures, and judge each figure under it.")
    parser.add_argument("--claims", default=DEFAULT_CLAIMS, metavar="ID|PATH",
                        help="claims to analyse: an id "
                        f"({', '.join(available_claims()) or 'none found'}) or a claims file "
                        f"(default {DEFAULT_CLAIMS})")
    parser.add_argument("--write", type=output_path, metavar="FINDINGS.toml",
                        help="write the findings there (reports read "
                        "suites/claims/<id>-conventions.toml)")
    add_overwrite_argument(parser, "--write")
    parser.set_defaults(func=run, input_args=('claims',))


def _implementations(method: str) -> list[Implementation]:
    from profiler.measure.count.variants import variants_of

    return [Implementation(v.id, v.description) for v in variants_of(method)]


def render(findings: Findings) -> str:
    """The statement, the ranking's head and one line per figure."""
    lines = [findings.convention.statement, "", "best hypotheses (counter/units/scale: "
             "figures reproduced):"]
    lines += [f"  {h.id}: {h.reproduced}" for h in findings.hypotheses[:8]]
    lines.append("")
    for f in findings.items:
        mark = "ok  " if f.reproduced else "MISS"
        line = f"{mark} {f.table:8} {f.backbone:12} {f.method:5} {f.quantity:6} {f.printed}: "
        lines.append(line + f.explanation + (f"; {f.post_hoc}" if f.post_hoc else ""))
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    from profiler.measure.count.variants import count_variants

    check_output_argument(args.write, args)  # before minutes of counting
    claims = load_claims(args.claims)
    published = figures(claims)
    counts = count_variants(((f.backbone, f.method, f.options) for f in published),
                            tuple(COUNTERS))
    findings = analyse(claims.id, published, counts, tuple(COUNTERS.values()),
                       _implementations)
    print(render(findings), end="")
    if args.write is not None:
        write_text(dump_findings(findings, args.write), args.write, args.overwrite)
        print(f"wrote {args.write}")
    return 0
