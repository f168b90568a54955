"""The report's "Where the time goes" section, its plot, and verdicts citing breakdowns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from profiler.claims.paper import load_claims
from profiler.report.breakdown import breakdown_section, breakdown_tables, measured_cost, panels
from profiler.report.data import ReportData, collect
from profiler.report.plots import time_vs_flops
from profiler.report.verdicts.check import check_claims
from profiler.report.verdicts.findings import ClaimsFindings
from profiler.results.breakdown import BreakdownResult, PartShare
from profiler.results.envelope import CaseRecord, ResultFile, SuiteInfo
from profiler.spec import BreakdownSpec, Workload
from tests.test_report import ENV, bench_case, paired_data

ECA50 = {"k_size": [3, 5, 5, 7]}


def breakdown_case(attention: str | None, mode: str, shares: dict[str, tuple[float, float]],
                   step_ms: float = 1000.0, options: dict[str, object] | None = None,
                   profiled_ms: float = 1010.0) -> CaseRecord:
    """A breakdown whose parts have the given (time share, FLOPs share)."""
    parts = tuple(PartShare(part=p, ms=t * profiled_ms, time_share=t, flops_share=f,
                            bytes_share=t, bytes=int(t * 1e9))
                  for p, (t, f) in shares.items())
    attention_parts = [p for p in parts if p.part.startswith("attention.")]
    attention_ms = sum(p.ms for p in attention_parts)
    attention_bytes = sum(p.bytes for p in attention_parts)
    result = BreakdownResult(
        step_ms=step_ms, parts=parts, profiled_step_ms=profiled_ms,
        attention_time_share=sum(p.time_share for p in attention_parts),
        attention_flops_share=sum(p.flops_share for p in attention_parts),
        attention_ms=attention_ms, attention_bytes=attention_bytes,
        attention_gbps=attention_bytes / (attention_ms / 1e3) / 1e9 if attention_ms else None,
        copy_gbps=10.0, leftover_ms=step_ms - profiled_ms,
        leftover_share=(step_ms - profiled_ms) / step_ms,
        agrees=abs(step_ms - profiled_ms) <= 0.05 * step_ms, batch=8)
    spec = BreakdownSpec(Workload.for_model("resnet50", attention, options),
                         mode=mode, batch=8)  # type: ignore[arg-type]
    return CaseRecord(spec=spec, result=result)


PLAIN = {"convolution": (0.8, 0.99), "batch_norm": (0.1, 0.005), "unattributed": (0.1, 0.0)}
SE = {"convolution": (0.7, 0.985), "batch_norm": (0.08, 0.005),
      "attention.pooling": (0.05, 0.001), "attention.conv_fc": (0.02, 0.002),
      "attention.rescale": (0.08, 0.0), "unattributed": (0.07, 0.0)}


def _data(cases: Sequence[CaseRecord]) -> ReportData:
    result = ResultFile(environment=ENV, cases=tuple(cases),
                        suite=SuiteInfo(name="eca-paper", claims="eca-cvpr2020", device="cpu"))
    return collect([("test.json", result)])


def test_breakdowns_are_collected_and_grouped() -> None:
    data = _data([breakdown_case("se", "infer", SE), breakdown_case(None, "infer", PLAIN),
                  breakdown_case(None, "train", PLAIN)])
    assert len(data.breakdowns) == 3
    found = panels(data)
    assert [(p.backbone, p.mode, len(p.entries)) for p in found] == [
        ("resnet50", "infer", 2), ("resnet50", "train", 1)]
    assert found[0].entries[0].workload.attention is None  # the plain backbone first
    assert data.breakdown_for("resnet50", "se", "infer") is not None
    assert data.breakdown_for("resnet50", "se", "train") is None


def test_section_tables_show_time_beside_flops() -> None:
    data = paired_data([breakdown_case(None, "infer", PLAIN), breakdown_case("se", "infer", SE),
                        bench_case("resnet50", None, "infer", 10.0),
                        bench_case("resnet50", "se", "infer", 8.5)])
    shares, attention = breakdown_tables(data)
    assert shares.headers == ("Part", "no attention", "SE")
    rows = {r[0]: r[1:] for r in shares.rows}
    assert rows["convolution"] == ("80.0% (99%)", "70.0% (98%)")
    assert rows["attention"] == ("0.0%", "15.0% (0.30%)")
    assert rows["· rescale / fusion"] == ("0.0%", "8.0%")
    assert rows["parts vs that step"] == ("-1.0%", "-1.0%")
    assert "pooling" not in rows  # no time, no FLOPs in any method
    (se_row,) = attention.rows
    assert se_row[0] == "SE" and se_row[1] == "15.0%"
    assert attention.headers[-1] == "throughput lost (1 - paired ratio) [95% CI]"
    low, high = _cost_interval(se_row[-1])  # SE keeps 85% of the throughput, paired
    assert se_row[-1].startswith("15.0% [") and low <= 15.0 <= high and high - low < 1.0
    text = breakdown_section(data)
    assert text is not None and text.startswith("## Where the time goes\n")
    assert "### Where the time goes: ResNet-50, inference (batch 8, fp32, cpu)" in text


def _cost_interval(cell: str) -> tuple[float, float]:
    assert cell.endswith("]"), cell  # paired: no unpaired mark after the interval
    low, high = cell[cell.index("[") + 1:-1].split(", ")
    return float(low), float(high)


def test_throughput_lost_is_marked_when_timed_apart() -> None:
    data = _data([breakdown_case("se", "infer", SE), bench_case("resnet50", None, "infer", 10.0),
                  bench_case("resnet50", "se", "infer", 8.5)])
    (_, attention) = breakdown_tables(data)
    (se_row,) = attention.rows
    assert se_row[-1].startswith("15.0% [") and se_row[-1].endswith("] ‡")


def test_throughput_lost_needs_timing_at_the_breakdowns_batch() -> None:
    data = paired_data([breakdown_case("se", "infer", SE),
                        bench_case("resnet50", None, "infer", 10.0, batch=2),
                        bench_case("resnet50", "se", "infer", 8.5, batch=2)])
    (_, attention) = breakdown_tables(data)
    assert attention.rows[0][-1] == "–"


def test_no_breakdowns_no_section() -> None:
    assert breakdown_section(_data([bench_case("resnet50", None, "infer", 10.0)])) is None


def test_disagreeing_step_is_flagged() -> None:
    data = _data([breakdown_case(None, "train", PLAIN, step_ms=1000.0, profiled_ms=1200.0)])
    (table,) = breakdown_tables(data)
    assert dict((r[0], r[1]) for r in table.rows)["parts vs that step"] == "-20.0% ⚠"


def test_compensated_breakdowns_show_the_profilers_cost() -> None:
    plain = breakdown_case(None, "infer", PLAIN)
    assert "profiler's cost" not in str(breakdown_tables(_data([plain]))[0].rows)
    compensated = replace(plain, result=replace(plain.result, overhead_ms=6.25,
                                                compensated_step_ms=1003.75))
    (table,) = breakdown_tables(_data([compensated]))
    rows = dict((r[0], r[1]) for r in table.rows)
    assert rows["profiler's cost taken out (ms)"] == "6.25"
    assert "less the profiler's own cost" in table.units


def test_ratio_verdict_cites_the_measurement() -> None:
    claims = load_claims("eca-cvpr2020")
    data = _data([bench_case("resnet50", None, "infer", 10.0),
                  bench_case("resnet50", "se", "infer", 5.0),
                  breakdown_case("se", "infer", SE)])
    cost = measured_cost(data, "resnet50", "se", "infer")
    assert cost is not None and cost.startswith("measured here, its attention ops take 15.0% "
                                                "of the inference step (rescale / fusion 8.0%,")
    check = check_claims(claims, data, ClaimsFindings(path=claims.path.with_name("x.toml")))
    (verdict,) = [v for v in check.verdicts if v.kind == "throughput"
                  and v.subject == "ResNet-50 / SENet" and "inference" in v.claim]
    assert verdict.status == "fail" and cost in verdict.explanation
    assert "memory-bound passes" not in verdict.explanation


def test_plot_stacks_time_and_flops(tmp_path: Path) -> None:
    data = _data([breakdown_case(None, "infer", PLAIN), breakdown_case("se", "infer", SE),
                  breakdown_case("eca", "train", SE, options=ECA50)])
    plot = time_vs_flops(data, tmp_path / "time-vs-flops.png")
    assert plot is not None and plot.path.stat().st_size > 5000
    assert time_vs_flops(_data([bench_case("resnet50", None, "infer", 10.0)]),
                         tmp_path / "none.png") is None
    assert not (tmp_path / "none.png").exists()


@pytest.mark.parametrize("mode", ["infer", "train"])
def test_round_trip_through_a_result_file(tmp_path: Path, mode: str) -> None:
    from profiler.results.envelope import load_result_file, write_result_file

    record = breakdown_case("se", mode, SE)
    path = write_result_file(ResultFile(environment=ENV, cases=(record,)), tmp_path / "r.json")
    (loaded,) = load_result_file(path).cases
    assert loaded.kind == "breakdown" and loaded.spec == record.spec
    assert loaded.result == record.result


def test_ordering_verdict_cites_both_measurements() -> None:
    claims = load_claims("eca-cvpr2020")
    eca = {**SE, "attention.rescale": (0.03, 0.0), "unattributed": (0.12, 0.0)}
    data = _data([bench_case("resnet50", "se", "infer", 10.0),
                  bench_case("resnet50", "eca", "infer", 8.0, options=ECA50),
                  breakdown_case("se", "infer", SE),
                  breakdown_case("eca", "infer", eca, options=ECA50)])
    check = check_claims(claims, data, ClaimsFindings(path=claims.path.with_name("x.toml")))
    (verdict,) = [v for v in check.verdicts if v.kind == "ordering"
                  and v.subject == "ResNet-50, inference"
                  and v.claim == "ECA-Net is faster than SENet"]
    assert verdict.status == "fail"
    assert ("measured here, attention ops take 10.0% of the inference step with ECA-Net and "
            "15.0% with SENet") in verdict.explanation
