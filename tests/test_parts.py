"""The module-kind table and the roles of a model's modules."""

from __future__ import annotations

from torch import nn

from profiler.measure.breakdown.parts import module_kind, module_roles
from profiler.models import attention_modules, build_model
from tests.helpers.breakdown_models import HeavyConvNet


def test_kind_table() -> None:
    assert module_kind(nn.Conv1d(1, 1, 3)) == "convolution"
    assert module_kind(nn.BatchNorm2d(4)) == "batch_norm"
    assert module_kind(nn.ReLU6()) == "activation"
    assert module_kind(nn.AdaptiveAvgPool2d(1)) == "pooling"
    assert module_kind(nn.MaxPool2d(2)) == "pooling"
    assert module_kind(nn.Linear(2, 2)) == "classifier"
    assert module_kind(nn.Sequential()) is None and module_kind(nn.Dropout()) is None


def test_roles_of_a_toy_model() -> None:
    roles = module_roles(HeavyConvNet(), ["attn"])
    assert roles["conv"].kind == "convolution" and roles["conv"].attention is None
    assert roles["head"].kind == "classifier"
    assert roles[""].kind is None and roles[""].attention is None
    assert roles["attn"].attention == "attn" and roles["attn"].attention_op is None
    assert roles["attn.fc"].attention_op == "conv_fc" and roles["attn.fc"].kind is None


def test_roles_inside_se_and_gc_blocks() -> None:
    model = build_model("resnet50", "se")
    paths = [p for p, _ in attention_modules(model)]
    assert len(paths) == 16
    roles = module_roles(model, paths)
    ops = {p.rsplit(".", 1)[1]: r.attention_op for p, r in roles.items()
           if p.startswith("layer1.0.attn.")}
    assert ops == {"pool": "pooling", "fc1": "conv_fc", "relu": "other", "fc2": "conv_fc",
                   "gate": "sigmoid"}
    assert roles["layer1.0.conv1"].kind == "convolution"
    assert roles["layer1.0.relu"].kind == "activation"
    gc = module_roles(build_model("resnet50", "gc"), ["layer3.0.attn"])
    assert gc["layer3.0.attn.softmax"].attention_op == "pooling"
    assert gc["layer3.0.attn.transform"].attention_op is None  # a container: by op
    assert gc["layer3.0.attn.transform.1"].attention_op == "other"  # LayerNorm


def test_a_block_alone_is_all_attention() -> None:
    from profiler.blocks import build_block

    roles = module_roles(build_block("eca", 64), [""])
    assert all(r.attention == "" for r in roles.values())
    assert roles["conv"].attention_op == "conv_fc"
