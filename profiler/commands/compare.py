"""``attnprof compare BASELINE NEW``: gate a CI job on performance regressions.

Exit status: 0 no regression, 1 at least one regression (all are listed together), 2 bad or
mismatched files or a malformed rule (one line). The test is documented in
:mod:`profiler.compare.judge` and in ``--help``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from profiler.commands._common import warn_interference
from profiler.compare import (
    DEFAULT_RULES,
    FORMATS,
    compare_files,
    load_measurements,
    parse_rule,
    render,
    resolve_rules,
)

__all__ = ["register", "run"]

EPILOG = f"""\
rules (--fail-on, repeatable; each replaces the default for its metric):
  images_per_sec:-5%       higher-is-better metric may drop at most 5%
  step_ms_median:+10%      lower-is-better metric may rise at most 10%
  peak_memory_bytes:+50MB  absolute limit (B, KB, MB, GB, KiB, MiB, GiB)
  params:0                 exact metric: any change fails (params:1% allows 1% either way)
  images_per_sec:off       switch a default rule off
defaults: {' '.join(DEFAULT_RULES)} (median: pytest-benchmark files; time = median)

metrics: attnprof files: params, attention_params, flops, flops_all (exact), images_per_sec
  (higher is better), step_ms_median, peak_memory_bytes (lower is better); pytest-benchmark
  JSON: median (alias time), mean, min, max (seconds, lower is better), ops (higher).

the test: exact metrics regress on any change past the limit. Timing metrics are
noise-aware: a regression needs the new value worse than the baseline by more than the
limit AND the two runs' raw samples significantly different on the worse side: two-sided
Mann-Whitney U test at p < 0.002 (as asv); with too few samples for the test to reach that
level, non-overlapping 99% intervals of the two medians. A change past the limit that is not
significant is 'inconclusive', anything within the limit 'unchanged' (the words of
`attnprof gate`); values without samples (peak memory) are judged by the limit alone.
A case ok in the baseline and failed in the new file, or missing from it (an interrupted
run), is a regression (--allow-missing: listed only).

machines: when the two files come from different machines (CPU or GPU model, torch version,
thread count) the first line of the output says so: throughput is not comparable across
machines, params and FLOPs still are.

matching: by case id; cases left over are matched by workload, mode, batch, dtype and
device type when that is unique in both files (so runs with other timing budgets compare).
Files of different kinds or without a case in common: exit 2.

exit status: 0 no regression, 1 regression(s), 2 bad input."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare", help="compare two result files; exit 1 on a regression",
        description="Compare NEW against BASELINE (attnprof result files, or pytest-benchmark "
        "JSON from --benchmark-json) and list every regression together.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("baseline", metavar="BASELINE", type=Path, help="the reference file")
    parser.add_argument("new", metavar="NEW", type=Path, help="the file to check")
    parser.add_argument("--fail-on", action="append", default=[], metavar="METRIC:LIMIT",
                        help="a regression rule, repeatable (see below)")
    parser.add_argument("--format", choices=FORMATS, default="table",
                        help="table (terminal, default) or markdown ($GITHUB_STEP_SUMMARY)")
    parser.add_argument("--allow-missing", action="store_true",
                        help="a case the baseline has and NEW lacks is listed, not a regression "
                        "(for partial suites)")
    parser.set_defaults(func=run, input_args=('baseline', 'new'))


def run(args: argparse.Namespace) -> int:
    given = [parse_rule(text) for text in args.fail_on]
    rules = resolve_rules(args.fail_on)
    baseline = load_measurements(args.baseline)
    new = load_measurements(args.new)
    for measured in (baseline, new):
        warn_interference(measured.telemetry, measured.source)
    comparison = compare_files(baseline, new, rules, [r for r in given if r.enabled],
                               allow_missing=args.allow_missing)
    print(render(comparison, args.format), end="")
    return 1 if comparison.regressions else 0
