"""The in-process CPU peak memory (memory_method cpu_tensor_peak) on footprints known exactly."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from profiler.defaults import TENSOR_MEMORY_STEPS
from profiler.measure.device import resolve_device
from profiler.measure.memory.peak import (
    CPU_TENSOR_METHOD,
    allocation_peak,
    cpu_tensor_memory,
    live_tensor_bytes,
)
from profiler.measure.timing.members import InProcessMember
from profiler.spec import BenchSpec, Workload

MLP = "tests.helpers.user_objects:MLP"
FLOAT = 4
PARAMS = (48 * 32 + 32 + 32 * 10 + 10) * FLOAT  # 7592 bytes
INPUT = 2 * 48 * FLOAT


def test_allocation_peak_runs_in_time_order() -> None:
    assert allocation_peak([(3, -400), (1, 400), (2, 200), (4, 100)]) == 600
    assert allocation_peak([(1, -50)]) == 0
    assert allocation_peak([]) == 0


def test_live_bytes_count_a_shared_storage_once() -> None:
    layer = nn.Linear(3, 2)
    weight = layer.weight
    assert live_tensor_bytes([weight, weight.t(), weight[0], layer.bias]) == (6 + 2) * FLOAT


def test_a_known_allocation_pattern() -> None:
    def run() -> None:
        a = torch.empty(1000, 1000)
        b = torch.empty(500, 1000)
        del a
        c = torch.empty(250, 1000)
        del b, c

    figures = cpu_tensor_memory(run, 1, held=100)
    assert figures.method == CPU_TENSOR_METHOD
    assert figures.activation_bytes == 6_000_000 and figures.peak_bytes == 6_000_100


def test_the_peak_does_not_start_torch_profilers_wrapper(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """torch.profiler.profile's start imports inductor, dynamo and sympy (hasattr(torch,
    "_inductor")): 1.9 s of each inference worker's start on a 2-core CPU. The peak records
    through torch.autograd.profiler directly, the same events."""
    import torch.profiler

    def refused(*args: object, **kwargs: object) -> None:
        raise AssertionError("torch.profiler.profile was started")

    monkeypatch.setattr(torch.profiler, "profile", refused)
    figures = cpu_tensor_memory(lambda: torch.empty(1000, 1000).fill_(1.0), 1, held=0)
    assert figures.method == CPU_TENSOR_METHOD and figures.activation_bytes == 4_000_000


def _member(mode: str) -> InProcessMember:
    spec = BenchSpec(Workload.for_model(MLP, input_shape=(3, 4, 4)), mode=mode, batch=2,
                     warmup=1, min_time=0.001, threads=1)
    member = InProcessMember(spec, resolve_device("cpu"), cpu_memory="tensor")
    member.warm_up()
    return member


def test_inference_of_a_tiny_mlp() -> None:
    """Flatten is a view; at the peak the first linear's output (2 x 32 floats) and the ReLU's
    (2 x 32) are both live: 512 bytes above the weights and the input batch."""
    member = _member("infer")
    figures = member.tensor_memory
    assert figures is not None and figures.activation_bytes == 2 * (2 * 32 * FLOAT)
    assert figures.peak_bytes == PARAMS + INPUT + 512
    member.close()


def test_training_holds_gradients_and_momentum_at_its_peak() -> None:
    member = _member("train")
    figures = member.tensor_memory
    assert figures is not None and figures.peak_bytes is not None
    # parameters, SGD's momentum and the input live between steps; gradients at the peak
    assert figures.peak_bytes - (figures.activation_bytes or 0) == 2 * PARAMS + INPUT
    assert figures.activation_bytes is not None and figures.activation_bytes >= PARAMS
    member.close()


def test_one_warmed_up_step_has_the_peak_of_several() -> None:
    """Groups profile TENSOR_MEMORY_STEPS (one) step: a warmed-up training step's tensor peak is the
    same in each step, so more steps would only cost time."""
    member = _member("train")
    first = member.tensor_memory
    assert first is not None and first.peak_bytes and first.activation_bytes is not None
    held = first.peak_bytes - first.activation_bytes
    peaks = {cpu_tensor_memory(member._step().run, steps, held).peak_bytes
             for steps in (1, 2, 3)}
    assert TENSOR_MEMORY_STEPS == 1 and peaks == {first.peak_bytes}
    member.close()
