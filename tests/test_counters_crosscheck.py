"""Each thop emulation returns exactly what the real thop builds returned.

``tests/fixtures/counters/thop-real.json`` was made by ``tools/crosscheck_counters.py``: every
thop build of 2019-2020, installed from PyPI into a throwaway environment, counted every case
(Table 3's 15 models, implementation variants, blocks alone). Here each emulation
(:mod:`profiler.measure.count.counters`) counts the same cases on the ``meta`` device and must give
the same integers, FLOPs and parameters, for every build it claims. No tolerance: thop summed
in float32 before 2020-04, and the emulations repeat that arithmetic, rounding included.
The test fails if an emulation, a model, or the fixture changes. The ResNet-101/152 cases are
``slow``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from profiler.blocks import build_block
from profiler.measure.count.counters import thop_0_0_23, thop_0_0_31, thop_2020
from profiler.measure.count.counters._thop import ThopRelease, thop_counts
from profiler.models import build_model

FIXTURE = Path(__file__).parent / "fixtures" / "counters" / "thop-real.json"
RELEASES: tuple[ThopRelease, ...] = (
    thop_0_0_23.EARLY, thop_0_0_23.LATE, thop_0_0_31.AUGUST, thop_0_0_31.OCTOBER,
    thop_2020.JANUARY, thop_2020.LATER)
BROKEN = {  # builds that cannot count on this Python / torch, and why
    "0.0.23.post1907171426": "NameError",  # its table names a function it commented out
    "0.0.31.post2004070130": "TypeError",  # torch.DoubleTensor([n], dtype=...) is rejected
}
DATA: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
SLOW = ("resnet101", "resnet152")


def _cases() -> list[Any]:
    return [pytest.param(key, marks=pytest.mark.slow) if key.startswith(SLOW) else key
            for key in DATA["cases"]]


def test_the_fixture_says_how_it_was_made() -> None:
    assert DATA["generated_by"] == "tools/crosscheck_counters.py"
    assert DATA["torch"] and DATA["python"] and DATA["date"] and DATA["input"] == [1, 3, 224, 224]
    assert "collections.Iterable" in DATA["shim"]
    assert len(DATA["builds"]) == 35 and len(DATA["cases"]) >= 15


def test_every_build_is_emulated_or_known_broken() -> None:
    claimed = {b for r in RELEASES for b in r.builds}
    for version, found in DATA["builds"].items():
        if version in BROKEN:
            assert found["status"] == "error" and BROKEN[version] in found["error"], version
            continue
        assert found["status"] == "ok" and version in claimed, version
        assert set(found["ops"]) == set(DATA["cases"]), version
    assert claimed <= set(DATA["builds"])


def _network(case: dict[str, Any]) -> tuple[torch.nn.Module, torch.Tensor]:
    torch.manual_seed(0)
    with torch.device("meta"):
        if "channels" in case:
            size = int(case["size"])
            model = build_block(case["method"], int(case["channels"]), **case.get("options", {}))
            shape = (1, int(case["channels"]), size, size)
        else:
            method = None if case["method"] == "none" else case["method"]
            model = build_model(case["backbone"], method, case.get("options") or None)
            shape = tuple(DATA["input"])
    return model, torch.empty(shape, device="meta")


@pytest.mark.parametrize("key", _cases())
def test_emulations_equal_the_real_builds(key: str) -> None:
    model, inputs = _network(DATA["cases"][key])
    totals = thop_counts([(r.version, r) for r in RELEASES], model, inputs)
    for release, total in zip(RELEASES, totals, strict=True):
        for build in release.builds:
            real = DATA["builds"][build]
            assert (total.flops, total.params) == (real["ops"][key], real["params"][key]), (
                f"{key}: thop {build} returned {real['ops'][key]:,} ops and "
                f"{real['params'][key]:,} params; the {release.version} emulation "
                f"{total.flops:,} and {total.params:,}")
