"""The suite runner with an injected fake ``run_case``: writes, resume, budget, shards, merge."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from profiler.errors import InvalidOptionError, ResultFileError
from profiler.results import BenchResult, CountResult
from profiler.results.envelope import CaseRecord, ResultFile, Shard, load_result_file, utc_now
from profiler.results.environment import Environment
from profiler.suites import (
    RunOptions,
    default_output,
    expand_suite,
    load_suite_file,
    merge_results,
    plan_run,
    run_suite,
)
from profiler.suites.expand import Spec
from profiler.suites.runner import PlannedCase, PlannedGroup, RunPlan
from tests.helpers.fake_groups import FakeGroups
from tests.helpers.specs import no_member_memory_child

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "suites"
TINY = FIXTURES / "tiny.toml"
TINY_CASES = 7
# units of the tiny suite: counts 0 and 1 alone, group (2, 3) = inference of resnet18 and
# +eca, training 4 alone, group (5, 6) = the se and eca blocks at one shape
TINY_UNITS = [[0], [1], [2, 3], [4], [5, 6]]


def fake_environment(device: str) -> Environment:
    return Environment(device=device, device_name="Fake CPU", torch_threads=2)


def fake_record(spec: Spec) -> CaseRecord:
    """A plausible ok record without measuring anything."""
    result: CountResult | BenchResult
    if spec.kind == "count":
        result = CountResult(params=1000, attention_params=10, flops=5000, batch=spec.batch)
    else:
        result = BenchResult(images_per_sec=100.0, images_per_sec_iqr=2.0, step_ms_median=20.0,
                             samples=[0.02, 0.021, 0.019], batch=spec.batch)
    return CaseRecord(spec=spec, status="ok", result=result, started_utc=utc_now(),
                      duration_s=0.01)


class FakeRunCase:
    """Records the specs it is asked for; can fail or interrupt at a given call."""

    def __init__(self, interrupt_at: int | None = None, fail_labels: tuple[str, ...] = (),
                 watch: Path | None = None) -> None:
        self.calls: list[Spec] = []
        self.interrupt_at = interrupt_at
        self.fail_labels = fail_labels
        self.watch = watch
        self.seen_on_disk: list[int] = []

    def __call__(self, spec: Spec) -> CaseRecord:
        self.calls.append(spec)
        if self.watch is not None:
            self.seen_on_disk.append(len(json.loads(self.watch.read_text())["cases"]))
        if self.interrupt_at is not None and len(self.calls) == self.interrupt_at:
            raise KeyboardInterrupt
        if spec.label in self.fail_labels:
            return CaseRecord(spec=spec, status="error", error="RuntimeError: boom")
        return fake_record(spec)

    def result(self, spec: Spec) -> CountResult | BenchResult:
        """The measure function behind the records (for the fake groups)."""
        record = self(spec)
        if record.status != "ok" or record.result is None:
            raise RuntimeError("boom")
        return record.result

    @property
    def groups(self) -> FakeGroups:
        return FakeGroups(self.result)


class FakeClock:
    """Each reading advances by ``step`` seconds."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def _run(output: Path, fake: FakeRunCase | None = None, **options: Any) -> ResultFile:
    fake = fake or FakeRunCase()
    summary = run_suite(load_suite_file(TINY), RunOptions(output=output, **options),
                        run_case=fake, run_group=fake.groups, environment=fake_environment)
    return summary.result


