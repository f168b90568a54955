"""The breakdown harness on toy models whose parts' costs are known (real profiler, CPU)."""

from __future__ import annotations

import pytest
import torch

from profiler.measure.breakdown.attribution import place
from profiler.measure.breakdown.harness import breakdown
from profiler.measure.breakdown.overhead import probe_calibration
from profiler.measure.breakdown.parts import module_roles
from profiler.measure.breakdown.profiling import module_ranges, profile_events
from profiler.measure.device import torch_threads
from profiler.measure.steps import prepare_step
from profiler.measure.timing.bandwidth import copy_bandwidth
from profiler.measure.timing.clock import PerfCounterClock, clock_for
from profiler.results.breakdown import PARTS
from profiler.spec import BreakdownSpec, Workload
from tests.helpers.breakdown_models import HEAVY_CHANNELS, HEAVY_KERNEL, IN_CHANNELS
from tests.helpers.specs import TINY

HEAVY = "tests.helpers.breakdown_models:HeavyConvNet"


def _spec(model: str = HEAVY, mode: str = "train", channels: int = IN_CHANNELS,
          **kwargs: object) -> BreakdownSpec:
    settings = {"batch": 2, "threads": 1, "warmup": 1, "timed_steps": 1, "profiled_steps": 1,
                **kwargs}
    return BreakdownSpec(Workload.for_model(model, input_shape=(channels, 48, 48)), mode=mode,
                         **settings)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def calibrated() -> None:
    """The profiler's calibration for this module's training steps (CPU, one thread) and the
    copy bandwidth, measured once per process as a run's breakdowns share them, and before a
    ``timing`` test holds the other tests off (module fixtures are set up before the
    function-scoped lock of tests/conftest.py): under the lock only the model is timed."""
    spec, device = _spec().bench_spec(), torch.device("cpu")
    with torch_threads(spec.threads):
        probe_calibration(spec, device, clock_for(device))
    copy_bandwidth(device)


def _placements(mode: str) -> list:
    spec = _spec(mode=mode)
    prepared = prepare_step(spec.bench_spec(), torch.device("cpu"))
    roles = module_roles(prepared.module, ["attn"])
    with module_ranges(prepared.module):
        prepared.run()
        events, _ = profile_events(prepared.run, torch.device("cpu"), 1, PerfCounterClock())
    placements, _ = place(events, roles, train=mode == "train", same_thread=True)
    return placements


def _parts_of(placements: list, *names: str) -> set[str]:
    return {p.part for p in placements if p.event.name in names}


def test_every_training_op_goes_to_its_part() -> None:
    placements = _placements("train")
    assert _parts_of(placements, "aten::conv2d", "aten::mkldnn_convolution") == {"convolution"}
    assert _parts_of(placements, "aten::relu") == {"activation"}
    assert _parts_of(placements, "aten::sigmoid", "aten::sigmoid_backward") == \
        {"attention.sigmoid"}
    assert _parts_of(placements, "aten::mul") <= {"attention.rescale", "attention.sigmoid",
                                                  "optimizer"}
    assert _parts_of(placements, "aten::cross_entropy_loss", "aten::nll_loss_backward") == \
        {"loss"}
    # backward of each layer follows its forward op (autograd sequence numbers)
    backward = {p.event.name.split(": ")[1]: p.part for p in placements
                if p.event.name.startswith("autograd::engine::evaluate_function: ")
                and not p.event.name.endswith("AccumulateGrad")}
    assert backward["ConvolutionBackward0"] == "convolution"
    assert backward["ReluBackward0"] == "activation"
    assert backward["SigmoidBackward0"] == "attention.sigmoid"
    assert backward["MulBackward0"] == "attention.rescale"
    assert backward["MeanBackward1"] in ("attention.pooling", "other_ops")
    assert backward["AddmmBackward0"] in ("attention.conv_fc", "classifier")
    assert _parts_of(placements, "Optimizer.step#SGD.step") == {"optimizer"}
    assert not _parts_of(placements, "aten::max_pool2d", "aten::adaptive_avg_pool2d")


