"""Device resolution and the settings a measurement sets and restores."""

from __future__ import annotations

import pytest
import torch

from profiler.errors import DeviceUnavailableError, InvalidOptionError
from profiler.measure.device import (
    cudnn_benchmark,
    free_memory_bytes,
    resolve_device,
    torch_threads,
)


def test_cpu_resolves() -> None:
    assert resolve_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize("name", ["tpu", "cuda:", "cuda:x", "CPU", "cuda:-1", ""])
def test_malformed_names_list_the_valid_ones(name: str) -> None:
    with pytest.raises(InvalidOptionError, match="valid: cpu, cuda, cuda:N"):
        resolve_device(name)


def test_cuda_without_cuda_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for name in ("cuda", "cuda:0"):
        with pytest.raises(DeviceUnavailableError) as info:
            resolve_device(name)
        assert "CUDA is not available" in str(info.value) and "\n" not in str(info.value)


def test_cuda_index_out_of_range(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 1)
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    assert resolve_device("cuda") == torch.device("cuda", 1)
    with pytest.raises(DeviceUnavailableError, match=r"has 2 CUDA device\(s\): cuda:0..cuda:1"):
        resolve_device("cuda:2")


def test_threads_are_set_and_restored_even_on_error() -> None:
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError), torch_threads(1) as threads:
        assert threads == 1 and torch.get_num_threads() == 1
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before
    with torch_threads(None) as threads:
        assert threads == before


def test_non_positive_threads_are_rejected() -> None:
    with pytest.raises(InvalidOptionError), torch_threads(0):
        pass


@pytest.mark.parametrize("flag", [True, False])
def test_cudnn_benchmark_is_restored(flag: bool) -> None:
    before = torch.backends.cudnn.benchmark
    with cudnn_benchmark(flag):
        assert torch.backends.cudnn.benchmark is flag
    assert torch.backends.cudnn.benchmark == before


def test_free_cpu_memory_is_known_on_linux() -> None:
    free = free_memory_bytes(torch.device("cpu"))
    assert free is None or free > 0
