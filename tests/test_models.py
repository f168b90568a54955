"""Backbones: exact parameter counts, attention placement, per-stage options, presets, errors.

Counting tests build on the ``meta`` device (same construction code, no weight init cost);
forward tests use small inputs.
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest
import torch
from torch import nn

from profiler.blocks import ECA, eca_kernel_size
from profiler.errors import InvalidOptionError, UnknownNameError
from profiler.models import (
    MODELS,
    attention_modules,
    attention_param_count,
    build_model,
)
from profiler.models.resnet import resnet18

TORCHVISION_PARAMS = {
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "resnet101": 44_549_160,
    "resnet152": 60_192_808,
    "mobilenet_v2": 3_504_872,
}
# ResNet-50 stages: (units, channels at the attention = bn3 output)
R50_STAGES = ((3, 256), (4, 512), (6, 1024), (3, 2048))
# MobileNetV2 stages: (units, output channels)
MBV2_STAGES = ((1, 16), (2, 24), (3, 32), (4, 64), (3, 96), (3, 160), (1, 320))
USER = "tests.helpers.user_objects"


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def _meta(name: str, attention: str | None = None,
          options: dict[str, Any] | None = None) -> nn.Module:
    with torch.device("meta"):
        return build_model(name, attention, options)


def _params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _attn_paths(model: nn.Module) -> list[str]:
    return [path for path, _ in attention_modules(model)]


# --- parameter counts ------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "expected"), sorted(TORCHVISION_PARAMS.items()))
def test_backbone_parameter_counts_equal_torchvision(name: str, expected: int) -> None:
    model = _meta(name)
    assert _params(model) == expected
    assert attention_modules(model) == [] and attention_param_count(model) == 0


def test_real_build_has_the_same_count_and_runs() -> None:
    for name in ("resnet18", "mobilenet_v2"):
        model = build_model(name).eval()
        assert _params(model) == TORCHVISION_PARAMS[name]
        with torch.no_grad():
            assert model(torch.randn(1, 3, 64, 64)).shape == (1, 1000)


def test_eca_resnet50_released_kernels_have_80_parameters() -> None:
    model = _meta("resnet50", "eca", {"k_size": [3, 5, 5, 7]})
    assert attention_param_count(model) == 3 * 3 + 4 * 5 + 6 * 5 + 3 * 7 == 80
    assert _params(model) == TORCHVISION_PARAMS["resnet50"] + 80
    for stage, k in zip((1, 2, 3, 4), (3, 5, 5, 7), strict=True):
        layer = getattr(model, f"layer{stage}")
        assert all(unit.attn.k_size == k for unit in layer)


def test_adaptive_eca_on_resnet50() -> None:
    model = _meta("resnet50", "eca")
    # psi(256), psi(512), psi(1024), psi(2048) = 5, 5, 5, 7 by hand
    assert attention_param_count(model) == 3 * 5 + 4 * 5 + 6 * 5 + 3 * 7 == 86
    for _, module in attention_modules(model):
        assert isinstance(module, ECA) and module.k_size == eca_kernel_size(module.channels)


def test_se_resnet50_attention_parameters() -> None:
    with_bias = sum(n * (2 * c * (c // 16) + c // 16 + c) for n, c in R50_STAGES)
    without_bias = sum(n * 2 * c * c // 16 for n, c in R50_STAGES)  # Table 2: 2C^2/r
    assert (with_bias, without_bias) == (2_530_992, 2_514_944)
    assert attention_param_count(_meta("resnet50", "se")) == with_bias
    assert attention_param_count(_meta("resnet50", "se", {"bias": False})) == without_bias


def test_cbam_and_gc_resnet50_attention_parameters() -> None:
    cbam = sum(n * (2 * c * (c // 16) + c // 16 + c + 100) for n, c in R50_STAGES)
    assert attention_param_count(_meta("resnet50", "cbam")) == cbam == 2_532_592
    gc = sum(n * (2 * c * (c // 16) + 3 * (c // 16) + 2 * c + 1) for n, c in R50_STAGES[1:])
    assert attention_param_count(_meta("resnet50", "gc")) == gc


# --- placement -------------------------------------------------------------------------------

def _record_unit(unit: nn.Module, last_bn: nn.Module) -> dict[str, Any]:
    """Run hooks on a residual unit: order of calls and clones of what flowed."""
    seen: dict[str, Any] = {"order": []}

    def keep(name: str) -> Any:
        def hook(module: nn.Module, args: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
            seen["order"].append(name)
            seen[f"{name}_in"] = args[0]
            seen[f"{name}_out"] = out.detach().clone()  # the unit adds in place afterwards
        return hook

    last_bn.register_forward_hook(keep("bn"))
    unit.attn.register_forward_hook(keep("attn"))
    unit.register_forward_hook(keep("unit"))
    return seen


def test_resnet50_se_sits_after_bn3_before_the_addition() -> None:
    model = build_model("resnet50", "se").eval()
    expected = [f"layer{s}.{i}.attn" for s, (n, _) in enumerate(R50_STAGES, 1) for i in range(n)]
    assert _attn_paths(model) == expected
    named = dict(model.named_modules())
    assert "layer1.0.attn" in named and "layer4.2.attn" in named
    units = {name: _record_unit(named[name], named[name].bn3) for name in ("layer1.0", "layer2.1")}
    with torch.no_grad():
        model(torch.randn(1, 3, 64, 64))
    for name, seen in units.items():
        assert seen["order"] == ["bn", "attn", "unit"], name
        torch.testing.assert_close(seen["attn_in"], seen["bn_out"])
        unit = named[name]
        identity = seen["unit_in"] if unit.downsample is None else unit.downsample(seen["unit_in"])
        torch.testing.assert_close(seen["unit_out"], torch.relu(seen["attn_out"] + identity))


def test_resnet18_eca_sits_after_bn2() -> None:
    model = build_model("resnet18", "eca").eval()
    assert len(_attn_paths(model)) == 8
    unit = model.layer3[1]
    seen = _record_unit(unit, unit.bn2)
    with torch.no_grad():
        model(torch.randn(1, 3, 64, 64))
    assert seen["order"] == ["bn", "attn", "unit"]
    torch.testing.assert_close(seen["attn_in"], seen["bn_out"])
    torch.testing.assert_close(seen["unit_out"], torch.relu(seen["attn_out"] + seen["unit_in"]))


def test_mobilenet_v2_attention_after_projection_bn() -> None:
    model = build_model("mobilenet_v2", "eca").eval()
    assert _attn_paths(model) == [f"features.{i}.attn" for i in range(1, 18)]
    residual, plain = model.features[3], model.features[2]  # 24 -> 24 stride 1; 16 -> 24 /2
    assert residual.use_res_connect and not plain.use_res_connect
    seen_res = _record_unit(residual, residual.conv[-1])
    seen_plain = _record_unit(plain, plain.conv[-1])
    with torch.no_grad():
        model(torch.randn(1, 3, 64, 64))
    for seen in (seen_res, seen_plain):
        assert seen["order"] == ["bn", "attn", "unit"]
        torch.testing.assert_close(seen["attn_in"], seen["bn_out"])
    torch.testing.assert_close(seen_res["unit_out"], seen_res["unit_in"] + seen_res["attn_out"])
    torch.testing.assert_close(seen_plain["unit_out"], seen_plain["attn_out"])


# --- stages and per-stage options ------------------------------------------------------------

def test_gc_defaults_to_stages_2_to_4() -> None:
    paths = _attn_paths(_meta("resnet50", "gc"))
    assert len(paths) == 13 and not any(p.startswith("layer1.") for p in paths)
    assert len(_attn_paths(_meta("resnet50", "gc", {"stages": [1, 2, 3, 4]}))) == 16
    assert len(_attn_paths(_meta("resnet50", "se"))) == 16


@pytest.mark.parametrize(("stages", "prefixes"), [([4], ("layer4.",)), (3, ("layer3.",)),
                                                  ([1, 3], ("layer1.", "layer3."))])
def test_stages_option(stages: Any, prefixes: tuple[str, ...]) -> None:
    paths = _attn_paths(_meta("resnet50", "eca", {"stages": stages}))
    assert paths and all(p.startswith(prefixes) for p in paths)
    assert {p.split(".")[0] + "." for p in paths} == set(prefixes)


def test_per_stage_lists_for_any_option() -> None:
    model = _meta("resnet50", "se", {"reduction": [4, 8, 16, 32]})
    assert [model.layer1[0].attn.hidden, model.layer2[0].attn.hidden,
            model.layer3[0].attn.hidden, model.layer4[0].attn.hidden] == [64, 64, 64, 64]


def test_kernel_size_variants_of_the_kernel_size_suite() -> None:
    for k in (3, 5, 7, 9):
        assert attention_param_count(_meta("resnet50", "eca", {"k_size": k})) == 16 * k
    assert attention_param_count(_meta("resnet50", "eca", {"k_size": "adaptive"})) == 86


@pytest.mark.parametrize(("options", "needle"), [
    ({"k_size": [3, 5, 7]}, "option k_size has 3 values; a per-stage list needs exactly 4"),
    ({"stages": [0, 1]}, "stages must be distinct stage numbers in 1..4"),
    ({"stages": [5]}, "stages"),
    ({"stages": [2, 2]}, "stages"),
    ({"stages": "all"}, "stages"),
    ({"k_size": [3, 5, 4, 7]}, "resnet50 stage 3: eca: option k_size must be a positive odd"),
    ({"reduction": 16}, "has no option 'reduction'; valid options: stages, k_size, gamma, b"),
])
def test_bad_attention_options(options: dict[str, Any], needle: str) -> None:
    with pytest.raises(InvalidOptionError, match=needle):
        _meta("resnet50", "eca", options)


def test_options_without_attention_are_rejected() -> None:
    with pytest.raises(InvalidOptionError, match="given without an attention block"):
        build_model("resnet18", None, {"k_size": 3})


# --- MobileNetV2 defaults ------------------------------------------------------------------

def test_mobilenet_v2_eca_uses_the_official_kernel_rule() -> None:
    model = _meta("mobilenet_v2", "eca")
    found = attention_modules(model)
    assert len(found) == 17
    for _, module in found:
        assert module.k_size == (1 if module.channels < 96 else 3)
    units_small = sum(n for n, c in MBV2_STAGES if c < 96)
    units_large = sum(n for n, c in MBV2_STAGES if c >= 96)
    assert attention_param_count(model) == units_small * 1 + units_large * 3 == 31
    adaptive = _meta("mobilenet_v2", "eca", {"k_size": "adaptive"})
    assert all(m.k_size == eca_kernel_size(m.channels) for _, m in attention_modules(adaptive))


def test_mobilenet_v2_se_defaults_to_reduction_8() -> None:
    def se(r: int) -> int:
        return sum(n * (2 * c * (c // r) + c // r + c) for n, c in MBV2_STAGES)

    assert attention_param_count(_meta("mobilenet_v2", "se")) == se(8) == 58_620
    assert attention_param_count(_meta("mobilenet_v2", "se", {"reduction": 16})) == se(16)


def test_mobilenet_v2_gc_skips_the_first_two_stages() -> None:
    assert _attn_paths(_meta("mobilenet_v2", "gc")) == [
        f"features.{i}.attn" for i in range(4, 18)]


# --- presets -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "expected"), [
    ("eca_resnet18", 2 * 3 + 2 * 5 + 2 * 7 + 2 * 7),
    ("eca_resnet34", 3 * 3 + 4 * 3 + 6 * 5 + 3 * 7),
    ("eca_resnet50", 80),
    ("eca_resnet101", 3 * 3 + 4 * 3 + 23 * 5 + 3 * 7),
    ("eca_resnet152", 3 * 3 + 8 * 3 + 36 * 5 + 3 * 7),
    ("eca_mobilenet_v2", 31),
    ("se_resnet50", 2_530_992),
    ("se_mobilenet_v2", 58_620),
])
def test_released_presets(name: str, expected: int) -> None:
    model = _meta(name)
    assert attention_param_count(model) == expected
    assert "released" in MODELS.entry(name).summary or "Table 3" in MODELS.entry(name).summary


def test_preset_rejects_other_attention_and_takes_option_overrides() -> None:
    with pytest.raises(InvalidOptionError, match=r"preset .* takes no attention"):
        build_model("eca_resnet50", "se")
    assert attention_param_count(_meta("eca_resnet50", None, {"k_size": 3})) == 48
    assert len(_attn_paths(_meta("gc_resnet50"))) == 13


def test_every_model_has_a_summary() -> None:
    for entry in MODELS.entries():
        assert entry.summary and "\n" not in entry.summary, entry.name


# --- names, user models, tracing ----------------------------------------------------------

def test_unknown_model_and_attention_list_valid_names() -> None:
    with pytest.raises(ValueError, match=r"unknown model 'resnet51'.*mobilenet_v2.*resnet50"):
        build_model("resnet51")
    with pytest.raises(UnknownNameError, match=r"unknown block 'sqex'.*eca"):
        build_model("resnet18", "sqex")


def test_user_model_with_builtin_and_user_attention() -> None:
    plain = build_model(f"{USER}:TinyNet")
    assert attention_modules(plain) == []
    with_eca = build_model(f"{USER}:TinyNet", "eca")
    assert _attn_paths(with_eca) == ["attn"] and with_eca.attn.k_size == 3  # psi(8) = 3
    with_gate = build_model(f"{USER}:TinyNet", f"{USER}:TinyGate", {"scale": 2.0})
    assert _attn_paths(with_gate) == ["attn"] and attention_param_count(with_gate) == 8
    assert with_gate(torch.randn(2, 3, 8, 8)).shape == (2, 10)


def test_user_model_without_attention_arguments() -> None:
    assert isinstance(build_model(f"{USER}:PlainNet"), nn.Module)
    with pytest.raises(InvalidOptionError, match="does not accept attention"):
        build_model(f"{USER}:PlainNet", "eca")
    with pytest.raises(InvalidOptionError, match="cannot build user model"):
        build_model(f"{USER}:not_a_module")


def test_user_block_inside_a_backbone_is_found_by_its_path() -> None:
    model = _meta("resnet18", f"{USER}:TinyGate")
    assert len(_attn_paths(model)) == 8
    assert attention_param_count(model) == 2 * (64 + 128 + 256 + 512)


def test_attention_modules_lists_outermost_only() -> None:
    model = _meta("resnet50", "cbam")
    paths = _attn_paths(model)
    assert len(paths) == 16 and all(p.endswith(".attn") for p in paths)
    block = ECA(64)
    assert attention_modules(block) == [("", block)]


@pytest.mark.parametrize(("name", "attention"), [("resnet18", "cbam"), ("mobilenet_v2", "gc")])
def test_models_trace_without_tracer_warnings(name: str, attention: str) -> None:
    model = build_model(name, attention).eval()
    x = torch.randn(1, 3, 32, 32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("error", torch.jit.TracerWarning)
        traced = torch.jit.trace(model, x, check_trace=False)
    torch.testing.assert_close(traced(x), model(x))


def test_bf16_channels_last_forward_and_num_classes() -> None:
    model = build_model("resnet18", "eca").to(torch.bfloat16, memory_format=torch.channels_last)
    x = torch.randn(2, 3, 32, 32, dtype=torch.bfloat16).contiguous(
        memory_format=torch.channels_last)
    out = model(x)
    assert out.shape == (2, 1000) and out.dtype == torch.bfloat16
    out.float().sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    assert resnet18(num_classes=10).fc.out_features == 10


class _SigmoidGate(torch.nn.Module):
    """A user block whose output autograd saves (sigmoid's backward needs it)."""

    def __init__(self, channels: int) -> None:
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(x)


def test_user_block_output_is_not_modified_in_place_by_the_residual_add() -> None:
    model = build_model("resnet18", "tests.test_models:_SigmoidGate")
    x = torch.randn(2, 3, 32, 32)
    model(x).sum().backward()  # an in-place add after sigmoid would raise here