def test_every_case_is_written_in_suite_order(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    fake = FakeRunCase(watch=out)
    summary = run_suite(load_suite_file(TINY), RunOptions(output=out, paired=False),
                        run_case=fake, environment=fake_environment)
    loaded = load_result_file(out)
    assert len(loaded.cases) == TINY_CASES == summary.ran
    assert [c.index for c in loaded.cases] == list(range(TINY_CASES))
    assert [c.spec for c in loaded.cases] == list(expand_suite(load_suite_file(TINY), "cpu"))
    assert fake.seen_on_disk == list(range(TINY_CASES))  # each case on disk before the next
    assert loaded.suite is not None
    assert (loaded.suite.name, loaded.suite.device, loaded.suite.planned) == ("tiny", "cpu", 7)
    assert loaded.suite.hash.startswith("sha256:") and loaded.environment.device_name == "Fake CPU"
    assert summary.counts == {"ok": 7, "oom": 0, "error": 0, "skipped": 0}
    assert loaded.groups == () and all(c.group_id is None for c in loaded.cases)


def test_groups_are_planned_from_cases_that_differ_only_in_attention() -> None:
    plan = plan_run(load_suite_file(TINY), RunOptions())
    units = [[c.index for c in (u.members if isinstance(u, PlannedGroup) else (u,))]
             for u in plan.units]
    assert units == TINY_UNITS
    first, second = plan.groups
    assert first.baseline == 0 and first.members[0].spec.workload.attention is None
    assert second.baseline == 0 and [m.spec.workload.block for m in second.members] == \
        ["se", "eca"]
    assert plan.pairing.min_rounds == 6 and plan.pairing.block_time == 0.01
    unpaired = plan_run(load_suite_file(TINY), RunOptions(paired=False))
    assert len(unpaired.units) == TINY_CASES and unpaired.groups == ()


def test_groups_are_measured_together_and_written_after_each_unit(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    fake = FakeRunCase(watch=out)
    groups = fake.groups
    summary = run_suite(load_suite_file(TINY), RunOptions(output=out), run_case=fake,
                        run_group=groups, environment=fake_environment)
    loaded = load_result_file(out)
    assert summary.ran == TINY_CASES and [c.index for c in loaded.cases] == list(range(7))
    assert fake.seen_on_disk == [0, 1, 2, 2, 4, 5, 5]  # a group's members are written together
    assert [[m.index for m in g.members] for g in groups.groups] == [[2, 3], [5, 6]]
    assert [g.index for g in loaded.groups] == [2, 5]
    for group in loaded.groups:
        assert group.status == "ok" and group.rounds >= 6 and len(group.ratios) == 1
        for case_id in group.case_ids:
            record = loaded.case(case_id)
            assert record is not None and record.group_id == group.group_id
    assert all(loaded.cases[i].group_id is None for i in (0, 1, 4))


def test_interrupt_leaves_a_valid_file_and_resume_finishes(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    with pytest.raises(KeyboardInterrupt):
        _run(out, FakeRunCase(interrupt_at=3))
    partial = load_result_file(out)
    assert len(partial.cases) == 2
    rest = FakeRunCase()
    result = _run(out, rest, resume=True)
    done = {c.case_id for c in partial.cases}
    assert len(rest.calls) == TINY_CASES - 2 and not done & {s.case_id for s in rest.calls}
    assert len(result.cases) == TINY_CASES and result.created_utc == partial.created_utc


def test_failing_cases_are_recorded_and_rerun_on_resume(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    failing = "infer resnet18+eca b2 fp32 cpu"
    first = _run(out, FakeRunCase(fail_labels=(failing,)))
    assert [c.status for c in first.cases].count("error") == 1
    assert first.cases[3].spec.label == failing and first.cases[3].error == "RuntimeError: boom"
    assert first.cases[2].status == first.cases[4].status == "ok"  # the group and suite went on
    again = FakeRunCase()
    second = _run(out, again, resume=True)
    # its group runs again as a whole: the ratio needs both timed together
    assert [s.label for s in again.calls] == ["infer resnet18 b2 fp32 cpu", failing]
    assert all(c.status == "ok" for c in second.cases)
    assert all(g.members[1].status == "ok" for g in second.groups)


def test_existing_output_needs_resume_or_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    _run(out)
    with pytest.raises(InvalidOptionError, match=r"exists; pass --resume .* or --overwrite"):
        _run(out)
    with pytest.raises(InvalidOptionError, match="not both"):
        _run(out, resume=True, overwrite=True)
    again = FakeRunCase()
    _run(out, again, overwrite=True)
    assert len(again.calls) == TINY_CASES


def test_resume_without_a_file_starts_fresh(tmp_path: Path) -> None:
    assert len(_run(tmp_path / "new.json", resume=True).cases) == TINY_CASES


def _doctor(path: Path, **suite_fields: object) -> None:
    data = json.loads(path.read_text())
    data["suite"].update(suite_fields)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(("fields", "fragment"), [
    ({"name": "other"}, "holds suite 'other', not 'tiny'"),
    ({"device": "cuda"}, "was run on cuda, not cpu"),
    ({"shard": {"index": 1, "count": 2}}, "holds shard 1/2"),
    ({"hash": "sha256:0"}, "hash differs); pass --force"),
])
def test_resume_refuses_a_different_run(tmp_path: Path, fields: dict[str, object],
                                        fragment: str) -> None:
    out = tmp_path / "r.json"
    with pytest.raises(KeyboardInterrupt):
        _run(out, FakeRunCase(interrupt_at=2))
    _doctor(out, **fields)
    with pytest.raises(ResultFileError, match=re.escape(fragment)):
        _run(out, resume=True)


def test_force_resumes_another_suite_version_and_drops_stale_cases(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    with pytest.raises(KeyboardInterrupt):
        _run(out, FakeRunCase(interrupt_at=3))
    data = json.loads(out.read_text())
    stale = json.loads(json.dumps(data["cases"][0]))
    stale["spec"]["batch"] = 99  # a case the suite no longer has
    stale["case_id"] = "stale"
    data["cases"].append(stale)
    data["suite"]["hash"] = "sha256:old"
    out.write_text(json.dumps(data))
    rest = FakeRunCase()
    result = _run(out, rest, resume=True, force=True)
    assert len(rest.calls) == TINY_CASES - 2 and len(result.cases) == TINY_CASES
    assert all(c.spec.batch != 99 for c in result.cases)
    assert result.suite is not None and result.suite.hash == load_suite_file(TINY).hash


def test_time_budget_skips_late_cases_and_resume_runs_them(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    suite = load_suite_file(TINY)
    # each clock reading advances 30 s: start, then one reading before each case
    fake = FakeRunCase()
    summary = run_suite(suite, RunOptions(output=out, max_minutes=1.5), run_case=fake,
                        run_group=fake.groups, clock=FakeClock(30.0),
                        environment=fake_environment)
    statuses = [c.status for c in load_result_file(out).cases]
    assert statuses == ["ok", "ok", "skipped", "skipped", "skipped", "skipped", "skipped"]
    assert len(fake.calls) == 2 and summary.counts["skipped"] == 5
    assert "1.5-minute budget" in (summary.failures[0].error or "")
    rest = FakeRunCase()
    run_suite(suite, RunOptions(output=out, resume=True, max_minutes=0), run_case=rest,
              run_group=rest.groups, clock=FakeClock(30.0), environment=fake_environment)
    assert len(rest.calls) == 5
    assert all(c.status == "ok" for c in load_result_file(out).cases)


def test_negative_budget_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(InvalidOptionError, match="max_minutes"):
        _run(tmp_path / "r.json", max_minutes=-1.0)


def test_shards_split_round_robin_and_merge_back(tmp_path: Path) -> None:
    full = _run(tmp_path / "full.json")
    parts = []
    for index in (1, 2):
        out = tmp_path / f"part{index}.json"
        part = _run(out, shard=Shard(index, 2))
        assert part.suite is not None and part.suite.shard == Shard(index, 2)
        # round-robin over units, so that a group stays on one machine
        units = TINY_UNITS[index - 1::2]
        assert [c.index for c in part.cases] == [i for unit in units for i in unit]
        parts.append((str(out), load_result_file(out)))
    merged = merge_results(parts)
    assert [c.case_id for c in merged.cases] == [c.case_id for c in full.cases]
    assert merged.suite is not None and merged.suite.shard is None
    assert merged.suite.planned == TINY_CASES
    assert [p.shard for p in merged.parts] == [Shard(1, 2), Shard(2, 2)]
    assert sorted(g.group_id for g in merged.groups) == sorted(g.group_id for g in full.groups)


def test_merge_prefers_ok_records_and_checks_suites(tmp_path: Path) -> None:
    failing = "count resnet18+se b1"
    bad = _run(tmp_path / "a.json", FakeRunCase(fail_labels=(failing,)))
    good = _run(tmp_path / "b.json")
    merged = merge_results([("a", bad), ("b", good)])
    assert all(c.status == "ok" for c in merged.cases) and len(merged.cases) == TINY_CASES
    assert merged.suite is not None and merged.suite.planned == TINY_CASES
    assert merge_results([("b", good), ("a", bad)]).case(bad.cases[1].case_id) == good.cases[1]
    assert bad.suite is not None
    renamed = replace(good, suite=replace(bad.suite, name="other"))
    with pytest.raises(ResultFileError, match="holds suite 'other'"):
        merge_results([("a", bad), ("c", renamed)])
    rehashed = replace(good, suite=replace(bad.suite, hash="sha256:1"))
    with pytest.raises(ResultFileError, match="hash differs"):
        merge_results([("a", bad), ("c", rehashed)])
    elsewhere = replace(good, environment=replace(good.environment, device_name="Other CPU"))
    with pytest.raises(ResultFileError, match="--allow-mixed"):
        merge_results([("a", bad), ("c", elsewhere)])
    mixed = merge_results([("a", bad), ("c", elsewhere)], allow_mixed=True)
    assert [p.environment.device_name for p in mixed.parts] == ["Fake CPU", "Other CPU"]
    with pytest.raises(ResultFileError, match="holds no suite run"):
        merge_results([("a", bad), ("d", replace(good, suite=None))])
    with pytest.raises(ResultFileError, match="nothing to merge"):
        merge_results([])


def test_observer_sees_every_case(tmp_path: Path) -> None:
    seen: list[str] = []

    class Observer:
        def run_started(self, plan: RunPlan, pending: object, reused: int) -> None:
            seen.append(f"start {len(plan.cases)} {reused}")

        def case_started(self, case: PlannedCase) -> None:
            seen.append(f"> {case.index}")

        def case_finished(self, case: PlannedCase, record: CaseRecord) -> None:
            seen.append(f"< {case.index} {record.status}")

        def group_finished(self, group: PlannedGroup, result: object) -> None:
            seen.append(f"= {[m.index for m in group.members]}")

    fake = FakeRunCase()
    run_suite(load_suite_file(TINY), RunOptions(output=tmp_path / "r.json"),
              run_case=fake, run_group=fake.groups, observer=Observer(),
              environment=fake_environment)
    assert seen == ["start 7 0", "> 0", "< 0 ok", "> 1", "< 1 ok", "> 2", "< 2 ok", "< 3 ok",
                    "= [2, 3]", "> 4", "< 4 ok", "> 5", "< 5 ok", "< 6 ok", "= [5, 6]"]


def test_default_output_names() -> None:
    assert default_output("eca-paper", "cpu") == Path("results/eca-paper-cpu.json")
    assert default_output("blocks", "cuda:1", Shard(2, 4)) == \
        Path("results/blocks-cuda1-shard2of4.json")


@pytest.mark.slow
def test_end_to_end_with_the_real_harnesses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capfd: pytest.CaptureFixture[str]) -> None:
    no_member_memory_child(monkeypatch)  # the block timed alone keeps its real memory child
    suite_path = tmp_path / "real.toml"
    suite_path.write_text("""\
[suite]
device = "cpu"
[budget]
threads = 1
min_time = 0.02
repeats = 2
warmup = 1
block_time = 0.01
min_rounds = 6
group_time = 0.5
processes = 1
[[matrix]]
kind = "count"
models = "resnet18"
attention = ["none", "eca"]
input = "3x32x32"
[[matrix]]
kind = "bench"
models = "resnet18"
attention = ["none", "eca"]
modes = "infer"
input = "3x32x32"
batch = 2
[[matrix]]
kind = "bench"
blocks = "eca"
shapes = "16x8x8"
modes = "infer"
batch = 2
""")
    out = tmp_path / "r.json"
    summary = run_suite(load_suite_file(suite_path), RunOptions(output=out))
    loaded = load_result_file(out)
    assert [c.status for c in loaded.cases] == ["ok"] * 5, summary.failures
    plain, eca = (c.result for c in loaded.cases[:2])
    assert isinstance(plain, CountResult) and isinstance(eca, CountResult)
    assert plain.params == 11_689_512 and eca.params > plain.params
    assert all(isinstance(c.result, BenchResult) and c.result.images_per_sec > 0
               for c in loaded.cases[2:])
    # group members: the tensor peak inside the first worker (no child process per case)
    assert [c.result.memory_method for c in loaded.cases[2:4]] == ["cpu_tensor_peak"] * 2  # type: ignore[union-attr]
    assert all(c.result.peak_memory_bytes for c in loaded.cases[2:4])  # type: ignore[union-attr]
    assert loaded.cases[4].result.peak_memory_bytes  # type: ignore[union-attr]
    (group,) = loaded.groups
    assert group.case_ids == (loaded.cases[2].case_id, loaded.cases[3].case_id)
    (ratio,) = group.ratios
    assert ratio.throughput_ratio is not None and ratio.ci_low is not None
    assert loaded.cases[2].group_id == loaded.cases[3].group_id == group.group_id
    assert loaded.cases[4].group_id is None
    # the worker's memory measure profiles: kineto's lines stay off the user's stderr
    assert "profiler_start" not in capfd.readouterr().err


def test_resume_keeps_finished_groups_and_reruns_a_group_without_its_record(
        tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    full = _run(out)
    idle = FakeRunCase()
    again = _run(out, idle, resume=True)
    assert idle.calls == [] and [g.group_id for g in again.groups] == \
        [g.group_id for g in full.groups]
    data = json.loads(out.read_text())
    data["groups"] = data["groups"][1:]  # as if the file had lost the first group's record
    out.write_text(json.dumps(data))
    rest = FakeRunCase()
    final = _run(out, rest, resume=True)
    assert [s.label for s in rest.calls] == ["infer resnet18 b2 fp32 cpu",
                                             "infer resnet18+eca b2 fp32 cpu"]
    assert len(final.groups) == 2 and len(final.cases) == TINY_CASES
