"""Registries: names, summaries, unknown names, and user objects loaded by ``module:attr``."""

from __future__ import annotations

import pytest

from profiler.blocks import BLOCKS, build_block
from profiler.errors import AttnprofError, UnknownNameError
from profiler.models import MODELS
from profiler.registry import Registry, is_import_path, load_object
from tests.helpers import user_objects


def _one() -> int:
    return 1


def test_register_names_and_entries() -> None:
    registry: Registry[int] = Registry("thing")
    registry.register("b", _one, "the b thing")
    registry.register("a", _one, "the a thing")
    assert registry.names() == ["a", "b"]
    assert [e.summary for e in registry.entries()] == ["the a thing", "the b thing"]
    assert "a" in registry and "c" not in registry
    assert registry.factory("a")() == 1


def test_duplicate_registration_is_refused() -> None:
    registry: Registry[int] = Registry("thing")
    registry.register("a", _one, "x")
    with pytest.raises(ValueError, match="already registered"):
        registry.register("a", _one, "y")


def test_unknown_name_is_a_value_error_listing_valid_names() -> None:
    registry: Registry[int] = Registry("thing")
    registry.register("alpha", _one, "x")
    registry.register("beta", _one, "y")
    with pytest.raises(UnknownNameError) as info:
        registry.entry("gamma")
    message = str(info.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, AttnprofError)
    assert "unknown thing 'gamma'" in message and "alpha, beta" in message
    assert "\n" not in message


def test_import_paths() -> None:
    assert is_import_path("tests.helpers.user_objects:TinyGate")
    assert not is_import_path("eca")
    assert load_object("tests.helpers.user_objects:TinyGate") is user_objects.TinyGate
    assert load_object("tests.helpers.user_objects:TinyGate.forward") is (
        user_objects.TinyGate.forward)


@pytest.mark.parametrize(("path", "needle"), [
    (":TinyGate", "not of the form"),
    ("tests.helpers.user_objects:", "not of the form"),
    ("tests.helpers.missing:TinyGate", "cannot import module"),
    ("tests.helpers.user_objects:Missing", "has no attribute 'Missing'"),
])
def test_bad_import_paths(path: str, needle: str) -> None:
    with pytest.raises(UnknownNameError, match=needle):
        load_object(path)


def test_non_callable_import_path_is_refused() -> None:
    with pytest.raises(UnknownNameError, match="is not callable"):
        BLOCKS.factory("tests.helpers.user_objects:__all__")


def test_shipped_registries_have_one_line_summaries() -> None:
    for registry in (BLOCKS, MODELS):
        for entry in registry.entries():
            assert entry.summary.strip() and "\n" not in entry.summary, entry.name


def test_block_registry_loads_user_blocks() -> None:
    block = build_block("tests.helpers.user_objects:TinyGate", 4)
    assert isinstance(block, user_objects.TinyGate)
