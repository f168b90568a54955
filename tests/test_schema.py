"""The result schema is written three times: the records (``profiler/results``, the gate's
``profiler/results/gate.py``), the validator's tables (``profiler/results/validate.py``) and
``docs/result-schema.md``. These tests tie them together: every field a record writes has a
row in the validator's table and is named in its section of the document, and every row of
a table is a field the record writes. Add a field to a record and forget one of the other
two, and a test here fails, naming the field.

The fields a record writes are read from its own ``to_dict()`` on a sample (below), so a
field added to a dataclass shows up without this file changing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from profiler.results import gate, telemetry
from profiler.results import validate as v
from profiler.results.bench import BenchResult, RankResult
from profiler.results.breakdown import BlockShare, BreakdownResult, PartShare
from profiler.results.count import BlockCount, CounterTotal, CountResult
from profiler.results.envelope import CaseRecord, PartInfo, ResultFile, Shard, SuiteInfo
from profiler.results.environment import Environment
from profiler.results.group import GroupMember, GroupRatio, GroupResult, ProcessRun
from profiler.results.jobs import JobInfo
from profiler.spec import BenchSpec, BreakdownSpec, CountSpec, Workload

DOC = Path(__file__).resolve().parents[1] / "docs" / "result-schema.md"

WORKLOAD = Workload(model="resnet18", attention="se")
SIDE = gate.SideInfo(name="base", ref="main", tree="/tmp/base")
TIMING = gate.TimingCase(case_id="bench-1", label="infer b4", decision="unchanged")
JOB = JobInfo(number=1, status="done", executor="local", case_ids=("count-1",))
CPU_ROUND = telemetry.CpuRound(wall_s=1.0, own_cpu_s=1.0, own_capacity_s=2.0, foreign_cpu_s=0.0,
                               steal_s=0.0, machine_cpu_s=1.0)
GATE = gate.GateResult(suite="s", suite_path="s.toml", device="cpu", limit=0.05, base=SIDE,
                       head=SIDE)


def _record(name: str) -> Mapping[str, Any]:
    """The JSON object a record of each kind writes (a sample with every optional part)."""
    samples: dict[str, Callable[[], Mapping[str, Any]]] = {
        # jobs are written only by cluster runs
        "file": lambda: ResultFile(environment=Environment(), jobs=(JOB,),
                                   plan={}).to_dict(),  # jobs, plan: written when set
        "job": lambda: JOB.to_dict(),
        "suite": lambda: SuiteInfo(name="s").to_dict(),
        "shard": lambda: Shard(1, 2).to_dict(),
        "part": lambda: PartInfo(source="a.json", environment=Environment()).to_dict(),
        "case": lambda: CaseRecord(spec=CountSpec(WORKLOAD)).to_dict(),
        "environment": lambda: Environment().to_dict(),
        "group": lambda: GroupResult(group_id="g").to_dict(),
        "group member": lambda: GroupMember(case_id="c", name="n").to_dict(),
        "group ratio": lambda: GroupRatio(1, "c", "n", 1.0, 0.9, 1.1, 8).to_dict(),
        "process run": lambda: ProcessRun(process=0).to_dict(),
        "workload": lambda: WORKLOAD.to_dict(),
        # backward is written only when set
        "count spec": lambda: CountSpec(WORKLOAD, backward=True).to_dict(),
        "bench spec": lambda: BenchSpec(WORKLOAD).to_dict(),
        "breakdown spec": lambda: BreakdownSpec(WORKLOAD).to_dict(),
        "count result": lambda: CountResult(params=1, attention_params=0, flops=2).to_dict(),
        "block count": lambda: BlockCount(path="a", params=1, flops=2, flops_all=3).to_dict(),
        "counter": lambda: CounterTotal(counter="fvcore", flops=2).to_dict(),
        "bench result": lambda: BenchResult(images_per_sec=1.0, images_per_sec_iqr=0.1,
                                            step_ms_median=1.0).to_dict(),
        "rank": lambda: RankResult(rank=0, batch=1, images_per_sec=1.0,
                                   step_ms_median=1.0).to_dict(),
        "breakdown result": lambda: BreakdownResult(step_ms=1.0, parts=(),
                                                    attention_time_share=0.1,
                                                    attention_flops_share=0.1).to_dict(),
        "part share": lambda: PartShare(part="convolution", ms=1.0, time_share=0.5).to_dict(),
        "block share": lambda: BlockShare(path="a", ms=1.0, time_share=0.5).to_dict(),
        "gate": lambda: GATE.to_dict(),
        "gate suite": lambda: GATE.to_dict()["suite"],
        "gate side": lambda: SIDE.to_dict(),
        "gate side timing": lambda: gate.SideTiming().to_dict(),
        "gate timing": lambda: TIMING.to_dict(),
        "gate count": lambda: gate.CountCase(case_id="count-1", label="count b1").to_dict(),
        "round telemetry": lambda: telemetry.RoundTelemetry(
            cpu=CPU_ROUND, gpu=telemetry.GpuRound(samples=1)).to_dict(),
        "cpu round": lambda: telemetry.RoundTelemetry(cpu=CPU_ROUND).to_dict()["cpu"],
        "gpu round": lambda: telemetry.RoundTelemetry(
            gpu=telemetry.GpuRound(samples=1)).to_dict()["gpu"],
        "gate metric": lambda: gate.MetricRow("params", 1.0, 1.0, "params:+0", False).to_dict(),
    }
    return samples[name]()


# record -> (the validator's table, the heading of its section in docs/result-schema.md)
SCHEMA: dict[str, tuple[tuple[v.Field, ...], str]] = {
    "file": (v.FILE_FIELDS, "## Top level"),
    "suite": (v.SUITE_FIELDS, "## `suite`"),
    "shard": (v.SHARD_FIELDS, "## `suite`"),
    "part": (v.PART_FIELDS, "## `parts[]` (merged files)"),
    "job": (v.JOB_FIELDS, "## `jobs[]` (cluster runs)"),
    "case": (v.CASE_FIELDS, "## `cases[]`"),
    "environment": (v.ENVIRONMENT_FIELDS, "## `environment`"),
    "group": (v.GROUP_FIELDS, "## `groups[]`"),
    "group member": (v.GROUP_MEMBER_FIELDS, "## `groups[]`"),
    "group ratio": (v.GROUP_RATIO_FIELDS, "## `groups[]`"),
    "process run": (v.PROCESS_RUN_FIELDS, "## `groups[]`"),
    "workload": (v.WORKLOAD_FIELDS, "### `spec`"),
    "count spec": (v.COUNT_SPEC_FIELDS, "### `spec`"),
    "bench spec": (v.BENCH_SPEC_FIELDS, "### `spec`"),
    "breakdown spec": (v.BREAKDOWN_SPEC_FIELDS, "### `spec`"),
    "count result": (v.COUNT_RESULT_FIELDS, "### `result`"),
    "block count": (v.BLOCK_COUNT_FIELDS, "### `result`"),
    "counter": (v.COUNTER_TOTAL_FIELDS, "### `result`"),
    "bench result": (v.BENCH_RESULT_FIELDS, "### `result`"),
    "rank": (v.RANK_FIELDS, "### `result`"),
    "breakdown result": (v.BREAKDOWN_RESULT_FIELDS, "### `result`"),
    "part share": (v.PART_SHARE_FIELDS, "### `result`"),
    "block share": (v.BLOCK_SHARE_FIELDS, "### `result`"),
    "gate": (v.GATE_FIELDS, "## Gate result files"),
    "gate suite": (v.GATE_SUITE_FIELDS, "## Gate result files"),
    "gate side": (v.GATE_SIDE_FIELDS, "## Gate result files"),
    "gate side timing": (v.GATE_SIDE_TIMING_FIELDS, "## Gate result files"),
    "gate timing": (v.GATE_TIMING_FIELDS, "## Gate result files"),
    "gate count": (v.GATE_COUNT_FIELDS, "## Gate result files"),
    "round telemetry": (v.ROUND_TELEMETRY_FIELDS, "A `telemetry[]` entry"),
    "cpu round": (v.CPU_ROUND_FIELDS, "A `telemetry[]` entry"),
    "gpu round": (v.GPU_ROUND_FIELDS, "A `telemetry[]` entry"),
    "gate metric": (v.GATE_METRIC_FIELDS, "## Gate result files"),
}


def _section(heading: str) -> str:
    """The text under ``heading`` (a heading line's start) up to the next heading."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(heading)), None)
    assert start is not None, f"docs/result-schema.md has no section {heading!r}"
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("#")),
               len(lines))
    return "\n".join(lines[start:end])


