"""The environment record: complete, JSON-able, tolerant loader."""

from __future__ import annotations

import json

import torch

from profiler.measure.env import collect_environment
from profiler.results.environment import Environment


def test_cpu_environment_names_versions_and_threads() -> None:
    env = collect_environment("cpu")
    assert env.device == "cpu"
    assert env.torch_version == torch.__version__
    assert env.torch_threads == torch.get_num_threads() > 0
    assert env.cpu_count > 0 and env.python_version
    assert env.fvcore_version
    assert "torch " in env.summary


def test_environment_round_trips_and_ignores_unknown_fields() -> None:
    env = collect_environment("cpu")
    data = json.loads(json.dumps(env.to_dict()))
    assert Environment.from_dict(data) == env
    data["field_from_the_future"] = 1
    del data["hostname"]
    assert Environment.from_dict(data).hostname == ""
