"""The result file: round trip, older schema versions, bad files, atomic writes, shards."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from profiler.errors import InvalidOptionError, OutputError, ResultFileError
from profiler.report.ratios import group_interval
from profiler.results import BenchResult, CountResult
from profiler.results.envelope import (
    SCHEMA_VERSION,
    CaseRecord,
    PartInfo,
    ResultFile,
    Shard,
    SuiteInfo,
    load_result_file,
    write_result_file,
)
from profiler.results.environment import Environment
from profiler.results.group import GroupMember, GroupRatio, GroupResult, group_id
from profiler.spec import BenchSpec, CountSpec, Workload

COUNT = CountSpec(Workload.for_model("resnet50", "eca", {"k_size": [3, 5, 5, 7]}))
BENCH = BenchSpec(Workload.for_block("se", 64, (56, 56)), mode="train", batch=8)
ECA = BenchSpec(Workload.for_block("eca", 64, (56, 56)), mode="train", batch=8)


def _file() -> ResultFile:
    count = CaseRecord(COUNT, result=CountResult(params=25_557_112, attention_params=80,
                                                 flops=4_100_000_000, input_shape=(1, 3, 224, 224)),
                       index=0, started_utc="2026-01-01T00:00:00Z", duration_s=1.5)
    bench = CaseRecord(BENCH, status="skipped", error="not started: budget spent", index=1)
    eca = CaseRecord(ECA, status="oom", error="out of memory", index=2,
                     group_id=GROUP.group_id)
    return ResultFile(
        environment=Environment(device="cpu", device_name="Test CPU", torch_threads=2),
        cases=(count, bench, eca),
        suite=SuiteInfo(name="tiny", path="suites/tiny.toml", hash="sha256:ab", claims=None,
                        description="d", device="cpu", planned=4, total=11,
                        shard=Shard(2, 3)),
        tool_version="0.1.0", git_commit="abc",
        parts=(PartInfo(source="a.json", environment=Environment(device="cpu"),
                        shard=Shard(1, 3), cases=2),),
        groups=(GROUP,),
    )


GROUP = GroupResult(
    group_id=group_id("comparison", (BENCH.case_id, ECA.case_id), 0),
    members=(GroupMember(BENCH.case_id, "se", BENCH.label, 8, warmup_steps=4,
                         times=((0.1, 0.1), (0.11, 0.1))),
             GroupMember(ECA.case_id, "eca", ECA.label, 8, status="oom",
                         error="out of memory", times=((0.2, 0.2), None))),
    ratios=(GroupRatio(1, ECA.case_id, "eca", 0.5, None, None, 1),),
    confidence=0.95, settings={"min_rounds": 8, "order": "shuffle"}, seed=42,
    steps_per_round=2,
    orders=((0, 1), (0,)), stopped="nothing to compare", index=1)


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    original = _file()
    path = write_result_file(original, tmp_path / "sub" / "r.json")
    loaded = load_result_file(path)
    assert loaded.to_dict() == original.to_dict()
    assert loaded.cases[0].result == original.cases[0].result
    assert loaded.suite is not None and loaded.suite.shard == Shard(2, 3)
    assert loaded.cases[1].status == "skipped" and loaded.cases[1].index == 1
    assert json.loads(path.read_text())["schema_version"] == SCHEMA_VERSION == 3
    (group,) = loaded.groups
    assert group == GROUP and group.rounds == 2 and group.members[1].times[1] is None
    assert group.group_id.startswith("group-") and loaded.group(group.group_id) == group


def test_group_intervals_are_recomputed_from_the_raw_times() -> None:
    times = tuple((0.1 * (1 + 0.01 * (r % 3)),) for r in range(8))
    slower = tuple((2 * t[0],) for t in times)
    group = GroupResult(group_id="group-x", members=(GroupMember("a", "a", batch=1, times=times),
                                                      GroupMember("b", "b", batch=1,
                                                                  times=slower)))
    forward, backward = group_interval(group, 1, 0), group_interval(group, 0, 1)
    assert forward is not None and backward is not None
    assert forward.ratio == backward.ratio ** -1 == 0.5
    assert forward.low == forward.high == 0.5 and forward.rounds == 8


def test_with_group_adds_the_group_and_its_cases() -> None:
    record = CaseRecord(BENCH, status="ok", result=BenchResult(1.0, 0.0, 1.0), group_id="g")
    updated = _file().with_group(GROUP, (record,))
    again = updated.with_group(GROUP)
    assert len(again.groups) == 1 and updated.case(BENCH.case_id) == record


def test_status_counts_include_every_status() -> None:
    assert _file().status_counts() == {"ok": 1, "oom": 1, "error": 0, "skipped": 1}


# A version-1 file as the first attnprof wrote it: no suite device/planned/shard, no parts,
# no case index, and a trimmed environment.
V1 = {
    "schema": "attnprof.result",
    "schema_version": 1,
    "tool_version": "0.1.0",
    "git_commit": None,
    "created_utc": "2025-11-01T00:00:00Z",
    "environment": {"device": "cpu", "torch_version": "2.1.0", "retired_field": 1},
    "suite": {"name": "old", "path": "suites/old.toml", "hash": "sha256:00", "claims": None},
    "cases": [
        {"case_id": "count-x", "kind": "count", "status": "ok", "error": None,
         "spec": {"workload": {"model": "resnet18", "input_shape": [3, 224, 224]}},
         "result": {"params": 11689512, "attention_params": 0, "flops": 1819066368}},
        {"kind": "bench", "status": "error", "error": "RuntimeError: boom",
         "spec": {"workload": {"model": "resnet18"}, "mode": "infer", "batch": 4},
         "result": None},
    ],
}


def test_version_1_files_load_with_defaults(tmp_path: Path) -> None:
    path = tmp_path / "v1.json"
    path.write_text(json.dumps(V1))
    loaded = load_result_file(path)
    assert loaded.schema_version == 1 and loaded.parts == () and loaded.groups == ()
    assert loaded.suite is not None and loaded.suite.name == "old"
    assert (loaded.suite.device, loaded.suite.planned, loaded.suite.shard) == ("", 0, None)
    assert loaded.suite.total == 0
    first, second = loaded.cases
    assert isinstance(first.result, CountResult) and first.result.params == 11689512
    assert first.index is None and first.spec.batch == 1
    assert second.status == "error" and isinstance(second.spec, BenchSpec)
    assert second.spec.batch == 4 and second.result is None
    assert loaded.environment.torch_version == "2.1.0"
    # rewriting upgrades it to the current version
    write_result_file(loaded, path, overwrite=True)
    assert json.loads(path.read_text())["schema_version"] == SCHEMA_VERSION


@pytest.mark.parametrize(("content", "fragment"), [
    ("{not json", "invalid JSON at line 1"),
    ("[]", "top level is not an object"),
    ('{"schema": "other"}', "not an attnprof result file"),
    ('{"schema": "attnprof.result", "schema_version": 99}', "schema_version 99"),
    ('{"schema": "attnprof.result", "schema_version": 2, "cases": [{"kind": "x"}]}',
     "case 1: field 'kind': expected one of count, bench, breakdown, got 'x'"),
    ('{"schema": "attnprof.result", "schema_version": 2, "cases": [{"kind": "count", '
     '"status": "lost", "spec": {"workload": {"model": "m"}}}]}',
     "field 'status': expected one of ok"),
    ('{"schema": "attnprof.result", "schema_version": 2, "cases": [{"kind": "bench", '
     '"spec": {"workload": {"model": "m"}, "mode": "sideways"}}]}',
     "field 'spec.mode': expected one of infer, train"),
    ('{"schema": "attnprof.result", "schema_version": 2, "cases": [{"kind": "count", '
     '"spec": {}}]}', "field 'spec.workload': missing"),
    ('{"schema": "attnprof.result", "schema_version": 3, "groups": [{"group_id": "g", '
     '"kind": "pairs"}]}', "field 'groups[0].kind': expected one of comparison, calibration"),
    ('{"schema": "attnprof.result", "schema_version": 3, "groups": [{"kind": "comparison"}]}',
     "field 'groups[0].group_id': missing"),
    ('{"schema": "attnprof.result", "schema_version": 3, "groups": [{"group_id": "g", '
     '"members": [{"case_id": "a", "times": [[0.1], [-1]]}]}]}',
     "group 1 (g): field 'members[0].times[1][0]': expected a step time > 0, got -1"),
    ('{"schema": "attnprof.result", "schema_version": 3, "groups": [{"group_id": "g", '
     '"baseline": 3, "members": [{"case_id": "a"}]}]}',
     "group 1 (g): field 'baseline': expected a member index below 1, got 3"),
])
def test_bad_files_raise_one_line_errors(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ResultFileError) as info:
        load_result_file(path)
    assert fragment in str(info.value) and str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(ResultFileError, match="no such file"):
        load_result_file(tmp_path / "none.json")
    with pytest.raises(ResultFileError, match="is a folder"):
        load_result_file(tmp_path)


def test_failed_write_keeps_the_previous_file(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_result_file(_file(), tmp_path / "r.json")
    before = path.read_text()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OutputError, match="disk full") as info:
        write_result_file(ResultFile(environment=Environment()), path, overwrite=True)
    assert info.value.unsaved is not None and '"schema": "attnprof.result"' in info.value.unsaved
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temporary file left


def test_with_case_replaces_the_same_case() -> None:
    result = _file()
    redo = CaseRecord(BENCH, result=BenchResult(images_per_sec=10.0, images_per_sec_iqr=0.1,
                                                step_ms_median=800.0), index=1)
    updated = result.with_case(redo)
    assert len(updated.cases) == 3 and updated.case(BENCH.case_id) == redo
    assert updated.updated_utc


@pytest.mark.parametrize(("text", "index", "count"), [("1/2", 1, 2), ("3/3", 3, 3)])
def test_shard_parse(text: str, index: int, count: int) -> None:
    shard = Shard.parse(text)
    assert (shard.index, shard.count, shard.label) == (index, count, text)


@pytest.mark.parametrize("text", ["0/2", "3/2", "1", "a/b", "1/0", ""])
def test_bad_shards(text: str) -> None:
    with pytest.raises(InvalidOptionError, match="shard"):
        Shard.parse(text)


def test_shards_partition_positions_round_robin() -> None:
    shards = [Shard(i, 3) for i in (1, 2, 3)]
    chosen = [[p for p in range(10) if s.selects(p)] for s in shards]
    assert chosen == [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]
