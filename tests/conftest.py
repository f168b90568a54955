"""Shared test configuration: GPU tests skip cleanly on machines without CUDA; planned runs
get a fake machine probe."""

from __future__ import annotations

import pytest
import torch


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fake_machine_probe(request: pytest.FixtureRequest,
                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Planned runs (``attnprof run``/``reproduce``) probe the machine by timing a model: in
    tests they get :func:`tests.helpers.fakes.fake_probe` instead, unless a test is marked
    ``real_probe``."""
    if request.node.get_closest_marker("real_probe") is not None:
        return
    from profiler.suites import runner
    from tests.helpers.fakes import fake_probe

    monkeypatch.setattr(runner, "default_probe", fake_probe)
