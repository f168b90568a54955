"""What interfered with a measurement, in words: the one-line warning of ``bench``,
``calibrate``, ``run``, ``gate`` and ``compare``, and the report's per-group share.

From the rounds' telemetry (:mod:`profiler.results.telemetry`), for example
``another process used 48% of the CPU during 9 of 31 rounds (left out of the ratios)``:
per cause, the rounds it disturbed, with the mean foreign CPU share (or steal share) over
those rounds, or the GPU's throttle reasons.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from statistics import fmean

from profiler.results.group import GroupResult
from profiler.results.telemetry import RoundTelemetry, mostly_disturbed
from profiler.stats import MIN_ROUNDS_FOR_INTERVAL
from profiler.telemetry.rounds import counted_rounds

__all__ = ["WARNING_PREFIX", "disturbance_lines", "disturbed_share", "interference",
           "interference_warning"]

WARNING_PREFIX = "attnprof: warning: "
_GPU_CAUSES = {"gpu_hw_slowdown": "hardware slowdown", "gpu_thermal": "thermal slowdown",
               "gpu_power_brake": "power brake"}


def _percent(value: float) -> str:
    return f"{100 * value:.0f}%"


def interference(telemetry: Sequence[RoundTelemetry], rounds: int | None = None) -> str | None:
    """The causes of the disturbed rounds among ``rounds`` (default: as many as
    ``telemetry``), joined by ``;``; None when no round was disturbed."""
    total = len(telemetry) if rounds is None else rounds
    parts: list[str] = []
    foreign = [t.cpu.foreign_share for t in telemetry if "foreign_cpu" in t.disturbed_by and t.cpu]
    if foreign:
        parts.append(f"another process used {_percent(fmean(foreign))} of the CPU during "
                     f"{len(foreign)} of {total} rounds")
    steal = [t.cpu.steal_share for t in telemetry if "steal" in t.disturbed_by and t.cpu]
    if steal:
        parts.append(f"the hypervisor stole {_percent(fmean(steal))} of the CPU during "
                     f"{len(steal)} of {total} rounds")
    gpu = [t for t in telemetry if any(d in _GPU_CAUSES for d in t.disturbed_by)]
    if gpu:
        causes = sorted({_GPU_CAUSES[d] for t in gpu for d in t.disturbed_by if d in _GPU_CAUSES})
        parts.append(f"the GPU was throttled ({', '.join(causes)}) during {len(gpu)} of "
                     f"{total} rounds")
    return "; ".join(parts) or None


def interference_warning(groups: Iterable[Sequence[RoundTelemetry]],
                         source: str = "") -> str | None:
    """One line over the rounds of every group (each given as its per-round telemetry: a
    :class:`~profiler.results.group.GroupResult`'s or a gate case's), None when nothing
    interfered; it ends with how disturbed rounds were treated and how many groups were
    mostly disturbed. ``source`` (a file) goes in front of the causes."""
    chosen = [list(g) for g in groups if g]
    text = interference([t for g in chosen for t in g], sum(len(g) for g in chosen))
    if text is None:
        return None
    masks = [[t.disturbed for t in g] for g in chosen]
    marked = sum(1 for m in masks if mostly_disturbed(m))
    kept = sum(1 for m in masks if any(d and c for d, c in zip(m, counted_rounds(m),
                                                                strict=True)))
    groups_text = f"of {len(chosen)} group{'s' if len(chosen) != 1 else ''}"
    tail = "disturbed rounds left out of the ratios"
    if marked:
        tail += f"; {marked} {groups_text} mostly disturbed"
    if kept:
        tail += (f"; {kept} {groups_text} had under {MIN_ROUNDS_FOR_INTERVAL} clean rounds: "
                 "their ratios use every round")
    where = f"{source}: " if source else ""
    return f"{WARNING_PREFIX}{where}{text} ({tail})"


def disturbed_share(group: GroupResult) -> str:
    """``9/31 (29%)``, ``9/31 (29%), mostly disturbed`` or ``no telemetry``."""
    if not group.telemetry:
        return "no telemetry"
    count, rounds = group.disturbed_rounds, group.rounds
    text = f"{count}/{rounds} ({_percent(count / rounds) if rounds else '0%'})"
    return f"{text}, mostly disturbed" if group.mostly_disturbed else text


def _group_name(group: GroupResult) -> str:
    names = "/".join(m.name for m in group.members)
    label = group.members[0].label if group.members else ""
    return f"{label} ({names})" if label else names


def disturbance_lines(groups: Sequence[GroupResult]) -> list[str]:
    """The report summary's lines: the share of disturbed rounds per group, then, when more
    than half of a group's rounds were disturbed, which groups (none: no groups)."""
    timed = [g for g in groups if g.status == "ok" and g.rounds]
    if not timed:
        return []
    if not any(g.telemetry for g in timed):
        return ["disturbed rounds: no telemetry (groups timed without per-round telemetry)"]
    shares = "; ".join(f"{_group_name(g)} {disturbed_share(g)}" for g in timed)
    lines = [f"disturbed rounds per comparison group (left out of the ratios): {shares}"]
    marked = [_group_name(g) for g in timed if g.mostly_disturbed]
    if marked:
        lines.append(f"**mostly disturbed** (more than half of the rounds; the machine was not "
                     f"quiet, distrust these ratios): {'; '.join(marked)}")
    return lines
