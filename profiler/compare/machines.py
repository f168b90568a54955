"""Which machine measured a file, and whether two files came from the same one.

Throughput measured on two machines is not comparable (another CPU or GPU, another torch
build, another thread count all move it), while parameters and FLOPs are. ``attnprof
compare`` says so on the first line of its output when the machines differ.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from profiler.results.environment import Environment

__all__ = ["Machine", "differences", "machine_line", "mixed_machines"]


@dataclass(frozen=True)
class Machine:
    """What identifies a machine for timing ("" / 0: unknown, not compared)."""

    cpu: str = ""
    gpu: str = ""
    torch: str = ""
    threads: int = 0

    @classmethod
    def of_environment(cls, environment: Environment) -> Machine:
        gpu = environment.device_name if environment.device.startswith("cuda") else ""
        cpu = environment.cpu_model or ("" if gpu else environment.device_name)
        return cls(cpu=cpu, gpu=gpu, torch=environment.torch_version,
                   threads=environment.torch_threads)

    @classmethod
    def of_pytest_benchmark(cls, data: dict[str, Any]) -> Machine:
        info = data.get("machine_info") or {}
        cpu = info.get("cpu") or {}
        brand = cpu.get("brand_raw") or info.get("processor") or ""
        return cls(cpu=str(brand))


_NAMES = {"cpu": "CPU", "gpu": "GPU", "torch": "torch", "threads": "threads"}


def differences(a: Machine | None, b: Machine | None) -> tuple[str, ...]:
    """``CPU 'X' vs 'Y'``, ... for every field both machines know and that differs."""
    if a is None or b is None:
        return ()
    found = []
    for field in fields(Machine):
        left, right = getattr(a, field.name), getattr(b, field.name)
        if left and right and left != right:
            found.append(f"{_NAMES[field.name]} {left!r} vs {right!r}" if isinstance(left, str)
                         else f"{_NAMES[field.name]} {left} vs {right}")
    return tuple(found)


def mixed_machines(source: str, machines: tuple[str, ...]) -> tuple[str, ...]:
    """``SOURCE's cases come from 2 machines (a; b)`` when a cluster run's jobs ran on several
    machines (hostname or GPU/CPU model differ), for :func:`machine_line`."""
    if len(machines) < 2:
        return ()
    return (f"{source}'s cases come from {len(machines)} machines ({'; '.join(machines)})",)


def machine_line(found: tuple[str, ...]) -> str | None:
    """The first line of ``compare``'s output when the machines differ (None when not)."""
    if not found:
        return None
    return (f"different machines ({'; '.join(found)}): throughput is not comparable across "
            "machines; params and FLOPs still are")
