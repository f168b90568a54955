"""Comparison groups in a suite: the cases that differ only in what the report compares.

Timing cases that differ only in their attention (same backbone, input, mode, batch, dtype,
device, flags and budget), and single blocks at the same shape (same mode, batch, dtype,
...), form a group: the runner times each group's members together in interleaved rounds
(:mod:`profiler.rounds`) and records each member's throughput ratio to the
group's baseline (the plain backbone, else the first member) with its interval. A group of
one is timed alone, as are data-parallel (``nproc`` > 1) cases; count and breakdown cases are
never grouped. ``paired = false``
in a suite's ``[budget]`` (or ``[budget.<device>]``) times every case alone.

:func:`pairing_settings` turns a suite budget into the rounds engine's settings.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from profiler.rounds import PairingSettings
from profiler.spec import BenchSpec, BreakdownSpec, CountSpec
from profiler.suites.definition import Budget

__all__ = ["comparison_groups", "group_key", "pairing_settings"]


def group_key(spec: CountSpec | BenchSpec | BreakdownSpec) -> str | None:
    """What members of one group share: the spec without its attention (or block) and
    options. None for specs that are never grouped (counts, breakdowns, data-parallel runs)."""
    if not isinstance(spec, BenchSpec) or spec.nproc > 1:
        return None
    data: dict[str, Any] = spec.to_dict()
    workload = dict(data.pop("workload"))
    workload.pop("options", None)
    workload.pop("block" if spec.workload.is_block else "attention", None)
    return json.dumps({"workload": workload, **data}, sort_keys=True)


def comparison_groups(specs: Sequence[CountSpec | BenchSpec | BreakdownSpec]
                      ) -> list[list[int]]:
    """Positions of the members of every group of two or more, each group in spec order,
    groups in the order of their first member."""
    found: dict[str, list[int]] = {}
    for position, spec in enumerate(specs):
        key = group_key(spec)
        if key is not None:
            found.setdefault(key, []).append(position)
    return [members for members in found.values() if len(members) > 1]


def pairing_settings(budget: Budget) -> PairingSettings:
    """The rounds engine's settings from a suite budget (unset keys: the engine's defaults).
    Raises InvalidOptionError for inconsistent values (``max_rounds`` < ``min_rounds``)."""
    return PairingSettings.given(block_time=budget.block_time, min_rounds=budget.min_rounds,
                                 max_rounds=budget.max_rounds, group_time=budget.group_time,
                                 target_half_width=budget.target_half_width)
