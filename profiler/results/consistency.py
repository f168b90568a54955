"""Check that a result file agrees with itself, after its fields have been checked one by one.

:mod:`profiler.results.validate` checks each field's kind and range; a file can pass that and
still contradict itself (a hand edit, a bad merge, a bug in another tool): the same case
twice, a comparison group whose member is not the case it names, a ratio outside its own
interval. Such a file would drive a report's verdicts or a gate's decision with exit 0, so
every loader (report, compare, merge, ``run --resume``, ``calibrate --into``) refuses it
through :func:`check_consistency`, called at the end of
:func:`~profiler.results.validate.validate_result_data`: one line naming the file, the case
or group, and the field (:class:`~profiler.errors.ResultFileError`, exit 2).

The rules:

- case ids are unique, and so are group ids; a case that is not ``ok`` says why (``error``);
- a count's ``attention_params`` is at most its ``params``;
- a group's members are distinct cases of the file (comparison groups; a calibration has no
  case records), each member matching its case: the member's ``label`` is the case's label
  (model, attention, mode, batch, dtype, device) and its ``batch`` the case's (requested or
  measured); a case in a group names that group;
- a ratio names a member other than the baseline, with that member's case id; its estimate
  lies inside its interval, the interval is ordered (``ci_low <= ci_high``), and it paired at
  most the group's rounds;
- ``rounds`` equals the number of ``orders``, every member has one entry of ``times`` per
  round (or none at all), and each order names distinct members;
- an ``ok`` timing has a throughput above 0; only a breakdown's ``unattributed`` part may
  take negative time;
- ``confidence`` lies strictly between 0 and 1 (where a group has ratios), and times are not
  negative.

Nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from profiler.errors import ResultFileError

__all__ = ["check_consistency"]

# Ratios and interval ends are stored as floats from the same computation: a bound may differ
# from the estimate in the last bits only.
_TOLERANCE = 1e-9
UNATTRIBUTED = "unattributed"  # the one breakdown part that may be < 0 (overlapping kernels)


def _fail(source: str, where: str, field: str, why: str) -> None:
    raise ResultFileError(f"{source}: {where}: field {field!r}: {why}")


def _case_where(position: int, case: Mapping[str, Any]) -> str:
    return f"case {position + 1} ({case.get('case_id')})"


def _case_label(case: Mapping[str, Any]) -> str | None:
    """The label the case's spec gives (None when it cannot be rebuilt here)."""
    from profiler.spec import BenchSpec, BreakdownSpec, CountSpec

    kinds = {"bench": BenchSpec, "count": CountSpec, "breakdown": BreakdownSpec}
    spec_type = kinds.get(case.get("kind", ""))
    if spec_type is None:
        return None
    try:
        return str(spec_type.from_dict(case["spec"]).label)
    except (Exception, SystemExit):  # an older spec this version cannot rebuild: not checked
        return None


def _check_cases(cases: Sequence[Mapping[str, Any]], source: str) -> dict[str, Mapping[str, Any]]:
    by_id: dict[str, Mapping[str, Any]] = {}
    for position, case in enumerate(cases):
        where = _case_where(position, case)
        case_id = case.get("case_id")
        if isinstance(case_id, str) and case_id in by_id:
            _fail(source, where, "case_id", f"{case_id!r} appears twice in the file; a case id "
                  "names one case (merge keeps one record per case)")
        if case.get("status", "ok") != "ok" and not case.get("error"):
            _fail(source, where, "error", f"the case is {case.get('status')!r} but says no why")
        result = case.get("result") or {}
        if case.get("kind") == "count" and "params" in result and "attention_params" in result \
                and result["attention_params"] > result["params"]:
            _fail(source, where, "result.attention_params",
                  f"{result['attention_params']} exceeds params {result['params']}")
        _check_result(case, result, source, where)
        if isinstance(case_id, str):
            by_id[case_id] = case
    return by_id


def _check_result(case: Mapping[str, Any], result: Mapping[str, Any], source: str,
                  where: str) -> None:
    """An ``ok`` timing measured something; a breakdown's parts take no negative time."""
    if case.get("status", "ok") != "ok":
        return
    if case.get("kind") == "bench":
        for name in ("images_per_sec", "step_ms_median"):
            if result.get(name) == 0:
                _fail(source, where, f"result.{name}", "an 'ok' timing cannot be 0")
    for p, part in enumerate(result.get("parts") or [] if case.get("kind") == "breakdown"
                             else []):
        if part.get("part") != UNATTRIBUTED and part.get("ms", 0) < 0:
            _fail(source, where, f"result.parts[{p}].ms", f"{part['ms']:g}: only the "
                  f"{UNATTRIBUTED!r} part may be negative")


