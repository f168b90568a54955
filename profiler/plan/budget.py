"""The contract between the planner and the measuring layer: what one comparison group gets.

The planner (:mod:`profiler.plan`) decides it from a probe of this machine and the run's
budget; the measuring layer times a group under it and records what it actually used.
Torch-free.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_PROCESSES", "DEFAULT_ROUNDS_PER_BUILD", "GroupBudget"]

# processes per group when nobody planned one (bench --vs, a suite run without a plan)
DEFAULT_PROCESSES = 3
# rounds between two fresh builds of the members in a process: a build is the replicate
# unit (profiler.stats, "Two levels"), and its spread (3% on the README's CPU) dwarfs a
# round's (1%), so many short builds beat few long ones (Kalibera & Jones's optimum is
# about one round per build there); two rounds keep a within-build spread to estimate
DEFAULT_ROUNDS_PER_BUILD = 2


@dataclass(frozen=True)
class GroupBudget:
    """How one comparison group is timed.

    ``processes`` fresh worker processes time the group one after another (never at the same
    time: timing jobs must not share the cores); each builds and warms up every member, then
    runs interleaved rounds until its ratios converge, ``seconds_per_process`` of rounds are
    spent, or ``max_rounds_per_process`` rounds have run, after at least
    ``min_rounds_per_process``, building its members afresh every ``rounds_per_build``
    rounds. ``measure_memory`` says whether peak memory is measured.
    """

    processes: int
    seconds_per_process: float
    min_rounds_per_process: int
    max_rounds_per_process: int
    measure_memory: bool = True
    rounds_per_build: int = DEFAULT_ROUNDS_PER_BUILD

    def __post_init__(self) -> None:
        if self.processes < 1:
            raise ValueError("a group needs at least one process")
        if self.min_rounds_per_process < 1 or (
                self.max_rounds_per_process < self.min_rounds_per_process):
            raise ValueError("need 1 <= min_rounds_per_process <= max_rounds_per_process")
        if self.rounds_per_build < 1:
            raise ValueError("a build needs at least one round")
        if not self.seconds_per_process >= 0:
            raise ValueError("seconds_per_process must be >= 0")

    @classmethod
    def split(cls, group_time: float, min_rounds: int, max_rounds: int,
              processes: int = DEFAULT_PROCESSES) -> GroupBudget:
        """``processes`` processes sharing ``group_time`` seconds of rounds and the rounds
        bounds (at least 3 rounds each: half of the 6 a within-process interval needs)."""
        least = max(3, -(-min_rounds // processes))
        most = max(least, -(-max_rounds // processes))
        return cls(processes=processes, seconds_per_process=group_time / processes,
                   min_rounds_per_process=least, max_rounds_per_process=most)
