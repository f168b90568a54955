"""Shared test configuration: GPU tests skip cleanly on machines without CUDA; fixtures
several test modules share (built once per session); planned runs get a fake machine probe;
the user cache (a stored between-process calibration) is a fresh folder per test; under
pytest-xdist a test marked ``timing`` runs alone (:func:`_timing_runs_alone`), and those tests
run first."""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.gate_repo import GateRepo, make_gate_repo


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    import torch  # here, not at the top: pytest-xdist's controller loads this file, runs no test

    # ``timing`` tests first: under pytest-xdist one of them waits for the other workers'
    # tests to end (:func:`_timing_runs_alone`), and at the start none is running a long one
    items.sort(key=lambda item: item.get_closest_marker("timing") is None)
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


@pytest.fixture(scope="session")
def shared_gate_repo(tmp_path_factory: pytest.TempPathFactory) -> GateRepo:
    """The gate's throwaway repository (:mod:`tests.helpers.gate_repo`), built once for every
    module that needs it; use :func:`gate_repo`, which checks out ``base`` first."""
    return make_gate_repo(Path(tmp_path_factory.mktemp("gate-repo")), shape="16x32x32")


@pytest.fixture(scope="module")
def gate_repo(shared_gate_repo: GateRepo) -> GateRepo:
    """The shared gate repository with ``base`` checked out, as a fresh one would be."""
    shared_gate_repo.checkout("base")
    return shared_gate_repo


_CACHES = itertools.count()


@pytest.fixture(autouse=True)
def _fresh_user_cache(tmp_path_factory: pytest.TempPathFactory,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads this machine's ``calibrate --processes`` result (XDG_CACHE_HOME): a folder
    of its own, made only by a test that writes there (``mktemp`` for each of ~1,700 tests
    lists the base folder each time: ~2 ms a test, and slower ``tmp_path`` for all)."""
    folder = tmp_path_factory.getbasetemp() / "caches" / str(next(_CACHES))
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))


@contextlib.contextmanager
def _hold(folder: Path, alone: bool) -> Iterator[None]:
    """A readers-writer lock over the xdist workers (``flock`` on two files in ``folder``):
    every test holds ``tests.lock`` shared, a ``timing`` test exclusive. The turnstile lets
    a waiting ``timing`` test in before further tests of other workers start."""
    import fcntl

    with (folder / "turnstile.lock").open("a") as turnstile, \
            (folder / "tests.lock").open("a") as tests:
        fcntl.flock(turnstile, fcntl.LOCK_EX)
        try:
            fcntl.flock(tests, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        finally:
            fcntl.flock(turnstile, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(tests, fcntl.LOCK_UN)


@pytest.fixture(autouse=True)
def _timing_runs_alone(request: pytest.FixtureRequest,
                       tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Under pytest-xdist (``-n``), a test marked ``timing`` (it asserts on measured times)
    waits until the other workers' tests end and holds them off until it ends; other tests
    run side by side. Without xdist this does nothing."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        yield
        return
    # the workers' base folders are popen-gw0, popen-gw1, ... in one folder of the session
    with _hold(tmp_path_factory.getbasetemp().parent,
               request.node.get_closest_marker("timing") is not None):
        yield
