"""Attention blocks: shapes, dtypes, gradients, parameter formulas, psi(C), faithfulness, errors."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import pytest
import torch
from torch import nn

from profiler.blocks import (
    BLOCKS,
    CBAM,
    ECA,
    ECANonShared,
    GlobalContext,
    SqueezeExcitation,
    block_options,
    build_block,
    eca_kernel_size,
)
from profiler.errors import AttnprofError, InvalidOptionError, UnknownNameError

PAPER_BLOCKS = ("se", "cbam", "gc", "eca", "se_var1", "se_var2", "se_var3", "eca_ns")
# Options that make every parameter reachable by the gradient (GC's zero-initialised last
# conv would leave the earlier ones with zero gradient).
GRAD_OPTIONS: dict[str, dict[str, object]] = {"gc": {"zero_init": False}}


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _psi(channels: int) -> int:
    """psi(C) with gamma=2, b=1 worked out by hand: t = floor((log2 C + 1) / 2) is 2 or 3 for
    C < 128 (k = 3), 4 or 5 for 128 <= C < 2048 (k = 5), 6 for 2048 <= C < 8192 (k = 7)."""
    return 3 if channels < 128 else 5 if channels < 2048 else 7


# Parameter formulas, written from the papers (h = C // r, P = int(C * ratio)).
FORMULAS: dict[str, Callable[[int], int]] = {
    "se": lambda c: 2 * c * (c // 16) + c // 16 + c,
    "cbam": lambda c: 2 * c * (c // 16) + c // 16 + c + 2 * 7 * 7 + 2,
    "gc": lambda c: 2 * c * (c // 16) + 3 * (c // 16) + 2 * c + 1,
    "eca": _psi,
    "se_var1": lambda c: 0,
    "se_var2": lambda c: c,
    "se_var3": lambda c: c * c,
    "eca_ns": lambda c: 3 * c,
}


def test_every_paper_block_is_registered_with_a_summary() -> None:
    for name in PAPER_BLOCKS:
        assert name in BLOCKS
        assert BLOCKS.entry(name).summary.strip()


@pytest.mark.parametrize("name", PAPER_BLOCKS)
def test_block_class_is_marked_and_documented(name: str) -> None:
    cls = BLOCKS.factory(name)
    assert isinstance(cls, type) and issubclass(cls, nn.Module)
    assert cls.is_attention is True
    doc = cls.__doc__ or ""
    assert "arXiv:" in doc and "Parameters:" in doc and "MACs" in doc


@pytest.mark.parametrize("name", PAPER_BLOCKS)
@pytest.mark.parametrize("channels", [16, 64, 200, 512])
def test_parameter_count_matches_formula(name: str, channels: int) -> None:
    assert _params(build_block(name, channels)) == FORMULAS[name](channels)


@pytest.mark.parametrize("name", PAPER_BLOCKS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_shape_and_dtype_preserved(name: str, dtype: torch.dtype) -> None:
    block = build_block(name, 32).to(dtype)
    x = torch.randn(2, 32, 7, 5, dtype=dtype)
    y = block(x)
    assert y.shape == x.shape and y.dtype == dtype
    assert torch.isfinite(y.float()).all()


@pytest.mark.parametrize("name", PAPER_BLOCKS)
def test_gradient_reaches_input_and_every_parameter(name: str) -> None:
    block = build_block(name, 128, **GRAD_OPTIONS.get(name, {}))
    x = torch.randn(4, 128, 6, 6, requires_grad=True)
    (block(x) * torch.randn(4, 128, 6, 6)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    for pname, param in block.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, pname


@pytest.mark.parametrize("name", PAPER_BLOCKS)
def test_channels_last_input_gives_same_values(name: str) -> None:
    block = build_block(name, 24, **GRAD_OPTIONS.get(name, {})).eval()
    x = torch.randn(2, 24, 6, 6)
    expected = block(x)
    got = block(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(got, expected)


@pytest.mark.parametrize("name", PAPER_BLOCKS)
def test_traceable_without_tracer_warnings(name: str) -> None:
    block = build_block(name, 16).eval()
    x = torch.randn(1, 16, 4, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.trace itself
        warnings.simplefilter("error", torch.jit.TracerWarning)  # data-dependent control flow
        traced = torch.jit.trace(block, x, check_trace=False)
    torch.testing.assert_close(traced(x), block(x))


# --- psi(C) ------------------------------------------------------------------------------

PSI_TABLE = {  # worked by hand: t = int((log2 C + 1) / 2), k = t or t + 1 (odd)
    16: 3, 24: 3, 32: 3, 64: 3, 96: 3, 100: 3, 127: 3, 128: 5, 160: 5, 256: 5, 320: 5,
    512: 5, 1000: 5, 1024: 5, 1536: 5, 2047: 5, 2048: 7, 3000: 7, 4096: 7,
}


@pytest.mark.parametrize(("channels", "k"), sorted(PSI_TABLE.items()))
def test_psi_table(channels: int, k: int) -> None:
    assert eca_kernel_size(channels) == k


def test_psi_for_every_channel_count_16_to_4096() -> None:
    for channels in range(16, 4097):
        assert eca_kernel_size(channels) == _psi(channels), channels


def test_psi_gamma_and_b() -> None:
    # gamma=1, b=0: t = int(log2 C) -> C=64: 6 -> 7; C=128: 7 -> 7; C=16: 4 -> 5
    assert [eca_kernel_size(c, gamma=1, b=0) for c in (16, 64, 128)] == [5, 7, 7]
    # gamma=3, b=1: C=512: int(10/3)=3 -> 3; C=2048: int(12/3)=4 -> 5
    assert [eca_kernel_size(c, gamma=3, b=1) for c in (512, 2048)] == [3, 5]


def test_eca_adaptive_by_default_and_fixed_on_request() -> None:
    assert ECA(2048).k_size == 7 and ECA(2048, k_size="adaptive").k_size == 7
    assert ECA(2048, k_size=3).k_size == 3
    assert ECA(64, gamma=1, b=0).k_size == 7
    assert isinstance(ECA(64).conv, nn.Conv1d) and ECA(64).conv.bias is None


# --- faithfulness to the official code ------------------------------------------------------

def test_eca_is_a_shared_conv_across_channels() -> None:
    block = ECA(8, k_size=3)
    with torch.no_grad():
        block.conv.weight.copy_(torch.tensor([[[0.5, -1.0, 2.0]]]))
    x = torch.randn(2, 8, 3, 3)
    y = x.mean(dim=(2, 3))
    padded = torch.nn.functional.pad(y, (1, 1))
    logits = 0.5 * padded[:, :-2] - 1.0 * padded[:, 1:-1] + 2.0 * padded[:, 2:]
    torch.testing.assert_close(block(x), x * torch.sigmoid(logits)[:, :, None, None])


def test_eca_ns_with_shared_weights_equals_eca() -> None:
    eca, eca_ns = ECA(16, k_size=5), ECANonShared(16, k_size=5)
    with torch.no_grad():
        eca_ns.conv.weight.copy_(eca.conv.weight.reshape(1, 1, 5).expand(16, 1, 5))
    x = torch.randn(2, 16, 4, 4)
    torch.testing.assert_close(eca_ns(x), eca(x))


def test_eca_ns_weights_are_per_channel() -> None:
    block = ECANonShared(4, k_size=3)
    with torch.no_grad():
        block.conv.weight.zero_()
        block.conv.weight[2, 0, 0] = 1.0  # channel 2 looks at channel 1 only
    x = torch.randn(1, 4, 2, 2)
    gate = torch.full((4,), 0.5)
    gate[2] = torch.sigmoid(x[0, 1].mean())
    torch.testing.assert_close(block(x), x * gate[None, :, None, None])


def test_se_variants_follow_their_equations() -> None:
    x = torch.randn(2, 6, 3, 3)
    y = x.mean(dim=(2, 3))
    var1 = build_block("se_var1", 6)
    torch.testing.assert_close(var1(x), x * torch.sigmoid(y)[:, :, None, None])
    var2 = build_block("se_var2", 6)
    w = var2.fc.weight.reshape(6)
    torch.testing.assert_close(var2(x), x * torch.sigmoid(w * y)[:, :, None, None])
    var3 = build_block("se_var3", 6)
    big_w = var3.fc.weight.reshape(6, 6)
    torch.testing.assert_close(var3(x), x * torch.sigmoid(y @ big_w.T)[:, :, None, None])


def test_se_hidden_width_uses_integer_division() -> None:
    assert SqueezeExcitation(100).hidden == 6  # 100 // 16
    assert SqueezeExcitation(8).hidden == 1  # guarded at 1
    assert SqueezeExcitation(64, reduction=8).hidden == 8
    assert _params(SqueezeExcitation(64, bias=False)) == 2 * 64 * 4  # Table 2's 2C^2/r


def test_se_matches_its_equation() -> None:
    block = SqueezeExcitation(32)
    x = torch.randn(2, 32, 4, 4)
    y = x.mean(dim=(2, 3))
    hidden = torch.relu(y @ block.fc1.weight.reshape(2, 32).T + block.fc1.bias)
    gate = torch.sigmoid(hidden @ block.fc2.weight.reshape(32, 2).T + block.fc2.bias)
    torch.testing.assert_close(block(x), x * gate[:, :, None, None])


def test_cbam_spatial_gate_pools_max_then_mean() -> None:
    block = CBAM(32).eval()
    assert block.spatial_gate is not None
    seen: list[torch.Tensor] = []
    block.spatial_gate.conv.register_forward_hook(lambda m, i, o: seen.append(i[0]))
    x = torch.randn(2, 32, 5, 5)
    block(x)
    gated = block.channel_gate(x)
    torch.testing.assert_close(seen[0][:, 0], gated.amax(dim=1))
    torch.testing.assert_close(seen[0][:, 1], gated.mean(dim=1))
    conv = block.spatial_gate.conv
    assert conv.kernel_size == (7, 7) and conv.padding == (3, 3) and conv.bias is None
    assert isinstance(block.spatial_gate.bn, nn.BatchNorm2d)


def test_cbam_channel_gate_shares_its_mlp() -> None:
    block = CBAM(32, spatial=False)
    assert block.spatial_gate is None
    x = torch.randn(2, 32, 4, 4)
    mlp = block.channel_gate.mlp
    logits = mlp(x.mean(dim=(2, 3))) + mlp(x.amax(dim=(2, 3)))
    torch.testing.assert_close(block(x), x * torch.sigmoid(logits)[:, :, None, None])
    assert _params(block) == FORMULAS["cbam"](32) - 100


def test_cbam_kernel_size_option() -> None:
    assert _params(CBAM(64, kernel_size=3)) == FORMULAS["cbam"](64) - 98 + 18


def test_gc_zero_init_starts_as_identity_and_ratio_sets_width() -> None:
    block = GlobalContext(64)
    x = torch.randn(2, 64, 5, 5)
    torch.testing.assert_close(block(x), x)
    assert block.hidden == 4
    quarter = GlobalContext(64, ratio=0.25)
    assert quarter.hidden == 16 and GlobalContext(64, ratio="1/4").hidden == 16
    assert _params(quarter) == 2 * 64 * 16 + 3 * 16 + 2 * 64 + 1
    norm = quarter.transform[1]
    assert isinstance(norm, nn.LayerNorm) and tuple(norm.normalized_shape) == (16, 1, 1)


def test_gc_context_is_softmax_weighted_sum() -> None:
    block = GlobalContext(8, zero_init=False)
    x = torch.randn(2, 8, 3, 4)
    logits = block.conv_mask(x).flatten(1)  # N, HW
    weights = torch.softmax(logits, dim=1)
    context = torch.einsum("nck,nk->nc", x.flatten(2), weights)[:, :, None, None]
    torch.testing.assert_close(block.context(x), context)
    torch.testing.assert_close(block(x), x + block.transform(context))


# --- user blocks ----------------------------------------------------------------------------

def test_user_block_class_and_factory_by_import_path() -> None:
    block = build_block("tests.helpers.user_objects:TinyGate", 12, scale=3.0)
    assert type(block).__name__ == "TinyGate" and block.scale == 3.0
    assert _params(block) == 12
    x = torch.randn(1, 12, 2, 2)
    torch.testing.assert_close(block(x), x * 0.5)
    factory_made = build_block("tests.helpers.user_objects:tiny_gate", 5)
    assert factory_made.scale == 2.0


@pytest.mark.parametrize(("name", "error"), [
    ("tests.helpers.user_objects:NoSuchBlock", UnknownNameError),
    ("tests.helpers.no_such_module:Block", UnknownNameError),
    ("tests.helpers.user_objects:not_a_module", InvalidOptionError),
])
def test_broken_user_blocks(name: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        build_block(name, 8)


def test_user_block_unknown_option_lists_accepted() -> None:
    with pytest.raises(InvalidOptionError, match="valid options: scale"):
        build_block("tests.helpers.user_objects:TinyGate", 8, reduction=4)


# --- errors -------------------------------------------------------------------------------------

def test_unknown_block_lists_valid_names() -> None:
    with pytest.raises(ValueError, match=r"unknown block 'sse'.*cbam, eca, eca_ns, gc, se"):
        build_block("sse", 64)


@pytest.mark.parametrize(("name", "options", "needle"), [
    ("se", {"reduction": -4}, "reduction must be a positive integer"),
    ("se", {"reduction": 0}, "reduction"),
    ("se", {"reduction": 2.5}, "reduction"),
    ("se", {"bias": "yes"}, "bias must be true or false"),
    ("cbam", {"kernel_size": 4}, "kernel_size must be a positive odd integer"),
    ("cbam", {"reduction": True}, "reduction"),
    ("gc", {"ratio": 0}, "ratio must be a number > 0 and <= 1.0"),
    ("gc", {"ratio": 2}, "ratio"),
    ("gc", {"ratio": "a/b"}, "ratio must be a number"),
    ("eca", {"k_size": 4}, "k_size must be a positive odd integer"),
    ("eca", {"k_size": -3}, "k_size"),
    ("eca", {"k_size": "big"}, "k_size must be a positive odd integer or 'adaptive'"),
    ("eca", {"gamma": 0}, "gamma"),
    ("eca_ns", {"k_size": 2}, "k_size"),
    ("se", {"k_size": 3}, "block 'se' has no option 'k_size'; valid options: reduction, bias"),
    ("se_var1", {"bias": True}, "valid options: none"),
    ("se", {"fc": "dense"}, "se: option fc must be one of conv, linear, got 'dense'"),
    ("cbam", {"pooling": "max"}, "option pooling must be one of modules, functional"),
])
def test_bad_options_raise_one_line_invalid_option(
    name: str, options: dict[str, object], needle: str
) -> None:
    with pytest.raises(InvalidOptionError, match=needle) as info:
        build_block(name, 64, **options)
    assert isinstance(info.value, AttnprofError) and "\n" not in str(info.value)


@pytest.mark.parametrize("channels", [0, -8, 2.0, True])
def test_bad_channel_count(channels: object) -> None:
    with pytest.raises(InvalidOptionError, match="channels must be a positive integer"):
        build_block("eca", channels)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", PAPER_BLOCKS)
def test_wrong_input_shape_is_a_clear_value_error(name: str) -> None:
    block = build_block(name, 16)
    with pytest.raises(ValueError, match="4-D"):
        block(torch.randn(2, 16, 5))
    with pytest.raises(ValueError, match="built for 16 channels, input has 8"):
        block(torch.randn(2, 8, 5, 5))


def test_block_options_lists_signatures() -> None:
    assert block_options("eca") == ("k_size", "gamma", "b")
    assert block_options("gc") == ("ratio", "zero_init")
    assert block_options("cbam") == ("reduction", "kernel_size", "spatial", "bias", "pooling")
    assert block_options("se_var1") == ()


def test_psi_rejects_bad_input() -> None:
    with pytest.raises(InvalidOptionError):
        eca_kernel_size(0)
    assert math.isclose(eca_kernel_size(1), 1)  # t = int(0.5) = 0 -> 1


def test_cbam_without_mlp_biases() -> None:
    block = CBAM(256, bias=False)
    assert _params(block) == 2 * 256 * 16 + 2 * 7 * 7 + 2
    assert block(torch.randn(2, 256, 4, 4)).shape == (2, 256, 4, 4)


def test_se_with_linear_fcs_is_the_same_function_and_size() -> None:
    conv = SqueezeExcitation(64, reduction=8)
    linear = SqueezeExcitation(64, reduction=8, fc="linear")
    assert isinstance(linear.fc1, nn.Linear) and isinstance(linear.fc2, nn.Linear)
    assert _params(linear) == _params(conv) == 2 * 64 * 8 + 8 + 64
    assert _params(SqueezeExcitation(64, reduction=8, fc="linear", bias=False)) == 2 * 64 * 8
    with torch.no_grad():  # a Linear weight is the 1x1 conv weight without its 1x1
        linear.fc1.weight.copy_(conv.fc1.weight[:, :, 0, 0])
        linear.fc1.bias.copy_(conv.fc1.bias)
        linear.fc2.weight.copy_(conv.fc2.weight[:, :, 0, 0])
        linear.fc2.bias.copy_(conv.fc2.bias)
    x = torch.randn(2, 64, 5, 5)
    torch.testing.assert_close(linear(x), conv(x))


def test_cbam_functional_pooling_gives_the_same_values() -> None:
    modules = CBAM(64)
    functional = CBAM(64, pooling="functional")
    functional.load_state_dict(modules.state_dict())
    assert not any(isinstance(m, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d))
                   for m in functional.modules())
    x = torch.randn(2, 64, 6, 7)
    torch.testing.assert_close(functional.eval()(x), modules.eval()(x))
