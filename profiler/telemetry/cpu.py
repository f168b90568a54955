"""CPU telemetry of one round, read from ``/proc`` (Linux; psutil is not needed). Torch-free.

:class:`CpuSampler` reads, at a round's start and end:

- ``/proc/stat``'s ``cpu`` line: every CPU's ticks (user, nice, system, idle, iowait, irq,
  softirq, steal); busy = user + nice + system + irq + softirq (guest time is inside user);
- this process tree's CPU ticks: ``utime + stime + cutime + cstime`` of ``/proc/self/stat``
  (``cutime``/``cstime``: children already waited for) plus ``utime + stime`` of every live
  descendant (``/proc/<pid>/task/<tid>/children``), so that worker processes a member drives
  count as this process's own, not as foreign;
- the CPU frequency: the mean of ``/sys/devices/system/cpu/cpu*/cpufreq/scaling_cur_freq``
  where the kernel exposes it, else of ``/proc/cpuinfo``'s ``cpu MHz`` lines, else None;

and gives a :class:`~profiler.results.telemetry.CpuRound`: foreign CPU = machine busy minus
this tree's own, clamped at 0. ``capacity`` is the CPUs this process may run on
(``os.sched_getaffinity``). Where ``/proc/stat`` cannot be read, :func:`cpu_sampler` says why
and returns None.
"""

from __future__ import annotations

import os
from pathlib import Path
from statistics import fmean

from profiler.results.telemetry import CpuRound

__all__ = ["CpuSampler", "CpuSnapshot", "cpu_sampler", "frequency_source", "read_snapshot"]

_PROC = Path("/proc")
_SYS_CPU = Path("/sys/devices/system/cpu")


class CpuSnapshot:
    """Cumulative counters at one instant (ticks) and the wall clock (seconds)."""

    __slots__ = ("busy", "own", "steal", "total", "wall")

    def __init__(self, wall: float, total: int, busy: int, steal: int, own: int) -> None:
        self.wall, self.total, self.busy, self.steal, self.own = wall, total, busy, steal, own


def _machine_ticks(proc: Path) -> tuple[int, int, int]:
    """(total, busy, steal) ticks of all CPUs from ``/proc/stat``."""
    with open(proc / "stat", "rb") as handle:
        fields = handle.readline().split()
    user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
    busy = user + nice + system + irq + softirq
    return busy + idle + iowait + steal, busy, steal


def _stat_fields(path: Path) -> list[bytes] | None:
    try:
        text = path.read_bytes()
    except OSError:
        return None  # the process ended between listing and reading
    return text[text.rfind(b")") + 2:].split()  # after "pid (comm) "


def _children(proc: Path, pid: str) -> list[str]:
    found: list[str] = []
    try:
        for task in (proc / pid / "task").iterdir():
            found.extend((task / "children").read_text().split())
    except OSError:
        pass
    return found


def _own_ticks(proc: Path, pid: str) -> int:
    """This process's ticks (with waited-for children) plus its live descendants'."""
    mine = _stat_fields(proc / pid / "stat")
    total = sum(int(v) for v in mine[11:15]) if mine else 0  # utime stime cutime cstime
    todo = _children(proc, pid)
    while todo:
        child = todo.pop()
        fields = _stat_fields(proc / child / "stat")
        if fields:
            total += int(fields[11]) + int(fields[12])
        todo.extend(_children(proc, child))
    return total


def read_snapshot(wall: float, proc: Path = _PROC, pid: str = "self") -> CpuSnapshot:
    total, busy, steal = _machine_ticks(proc)
    return CpuSnapshot(wall, total, busy, steal, _own_ticks(proc, pid))


def _frequency_reader() -> tuple[str, list[Path]]:
    files = sorted(_SYS_CPU.glob("cpu[0-9]*/cpufreq/scaling_cur_freq"))
    if files:
        return "sysfs", files
    return ("cpuinfo", [_PROC / "cpuinfo"]) if (_PROC / "cpuinfo").exists() else ("none", [])


def frequency_source() -> str:
    """Where the CPU frequency is read: ``sysfs``, ``cpuinfo`` or ``none``."""
    return _frequency_reader()[0]


def _read_frequency(kind: str, files: list[Path]) -> float | None:
    try:
        if kind == "sysfs":
            return fmean(int(f.read_text()) / 1000.0 for f in files)  # kHz
        if kind == "cpuinfo":
            values = [float(line.split(":", 1)[1]) for line in files[0].read_text().splitlines()
                      if line.startswith("cpu MHz")]
            return fmean(values) if values else None
    except (OSError, ValueError):
        return None
    return None


class CpuSampler:
    """Reads a :class:`CpuSnapshot` at ``begin()`` and the round's figures at ``end()``."""

    def __init__(self, proc: Path = _PROC, pid: str = "self") -> None:
        self.proc, self.pid = proc, pid
        self.tick = float(os.sysconf("SC_CLK_TCK"))
        self.capacity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
            else (os.cpu_count() or 1)
        self.frequency = _frequency_reader()
        self._start: CpuSnapshot | None = None

    def begin(self, wall: float) -> None:
        self._start = read_snapshot(wall, self.proc, self.pid)

    def end(self, wall: float) -> CpuRound | None:
        if self._start is None:
            return None
        first, last = self._start, read_snapshot(wall, self.proc, self.pid)
        self._start = None
        own = max(0, last.own - first.own)
        busy = max(0, last.busy - first.busy)
        seconds = (last.wall - first.wall)
        return CpuRound(wall_s=seconds, own_cpu_s=own / self.tick,
                        own_capacity_s=seconds * self.capacity,
                        foreign_cpu_s=max(0, busy - own) / self.tick,
                        steal_s=max(0, last.steal - first.steal) / self.tick,
                        machine_cpu_s=max(0, last.total - first.total) / self.tick,
                        freq_mhz=_read_frequency(*self.frequency))


def cpu_sampler(proc: Path = _PROC) -> tuple[CpuSampler | None, str | None]:
    """A sampler, or None and why there is none (no readable ``/proc/stat``)."""
    try:
        sampler = CpuSampler(proc)
        read_snapshot(0.0, proc)
    except (OSError, ValueError, IndexError) as exc:
        return None, f"cpu: /proc/stat not readable ({type(exc).__name__}: {exc})"
    return sampler, None
