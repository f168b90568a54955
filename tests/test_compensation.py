"""Profiler-overhead compensation: the arithmetic on hand-made events, the calibration on a
scripted clock (profiled steps scripted slower by a known amount)."""

from __future__ import annotations

import pytest
import torch

from profiler.measure.breakdown import overhead
from profiler.measure.breakdown.attribution import OpEvent, Placement
from profiler.measure.breakdown.compensation import compensate, overhead_per_event
from profiler.measure.breakdown.overhead import (
    OVERHEAD_ROUNDS,
    OVERHEAD_STEPS,
    OVERHEAD_WARMUP,
    Calibration,
    calibrate,
    calibrate_probe,
    probe_calibration,
    probe_spec,
)
from profiler.measure.timing.clock import FakeClock
from profiler.spec import BenchSpec, Mode, Workload


def _event(index: int, parent: int | None, self_us: float) -> OpEvent:
    return OpEvent(index=index, name=f"op{index}", parent=parent, start_us=float(index),
                   end_us=float(index) + 1, self_us=self_us)


def _window(step_self_us: float = 10.0) -> tuple[list[Placement], list[OpEvent]]:
    """Two steps (1, 2); a conv module range (3) with two ops (4, 5) and an attention module
    range (6, own time 0.5 µs) with three ops (7-9), all charged over the two steps."""
    steps = [_event(1, None, step_self_us), _event(2, None, step_self_us)]
    conv = [Placement(_event(3, 1, 5.0), "convolution"),
             *(Placement(_event(i, 3, 4.0), "convolution") for i in (4, 5))]
    attention = [Placement(_event(6, 1, 0.5), "attention.other", "layer1.0.se"),
                 *(Placement(_event(i, 6, 2.0), "attention.pooling", "layer1.0.se")
                   for i in (7, 8, 9))]
    return conv + attention, steps


def test_overhead_per_event_is_the_extra_time_over_the_events() -> None:
    assert overhead_per_event([1.0, 1.0], [1.001, 1.003], 4000) == pytest.approx(1.0)
    assert overhead_per_event([1.0], [0.999], 1000) == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="as many plain as profiled"):
        overhead_per_event([1.0], [1.0, 1.0], 10)
    with pytest.raises(ValueError, match="at least one event"):
        overhead_per_event([1.0], [1.0], 0)


def test_each_events_cost_comes_from_its_parent_clamped_at_its_own_time() -> None:
    placements, steps = _window()
    result = compensate(placements, steps, 1.0)
    # conv range: 2 children x 1 µs from its 5 µs; attention range: 3 children but only 0.5 µs
    # of its own; the two ranges under the step ranges: 2 µs from the steps' 20 µs; all / 2.
    assert result.part_us == pytest.approx(
        {"convolution": 1.0, "attention.other": 0.25, "unattributed": 1.0})
    assert result.block_us == pytest.approx({"layer1.0.se": 0.25})
    assert result.total_us == pytest.approx(2.25)
    assert result.events_per_step == pytest.approx(3.5)
    assert result.cost_us == 1.0


def test_the_steps_own_time_bounds_what_root_events_cost() -> None:
    placements, steps = _window(step_self_us=0.25)
    assert compensate(placements, steps, 1.0).part_us["unattributed"] == pytest.approx(0.25)


def test_a_negative_cost_takes_nothing_out_and_no_steps_is_an_error() -> None:
    placements, steps = _window()
    nothing = compensate(placements, steps, -3.0)
    assert nothing.cost_us == 0.0 and nothing.total_us == 0.0
    with pytest.raises(ValueError, match="no profiled steps"):
        compensate(placements, [], 1.0)


def _scripted(plain: float, extra: float, rounds: int = OVERHEAD_ROUNDS,
              steps: int = OVERHEAD_STEPS) -> list[float]:
    """calibrate's clock order: warm-up, the thrown-away window (1 + steps), then per round
    ``steps`` plain steps and one window (1 thrown-away + ``steps``)."""
    window = [plain + extra] * (steps + 1)
    return [plain] * OVERHEAD_WARMUP + window + ([plain] * steps + window) * rounds


def _tiny_step() -> None:
    torch.ones(4).add(1).mul(2)


def test_calibration_recovers_a_scripted_cost_per_event() -> None:
    extra = 30e-6  # each profiled step scripted 30 µs slower
    result = calibrate(_tiny_step, torch.device("cpu"), FakeClock(_scripted(1e-3, extra)))
    assert len(result.rounds_us) == OVERHEAD_ROUNDS
    # a step records the same events each time: 30 µs over them, in every round
    assert result.probe_events_per_step >= 3
    assert result.us_per_event == pytest.approx(extra * 1e6 / result.probe_events_per_step)
    assert result.rounds_us == pytest.approx([result.us_per_event] * OVERHEAD_ROUNDS)


def test_a_profiler_that_looks_free_calibrates_to_zero() -> None:
    result = calibrate(_tiny_step, torch.device("cpu"), FakeClock(_scripted(1e-3, -5e-6)))
    assert result.us_per_event == 0.0 and all(r < 0 for r in result.rounds_us)
    with pytest.raises(ValueError, match="at least one round"):
        calibrate(_tiny_step, torch.device("cpu"), FakeClock([1e-3]), rounds=0)


@pytest.mark.parametrize("mode", ["infer", "train"])
def test_the_probe_calibrates_in_both_modes(mode: str) -> None:
    spec = BenchSpec(workload=Workload.for_model("resnet18"), mode=mode, batch=8, threads=1)
    probe = probe_spec(spec)
    assert probe.mode == mode and probe.batch == 2 and probe.threads == 1
    # two rounds of two steps: the probe's events are the point, not a precise cost
    result = calibrate_probe(spec, torch.device("cpu"), FakeClock(_scripted(1e-3, 1e-3, 2, 2)),
                             rounds=2, steps=2)
    # training records backward nodes and the optimizer's ops too
    assert result.probe_events_per_step > (60 if mode == "train" else 20)
    assert result.us_per_event == pytest.approx(1000.0 / result.probe_events_per_step)


def test_a_process_calibrates_each_kind_of_step_once(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[tuple[str, int | None]] = []

    def fake(spec: BenchSpec, device: torch.device, clock: object) -> Calibration:
        made.append((spec.mode, spec.threads))
        return Calibration(us_per_event=float(len(made)), rounds_us=(1.0,),
                           probe_events_per_step=10.0)

    monkeypatch.setattr(overhead, "calibrate_probe", fake)
    monkeypatch.setattr(overhead, "_CALIBRATIONS", {})
    cpu, clock = torch.device("cpu"), FakeClock([1e-3])  # never read: calibrate_probe is faked

    def spec(model: str, mode: Mode, threads: int = 1) -> BenchSpec:
        return BenchSpec(workload=Workload.for_model(model), mode=mode, threads=threads,
                         batch=4 if model == "resnet18" else 8, warmup=3)

    first, reused = probe_calibration(spec("resnet18", "train"), cpu, clock)
    assert (first.us_per_event, reused) == (1.0, False)
    # another model, batch or warm-up of the same kind of step: the same calibration
    assert probe_calibration(spec("resnet50", "train"), cpu, clock) == (first, True)
    # another mode, or thread count: calibrated afresh
    assert probe_calibration(spec("resnet18", "infer"), cpu, clock)[0].us_per_event == 2.0
    assert probe_calibration(spec("resnet18", "train", 2), cpu, clock)[1] is False
    assert made == [("train", 1), ("infer", 1), ("train", 2)]