def _named(field: str, text: str) -> bool:
    """``field`` written as a field in ``text``: `name` (prose, tables) or "name" (JSON)."""
    return re.search(rf"`{re.escape(field)}`|\"{re.escape(field)}\"", text) is not None


@pytest.mark.parametrize("record", sorted(SCHEMA))
def test_every_field_written_has_a_row_in_the_validator(record: str) -> None:
    table, _ = SCHEMA[record]
    missing = sorted(set(_record(record)) - {f.name for f in table})
    assert not missing, (f"{record}: fields written but missing from the validator's table "
                         f"(profiler/results/validate.py): {missing}")


@pytest.mark.parametrize("record", sorted(SCHEMA))
def test_every_row_of_the_validator_is_a_field_written(record: str) -> None:
    table, _ = SCHEMA[record]
    unknown = sorted({f.name for f in table} - set(_record(record)))
    assert not unknown, f"{record}: the validator checks fields no record writes: {unknown}"


@pytest.mark.parametrize("record", sorted(SCHEMA))
def test_every_field_written_is_documented(record: str) -> None:
    _, heading = SCHEMA[record]
    text = _section(heading)
    missing = sorted(name for name in _record(record) if not _named(name, text))
    assert not missing, (f"{record}: fields written but not named under {heading!r} in "
                         f"docs/result-schema.md: {missing}")


def test_every_table_of_the_validator_is_tied_to_a_record() -> None:
    # a new table (a new record) must join SCHEMA above
    tables = {name for name in dir(v) if name.endswith("_FIELDS") and not name.startswith("_")}
    tied = {name for name in tables if any(getattr(v, name) is t for t, _ in SCHEMA.values())}
    # pytest-benchmark's format is not ours; the plan is a plain mapping, not a record
    assert tables - tied == {"BENCHMARK_FIELDS", "PLAN_FIELDS", "PLAN_UNIT_FIELDS"}


def test_a_field_missing_from_the_validator_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    # the check can fail: drop a row and the test of its record names it
    monkeypatch.setitem(SCHEMA, "rank", (v.RANK_FIELDS[:-1], "### `result`"))
    with pytest.raises(AssertionError, match="peak_memory_bytes"):
        test_every_field_written_has_a_row_in_the_validator("rank")
