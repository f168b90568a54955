"""The counting harness against fvcore itself, FlopCounterMode and hand formulas."""

from __future__ import annotations

import pytest
import torch
from fvcore.nn import FlopCountAnalysis
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from profiler import build_block, build_model
from profiler.errors import MeasurementError
from profiler.measure.count.counting import count
from profiler.measure.count.fvcore_trace import count_module
from profiler.results.count import CountResult
from profiler.spec import CountSpec, Workload


def _conv_linear_net() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 3, stride=2, groups=2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10),
    )


def test_fvcore_convention_equals_fvcore_total() -> None:
    model = build_model("resnet18").eval()
    x = torch.randn(1, 3, 64, 64)
    fvcore = FlopCountAnalysis(model, x)
    fvcore.unsupported_ops_warnings(False)
    ours = count_module(model, x)
    assert ours.flops == fvcore.total()
    assert ours.by_operator["conv"] == fvcore.by_operator()["conv"]


def test_conv_and_linear_match_flop_counter_mode() -> None:
    model = _conv_linear_net().eval()
    x = torch.randn(2, 3, 20, 20)
    with FlopCounterMode(display=False) as mode, torch.no_grad():
        model(x)
    torch_counts = {str(k): v for k, v in mode.get_flop_counts()["Global"].items()}
    ours = count_module(model, x)
    # FlopCounterMode counts 2 FLOPs per multiply-add; fvcore one.
    assert 2 * ours.by_operator["conv"] == torch_counts["aten.convolution"]
    assert 2 * ours.by_operator["linear"] == torch_counts["aten.addmm"]


def test_conv_formula_by_hand() -> None:
    model = _conv_linear_net().eval()
    ours = count_module(model, torch.randn(1, 3, 20, 20))
    conv1 = 20 * 20 * 16 * 3 * 9
    conv2 = 9 * 9 * 32 * (16 // 2) * 9
    assert ours.by_operator["conv"] == conv1 + conv2
    assert ours.by_operator["linear"] == 32 * 10
    assert ours.params == sum(p.numel() for p in model.parameters())


# Per-sample fvcore MACs of each block on (C, H, W), as the block docstrings state.
def _hand_flops(name: str, c: int, h: int, w: int) -> int:
    hw = h * w
    if name == "se":
        r = c // 16
        return c * hw + 2 * c * r
    if name == "eca":
        return c * hw + 5 * c  # k = psi(C) = 5 for C = 128..1024
    if name == "cbam":
        r = c // 16
        return c * hw + 4 * c * r + 2 * 49 * hw + 2 * hw
    if name == "gc":
        p = c // 16
        return 2 * c * hw + 2 * c * p + 5 * p
    raise AssertionError(name)


@pytest.mark.parametrize("name", ["se", "eca", "cbam", "gc"])
@pytest.mark.parametrize(("c", "h", "w"), [(128, 8, 8), (256, 14, 10)])
def test_block_flops_match_hand_formulas(name: str, c: int, h: int, w: int) -> None:
    result = count(CountSpec(Workload.for_block(name, c, (h, w)), batch=2))
    assert result.flops == 2 * _hand_flops(name, c, h, w)
    assert result.attention_flops == result.flops
    assert result.attention_params == result.params


def test_eca_all_convention_adds_sigmoid_and_rescale() -> None:
    c, h, w = 256, 7, 7
    result = count(CountSpec(Workload.for_block("eca", c, (h, w))))
    assert result.flops_all - result.flops == c + c * h * w  # sigmoid + rescale multiply
    assert result.activations_all - result.activations == c + c * h * w


def test_model_attention_counts_sum_blocks() -> None:
    result = count(CountSpec(Workload.for_model("resnet18", "se"), batch=1))
    assert isinstance(result, CountResult)
    assert len(result.blocks) == 8
    assert result.attention_params == sum(b.params for b in result.blocks)
    assert result.attention_params == result.params - 11_689_512
    assert result.attention_flops == sum(b.flops for b in result.blocks) > 0
    assert result.by_module[""] == result.flops
    assert result.unsupported["aten::sigmoid"] == 8


def test_batch_scales_flops_not_params() -> None:
    one = count(CountSpec(Workload.for_model("mobilenet_v2"), batch=1))
    two = count(CountSpec(Workload.for_model("mobilenet_v2"), batch=2))
    assert two.flops == 2 * one.flops and two.params == one.params == 3_504_872


def test_round_trip_through_dict() -> None:
    result = count(CountSpec(Workload.for_block("se", 64, (4, 4))))
    assert CountResult.from_dict(result.to_dict()) == result


class _Untraceable(nn.Module):
    def __init__(self, channels: int = 3) -> None:
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("data-dependent control flow\nmore detail")


def test_a_model_that_fails_to_trace_is_a_one_line_measurement_error() -> None:
    with pytest.raises(MeasurementError, match=r"^cannot trace .*RuntimeError: data-dependent"):
        count(CountSpec(Workload.for_model("tests.test_counting:_Untraceable")))


def test_block_is_its_own_attention() -> None:
    block = build_block("eca", 64)
    result = count_module(block, torch.randn(1, 64, 4, 4), [""])
    assert result.attention_params == result.params == 3


def test_count_module_restores_the_training_flag_and_count_the_threads() -> None:
    model = _conv_linear_net().train()
    count_module(model, torch.randn(1, 3, 8, 8))
    assert model.training
    threads = torch.get_num_threads()
    count(CountSpec(Workload.for_block("eca", 16, (4, 4))))
    assert torch.get_num_threads() == threads
