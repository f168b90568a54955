"""Measuring a comparison group in this process: tiny models, real clocks, short rounds."""

from __future__ import annotations

import pytest

from profiler.errors import InvalidOptionError
from profiler.measure.memory.peak import MemoryFigures
from profiler.measure.timing import group as group_module
from profiler.measure.timing.group import check_groupable, default_baseline, measure_group
from profiler.report.ratios import group_interval
from profiler.results.bench import BenchResult
from profiler.rounds import PairingSettings
from profiler.spec import BenchSpec, Workload
from tests.helpers.specs import TINY as USER

OOM = "tests.helpers.user_objects:OomNet"
QUICK = PairingSettings(block_time=0.002, min_rounds=6, max_rounds=8, group_time=0.2)


def _spec(model: str = USER, attention: str | None = None, **kwargs: object) -> BenchSpec:
    options: dict[str, object] = {"batch": 2, "min_time": 0.01, "warmup": 1, "memory": False,
                                  "threads": 1}
    options.update(kwargs)
    return BenchSpec(Workload.for_model(model, attention, input_shape=(3, 16, 16)),
                     **options)  # type: ignore[arg-type]


def test_a_group_gives_a_group_record_and_one_case_record_per_member() -> None:
    specs = [_spec(attention="eca"), _spec(), _spec(attention="se")]
    measured = measure_group(specs, QUICK, seed=7, index=4)
    group = measured.group
    assert group.kind == "comparison" and group.status == "ok" and group.index == 4
    assert group.baseline == 1 == default_baseline(specs)  # the plain backbone
    assert group.seed == 7 and 6 <= group.rounds <= 8 and group.stopped
    assert [m.case_id for m in group.members] == [s.case_id for s in specs]
    assert {r.case_id for r in group.ratios} == {specs[0].case_id, specs[2].case_id}
    for ratio in group.ratios:
        assert ratio.throughput_ratio is not None and ratio.throughput_ratio > 0
        assert ratio.ci_low is not None and ratio.ci_high is not None
        assert ratio.ci_low <= ratio.throughput_ratio <= ratio.ci_high
        assert ratio.rounds == group.rounds
        recomputed = group_interval(group, ratio.member, group.baseline)
        assert recomputed is not None and recomputed.ratio == pytest.approx(
            ratio.throughput_ratio)
    for spec, record, member in zip(specs, measured.records, group.members, strict=True):
        assert record.spec == spec and record.status == "ok"
        assert record.group_id == group.group_id
        result = record.result
        assert isinstance(result, BenchResult) and result.images_per_sec > 0
        assert list(result.samples) == list(member.samples)
        assert result.repeats == group.rounds and result.steps_per_repeat == group.steps_per_round
        assert len(result.samples) == group.rounds * group.steps_per_round
        assert result.warmup_steps == member.warmup_steps > 0
        assert result.clock == "perf_counter" and result.memory_method == "skipped"


def test_cpu_memory_is_measured_per_member_in_a_child(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def fake_child(spec: BenchSpec, batch: int, static: int, step: float,
                   policy: object) -> MemoryFigures:
        calls.append(spec.workload.label)
        assert static > 0 and step > 0
        return MemoryFigures(method="cpu_rss_hwm_child", peak_bytes=1000, static_bytes=static)

    monkeypatch.setattr(group_module, "child_memory", fake_child)
    specs = [_spec(memory=True), _spec(attention="eca", memory=True)]
    measured = measure_group(specs, QUICK, seed=1)
    assert calls == [s.workload.label for s in specs]
    for record in measured.records:
        assert isinstance(record.result, BenchResult)
        assert record.result.peak_memory_bytes == 1000


def test_a_member_out_of_memory_mid_group_is_recorded_and_the_rest_measured() -> None:
    specs = [_spec(), _spec(attention="eca"), _spec(OOM)]
    measured = measure_group(specs, QUICK, seed=3)
    failed = measured.records[2]
    assert failed.status == "oom" and failed.result is None
    assert failed.error is not None and failed.error.startswith("out of memory on cpu at batch 2")
    assert failed.group_id == measured.group.group_id
    member = measured.group.members[2]
    assert member.status == "oom" and any(b is None for b in member.times)
    assert all(r.status == "ok" for r in measured.records[:2])
    eca = measured.group.ratio_for(specs[1].case_id)
    assert eca is not None and eca.rounds == measured.group.rounds >= 6


def test_a_member_that_cannot_build_is_an_error_record() -> None:
    specs = [_spec(), _spec(attention="tests.helpers.user_objects:not_a_module")]
    measured = measure_group(specs, QUICK, seed=3)
    assert measured.records[0].status == "ok"
    broken = measured.records[1]
    assert broken.status == "error" and broken.error is not None
    assert measured.group.ratio_for(specs[1].case_id) is not None
    assert measured.group.ratio_for(specs[1].case_id).throughput_ratio is None  # type: ignore[union-attr]


@pytest.mark.timing  # the ratio of a workload to itself is near 1 only on a quiet machine
def test_calibration_times_one_workload_against_itself() -> None:
    spec = _spec()
    measured = measure_group([spec, spec], QUICK, kind="calibration", names=["A", "A'"], seed=2)
    group = measured.group
    assert measured.records == () and group.kind == "calibration"
    assert [m.name for m in group.members] == ["A", "A'"]
    assert group.case_ids == (spec.case_id, spec.case_id)
    (ratio,) = group.ratios
    assert ratio.throughput_ratio is not None and 0.5 < ratio.throughput_ratio < 2
    assert group.min_detectable_slowdown is not None and group.min_detectable_slowdown > 0


def test_groups_refuse_what_cannot_be_timed_together() -> None:
    with pytest.raises(InvalidOptionError, match="at least two"):
        check_groupable([_spec()])
    with pytest.raises(InvalidOptionError, match="same case twice"):
        check_groupable([_spec(), _spec()])
    with pytest.raises(InvalidOptionError, match="share threads"):
        check_groupable([_spec(), _spec(attention="eca", threads=2)])
    with pytest.raises(InvalidOptionError, match="nproc"):
        check_groupable([_spec(mode="train", nproc=2), _spec(attention="eca", mode="train")])
