"""The acceptance fixtures' extra work is real work, in exact proportion (counted, not slept)."""

from __future__ import annotations

import pytest
import torch

from profiler.measure.count.counting import count
from profiler.spec import CountSpec, Workload
from tests.helpers.work_blocks import Work

BLOCKS = "tests.helpers.work_blocks:"


@pytest.mark.parametrize(("name", "passes"), [("work20", 20), ("work21", 21), ("work50", 50),
                                              ("work51", 51)])
def test_each_pass_is_one_elementwise_op_over_the_feature_map(name: str, passes: int) -> None:
    result = count(CountSpec(Workload.for_block(BLOCKS + name, 64, (56, 56)), batch=2))
    assert result.flops_all == passes * 2 * 64 * 56 * 56
    assert result.params == 0


def test_the_slower_fixtures_do_5_and_2_percent_more() -> None:
    def flops(name: str) -> int:
        return count(CountSpec(Workload.for_block(BLOCKS + name, 16, (8, 8)))).flops_all

    assert flops("work21") / flops("work20") == pytest.approx(1.05)
    assert flops("work51") / flops("work50") == pytest.approx(1.02)


def test_output_keeps_the_shape_and_scales_the_input() -> None:
    x = torch.randn(2, 8, 4, 4)
    y = Work(8, passes=3)(x)
    assert y.shape == x.shape and torch.allclose(y, x * 0.999**3)


def test_the_conv_in_resnet18s_last_stage_adds_two_512_square_convs_at_7x7() -> None:
    def counted(attention: str | None, options: dict[str, object] | None) -> int:
        return count(CountSpec(Workload.for_model("resnet18", attention, options))).flops

    plain = counted(None, None)
    extra = counted(BLOCKS + "Conv1x1", {"stages": [4]}) - plain
    assert extra == 2 * 512 * 512 * 7 * 7  # fvcore: one multiply-add per FLOP
    assert 0.013 < extra / plain < 0.015
