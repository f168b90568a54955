"""Specs: validation, labels, stable case ids and JSON round trips."""

from __future__ import annotations

import pytest

from profiler.errors import InvalidOptionError
from profiler.spec import (
    BenchSpec,
    CountSpec,
    Workload,
    freeze_options,
    parse_shape,
    thaw_options,
)


def test_parse_shape_accepts_cxhxw_and_hxw() -> None:
    assert parse_shape("3x224x224") == (3, 224, 224)
    assert parse_shape("56X56", dims=2) == (56, 56)


@pytest.mark.parametrize("text", ["3x224", "axbxc", "3x0x224", "", "3x224x224x1", "-3x4x4"])
def test_parse_shape_rejects_malformed(text: str) -> None:
    with pytest.raises(InvalidOptionError, match="malformed shape"):
        parse_shape(text)


def test_options_freeze_is_order_independent_and_round_trips() -> None:
    a = freeze_options({"k_size": [3, 5, 5, 7], "gamma": 2})
    b = freeze_options({"gamma": 2, "k_size": [3, 5, 5, 7]})
    assert a == b and hash(a) == hash(b)
    assert thaw_options(a) == {"gamma": 2, "k_size": [3, 5, 5, 7]}


def test_workload_needs_exactly_one_of_model_or_block() -> None:
    with pytest.raises(InvalidOptionError):
        Workload()
    with pytest.raises(InvalidOptionError):
        Workload(model="resnet50", block="eca", channels=64, input_shape=(64, 8, 8))


def test_block_workload_checks_channels() -> None:
    w = Workload.for_block("eca", 256, (14, 14))
    assert w.input_shape == (256, 14, 14) and w.is_block
    assert w.label == "eca[C=256,14x14]"
    with pytest.raises(InvalidOptionError, match="channels"):
        Workload(block="eca", channels=64, input_shape=(32, 8, 8))


def test_labels() -> None:
    assert Workload.for_model("resnet50").label == "resnet50"
    assert Workload.for_model("resnet50", "eca", {"k_size": [3, 5, 5, 7]}).label == \
        "resnet50+eca[k_size=3557]"


def test_case_ids_are_stable_and_distinguish_specs() -> None:
    w = Workload.for_model("resnet50", "se")
    a = BenchSpec(w, mode="train", batch=8)
    assert a.case_id == BenchSpec(Workload.for_model("resnet50", "se"), mode="train",
                                  batch=8).case_id
    assert a.case_id.startswith("bench-")
    assert a.case_id != BenchSpec(w, mode="infer", batch=8).case_id
    assert CountSpec(w).case_id.startswith("count-")


@pytest.mark.parametrize(
    "spec",
    [
        CountSpec(Workload.for_model("mobilenet_v2", "eca"), batch=2),
        BenchSpec(Workload.for_block("se", 64, (56, 56), {"reduction": 8}), mode="train",
                  dtype="bf16", channels_last=True, threads=2, repeats=3),
    ],
)
def test_spec_round_trip(spec: CountSpec | BenchSpec) -> None:
    again = type(spec).from_dict(spec.to_dict())
    assert again == spec and again.case_id == spec.case_id


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"mode": "eval"}, "unknown mode"),
        ({"dtype": "int8"}, "unknown dtype"),
        ({"batch": 0}, "batch"),
        ({"device": "tpu"}, "unknown device"),
        ({"threads": 0}, "threads"),
    ],
)
def test_bench_spec_validation(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidOptionError, match=match):
        BenchSpec(Workload.for_model("resnet18"), **kwargs)  # type: ignore[arg-type]
