"""Device strings (no torch): what is a device name, its type and index, and the message."""

from __future__ import annotations

import pytest

from profiler.devices import (
    DEVICE_CHOICES,
    MEASURE_CHOICES,
    check_device,
    device_index,
    device_type,
    is_device,
)
from profiler.errors import InvalidOptionError


@pytest.mark.parametrize("name", ["cpu", "cuda", "cuda:0", "cuda:12"])
def test_device_names(name: str) -> None:
    assert is_device(name) and is_device(name, allow_auto=True)
    assert check_device(name) == name


@pytest.mark.parametrize("name", ["tpu", "cuda:", "cuda:x", "CPU", "cuda:-1", "", " cpu"])
def test_malformed_names_list_the_choices(name: str) -> None:
    assert not is_device(name, allow_auto=True)
    with pytest.raises(InvalidOptionError, match=f"unknown device {name!r}; valid: "
                                                  f"{MEASURE_CHOICES}$"):
        check_device(name)
    with pytest.raises(InvalidOptionError, match=f"valid: {DEVICE_CHOICES}$"):
        check_device(name, allow_auto=True)


def test_auto_is_a_run_choice_not_a_measured_device() -> None:
    assert is_device("auto", allow_auto=True) and not is_device("auto")
    assert check_device("auto", allow_auto=True) == "auto"
    with pytest.raises(InvalidOptionError, match="'auto'"):
        check_device("auto")
    assert DEVICE_CHOICES == "auto, cpu, cuda, cuda:N"


@pytest.mark.parametrize(("name", "kind", "index"), [("cpu", "cpu", None), ("cuda", "cuda", None),
                                                     ("cuda:3", "cuda", 3)])
def test_type_and_index(name: str, kind: str, index: int | None) -> None:
    assert device_type(name) == kind and device_index(name) == index
