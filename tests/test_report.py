"""Claim verdicts and report tables, on result files built here with known numbers."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from profiler.claims.findings import Finding
from profiler.claims.paper import Claims, load_claims
from profiler.report.data import ReportData, collect
from profiler.report.markdown import ReportText, render_markdown
from profiler.report.tables import claims_table, not_built_table, overhead_table, table3
from profiler.report.verdicts.check import check_claims
from profiler.report.verdicts.counts import evaluate_formula
from profiler.report.verdicts.findings import ClaimsFindings
from profiler.report.verdicts.verdict import Verdict
from profiler.results.bench import BenchResult
from profiler.results.count import CountResult
from profiler.results.envelope import CaseRecord, ResultFile, SuiteInfo
from profiler.results.environment import Environment
from profiler.results.group import GroupMember, GroupResult, group_id
from profiler.spec import BenchSpec, CountSpec, Workload

ECA50 = {"k_size": [3, 5, 5, 7]}
ENV = Environment(device="cpu", device_name="Test CPU", torch_threads=2, cpu_count=2,
                  torch_version="2.13.0+cpu")


def count_case(model: str, attention: str | None, params: int, attention_params: int = 0,
               flops: int = 4_111_514_624, flops_all: int = 4_126_841_344,
               options: dict[str, object] | None = None) -> CaseRecord:
    spec = CountSpec(Workload.for_model(model, attention, options))
    result = CountResult(params=params, attention_params=attention_params, flops=flops,
                         flops_all=flops_all, attention_flops=flops // 1000,
                         attention_flops_all=flops_all // 500, input_shape=(3, 224, 224))
    return CaseRecord(spec=spec, result=result)


def bench_case(model: str, attention: str | None, mode: str, rate: float,
               spread: float = 0.01, options: dict[str, object] | None = None,
               noisy: bool = False, batch: int = 8) -> CaseRecord:
    """Five samples whose images/s lie within ``spread`` (relative) of ``rate``."""
    rates = [rate * (1 + spread * f) for f in (-1.0, -0.5, 0.0, 0.5, 1.0)]
    samples = [batch / r for r in rates]
    spec = BenchSpec(Workload.for_model(model, attention, options), mode=mode, batch=batch)  # type: ignore[arg-type]
    result = BenchResult(images_per_sec=rate, images_per_sec_iqr=rate * spread,
                         step_ms_median=1e3 * batch / rate, samples=samples, batch=batch,
                         noisy=noisy)
    return CaseRecord(spec=spec, result=result)


def grouped(cases: Sequence[CaseRecord], rounds: int = 10, noise: float = 0.002,
            seed: int = 0) -> GroupResult:
    """A comparison group of ``cases`` as the runner records it: per round, every member's
    step time is its own (batch / rate) times the machine's speed in that round (drifting by
    up to 30%, alike for all members) times its own noise within ±``noise``."""
    rng = random.Random(seed)
    speeds = [1.0 + 0.3 * rng.random() for _ in range(rounds)]
    members = []
    for record in cases:
        result = record.result
        assert isinstance(result, BenchResult)
        step = result.batch / result.images_per_sec
        times = tuple((step * speed * (1 + rng.uniform(-noise, noise)),) for speed in speeds)
        members.append(GroupMember(record.case_id, record.spec.workload.label,
                                   batch=result.batch, times=times))
    ids = [c.case_id for c in cases]
    return GroupResult(group_id=group_id("comparison", ids, 0), members=tuple(members),
                       orders=tuple(tuple(range(len(cases))) for _ in range(rounds)))


def data_of(cases: Sequence[CaseRecord], groups: Sequence[GroupResult] = ()) -> ReportData:
    result = ResultFile(environment=ENV, cases=tuple(cases),
                        suite=SuiteInfo(name="eca-paper", claims="eca-cvpr2020", device="cpu"),
                        groups=tuple(groups))
    return collect([("test.json", result)])


def paired_data(cases: Sequence[CaseRecord], **kwargs: object) -> ReportData:
    """``cases`` timed as one comparison group (counts and other cases outside it)."""
    timed = [c for c in cases if c.kind == "bench"]
    return data_of(cases, [grouped(timed, **kwargs)])  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def claims() -> Claims:
    return load_claims("eca-cvpr2020")


def no_findings(claims: Claims) -> ClaimsFindings:
    return ClaimsFindings(path=claims.path.with_name("none-conventions.toml"))


def verdict(verdicts: Sequence[Verdict], kind: str, subject: str, claim: str = "") -> Verdict:
    found = [v for v in verdicts if v.kind == kind and v.subject == subject and claim in v.claim]
    assert len(found) == 1, [v.claim for v in verdicts if v.kind == kind]
    return found[0]


# --- throughput ratios ----------------------------------------------------------------------

def test_eca_keeping_97_percent_passes(claims: Claims) -> None:
    data = paired_data([bench_case("resnet50", None, "infer", 6.0),
                        bench_case("resnet50", "eca", "infer", 6.0 * 0.97, options=ECA50)])
    check = check_claims(claims, data, no_findings(claims))
    found = verdict(check.verdicts, "throughput", "ResNet-50 / ECA-Net", "inference")
    assert found.status == "pass"
    assert found.paper == "1805 / 1855 = 97.3%"
    assert found.ours.startswith("97.0% [96.") and "batch 8, fp32, cpu" in found.ours
    assert "overlaps the paper's share ±5 pp (paired over 10 interleaved rounds)" in \
        found.explanation


def test_large_ratio_gap_fails_with_an_explanation(claims: Claims) -> None:
    data = paired_data([count_case("resnet50", "cbam", 28_089_624, 2_532_592),
                        bench_case("resnet50", None, "train", 2.0),
                        bench_case("resnet50", "cbam", "train", 1.5)])
    found = verdict(check_claims(claims, data, no_findings(claims)).verdicts, "throughput",
                    "ResNet-50 / CBAM", "training")
    assert found.status == "fail"
    assert found.paper == "472 / 1024 = 46.1%" and found.ours.startswith("75.0% [")
    assert found.explanation.startswith("+28.9 pp from the paper; the whole interval lies "
                                        "outside its share ±5 pp (paired over 10")
    assert ("CBAM adds 0.20% of the FLOPs but costs 25.0% of the backbone's throughput here "
            "and 53.9% in the paper") in found.explanation
    assert "Test CPU" in found.explanation and "batch 8" in found.explanation
    assert found.explanation.endswith("training adds their backward passes.")


def test_an_interval_wider_than_the_band_is_inconclusive(claims: Claims) -> None:
    # paper: SE keeps 1620/1855 = 87.3%; ours 80%, in a noisy run the interval reaches 82.3%
    cases = [bench_case("resnet50", None, "infer", 10.0), bench_case("resnet50", "se", "infer",
                                                                     8.0)]
    wide = verdict(check_claims(claims, paired_data(cases, noise=0.15), no_findings(claims))
                   .verdicts, "throughput", "ResNet-50 / SENet", "inference")
    assert wide.status == "inconclusive" and "wider than ±5 pp" in wide.explanation
    slightly = verdict(check_claims(claims, paired_data(cases, noise=0.06), no_findings(claims))
                       .verdicts, "throughput", "ResNet-50 / SENet", "inference")
    assert slightly.status == "pass"  # overlaps the band, narrower than it
    narrow = verdict(check_claims(claims, paired_data(cases), no_findings(claims)).verdicts,
                     "throughput", "ResNet-50 / SENet", "inference")
    assert narrow.status == "fail" and narrow.explanation.startswith("-7.3 pp from the paper")


def test_too_few_rounds_is_inconclusive(claims: Claims) -> None:
    cases = [bench_case("resnet50", None, "infer", 10.0), bench_case("resnet50", "se", "infer",
                                                                     8.0)]
    found = verdict(check_claims(claims, paired_data(cases, rounds=5), no_findings(claims))
                    .verdicts, "throughput", "ResNet-50 / SENet", "inference")
    assert found.status == "inconclusive" and "too few rounds" in found.explanation
    assert "[no interval]" in found.ours


def test_a_group_wins_over_medians_taken_apart(claims: Claims) -> None:
    """The issue's failure: the plain backbone timed while the machine was 30% slower makes
    the unpaired ratio of medians say SE runs 13% faster, confidently. Timed in one group,
    the per-round ratios give the real 87%, and the report uses them."""
    base, se = (bench_case("resnet50", None, "infer", 10.0 / 1.3),
                bench_case("resnet50", "se", "infer", 8.7))
    apart = verdict(check_claims(claims, data_of([base, se]), no_findings(claims)).verdicts,
                    "throughput", "ResNet-50 / SENet", "inference")
    assert apart.status == "fail" and apart.ours.startswith("113.1% [")
    assert "‡" in apart.ours and "unpaired: timed apart" in apart.explanation
    together = grouped([bench_case("resnet50", None, "infer", 10.0), se], rounds=12)
    paired = verdict(check_claims(claims, data_of([base, se], [together]), no_findings(claims))
                     .verdicts, "throughput", "ResNet-50 / SENet", "inference")
    assert paired.status == "pass" and paired.ours.startswith("87.0% [")
    assert "‡" not in paired.ours


def test_skipped_timing_is_na_with_the_reason(claims: Claims) -> None:
    skipped = CaseRecord(spec=BenchSpec(Workload.for_model("resnet101", "eca",
                                                           {"k_size": [3, 3, 5, 7]}),
                                        mode="train", batch=4),
                         status="skipped", error="not started: budget spent")
    data = data_of([bench_case("resnet101", None, "train", 1.0), skipped])
    found = verdict(check_claims(claims, data, no_findings(claims)).verdicts, "throughput",
                    "ResNet-101 / ECA-Net", "training")
    assert found.status == "n.a." and "skipped: not started" in found.explanation


# --- orderings ------------------------------------------------------------------------------

def _orderings(claims: Claims, eca: float, se: float, noise: float = 0.002) -> list[Verdict]:
    cases = [bench_case("resnet50", "eca", "infer", eca, options=ECA50),
             bench_case("resnet50", "se", "infer", se), bench_case("resnet50", "gc", "infer", 4.0)]
    return [v for v in check_claims(claims, paired_data(cases, noise=noise),
                                    no_findings(claims)).verdicts if v.kind == "ordering"]


def test_ordering_pass_fail_and_inconclusive(claims: Claims) -> None:
    subject, claim = "ResNet-50, inference", "ECA-Net is faster than SENet"
    faster = verdict(_orderings(claims, 6.0, 5.0), "ordering", subject, claim)
    assert faster.status == "pass" and "interval excludes 100%" in faster.explanation
    assert faster.ours.startswith("ECA-Net/SENet = 119.9% [119.8, 120.1]")
    reversed_order = verdict(_orderings(claims, 5.0, 6.0), "ordering", subject, claim)
    assert reversed_order.status == "fail"
    assert "paper: ECA-Net 1805 vs SENet 1620" in reversed_order.explanation
    close = verdict(_orderings(claims, 6.0, 5.97, noise=0.05), "ordering", subject, claim)
    assert close.status == "inconclusive" and "contains 100%" in close.explanation


def test_paper_orderings_cover_each_timed_pair(claims: Claims) -> None:
    claims_seen = {v.claim for v in _orderings(claims, 6.0, 5.0)
                   if v.subject == "ResNet-50, inference"}
    assert {"ECA-Net is faster than SENet", "SENet is faster than CBAM",
            "ECA-Net is faster than CBAM"} <= claims_seen
    untimed = verdict(_orderings(claims, 6.0, 5.0), "ordering", "ResNet-50, inference",
                      "GCNet vs ECA-Net")
    assert untimed.status == "n.a." and "33.3% slower than ECA-Net" in untimed.explanation


# --- params and FLOPs -----------------------------------------------------------------------

def test_params_without_findings_use_m_1e6(claims: Claims) -> None:
    data = data_of([count_case("resnet50", None, 25_557_032),
                    count_case("resnet101", None, 42_494_999)])
    verdicts = check_claims(claims, data, no_findings(claims)).verdicts
    r50 = verdict(verdicts, "params", "ResNet-50 / ResNet")
    assert r50.status == "fail" and "M = 10^6: +4.9%" in r50.explanation
    assert r50.ours == "25.56M = 25,557,032 parameters"
    r101 = verdict(verdicts, "params", "ResNet-101 / ResNet")
    assert r101.status == "pass" and "no convention analysis found" in r101.explanation


def test_flops_without_findings_try_both_conventions(claims: Claims) -> None:
    data = data_of([count_case("resnet50", None, 25_557_032, flops=4_111_514_624,
                               flops_all=3_861_000_000)])
    found = verdict(check_claims(claims, data, no_findings(claims)).verdicts, "flops",
                    "ResNet-50 / ResNet")
    assert found.status == "pass" and "'all' convention" in found.explanation


def test_findings_decide_params_and_flops(claims: Claims) -> None:
    findings = ClaimsFindings(path=Path("x-conventions.toml"), available=True, items=(
        Finding("table3", "resnet50", "none", "params", 24.37, "M", "24.37M", 24.373,
                25_557_032, "backbone", True, "25,557,032 parameters / 2^20 = 24.3731M"),
        Finding("table3", "resnet50", "none", "flops", 3.86, "G", "3.86G", 4.11,
                4_110_000_000, "backbone", False, "4,110,000,000 / 10^9 = 4.1100G",
                "post hoc, not a pass: x would print it"),
    ))
    data = data_of([count_case("resnet50", None, 25_557_032)])
    verdicts = check_claims(claims, data, findings).verdicts
    params = verdict(verdicts, "params", "ResNet-50 / ResNet")
    assert params.status == "pass" and params.ours == "24.373M"
    assert params.explanation == ("reproduced under the paper-wide convention: 25,557,032 "
                                  "parameters / 2^20 = 24.3731M")
    flops = verdict(verdicts, "flops", "ResNet-50 / ResNet")
    assert flops.status == "fail" and flops.explanation.startswith(
        "not reproduced under the paper-wide convention: 4,110,000,000")
    assert flops.explanation.endswith("post hoc, not a pass: x would print it")


def test_missing_counts_are_na(claims: Claims) -> None:
    verdicts = check_claims(claims, data_of([]), no_findings(claims)).verdicts
    found = verdict(verdicts, "params", "MobileNetV2 / SENet")
    assert found.status == "n.a." and "no count case" in found.explanation


def test_abstract_module_params(claims: Claims) -> None:
    good = data_of([count_case("resnet50", "eca", 25_557_112, 80, options=ECA50)])
    abstract = [v for v in check_claims(claims, good, no_findings(claims)).verdicts
                if v.kind == "abstract"]
    module = next(v for v in abstract if "add 80 parameters" in v.claim)
    assert module.status == "pass" and module.ours == "80"
    assert any(v.status == "n.a." and "accuracy" in v.claim for v in abstract)
    bad = data_of([count_case("resnet50", "eca", 25_557_118, 86)])
    module = next(v for v in check_claims(claims, bad, no_findings(claims)).verdicts
                  if "add 80 parameters" in v.claim)
    assert module.status == "fail" and "kernel sizes" in module.explanation


def test_table2_formulas_on_counted_blocks(claims: Claims) -> None:
    assert evaluate_formula("2C^2/r", {"C": 256, "r": 16}) == 8192
    assert evaluate_formula("k*C", {"C": 64, "k": 3}) == 192
    with pytest.raises(ValueError, match="cannot evaluate"):
        evaluate_formula("C^", {"C": 1})

    def block(name: str, channels: int, params: int,
              options: dict[str, object] | None = None) -> CaseRecord:
        spec = CountSpec(Workload.for_block(name, channels, (7, 7), options))
        return CaseRecord(spec=spec, result=CountResult(params=params, attention_params=params,
                                                        flops=1))

    data = data_of([block("se", 256, 2 * 256 * 256 // 16 + 16 + 256),
                    block("eca", 256, 3, {"k_size": 3})])
    verdicts = [v for v in check_claims(claims, data, no_findings(claims)).verdicts
                if v.kind == "table2"]
    assert [(v.subject, v.status) for v in verdicts] == [("SE", "partial"),
                                                         ("ECA (k=3)", "pass")]


# --- tables and markdown --------------------------------------------------------------------

def _paper_data() -> ReportData:
    infer = [bench_case("resnet50", None, "infer", 6.0),
             bench_case("resnet50", "eca", "infer", 5.82, options=ECA50)]
    train = [bench_case("resnet50", None, "train", 2.0, batch=4),
             bench_case("resnet50", "eca", "train", 1.5, options=ECA50, noisy=True, batch=4)]
    return data_of([
        count_case("resnet50", None, 25_557_032),
        count_case("resnet50", "eca", 25_557_112, 80, flops=4_117_118_208, options=ECA50),
        *infer, *train], [grouped(infer), grouped(train, seed=1)])


def test_table3_layout_and_units(claims: Claims) -> None:
    table = table3(_paper_data(), claims)
    assert table is not None
    assert table.headers == ("Method", "Backbone", "#Param (M)", "FLOPs (G)", "Training FPS",
                             "Inference FPS")
    assert table.rows[0][:4] == ("none", "ResNet-50", "25.56", "4.11")
    assert table.rows[1][0] == "ECA (k_size=3,5,5,7)"
    assert table.rows[1][4] == "1.50 ± 0.01 †" and table.rows[1][5] == "5.82 ± 0.06"
    for unit in ("M = 10^6", "G = 10^9", "images/s", "training at batch 4",
                 "inference at batch 8", "fp32", "Test CPU, 2 threads", "† noisy"):
        assert unit in table.units
    markdown = table.to_markdown()
    assert "| Method" in markdown and markdown.count("\n|") >= 3


def test_table3_one_row_per_timing_variant(claims: Claims) -> None:
    fp32 = bench_case("resnet50", None, "infer", 6.0)
    assert isinstance(fp32.spec, BenchSpec) and isinstance(fp32.result, BenchResult)
    bf16 = CaseRecord(spec=replace(fp32.spec, dtype="bf16"),
                      result=replace(fp32.result, images_per_sec=9.0))
    data = data_of([count_case("resnet50", None, 25_557_032), fp32, bf16,
                    count_case("resnet101", None, 44_549_160)])
    table = table3(data, claims)
    assert table is not None
    assert [(r[0], r[1], r[5]) for r in table.rows] == [
        ("none [fp32 cpu]", "ResNet-50", "6.00 ± 0.06"),
        ("none [bf16 cpu]", "ResNet-50", "9.00 ± 0.06"),
        ("none", "ResNet-101", "–")]
    assert "fp32 / bf16" in table.units


def test_claims_table_puts_paper_beside_ours(claims: Claims) -> None:
    table = claims_table(_paper_data(), claims)
    eca = next(r for r in table.rows if r[:2] == ("ResNet-50", "ECA-Net"))
    assert eca[2:6] == ("24.37", "25.56", "3.86", "4.12")
    assert eca[8] == "1805 (97.3%)" and eca[9] == "5.82 ± 0.06 (97.0% [96.9, 97.1])"
    assert not any(r[1] == "A2-Nets" for r in table.rows)
    built = not_built_table(claims)
    assert built is not None
    assert built.rows[0][:2] == ("ResNet-50", "A2-Nets") and built.rows[0][4] == "not built"


def test_overhead_table(claims: Claims) -> None:
    table = overhead_table(_paper_data())
    assert table is not None
    row = table.rows[0]
    assert row[:3] == ("ResNet-50", "ECA (k_size=3,5,5,7)", "+80")
    assert row[6] == "-24.9% [-25.0, -24.8]" and row[7].startswith("-3.0% [-3.")
    apart = overhead_table(data_of([bench_case("resnet50", None, "infer", 6.0),
                                    bench_case("resnet50", "eca", "infer", 5.82,
                                               options=ECA50)]))
    assert apart is not None and apart.rows[0][7].endswith("‡")


def test_markdown_report_sections(claims: Claims) -> None:
    data = _paper_data()
    check = check_claims(claims, data, no_findings(claims))
    text = render_markdown(data, check, (), ReportText(title="T", reproduce=("attnprof x",)))
    for heading in ("# T", "## Verdicts", "## Table 3: paper vs ours", "## Abstract",
                    "## Parameters and FLOPs (Table 3)",
                    "## Throughput relative to the backbone (Table 3)", "## Orderings (Table 3)",
                    "## Rows not built", "## Our measurements (Table 3 layout)",
                    "## Attention overhead over each backbone", "## Environment",
                    "## How to reproduce"):
        assert f"\n{heading}\n" in f"\n{text}", heading
    assert "Test CPU" in text and "attnprof x" in text
    assert check.summary() in text
    assert "±5 percentage points" in text
    failing = [v for v in check.verdicts if v.status == "fail"]
    assert failing and all(v.explanation for v in failing)


def test_training_step_flops_get_a_column_when_counted() -> None:
    plain = count_case("resnet50", None, 25_557_032)
    without = table3(data_of([plain]))
    assert without is not None and "Train-step FLOPs (G)" not in without.headers
    assert isinstance(plain.result, CountResult)
    stepped = replace(plain, result=replace(plain.result, train_step_flops=24_314_167_296))
    table = table3(data_of([stepped]))
    assert table is not None and "Train-step FLOPs (G)" in table.headers
    column = table.headers.index("Train-step FLOPs (G)")
    assert table.rows[0][column] == "24.31" and "FlopCounterMode" in table.units
