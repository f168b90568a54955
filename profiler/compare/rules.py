"""Regression rules as data: ``METRIC:LIMIT`` strings parsed into :class:`Rule`.

Forms (the sign says which way is bad and must match the metric's direction):

- ``images_per_sec:-5%``: a higher-is-better metric may drop by at most 5%;
- ``step_ms_median:+10%``: a lower-is-better metric may rise by at most 10%;
- ``peak_memory_bytes:+50MB``, ``step_ms_median:+2``: absolute limits, in the metric's unit
  (byte suffixes B, KB, MB, GB = 10^3.., KiB, MiB, GiB = 2^10..);
- ``params:0`` (or ``params:+0``): exact metrics have no better direction, the limit bounds
  the size of any change; ``params:1%`` allows a change of up to 1% either way;
- ``METRIC:off`` switches a default rule off.

Default rules (:data:`DEFAULT_RULES`): every exact metric exact (``params``,
``attention_params``, ``flops``, ``flops_all``: ``+0``), ``images_per_sec:-5%`` and, for
pytest-benchmark files, ``median:+5%``. A ``--fail-on`` rule replaces the default of its
metric; the other defaults stay.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from profiler.compare.metrics import Metric, metric
from profiler.errors import InvalidOptionError
from profiler.units import BYTE_UNITS

__all__ = ["DEFAULT_RULES", "Rule", "parse_rule", "resolve_rules"]

DEFAULT_RULES: tuple[str, ...] = ("params:+0", "attention_params:+0", "flops:+0",
                                  "flops_all:+0", "images_per_sec:-5%", "median:+5%")
_LIMIT = re.compile(r"^(?P<sign>[+-]?)(?P<number>\d+(?:\.\d*)?|\.\d+)\s*(?P<unit>%|[A-Za-z]*)$")
_FORMS = "METRIC:-5% (may drop 5%), METRIC:+10% (may rise 10%), METRIC:+50MB, METRIC:0 or " \
         "METRIC:off"


@dataclass(frozen=True)
class Rule:
    """How far ``metric`` may move in its bad direction before it is a regression.

    ``limit`` is a fraction when ``relative`` (0.05 = 5%), else an amount in the metric's
    unit; ``enabled`` False switches the metric's gate off.
    """

    metric: str
    limit: float
    relative: bool
    text: str
    enabled: bool = True

    @property
    def info(self) -> Metric:
        return metric(self.metric)

    def describe(self) -> str:
        """The rule as shown in tables: ``-5%``, ``+0`` (exact), ``±1%``, ``+52428800``."""
        direction = self.info.direction
        sign = {"higher": "-", "lower": "+", "exact": "±"}[direction]
        if direction == "exact" and self.limit == 0:
            return "exact"
        amount = f"{100 * self.limit:g}%" if self.relative else f"{self.limit:g}"
        return f"{sign}{amount}"


def _malformed(text: str, why: str) -> InvalidOptionError:
    return InvalidOptionError(f"malformed rule {text!r}: {why}; expected {_FORMS}")


def parse_rule(text: str) -> Rule:
    """Parse ``METRIC:LIMIT`` (see the module docstring)."""
    name, sep, limit = text.partition(":")
    name, limit = name.strip(), limit.strip()
    if not sep or not name or not limit:
        raise _malformed(text, "no METRIC:LIMIT")
    info = metric(name)
    canonical = info.name
    if limit.lower() == "off":
        return Rule(canonical, 0.0, True, text, enabled=False)
    match = _LIMIT.match(limit)
    if match is None:
        raise _malformed(text, f"cannot read the limit {limit!r}")
    sign, unit = match["sign"], match["unit"]
    amount = float(match["number"])
    relative = unit == "%"
    if relative:
        amount /= 100.0
    elif info.unit == "B":
        if unit.lower() not in BYTE_UNITS:
            raise _malformed(text, f"unknown size unit {unit!r} (B, KB, MB, GB, KiB, MiB, GiB)")
        amount *= BYTE_UNITS[unit.lower()]
    elif unit:
        raise _malformed(text, f"{canonical} takes a percentage or a plain number in "
                         f"{info.unit or 'its unit'}, not {unit!r}")
    wrong = {"higher": "+", "lower": "-"}.get(info.direction)
    if sign and sign == wrong:
        verb, good = ("drop", "-") if info.direction == "higher" else ("rise", "+")
        raise _malformed(text, f"{canonical} is {info.direction}-is-better, so its limit is "
                         f"how far it may {verb}: write {canonical}:{good}{limit.lstrip('+-')}")
    if relative and info.direction == "higher" and amount > 1:
        raise _malformed(text, f"{canonical} cannot drop by more than 100%; give a limit "
                         "between 0% and 100%")
    return Rule(canonical, amount, relative, text)


def resolve_rules(texts: Sequence[str],
                  defaults: Sequence[str] = DEFAULT_RULES) -> tuple[Rule, ...]:
    """The rules in force: the defaults, each replaced by a given rule for the same metric."""
    given = [parse_rule(t) for t in texts]
    names = [r.metric for r in given]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise InvalidOptionError(f"two --fail-on rules for {duplicate!r}; give one per metric")
    rules = {r.metric: r for r in (parse_rule(t) for t in defaults)}
    rules.update({r.metric: r for r in given})
    return tuple(r for r in rules.values() if r.enabled)

