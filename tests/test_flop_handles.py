"""The extra ("all" convention) operator handles: each formula on a known op."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from profiler.measure.count.flop_handles import EXTRA_FLOP_FORMULAS, FVCORE_FLOP_OPS
from profiler.measure.count.fvcore_trace import count_module


class _Op(nn.Module):
    def __init__(self, fn: object) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)  # type: ignore[operator]


X = torch.randn(2, 8, 6, 6)
N = X.numel()  # 576


@pytest.mark.parametrize(
    ("fn", "op", "expected"),
    [
        (torch.sigmoid, "sigmoid", N),
        (lambda x: torch.relu(x), "relu", N),
        (lambda x: x * x.mean((2, 3), keepdim=True), "mul", N),  # broadcast: output elements
        (lambda x: x.mean((2, 3), keepdim=True), "mean", N),  # reduction: input elements
        (lambda x: x.amax(1, keepdim=True), "amax", N),
        (lambda x: torch.softmax(x.flatten(2), dim=-1), "softmax", 3 * N),
        (lambda x: nn.functional.max_pool2d(x, 3, 1, 1), "max_pool2d", 9 * N),
        (lambda x: nn.functional.max_pool2d(x, (2, 2)), "max_pool2d", 4 * N // 4),
        (lambda x: x + 1.0, "add", N),
    ],
)
def test_extra_handle_formula(fn: object, op: str, expected: int) -> None:
    result = count_module(_Op(fn), X)
    assert result.by_operator_all[op] == expected
    assert op not in result.by_operator  # fvcore itself does not count it
    assert any(name.endswith(op) for name in result.unsupported)
    assert result.flops_all - result.flops == sum(result.by_operator_all.values()) \
        - sum(result.by_operator.values())


def test_extra_ops_do_not_overlap_fvcore_ops() -> None:
    assert not set(EXTRA_FLOP_FORMULAS) & FVCORE_FLOP_OPS
    assert all(f.description for f in EXTRA_FLOP_FORMULAS.values())
