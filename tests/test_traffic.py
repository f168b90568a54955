"""The minimal-traffic model of breakdown parts."""

from __future__ import annotations

import pytest
import torch

from profiler.blocks import BLOCKS, build_block
from profiler.measure.breakdown.attribution import ModuleRole
from profiler.measure.breakdown.parts import module_roles
from profiler.measure.breakdown.traffic import (
    ModuleCall,
    attention_split,
    capture_calls,
    layer_bytes,
    part_traffic,
)
from profiler.measure.timing.bandwidth import min_bytes
from tests.helpers.breakdown_models import HEAVY_CHANNELS, IN_CHANNELS, HeavyConvNet

N, C, H, W, S = 2, 64, 14, 14, 4
X = N * C * H * W * S
P = 4 * 100


def _call(block: str | None, shape: tuple[int, ...] = (N, C, H, W)) -> ModuleCall:
    floor = None if block is None else BLOCKS.info(block).traffic
    return ModuleCall("attn", X, X, P, shape, S, floor)


def test_layer_rows() -> None:
    assert layer_bytes("convolution", 10, 20, 5, False) == 35
    assert layer_bytes("convolution", 10, 20, 5, True) == 35 + 20 + 20 + 10
    assert layer_bytes("batch_norm", 10, 10, 5, False) == 25
    assert layer_bytes("batch_norm", 10, 10, 5, True) == 35 + 20 + 30 + 10
    assert layer_bytes("activation", 10, 10, 0, True) == 20 + 30
    assert layer_bytes("pooling", 10, 1, 0, True) == 11 + 11
    assert layer_bytes("unknown", 10, 10, 0, True) == 0


@pytest.mark.parametrize("block", ["se", "eca", "gc"])
@pytest.mark.parametrize("mode", ["infer", "train"])
def test_split_adds_up_to_the_bandwidth_floor(block: str, mode: str) -> None:
    split = attention_split(_call(block), mode == "train")
    floor = min_bytes(block, (N, C, H, W), S, P, mode).bytes
    assert sum(split.values()) == floor and split["other"] == 0
    assert split["pooling"] == X and split["sigmoid"] == 0


def test_cbam_split_keeps_its_spatial_pass_in_other() -> None:
    infer = attention_split(_call("cbam"), False)
    m = N * H * W * S
    assert sum(infer.values()) == 4 * X + 4 * m + P and infer["other"] == X + 4 * m
    train = attention_split(_call("cbam"), True)
    assert sum(train.values()) == (4 * X + 4 * m + P) + 4 * X + 2 * P


def test_user_block_without_a_floor_gets_the_split() -> None:
    split = attention_split(_call(None, shape=(N, C)), True)
    assert sum(split.values()) == X + 6 * X + 3 * P


def test_parts_sum_calls_loose_ops_and_optimizer() -> None:
    roles = {"conv": ModuleRole("conv", kind="convolution"),
             "attn": ModuleRole("attn", attention="attn"),
             "attn.fc": ModuleRole("attn.fc", attention="attn", attention_op="conv_fc")}
    calls = [ModuleCall("conv", 10, 20, 5), ModuleCall("conv", 10, 20, 5), _call("se"),
             ModuleCall("attn.fc", 1, 1, 1)]
    traffic = part_traffic(calls, roles, {"other_ops": 100.0}, 1000, train=True)
    assert traffic.parts["convolution"] == 2 * (35 + 50)
    assert traffic.parts["other_ops"] == 200 and traffic.parts["optimizer"] == 5000
    assert traffic.blocks == {"attn": 7 * X + 3 * P}
    inference = part_traffic(calls, roles, {"other_ops": 100.0}, 0, train=False)
    assert inference.parts["other_ops"] == 100 and "optimizer" not in inference.parts


def test_capture_records_every_call_with_real_sizes() -> None:
    model = HeavyConvNet()
    roles = module_roles(model, ["attn"])
    with capture_calls(model, roles) as calls:
        model(torch.randn(2, IN_CHANNELS, 8, 8))
    feature = 2 * HEAVY_CHANNELS * 8 * 8 * 4
    by_path = {c.path: c for c in calls}
    assert set(by_path) == {"conv", "act", "attn", "head"}
    assert by_path["conv"].in_bytes == 2 * IN_CHANNELS * 8 * 8 * 4
    assert by_path["conv"].out_bytes == feature
    assert by_path["attn"].shape == (2, HEAVY_CHANNELS, 8, 8) and by_path["attn"].floor is None
    model(torch.randn(1, IN_CHANNELS, 8, 8))
    assert len(calls) == 4  # hooks removed on exit


def test_a_block_alone_brings_its_own_floor() -> None:
    block = build_block("se", C)
    roles = module_roles(block, [""])
    with capture_calls(block, roles) as calls:
        block(torch.randn(N, C, H, W))
    (call,) = calls
    params = sum(p.numel() * 4 for p in block.parameters())
    assert call.floor is not None
    assert sum(attention_split(call, True).values()) == 7 * X + 3 * params
