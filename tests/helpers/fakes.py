"""A stand-in for the measuring harnesses, for end-to-end runs of ``run`` and ``reproduce``
(cases alone and comparison groups)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

import pytest

from profiler.measure import case
from profiler.plan.costs import NOMINAL_SECONDS_PER_FLOP, MachineProbe
from profiler.results import BenchResult, CountResult
from profiler.spec import BenchSpec, CountSpec

__all__ = ["FakeMeasure", "fake_probe", "install"]


@dataclass
class FakeMeasure:
    """Stands in for :func:`profiler.measure.case.measure`: made-up results, every call logged.

    Counts: ``params`` maps an attention name (None: the plain backbone) to (parameters,
    attention parameters), else 1000 and 10; FLOPs are ``flops`` (fvcore, all). Timings:
    ``rates`` maps an attention name to images/s (else 50), divided by ``train_slowdown`` in
    training; three samples 1% apart around it. ``interrupt_at`` raises KeyboardInterrupt at
    that call (1-based); the spec labelled ``fail_label`` raises a two-line RuntimeError.
    """

    params: Mapping[str | None, tuple[int, int]] = field(default_factory=dict)
    flops: tuple[int, int] = (5000, 5000)
    rates: Mapping[str | None, float] = field(default_factory=dict)
    train_slowdown: float = 1.0
    interrupt_at: int | None = None
    fail_label: str | None = None
    labels: list[str] = field(default_factory=list)

    def __call__(self, spec: CountSpec | BenchSpec) -> CountResult | BenchResult:
        self.labels.append(spec.label)
        if len(self.labels) == self.interrupt_at:
            raise KeyboardInterrupt
        if spec.label == self.fail_label:
            raise RuntimeError("shape mismatch\nC++ trace")
        attention = spec.workload.attention
        if isinstance(spec, CountSpec):
            params, attention_params = self.params.get(attention, (1000, 10))
            return CountResult(params=params, attention_params=attention_params,
                               flops=self.flops[0], flops_all=self.flops[1])
        rate = self.rates.get(attention, 50.0)
        if spec.mode == "train":
            rate /= self.train_slowdown
        samples = [spec.batch / (rate * f) for f in (0.99, 1.0, 1.01)]
        return BenchResult(images_per_sec=rate, images_per_sec_iqr=0.01 * rate,
                           step_ms_median=1e3 * spec.batch / rate, samples=samples,
                           batch=spec.batch)


M = TypeVar("M", bound=Callable[..., "CountResult | BenchResult"])


@overload
def install(monkeypatch: pytest.MonkeyPatch) -> FakeMeasure: ...


@overload
def install(monkeypatch: pytest.MonkeyPatch, fake: M) -> M: ...


def install(monkeypatch: pytest.MonkeyPatch, fake: Any = None) -> Any:
    """Make every case measured through :mod:`profiler.measure.case` use ``fake``, and every
    comparison group the suite runner times go through
    :class:`~tests.helpers.fake_groups.FakeGroups` over ``fake``."""
    from profiler.suites import runner
    from tests.helpers.fake_groups import FakeGroups

    fake = fake or FakeMeasure()
    monkeypatch.setattr(case, "measure", fake)
    monkeypatch.setattr(runner, "measure_planned_group", FakeGroups(fake))
    monkeypatch.setattr(runner, "default_probe", fake_probe)
    return fake


def fake_probe(specs: Sequence[Any], device: str) -> MachineProbe:
    """A probe that times nothing: the nominal machine, 1 GFLOP per image for every workload
    of ``specs``, a worker process in 2 s."""
    return MachineProbe(device=device, seconds_per_flop=NOMINAL_SECONDS_PER_FLOP,
                        worker_start_s=2.0, flops={s.workload.label: 1e9 for s in specs},
                        reference="fake", probe_s=0.0)
