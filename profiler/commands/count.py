"""``attnprof count``: parameters, FLOPs and activations of a model or one attention block.

Counting conventions (see :mod:`profiler.measure.count.flop_handles`): ``fvcore`` is fvcore's
default (one multiply-add = one FLOP; elementwise ops not counted); ``all`` adds the elementwise
work (sigmoid, mul, add, mean, softmax...). ``--counter NAME`` adds one of the counters of
:mod:`profiler.measure.count.counters` (the thop releases, torch's FlopCounterMode) and makes
``flops`` its total; ``--backward`` adds the FLOPs of a training step (forward + backward,
with a counter that can count backward: ``torch``). ``--format json`` prints one JSON object
with ``params``, ``attention_params``, ``flops`` (the chosen counter's; fvcore by default),
``convention`` (that counter's name), ``flops_all``, ``counters`` (every counter that ran:
``counter``, ``flops``, ``attention_flops``, ``params`` as the counter reports them),
``train_step_flops``, the breakdowns (``by_operator``, ``by_operator_all``, ``by_module``,
``blocks``: fvcore's), ``input_shape``, ``unsupported`` (ops fvcore does not count, with
occurrences), plus ``case_id``, ``spec`` and ``environment``. Exit 0 on success, 2 with one
line on bad input (an unknown counter, ``--backward`` with a counter that cannot).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from tabulate import tabulate

from profiler import defaults
from profiler.commands._common import (
    add_workload_arguments,
    workload_from_args,
    write_single_case,
)
from profiler.commands._safety import add_case_output_arguments, check_output_argument
from profiler.errors import InvalidOptionError
from profiler.measure.case import run_case
from profiler.measure.count.counters import (
    COUNTERS,
    DEFAULT_COUNTER,
    TRACE_COUNTERS,
    check_backward,
)
from profiler.output.display import FORMATS, percent
from profiler.results.count import CountResult
from profiler.results.environment import Environment
from profiler.spec import CountSpec
from profiler.units import SYSTEMS, format_count

__all__ = ["BREAKDOWNS", "register", "render", "run"]

BREAKDOWNS: tuple[str, ...] = ("total", "operator", "module", "block")
CONVENTIONS: tuple[str, ...] = defaults.COUNT_CONVENTIONS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "count", help="count parameters, FLOPs and activations (fvcore, explicit conventions)",
        description="Count MODEL (or one --block) with fvcore from one trace: exact params, "
        "FLOPs under the fvcore convention (1 multiply-add = 1 FLOP, elementwise ops skipped) "
        "and the 'all' convention (elementwise ops added), activations, attention overhead, "
        "and the operators fvcore did not count.")
    add_workload_arguments(parser)
    parser.add_argument("--batch", type=int, default=defaults.COUNT_BATCH, metavar="N",
                        help="batch size (FLOPs and activations scale with it; default "
                        f"{defaults.COUNT_BATCH})")
    parser.add_argument("--by", choices=BREAKDOWNS, default="total",
                        help="total (default), per operator, per module, or per attention block")
    parser.add_argument("--convention", choices=CONVENTIONS, default=CONVENTIONS[0],
                        help=f"convention of the operator breakdown (default {CONVENTIONS[0]})")
    parser.add_argument("--counter", choices=tuple(COUNTERS), default=DEFAULT_COUNTER,
                        metavar="NAME",
                        help="FLOP counter whose total is reported as flops: "
                        f"{', '.join(COUNTERS)} (default {DEFAULT_COUNTER}; "
                        "see README 'Counting conventions')")
    parser.add_argument("--backward", action="store_true",
                        help="also count a training step, forward + backward (needs "
                        "--counter torch)")
    parser.add_argument("--units", choices=SYSTEMS, default="si",
                        help="si (M = 1e6, G = 1e9; default) or binary (Mi = 2^20, Gi = 2^30)")
    parser.add_argument("--depth", type=int, default=2, metavar="D",
                        help="module depth of --by module (1-3; default 2)")
    parser.add_argument("--format", choices=("table", "markdown", "json"), default="table",
                        help="table (default), markdown, or one JSON object")
    add_case_output_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.batch <= 0:
        raise InvalidOptionError(f"--batch must be a positive integer, got {args.batch}")
    if not 1 <= args.depth <= 3:
        raise InvalidOptionError(f"--depth must be 1, 2 or 3, got {args.depth}")
    from profiler.measure.env import collect_environment  # torch: import when run

    if args.backward:
        check_backward(args.counter)
    counters = tuple(dict.fromkeys((args.counter, *TRACE_COUNTERS)))
    spec = CountSpec(workload_from_args(args), batch=args.batch, conventions=counters,
                     backward=args.backward)
    check_output_argument(args.output, args)
    record = run_case(spec, catch=False)
    assert isinstance(record.result, CountResult)
    environment = collect_environment("cpu")
    if args.output is not None:
        write_single_case(args.output, record, environment, args.overwrite)
    if args.format == "json":
        print(_json(spec, record.result, environment))
    else:
        print(render(spec, record.result, args.by, args.convention, args.units, args.depth,
                     FORMATS[args.format]))
    return 0


def _json(spec: CountSpec, result: CountResult, environment: Environment) -> str:
    data: dict[str, Any] = {
        **result.to_dict(),
        "attention_params_fraction": _fraction(result.attention_params, result.backbone_params),
        "attention_flops_fraction": _fraction(result.attention_flops, result.backbone_flops),
        "case_id": spec.case_id,
        "spec": spec.to_dict(),
        "environment": environment.to_dict(),
    }
    return json.dumps(data, indent=2)


def _fraction(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _percent(part: int, whole: int) -> str:
    fraction = _fraction(part, whole)
    if fraction is None:
        return "-"
    return percent(fraction, 3) if fraction == 0 or abs(fraction) >= 1e-4 else f"{fraction:.2e}"


def render(spec: CountSpec, result: CountResult, by: str, convention: str, units: str,
           depth: int, tablefmt: str) -> str:
    """The requested breakdown as a table, titled and with its units and unsupported ops."""
    renderers: dict[str, Callable[[], tuple[list[str], list[tuple[Any, ...]]]]] = {
        "total": lambda: _total(result, units),
        "operator": lambda: _operators(result, convention, units),
        "module": lambda: _modules(result, depth, units),
        "block": lambda: _blocks(result, units),
    }
    headers, rows = renderers[by]()
    lines = [
        f"{spec.label}, input {'x'.join(map(str, result.input_shape))}, batch {result.batch}",
        tabulate(rows, headers=headers, tablefmt=tablefmt, disable_numparse=True),
        _legend(units),
    ]
    if result.unsupported:
        ops = ", ".join(f"{op} x{n}" for op, n in result.unsupported.items())
        lines.append(f"not counted by fvcore (counted by 'all'): {ops}")
    if result.uncounted:
        ops = ", ".join(f"{op} x{n}" for op, n in result.uncounted.items())
        lines.append(f"counted by no convention: {ops}")
    return "\n".join(lines)


def _legend(units: str) -> str:
    prefixes = "K/M/G = 1e3/1e6/1e9" if units == "si" else "Ki/Mi/Gi = 2^10/2^20/2^30"
    return (f"units: {prefixes}; fvcore and thop count 1 FLOP per multiply-add (MACs), torch "
            "2; 'all' adds elementwise ops at 1 FLOP each")


def _total(result: CountResult, units: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    f = _formatter(units)
    fvcore, every = result.counted("fvcore"), result.counted("all")
    assert fvcore is not None and every is not None  # every count runs both
    backbone_fvcore = fvcore.flops - fvcore.attention_flops
    rows = [
        ("params", f"{result.params:,}", f(result.params), ""),
        ("attention params", f"{result.attention_params:,}", f(result.attention_params),
         _percent(result.attention_params, result.backbone_params) + " of backbone"),
        ("FLOPs (fvcore)", f"{fvcore.flops:,}", f(fvcore.flops), ""),
        ("FLOPs (all ops)", f"{every.flops:,}", f(every.flops),
         f"+{_percent(every.flops - fvcore.flops, fvcore.flops)} over fvcore"),
        ("attention FLOPs (fvcore)", f"{fvcore.attention_flops:,}", f(fvcore.attention_flops),
         _percent(fvcore.attention_flops, backbone_fvcore) + " of backbone"),
        ("attention FLOPs (all ops)", f"{every.attention_flops:,}", f(every.attention_flops),
         _percent(every.attention_flops, every.flops - every.attention_flops) + " of backbone"),
    ]
    for total in result.counters:
        if total.counter in TRACE_COUNTERS:
            continue
        rows += [(f"FLOPs ({total.counter})", f"{total.flops:,}", f(total.flops),
                  COUNTERS[total.counter].emulates),
                 (f"attention FLOPs ({total.counter})", f"{total.attention_flops:,}",
                  f(total.attention_flops),
                  _percent(total.attention_flops, total.flops - total.attention_flops)
                  + " of backbone")]
    if result.train_step_flops is not None:
        rows.append((f"training-step FLOPs ({result.convention})",
                     f"{result.train_step_flops:,}", f(result.train_step_flops),
                     "forward + backward"))
    rows += [
        ("activations (fvcore)", f"{result.activations:,}", f(result.activations), ""),
        ("activations (all ops)", f"{result.activations_all:,}", f(result.activations_all),
         f"attention: {result.attention_activations_all:,}"),
    ]
    return ["quantity", "exact", "scaled", "note"], rows


def _operators(result: CountResult, convention: str,
               units: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    f = _formatter(units)
    table = result.by_operator if convention == "fvcore" else result.by_operator_all
    total = sum(table.values())
    rows = [(op, f"{n:,}", f(n), _percent(n, total))
            for op, n in sorted(table.items(), key=lambda kv: -kv[1])]
    return ["operator", f"FLOPs ({convention})", "scaled", "share"], rows


def _modules(result: CountResult, depth: int,
             units: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    f = _formatter(units)
    total = result.by_module.get("", result.flops)
    rows = [(name, f"{n:,}", f(n), _percent(n, total))
            for name, n in result.by_module.items()
            if name and name.count(".") + 1 <= depth]
    return ["module", "FLOPs (fvcore)", "scaled", "share"], rows


def _blocks(result: CountResult, units: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    f = _formatter(units)
    rows: list[tuple[Any, ...]] = [
        (b.path or "(block)", f"{b.params:,}", f(b.flops), f(b.flops_all), f(b.activations_all))
        for b in result.blocks
    ]
    fvcore = result.counted("fvcore") or result
    rows.append(("total attention", f"{result.attention_params:,}", f(fvcore.attention_flops),
                 f(result.attention_flops_all), f(result.attention_activations_all)))
    rows.append(("fraction of backbone",
                 _percent(result.attention_params, result.backbone_params),
                 _percent(fvcore.attention_flops, fvcore.flops - fvcore.attention_flops),
                 _percent(result.attention_flops_all,
                          result.flops_all - result.attention_flops_all), ""))
    return ["attention module", "params", "FLOPs (fvcore)", "FLOPs (all)",
            "activations (all)"], rows


def _formatter(units: str) -> Callable[[int], str]:
    return lambda value: format_count(value, units)
