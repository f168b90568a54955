"""FLOPs per breakdown part from fvcore's per-module, per-operator counts."""

from __future__ import annotations

import torch

from profiler.measure.breakdown.attribution import ModuleRole
from profiler.measure.breakdown.part_flops import own_operator_flops, part_flops
from profiler.measure.breakdown.parts import module_roles
from profiler.measure.count.fvcore_trace import flops_by_module_and_operator
from tests.helpers.breakdown_models import HEAVY_CHANNELS, HEAVY_KERNEL, IN_CHANNELS, HeavyConvNet


def test_own_flops_subtract_the_children() -> None:
    per_module = {"": {"conv": 100, "add": 7}, "a": {"conv": 60}, "a.b": {"conv": 40},
                  "c": {"add": 7}}
    assert own_operator_flops(per_module) == {"": {"conv": 40}, "a": {"conv": 20},
                                              "a.b": {"conv": 40}, "c": {"add": 7}}


def test_parts_by_role_and_operator() -> None:
    roles = {"": ModuleRole(""), "conv": ModuleRole("conv", kind="convolution"),
             "attn": ModuleRole("attn", attention="attn"),
             "attn.fc": ModuleRole("attn.fc", attention="attn", attention_op="conv_fc")}
    per_module = {"": {"conv": 1000, "linear": 30, "adaptive_avg_pool2d": 50, "mul": 50,
                       "add_": 9},
                  "conv": {"conv": 1000}, "attn": {"linear": 30, "adaptive_avg_pool2d": 50,
                                                   "mul": 50},
                  "attn.fc": {"linear": 30}}
    flops = part_flops(per_module, roles)
    assert flops.parts == {"convolution": 1000, "other_ops": 9, "attention.conv_fc": 30,
                           "attention.pooling": 50, "attention.rescale": 50}
    assert flops.blocks == {"attn": 130} and flops.total == 1139
    assert flops.share("attention.pooling") == 50 / 1139 and flops.share("loss") == 0.0


def test_heavy_conv_net_counts_exactly() -> None:
    model = HeavyConvNet()
    fvcore, _ = flops_by_module_and_operator(model, torch.randn(1, IN_CHANNELS, 16, 16))
    roles = module_roles(model, ["attn"])
    flops = part_flops(fvcore, roles)
    conv = HEAVY_CHANNELS * 16 * 16 * IN_CHANNELS * HEAVY_KERNEL**2
    assert flops.parts["convolution"] == conv
    assert "batch_norm" not in flops.parts and "pooling" not in flops.parts
    assert flops.parts["attention.conv_fc"] == HEAVY_CHANNELS**2
    assert flops.parts["classifier"] == HEAVY_CHANNELS * 10
    assert "pooling" not in flops.parts
    assert flops.total == sum(flops.parts.values())
    assert model.training  # the training flag is restored