def test_attention_ops_are_named_and_the_head_is_the_classifier() -> None:
    placements = _placements("infer")
    linear = {p.part for p in placements if p.event.name == "aten::linear"}
    assert linear == {"attention.conv_fc", "classifier"}
    means = [p for p in placements if p.event.name == "aten::mean"]
    assert {p.part for p in means} == {"attention.pooling", "other_ops"}
    assert {p.block for p in means if p.part == "attention.pooling"} == {"attn"}
    assert _parts_of(placements, "aten::mul") == {"attention.rescale"}


@pytest.mark.timing  # which part takes most of the measured time
def test_heavy_part_leads_and_the_parts_add_up(calibrated: None) -> None:
    result = breakdown(_spec(profiled_steps=2))
    assert result.overhead_calibration_reused
    shares = {p.part: p.time_share for p in result.parts}
    assert max(shares, key=lambda k: shares[k]) == "convolution"
    assert shares["convolution"] > 0.5
    assert "pooling" not in shares and "batch_norm" not in shares  # nothing in them
    assert list(shares) == [p for p in PARTS if p in shares]
    # compensated: the parts add up to the profiled step less the calibrated overhead
    assert result.profiler_overhead_us_per_op is not None
    assert result.profiler_overhead_us_per_op >= 0 and len(result.overhead_rounds_us) == 5
    assert result.events_per_step > 0 and result.probe_events_per_step > 0
    assert sum(p.ms for p in result.parts) == pytest.approx(result.compensated_step_ms)
    assert result.compensated_step_ms == pytest.approx(
        result.profiled_step_ms - result.overhead_ms)
    assert result.overhead_ms == pytest.approx(sum(p.overhead_ms for p in result.parts))
    assert result.overhead_ms <= result.events_per_step * \
        result.profiler_overhead_us_per_op / 1e3 + 1e-9
    assert all(p.overhead_ms >= 0 and (p.ms >= 0 or p.part == "unattributed")
               for p in result.parts)
    assert sum(p.time_share for p in result.parts) == pytest.approx(1.0)
    assert result.attention_time_share == pytest.approx(
        sum(p.time_share for p in result.attention_parts))
    assert result.leftover_ms == pytest.approx(result.step_ms - result.compensated_step_ms)
    assert result.raw_leftover_ms == pytest.approx(result.step_ms - result.profiled_step_ms)
    assert result.profiled_steps == 2 and len(result.samples) == 1
    conv = result.part("convolution")
    assert conv is not None
    macs = HEAVY_CHANNELS * 48 * 48 * IN_CHANNELS * HEAVY_KERNEL**2
    assert conv.flops == 2 * macs  # batch 2
    assert conv.flops_share > 0.98
    x, y = 2 * IN_CHANNELS * 48 * 48 * 4, 2 * HEAVY_CHANNELS * 48 * 48 * 4
    weights = HEAVY_CHANNELS * IN_CHANNELS * HEAVY_KERNEL**2 * 4
    assert conv.bytes == 3 * x + 2 * y + 3 * weights  # traffic table, training
    assert [b.path for b in result.blocks] == ["attn"]
    assert result.attention_bytes == result.blocks[0].bytes
    assert result.copy_gbps is not None and result.copy_gbps > 0


def test_model_without_attention_still_breaks_down() -> None:
    result = breakdown(_spec(TINY, mode="infer", channels=3))
    assert result.attention_time_share == 0.0 and result.attention_flops_share == 0.0
    assert not result.attention_parts and result.attention_gbps is None
    assert {"convolution", "batch_norm", "activation", "pooling", "classifier"} <= \
        {p.part for p in result.parts}
    assert result.part("optimizer") is None and result.part("loss") is None


def test_a_block_alone_is_all_attention(calibrated: None) -> None:
    spec = BreakdownSpec(Workload.for_block("se", 32, (14, 14)), mode="train", batch=2,
                         threads=1, warmup=1, timed_steps=1, profiled_steps=1)
    result = breakdown(spec)
    model_parts = {"convolution", "batch_norm", "activation", "pooling", "classifier"}
    assert not model_parts & {p.part for p in result.parts}
    assert {"attention.pooling", "attention.conv_fc", "attention.sigmoid",
            "attention.rescale"} <= {p.part for p in result.parts}
    assert result.attention_flops_share == pytest.approx(1.0)
    assert [b.path for b in result.blocks] == [""]