def _check_member(group: Mapping[str, Any], m: int, cases: Mapping[str, Mapping[str, Any]],
                  source: str, where: str) -> None:
    member = group["members"][m]
    case = cases.get(member.get("case_id"))
    if case is None:
        _fail(source, where, f"members[{m}].case_id", f"{member.get('case_id')!r} is not a case "
              "of this file")
        return
    label = _case_label(case)
    if member.get("label") and label is not None and member["label"] != label:
        _fail(source, where, f"members[{m}].label", f"{member['label']!r} but its case "
              f"{member['case_id']} is {label!r}")
    batches = {case.get("spec", {}).get("batch"), (case.get("result") or {}).get("batch")}
    if member.get("batch") and member["batch"] not in batches:
        _fail(source, where, f"members[{m}].batch", f"{member['batch']} but its case "
              f"{member['case_id']} ran at batch "
              f"{'/'.join(str(b) for b in sorted(b for b in batches if b is not None))}")
    if case.get("group_id") not in (None, group.get("group_id")):
        _fail(source, where, f"members[{m}].case_id", f"its case {member['case_id']} belongs "
              f"to group {case.get('group_id')!r}")


def _check_ratio(group: Mapping[str, Any], k: int, source: str, where: str) -> None:
    ratio = group["ratios"][k]
    members = group.get("members") or []
    index = ratio["member"]
    if index == group.get("baseline", 0):
        _fail(source, where, f"ratios[{k}].member", f"{index} is the baseline")
    if ratio.get("case_id") and ratio["case_id"] != members[index].get("case_id"):
        _fail(source, where, f"ratios[{k}].case_id", f"{ratio['case_id']!r} but member {index} "
              f"is {members[index].get('case_id')!r}")
    value, low, high = ratio.get("throughput_ratio"), ratio.get("ci_low"), ratio.get("ci_high")
    if low is not None and high is not None and low > high:
        _fail(source, where, f"ratios[{k}].ci_low", f"{low:g} is above ci_high {high:g}")
    if value is not None and low is not None and value < low * (1 - _TOLERANCE):
        _fail(source, where, f"ratios[{k}].throughput_ratio",
              f"{value:g} lies below its interval [{low:g}, {high}]")
    if value is not None and high is not None and value > high * (1 + _TOLERANCE):
        _fail(source, where, f"ratios[{k}].throughput_ratio",
              f"{value:g} lies above its interval [{low}, {high:g}]")
    rounds = len(group.get("orders") or [])
    if ratio.get("rounds", 0) > rounds:
        _fail(source, where, f"ratios[{k}].rounds", f"{ratio['rounds']} but the group ran "
              f"{rounds} rounds")


def _check_rounds(group: Mapping[str, Any], source: str, where: str) -> None:
    orders = group.get("orders") or []
    members = group.get("members") or []
    if "rounds" in group and group["rounds"] != len(orders):
        _fail(source, where, "rounds", f"{group['rounds']} but 'orders' lists {len(orders)}")
    for r, order in enumerate(orders):
        if not isinstance(order, list) or any(
                isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(members)
                for i in order) or len(set(order)) != len(order):
            _fail(source, where, f"orders[{r}]", f"expected distinct member indices below "
                  f"{len(members)}, got {order!r}")
    for m, member in enumerate(members):
        times = member.get("times") or []
        if times and len(times) != len(orders):
            _fail(source, where, f"members[{m}].times", f"{len(times)} rounds of times but the "
                  f"group ran {len(orders)}")
        if member.get("status", "ok") != "ok" and not member.get("error"):
            _fail(source, where, f"members[{m}].error",
                  f"the member is {member.get('status')!r} but says no why")


def _check_group(group: Mapping[str, Any], position: int, cases: Mapping[str, Mapping[str, Any]],
                 source: str) -> None:
    where = f"group {position + 1} ({group.get('group_id')})"
    members = group.get("members") or []
    ids = [m.get("case_id") for m in members]
    comparison = group.get("kind", "comparison") == "comparison"  # a calibration: A and A'
    if comparison and len(set(ids)) != len(ids):
        _fail(source, where, "members", "a case appears twice among the members")
    if comparison and cases:
        for m in range(len(members)):
            _check_member(group, m, cases, source, where)
    _check_rounds(group, source, where)
    ratios = group.get("ratios") or []
    confidence = group.get("confidence")
    if ratios and confidence is not None and not 0.0 < confidence < 1.0:
        _fail(source, where, "confidence", f"expected a level strictly between 0 and 1, got "
              f"{confidence:g}")
    for k in range(len(ratios)):
        _check_ratio(group, k, source, where)
    for name in ("duration_s", "warmup_s", "rounds_s"):
        if (group.get(name) or 0) < 0:
            _fail(source, where, name, f"a time cannot be negative, got {group[name]:g}")


def check_consistency(data: Mapping[str, Any], source: str) -> None:
    """Refuse a result file (already checked field by field) that contradicts itself; see the
    module doc for the rules."""
    cases = _check_cases(data.get("cases") or [], source)
    seen: set[str] = set()
    for position, group in enumerate(data.get("groups") or []):
        group_id = group.get("group_id")
        if group_id in seen:
            _fail(source, f"group {position + 1} ({group_id})", "group_id",
                  f"{group_id!r} appears twice in the file")
        seen.add(group_id)
        _check_group(group, position, cases, source)
