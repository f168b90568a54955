"""What the machine did during each round of a comparison group: the telemetry record.

Plain data, written by :mod:`profiler.telemetry` (which also holds the rule that
calls a round *disturbed*) and read back without torch and without the measuring side.

- :class:`CpuRound`: over the round's wall time, the CPU time this process (and its child
  processes) used, what its usable CPUs could have given it, the CPU time every *other*
  process on the machine used (``/proc/stat`` busy time minus this process tree's), the
  hypervisor's steal time, and the mean CPU frequency read at the round's end.
- :class:`GpuRound`: NVML samples taken during the round: SM and memory clocks (min and
  median), power (median), temperature (max), the OR of the clocks-event-reason bits, and
  how many other processes had a compute context on the device.
- :class:`RoundTelemetry`: both (either may be None: not measured), what disturbed the round
  (``disturbed_by``, codes of :data:`DISTURBANCES`; empty: a clean round) and the sampling's
  own cost in seconds.

A group written before telemetry has none: its rounds count as clean ("no telemetry").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

__all__ = ["DISTURBANCES", "CpuRound", "GpuRound", "RoundTelemetry", "disturbed_mask",
           "mostly_disturbed"]

# foreign_cpu: other processes used more than the threshold share of the machine's CPU time;
# steal: the hypervisor took more than its threshold; gpu_*: NVML's clocks-event reasons.
DISTURBANCES: tuple[str, ...] = ("foreign_cpu", "steal", "gpu_hw_slowdown", "gpu_thermal",
                                 "gpu_power_brake")


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class CpuRound:
    """CPU figures of one round, in seconds of CPU time (see the module doc).
    ``machine_cpu_s`` is the whole machine's capacity over the round (every CPU's ticks)."""

    wall_s: float
    own_cpu_s: float
    own_capacity_s: float
    foreign_cpu_s: float
    steal_s: float
    machine_cpu_s: float
    freq_mhz: float | None = None

    @property
    def foreign_share(self) -> float:
        """Other processes' CPU time over the machine's capacity (0 when unknown)."""
        return self.foreign_cpu_s / self.machine_cpu_s if self.machine_cpu_s > 0 else 0.0

    @property
    def steal_share(self) -> float:
        return self.steal_s / self.machine_cpu_s if self.machine_cpu_s > 0 else 0.0

    @property
    def own_share(self) -> float:
        """This process's CPU time over what its usable CPUs could have given it."""
        return self.own_cpu_s / self.own_capacity_s if self.own_capacity_s > 0 else 0.0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CpuRound:
        return cls(**{f.name: _number(data.get(f.name)) if f.name == "freq_mhz"
                      else float(data.get(f.name) or 0.0) for f in fields(cls)})


@dataclass(frozen=True)
class GpuRound:
    """NVML figures of one round (None: NVML could not say). ``reasons`` is the OR of the
    clocks-event-reason bitmask over the round's samples."""

    samples: int
    sm_clock_min_mhz: float | None = None
    sm_clock_median_mhz: float | None = None
    mem_clock_min_mhz: float | None = None
    mem_clock_median_mhz: float | None = None
    power_w: float | None = None
    temperature_c: float | None = None
    reasons: int = 0
    other_processes: int = 0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GpuRound:
        numbers = {f.name: _number(data.get(f.name)) for f in fields(cls)
                   if f.name not in ("samples", "reasons", "other_processes")}
        return cls(samples=int(data.get("samples") or 0), reasons=int(data.get("reasons") or 0),
                   other_processes=int(data.get("other_processes") or 0), **numbers)


@dataclass(frozen=True)
class RoundTelemetry:
    """One round's telemetry and verdict (see the module doc)."""

    cpu: CpuRound | None = None
    gpu: GpuRound | None = None
    disturbed_by: tuple[str, ...] = ()
    cost_s: float = 0.0

    @property
    def disturbed(self) -> bool:
        return bool(self.disturbed_by)

    def to_dict(self) -> dict[str, Any]:
        return {"cpu": None if self.cpu is None else asdict(self.cpu),
                "gpu": None if self.gpu is None else asdict(self.gpu),
                "disturbed_by": list(self.disturbed_by), "cost_s": self.cost_s}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RoundTelemetry:
        cpu, gpu = data.get("cpu"), data.get("gpu")
        return cls(cpu=None if cpu is None else CpuRound.from_dict(cpu),
                   gpu=None if gpu is None else GpuRound.from_dict(gpu),
                   disturbed_by=tuple(str(d) for d in data.get("disturbed_by") or ()),
                   cost_s=float(data.get("cost_s") or 0.0))


def disturbed_mask(telemetry: Sequence[RoundTelemetry], rounds: int) -> tuple[bool, ...]:
    """Per round, whether it was disturbed; rounds without telemetry (older files, a group
    timed with telemetry off) count as clean."""
    flags = [t.disturbed for t in telemetry[:rounds]]
    return (*flags, *([False] * (rounds - len(flags))))


def mostly_disturbed(disturbed: Sequence[bool]) -> bool:
    """More than half of the rounds disturbed: the group is marked."""
    return sum(1 for d in disturbed if d) > len(disturbed) / 2
