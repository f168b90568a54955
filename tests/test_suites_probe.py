"""The machine probe: FLOPs counted on the meta device (worked out by hand), and how the probe
assembles its figures (its two timed parts replaced, so that nothing real is timed)."""

from __future__ import annotations

import pytest

from profiler.measure.count.forward import forward_flops
from profiler.measure.timing import probe as timing_probe
from profiler.spec import BenchSpec, CountSpec, Workload
from profiler.suites import probe


def test_forward_flops_on_the_meta_device() -> None:
    # SE on 16 channels at reduction 16: 16 -> 1 -> 16, 32 multiply-adds, 2 FLOPs each
    assert forward_flops(Workload.for_block("se", 16, (8, 8))) == 64.0
    # ECA on 16 channels: a 1-d convolution of kernel 3 over 16 positions, 48 multiply-adds
    assert forward_flops(Workload.for_block("eca", 16, (8, 8))) == 96.0
    # ResNet-18 at 3x224x224: 1.814 G multiply-adds (convolutions and the classifier)
    assert forward_flops(Workload.for_model("resnet18")) == 2 * 1_814_073_344


def test_the_probe_assembles_seconds_per_flop_and_flops_per_workload(
        monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[int] = []

    def step(device: str, batch: int, threads: int | None = None) -> float:
        asked.append(batch)
        return 0.05

    monkeypatch.setattr(timing_probe, "reference_step", step)
    monkeypatch.setattr(timing_probe, "worker_start", lambda: 1.5)
    specs = [CountSpec(Workload.for_model("resnet18", "se")),
             BenchSpec(Workload.for_model("resnet18", "se"), batch=8),
             BenchSpec(Workload.for_model("resnet18"), batch=8),
             BenchSpec(Workload.for_block("se", 16, (8, 8)), batch=8)]
    found = probe.probe_machine(specs, "cpu")
    assert asked == [probe.MAX_CPU_BATCH]  # the suite's batch, at most 2 on a CPU
    assert found.seconds_per_flop == pytest.approx(0.05 / (2 * 2 * 1_814_073_344))
    assert found.worker_start_s == 1.5 and found.reference == "resnet18 infer b2"
    assert found.flops == {"resnet18+se": 2 * 1_814_073_344.0, "resnet18": 2 * 1_814_073_344.0,
                           "se[C=16,8x8]": 64.0}


def test_a_probe_that_cannot_run_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    from profiler.errors import MeasurementError

    def broken(device: str, batch: int, threads: int | None = None) -> float:
        raise RuntimeError("device lost\nmore")

    monkeypatch.setattr(timing_probe, "reference_step", broken)
    with pytest.raises(MeasurementError, match=r"cannot probe this machine for the run's plan "
                       r"on cpu: device lost$"):
        probe.probe_machine([CountSpec(Workload.for_block("se", 16, (8, 8)))], "cpu")
