"""``attnprof gate SUITE --base REF``: measure the base and the head together, and decide.

Exit status: 0 nothing regressed, 1 a regression, an exact-metric change or a case that
works on the base and fails on the head, 2 bad input (no git repository, unknown ref, a
suite that does not load on one side, a malformed rule, an unwritable ``-o``), 130 on Ctrl-C,
143/129 on SIGTERM/SIGHUP (the workers end and the temporary worktree is removed in every
case).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from profiler.commands._common import finite_float, warn_interference
from profiler.compare.rules import Rule, parse_rule, resolve_rules
from profiler.errors import InvalidOptionError
from profiler.gate.driver import DEFAULT_MAX_MINUTES, TARGET_SHARE, GateOptions, run_gate
from profiler.gate.render import FORMATS, render
from profiler.gate.side import Side
from profiler.gate.worktree import (
    base_worktree,
    git,
    repository_root,
    resolve_commit,
    working_tree_commit,
)
from profiler.output import check_output, write_output
from profiler.suites.discover import find_suite

__all__ = ["register", "run"]

EPILOG = f"""\
how it works: the head is this git working tree as it is (uncommitted changes included);
the base is REF checked out into a temporary worktree (removed afterwards, also on Ctrl-C
or SIGTERM), or the folder --base-dir names. One worker process per side imports that
side's code (its folder first on PYTHONPATH), so blocks and models named module:attr in the
suite, and the tree's own attnprof, are each side's. Both sides load and expand the same
suite file (the head's). Count cases compare params, attention_params, flops and flops_all
exactly. Each timing case is built and warmed up on both sides, then timed in rounds that
alternate which side runs first; the head/base throughput ratio gets a 95% interval.

decision per timing case, with limit L (--fail-on images_per_sec:-L%, default 5%):
  regression    the interval lies wholly below 1 - L
  improved      the interval lies wholly above 1 + L
  unchanged     the interval lies inside [1 - L, 1 + L]
  inconclusive  it straddles an edge: the machine was too noisy for this budget; the
                output says how many rounds (and minutes) would decide it
Rounds stop once the interval's half-width is at most {TARGET_SHARE:g} x L, or when the case's
share of --max-minutes is spent.

rules (--fail-on, repeatable): images_per_sec:-5% (relative only), and the exact metrics as
in 'attnprof compare' (params:0 by default; params:1% allows 1%; METRIC:off).

exit status: 0 nothing regressed, 1 a regression, a changed exact metric, or a case that
works on the base and fails on the head, 2 bad input."""

GATED = ("images_per_sec", "params", "attention_params", "flops", "flops_all")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "gate", help="time a suite on a base ref and this tree together; exit 1 on regression",
        description="Measure SUITE on the base (a git ref checked out into a temporary "
        "worktree, or a folder) and on this working tree in the same job, interleaved, and "
        "decide per case whether the head regressed.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("suite", metavar="SUITE", help="suite name or path to a .toml file")
    base = parser.add_mutually_exclusive_group(required=True)
    base.add_argument("--base", metavar="REF",
                      help="git ref (branch, tag, commit) of this repository to compare with")
    base.add_argument("--base-dir", metavar="PATH", type=Path,
                      help="an existing tree to compare with instead of a ref")
    parser.add_argument("--fail-on", action="append", default=[], metavar="METRIC:LIMIT",
                        help="a rule, repeatable (default images_per_sec:-5%% and exact counts)")
    parser.add_argument("--format", choices=FORMATS, default="table",
                        help="table (terminal, default) or markdown ($GITHUB_STEP_SUMMARY)")
    parser.add_argument("-o", "--output", metavar="RESULT.json", type=Path,
                        help="write both sides' measurements and the decisions to this file")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing -o file")
    parser.add_argument("--max-minutes", metavar="M", type=finite_float,
                        default=DEFAULT_MAX_MINUTES,
                        help=f"wall-clock budget of the whole gate, shared among the timing "
                        f"cases (default {DEFAULT_MAX_MINUTES:g})")
    parser.add_argument("--device", metavar="DEVICE",
                        help="override the suite's device: auto, cpu, cuda, cuda:N")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    parser.set_defaults(func=run, input_args=('suite',))


def gate_rules(texts: list[str]) -> tuple[float, tuple[Rule, ...]]:
    """The relative throughput limit (a fraction) and the rules in force; one-line errors for
    rules gate cannot apply."""
    for text in texts:
        rule = parse_rule(text)
        if rule.metric not in GATED:
            raise InvalidOptionError(f"rule {text!r}: gate decides on {', '.join(GATED)}; "
                                     f"compare other metrics with 'attnprof compare'")
    rules = tuple(r for r in resolve_rules(texts) if r.metric in GATED)
    rule = next((r for r in rules if r.metric == "images_per_sec"), None)
    if rule is None:
        raise InvalidOptionError("gate needs a throughput limit: images_per_sec cannot be off")
    if not rule.relative or not 0 < rule.limit < 1:
        raise InvalidOptionError(f"rule {rule.text!r}: gate needs a relative throughput limit "
                                 "between 0% and 100%, like images_per_sec:-5%")
    return rule.limit, rules


@contextmanager
def _sides(args: argparse.Namespace) -> Iterator[tuple[Side, Side]]:
    """(head, base): the working tree and the base tree, checked out for the block."""
    here = Path.cwd()
    if args.base_dir is not None:
        base_dir = args.base_dir.resolve()
        if not base_dir.is_dir():
            raise InvalidOptionError(f"--base-dir {args.base_dir}: no such folder")
        inside = git(["rev-parse", "--show-toplevel"], here)
        root = Path(inside.stdout.strip()) if inside.returncode == 0 else here
        head = Side("head", root, "working tree", working_tree_commit(root)
                    if inside.returncode == 0 else None)
        base_git = git(["rev-parse", "--verify", "--quiet", "HEAD"], base_dir)
        yield head, Side("base", base_dir, str(args.base_dir),
                         base_git.stdout.strip() or None if base_git.returncode == 0 else None)
        return
    root = repository_root(here)
    commit = resolve_commit(root, args.base)
    head = Side("head", root, "working tree", working_tree_commit(root))
    with base_worktree(root, commit) as tree:
        yield head, Side("base", tree, args.base, commit)


def _say(quiet: bool) -> Callable[[str], None]:
    def say(text: str) -> None:
        if not quiet:
            print(text, file=sys.stderr, flush=True)

    return say


def run(args: argparse.Namespace) -> int:
    limit, rules = gate_rules(args.fail_on)
    if args.max_minutes <= 0:
        raise InvalidOptionError(f"--max-minutes must be > 0, got {args.max_minutes:g}")
    suite_path = find_suite(args.suite).resolve()
    if args.output is not None:
        check_output(args.output, overwrite=args.overwrite)
    options = GateOptions(suite_path=suite_path, device=args.device, limit=limit, rules=rules,
                          max_minutes=args.max_minutes)
    with _sides(args) as (head, base):
        result = run_gate(head, base, options, say=_say(args.quiet))
    print(render(result, args.format), end="")
    warn_interference([case.telemetry for case in result.timing])
    if args.output is not None:
        text = json.dumps(result.to_dict(), indent=2) + "\n"
        write_output(args.output, text, overwrite=args.overwrite, unsaved=text)
        print(f"wrote {args.output}", file=sys.stderr)
    return result.exit_status

