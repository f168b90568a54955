"""Defaults are named once (profiler.defaults): flags, specs and suites agree on them."""

from __future__ import annotations

from pathlib import Path

from profiler import defaults
from profiler.cli import build_parser
from profiler.commands._common import workload_from_args
from profiler.commands.bench import spec_from_args
from profiler.spec import BenchSpec, CountSpec, Workload
from profiler.suites import expand_suite, parse_suite

SUITE = b"""
[suite]
name = "plain"

[[matrix]]
kind = "bench"
models = ["resnet18"]
modes = ["infer"]

[[matrix]]
kind = "count"
models = ["resnet18"]
"""


def test_bench_flags_default_to_the_spec_defaults() -> None:
    args = build_parser().parse_args(["bench", "resnet18"])
    spec = spec_from_args(args)
    assert spec == BenchSpec(Workload.for_model("resnet18"))
    assert (spec.batch, spec.min_time, spec.repeats, spec.warmup, spec.device, spec.dtype,
            spec.mode) == (defaults.TIMING_BATCH, defaults.MIN_TIME, defaults.REPEATS,
                           defaults.WARMUP, defaults.DEVICE, defaults.DTYPE, defaults.MODE)


def test_count_flags_default_to_the_spec_defaults() -> None:
    args = build_parser().parse_args(["count", "resnet18"])
    assert CountSpec(workload_from_args(args), batch=args.batch) == \
        CountSpec(Workload.for_model("resnet18"))
    assert CountSpec(Workload.for_model("resnet18")).conventions == defaults.COUNT_CONVENTIONS
    block = workload_from_args(build_parser().parse_args(["count", "--block", "se",
                                                          "--channels", "8"]))
    assert block.input_shape[1:] == defaults.BLOCK_SIZE


def test_a_suite_without_budget_uses_the_spec_defaults(tmp_path: Path) -> None:
    bench, count = expand_suite(parse_suite(SUITE, tmp_path / "plain.toml"), "cpu")
    assert bench == BenchSpec(Workload.for_model("resnet18"))
    assert count == CountSpec(Workload.for_model("resnet18"))


def test_help_texts_state_the_defaults() -> None:
    parser = build_parser()
    bench = parser._subparsers._group_actions[0].choices["bench"]  # type: ignore[union-attr]
    text = bench.format_help()
    assert f"default {defaults.REPEATS})" in text and f"(default {defaults.WARMUP})" in text
    assert f"default {defaults.TIMING_BATCH})" in text
