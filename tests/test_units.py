"""Display units: SI vs binary prefixes, MACs vs FLOPs."""

from __future__ import annotations

import pytest

from profiler.errors import InvalidOptionError
from profiler.units import format_count, scale, unit


def test_si_and_binary_divisors() -> None:
    assert unit("G", "si").divisor == 10**9
    assert unit("G", "binary").divisor == 2**30
    assert unit("M", "binary").divisor == 2**20


def test_resnet50_params_print_as_the_paper_in_binary_mega() -> None:
    assert round(unit("M", "binary").convert(25_557_032), 2) == 24.37
    assert round(unit("M", "si").convert(25_557_032), 2) == 25.56


def test_flops_are_twice_macs() -> None:
    macs = 4_111_512_576
    assert unit("G", "si", macs_as=2).convert(macs, is_flops=True) == pytest.approx(8.223, 1e-3)
    assert unit("G", "si", macs_as=2).convert(macs) == pytest.approx(4.1115, 1e-4)  # params


def test_labels() -> None:
    assert unit("G", "binary", 2).label("flops") == "GiFLOPs"
    assert unit("G").label("flops") == "GMACs"
    assert unit("M").label("params") == "M params"


def test_scale_and_format() -> None:
    assert scale(4_111_512_576) == (pytest.approx(4.111512576), "G")
    assert scale(3 * 2**20, "binary") == (3.0, "Mi")
    assert format_count(80) == "80"
    assert format_count(25_557_032) == "25.56 M"


@pytest.mark.parametrize("kwargs", [{"prefix": "X"}, {"system": "metric"}, {"macs_as": 3}])
def test_bad_units_are_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidOptionError):
        unit(**kwargs)  # type: ignore[arg-type]
