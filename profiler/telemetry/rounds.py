"""Which rounds count: the disturbed rule and the ratios on clean rounds. Torch-free.

**Disturbed** (:func:`disturbances`): a round is disturbed when

- other processes used at least :data:`FOREIGN_CPU_THRESHOLD` (10%) of the machine's CPU
  time during it (``/proc/stat`` busy time of all CPUs minus this process tree's own), or
- the hypervisor stole at least :data:`STEAL_THRESHOLD` (2%) of it, or
- NVML reported a hardware slowdown, a (software or hardware) thermal slowdown or the power
  brake during it (:data:`DISTURBING_REASONS`). A software power cap alone is not a
  disturbance: a GPU at full load commonly runs at its power limit.

Rounds shorter than :data:`MIN_JUDGED_WALL` (0.2 s) are not judged on the CPU: the kernel
counts CPU time in ticks (10 ms), and the two counts compared (the machine's and this
process's) may each be off by a tick or so per CPU: under 5% of a 0.2 s round, too much for
shorter ones.

**Which rounds count** (:func:`counted_rounds`): the clean ones, when there are at least
:data:`~profiler.stats.MIN_ROUNDS_FOR_INTERVAL` of them; otherwise every round (the
estimate cannot leave out what it has no replacement for; the group is then marked, as it
is whenever more than half of its rounds are disturbed: :func:`mostly_disturbed`).
:func:`counted_ratios` is the one place per-round ratios are taken for estimates and for the
rounds engine's stopping rule.
"""

from __future__ import annotations

from collections.abc import Sequence

from profiler.results.telemetry import CpuRound, GpuRound, mostly_disturbed
from profiler.stats import MIN_ROUNDS_FOR_INTERVAL, block_rate

__all__ = ["DISTURBING_REASONS", "FOREIGN_CPU_THRESHOLD", "MIN_JUDGED_WALL", "REASON_BITS",
           "STEAL_THRESHOLD", "clean_count", "counted_blocks", "counted_ratios", "counted_rounds",
           "disturbances", "mostly_disturbed", "reason_names"]

FOREIGN_CPU_THRESHOLD = 0.10
STEAL_THRESHOLD = 0.02
MIN_JUDGED_WALL = 0.2

# NVML's clocks-event reasons (nvml.h, nvmlClocksEventReason*).
REASON_BITS: dict[int, str] = {
    0x1: "gpu_idle", 0x2: "applications_clocks_setting", 0x4: "sw_power_cap",
    0x8: "hw_slowdown", 0x10: "sync_boost", 0x20: "sw_thermal_slowdown",
    0x40: "hw_thermal_slowdown", 0x80: "hw_power_brake_slowdown",
    0x100: "display_clock_setting",
}
DISTURBING_REASONS: dict[int, str] = {0x8: "gpu_hw_slowdown", 0x20: "gpu_thermal",
                                      0x40: "gpu_thermal", 0x80: "gpu_power_brake"}


def reason_names(bits: int) -> tuple[str, ...]:
    """NVML's names of the reason bits set in ``bits`` (unknown bits as hex)."""
    names = [name for bit, name in REASON_BITS.items() if bits & bit]
    unknown = bits & ~sum(REASON_BITS)
    return (*names, *([hex(unknown)] if unknown else []))


def disturbances(cpu: CpuRound | None, gpu: GpuRound | None) -> tuple[str, ...]:
    """What disturbed a round (codes of :data:`profiler.results.telemetry.DISTURBANCES`)."""
    found: list[str] = []
    if cpu is not None and cpu.wall_s >= MIN_JUDGED_WALL:
        if cpu.foreign_share >= FOREIGN_CPU_THRESHOLD:
            found.append("foreign_cpu")
        if cpu.steal_share >= STEAL_THRESHOLD:
            found.append("steal")
    if gpu is not None:
        for bit, code in DISTURBING_REASONS.items():
            if gpu.reasons & bit and code not in found:
                found.append(code)
    return tuple(found)


def clean_count(disturbed: Sequence[bool]) -> int:
    return sum(1 for d in disturbed if not d)


def counted_rounds(disturbed: Sequence[bool]) -> tuple[bool, ...]:
    """Per round, whether it counts (see the module doc)."""
    if clean_count(disturbed) >= MIN_ROUNDS_FOR_INTERVAL:
        return tuple(not d for d in disturbed)
    return tuple(True for _ in disturbed)


Block = tuple[float, ...] | None


def counted_blocks(times: Sequence[Block], disturbed: Sequence[bool]) -> tuple[Block, ...]:
    """``times`` (a member's blocks, one per round) with the rounds that do not count left out
    (None), by :func:`counted_rounds` over the whole group's ``disturbed`` flags: when fewer
    than :data:`~profiler.stats.MIN_ROUNDS_FOR_INTERVAL` rounds are clean, every round counts.
    ``disturbed`` shorter than ``times``: the rest count as clean."""
    flags = list(disturbed)[: len(times)]
    counts = counted_rounds([*flags, *([False] * (len(times) - len(flags)))])
    return tuple(block if keep else None for block, keep in zip(times, counts, strict=True))


def counted_ratios(member: Sequence[Block], baseline: Sequence[Block], member_batch: int,
                   baseline_batch: int, disturbed: Sequence[bool] | None = None) -> list[float]:
    """Per-round throughput ratios member / baseline over the rounds that count (both ran
    and, with ``disturbed``, :func:`counted_rounds` keeps it). ``disturbed`` shorter than the
    rounds: the rest count as clean; None: every round counts (the all-rounds diagnostic)."""
    if len(member) != len(baseline):
        raise ValueError("both members need one entry per round")
    flags = disturbed or ()
    return [block_rate(m, member_batch) / block_rate(b, baseline_batch)
            for m, b in zip(counted_blocks(member, flags), counted_blocks(baseline, flags),
                            strict=True) if m and b]
