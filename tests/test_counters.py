"""FLOP counters: the registry, each thop release's formulas on a net worked out by hand,
thop's float accumulation, FlopCounterMode live (forward and training step), fvcore's
private names, and counting through ``count`` with typed per-counter records."""

from __future__ import annotations

import importlib
import random

import pytest
import torch
from torch import nn

from profiler.errors import InvalidOptionError, UnknownNameError
from profiler.measure.count import counters
from profiler.measure.count.counters import thop_0_0_23, thop_0_0_31, thop_2020, torch_flops
from profiler.measure.count.counters._thop import ThopRelease, _add, _float, _sum, thop_count
from profiler.measure.count.counting import count
from profiler.spec import CountSpec, Workload


class _Net(nn.Module):
    """conv(bias) -> BN -> ReLU -> MaxPool2d(2) -> the same ReLU again -> GAP -> Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.pool(self.relu(self.bn(self.conv(x)))))
        return self.fc(torch.flatten(self.gap(x), 1))


X = torch.randn(1, 3, 8, 8)
Y = 4 * 8 * 8  # conv output elements
CONV_JULY = 3 * Y * (9 + 1)  # C_in * y * (k + bias) // groups: the bias costs C_in
CONV = Y * (3 * 9 + 1)  # y * (C_in * k + bias)
BN4, BN2 = 4 * Y, 2 * Y
RELU_LAST = 4 * 4 * 4  # the second call (after the pool); "last call" builds keep it only
MAXPOOL = 2 * 4 * 4 * 4  # kernel_size=2 as given (not 2*2) x output elements
GAP = (4 * 4 + 1) * 4  # (window + 1) per output element
FC_2019, FC_BIAS, FC_2020 = (2 * 4 - 1) * 5, (2 * 4 - 1 + 1) * 5, 4 * 5
PARAMS = 3 * 4 * 9 + 4 + 8 + 4 * 5 + 5


@pytest.mark.parametrize(("release", "total", "inside"), [
    (thop_0_0_23.EARLY, CONV_JULY + BN4 + RELU_LAST + MAXPOOL + GAP + FC_2019, GAP + FC_2019),
    (thop_0_0_23.LATE, CONV_JULY + BN4 + RELU_LAST + GAP + FC_2019, GAP + FC_2019),
    (thop_0_0_31.AUGUST, CONV + BN4 + GAP + FC_2019, GAP + FC_2019),
    (thop_0_0_31.OCTOBER, CONV + BN4 + GAP + FC_BIAS, GAP + FC_BIAS),
    (thop_2020.JANUARY, CONV + BN2 + GAP + FC_BIAS, GAP + FC_BIAS),
    (thop_2020.LATER, CONV + BN2 + GAP + FC_2020, GAP + FC_2020),
], ids=lambda v: getattr(v, "version", ""))
def test_thop_release_formulas_by_hand(release: ThopRelease, total: int, inside: int) -> None:
    found = thop_count(release, "x", _Net(), X, ["gap", "fc"])
    assert (found.flops, found.attention_flops, found.params) == (total, inside, PARAMS)


def test_thop_counts_on_meta_equal_the_cpu() -> None:
    with torch.device("meta"):
        net = _Net()
    on_meta = thop_count(thop_0_0_23.EARLY, "x", net, torch.empty(1, 3, 8, 8, device="meta"))
    assert on_meta == thop_count(thop_0_0_23.EARLY, "x", _Net(), X)


def _constant(ops: int) -> ThopRelease:
    table = {nn.Identity: lambda m, x, y: ops}
    return ThopRelease("test", (), table, "sum")


def test_thop_float32_sum_is_reproduced_not_the_exact_one() -> None:
    """Two modules of 2^24 + 1 operations: float32 stores each as 2^24 (thop before 2020-04
    returned 2^25); float64 keeps the exact 2^25 + 2; the attention part is always exact."""
    net = nn.Sequential(nn.Identity(), nn.Identity())
    float32 = thop_count(_constant(2**24 + 1), "x", net, X, [""])
    assert float32.flops == 2**25 and float32.attention_flops == 2**25 + 2
    release64 = ThopRelease("test", (), {nn.Identity: lambda m, x, y: 2**24 + 1}, "sum",
                            dtype=torch.float64)
    assert thop_count(release64, "x", net, X).flops == 2**25 + 2


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
def test_thop_buffers_round_as_its_tensors_did(dtype: torch.dtype) -> None:
    """The buffers are Python floats rounded to the release's type (``_float``, ``_add``): at
    every step of a long sum of mixed magnitudes they equal thop's own one-element tensors
    (``torch.Tensor([v])``, ``add_``), and so does the total."""
    rng = random.Random(0)
    values = [rng.randrange(1, 2 ** rng.randrange(2, 45)) for _ in range(3000)]
    total, buffer = 0.0, torch.zeros(1, dtype=dtype)
    for value in values:
        total = _add(total, _float(value, dtype), dtype)
        buffer.add_(torch.tensor([value], dtype=dtype))
        assert total == buffer.item()
    found = _sum([_float(v, dtype) for v in values], dtype)
    assert found == int(buffer.item())
    assert (found != sum(values)) is (dtype == torch.float32)  # float32's rounding shows


def test_thop_hooks_are_removed_and_mode_restored() -> None:
    net = _Net().train()
    thop_count(thop_0_0_23.LATE, "x", net, X)
    assert net.training and all(not m._forward_hooks for m in net.modules())


def test_flop_counter_mode_forward_and_training_step_by_hand() -> None:
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.AdaptiveAvgPool2d(1),
                        nn.Flatten(), nn.Linear(4, 5))
    conv = 2 * Y * 3 * 9  # 2 FLOPs per multiply-add
    linear = 2 * 4 * 5
    forward = torch_flops.count(net, X, ["0"])
    assert (forward.flops, forward.attention_flops) == (conv + linear, conv)
    # backward: the conv's weight gradient (its input needs none), the Linear's input and
    # weight gradients
    assert torch_flops.count_train_step(net, X) == 2 * conv + 3 * linear
    assert all(p.grad is None for p in net.parameters())


def test_flop_counter_mode_is_live_torch() -> None:
    from torch.utils.flop_counter import FlopCounterMode

    net = _Net().eval()
    mode = FlopCounterMode(display=False)
    with torch.no_grad(), mode:
        net(X)
    assert counters.count_with("torch", net, X).flops == mode.get_total_flops()


def test_registry_names_and_documents_every_counter() -> None:
    assert list(counters.COUNTERS)[:3] == ["fvcore", "all", "thop-0.0.23"]
    assert {"thop-0.0.31", "thop-2020", "torch"} <= set(counters.COUNTERS)
    assert counters.BACKWARD_COUNTERS == ("torch",)
    for entry in counters.COUNTERS.values():
        module = importlib.import_module(f"profiler.measure.count.counters.{entry.module}")
        doc = module.__doc__ or ""
        assert f"``{entry.name}``" in doc, entry.name  # each module names its counters
        assert callable(entry.load())
        if entry.release:
            release = getattr(module, entry.release)
            assert release.version in entry.emulates and release.version in doc


def test_thop_releases_partition_the_2019_2020_builds() -> None:
    releases = [thop_0_0_23.EARLY, thop_0_0_23.LATE, thop_0_0_31.AUGUST, thop_0_0_31.OCTOBER,
                thop_2020.JANUARY, thop_2020.LATER]
    claimed = [b for r in releases for b in r.builds]
    assert len(claimed) == len(set(claimed)) == 33  # 35 builds but the two broken ones


def test_unknown_counter_and_backward_errors_name_the_choices() -> None:
    with pytest.raises(UnknownNameError, match="unknown counter 'thop'; valid: fvcore, all, "):
        counters.counter("thop")
    with pytest.raises(InvalidOptionError, match="counters that can: torch"):
        counters.check_backward("thop-0.0.23")


def test_fvcore_private_names_attnprof_imports_exist() -> None:
    """flop_handles imports fvcore internals; pyproject bounds fvcore < 0.1.6 for them."""
    from fvcore.nn.activation_count import _DEFAULT_SUPPORTED_OPS as activations
    from fvcore.nn.flop_count import _DEFAULT_SUPPORTED_OPS as flops
    from fvcore.nn.jit_analysis import _IGNORED_OPS, JitModelAnalysis
    from fvcore.nn.jit_handles import get_shape

    assert {"aten::_convolution", "aten::batch_norm", "aten::addmm",
            "aten::adaptive_avg_pool2d"} <= set(flops)
    assert "aten::_convolution" in activations and callable(get_shape)
    assert {"aten::relu", "aten::max"} <= set(_IGNORED_OPS)
    assert all(hasattr(JitModelAnalysis, name) for name in (
        "set_op_handle", "by_module_and_operator", "unsupported_ops", "tracer_warnings"))


def test_count_keeps_every_counter_in_typed_records() -> None:
    spec = CountSpec(Workload.for_block("se", 64, (8, 8)),
                     conventions=("thop-0.0.23", "fvcore", "all", "torch"), backward=True)
    result = count(spec)
    assert [c.counter for c in result.counters] == ["fvcore", "all", "thop-0.0.23", "torch"]
    thop = result.counted("thop-0.0.23")
    assert thop is not None and result.flops == thop.flops and result.convention == "thop-0.0.23"
    # SE on 64 x 8 x 8, h = 4, July thop: GAP (64 + 1) * 64, 1x1 convs with biases
    # C_in * y * (1 + 1), ReLU h
    assert thop.flops == 65 * 64 + 64 * 4 * 2 + 4 * 64 * 2 + 4
    assert thop.params == result.params == 2 * 64 * 4 + 4 + 64
    torch_total = result.counted("torch")
    assert torch_total is not None and torch_total.flops == 2 * (64 * 4 + 4 * 64)
    assert result.train_step_flops == 3 * torch_total.flops  # input and weight gradients
    fvcore = result.counted("fvcore")
    assert fvcore is not None and fvcore.flops == 64 * 8 * 8 + 2 * 64 * 4


def test_count_rejects_unknown_counters_and_backward_without_a_counter_that_can() -> None:
    workload = Workload.for_block("eca", 64, (4, 4))
    with pytest.raises(UnknownNameError):
        count(CountSpec(workload, conventions=("nope",)))
    with pytest.raises(InvalidOptionError, match="torch"):
        count(CountSpec(workload, backward=True))
