"""Check a parsed result file (or pytest-benchmark JSON) field by field, before anyone uses it.

``attnprof compare``, ``report``, ``merge`` and ``run --resume`` read files that CI jobs,
crashed runs or people wrote. Every one of them goes through :func:`validate_result_data`
(attnprof result files, called by :meth:`~profiler.results.envelope.ResultFile.from_dict`) or
:func:`validate_pytest_benchmark` before a single value is used, so that a NaN throughput, a
negative time, a string where a number belongs or an ``ok`` case without a result is one
line naming the file, the case and the field (:class:`~profiler.errors.ResultFileError`,
exit 2), never a traceback and never a silent pass.

The rules are data: each table lists a record's fields as :class:`Field` (kind, required,
nullable, smallest value, allowed values, element kind). Numbers must be finite and at
least ``minimum`` (0 unless a field says otherwise); ``bool`` is not a number. Unknown fields
are allowed (files written by newer versions keep loading); a field added to a record is one
more row in its table. Cross-field rules (an ``ok`` case has a result; a result matches its
kind) live in :func:`validate_result_data`, and the rules of a file agreeing with itself
(unique ids, groups matching their cases, ratios inside their intervals) in
:mod:`profiler.results.consistency`.

Nothing here imports torch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NoReturn

from profiler.errors import ResultFileError
from profiler.results.consistency import check_consistency
from profiler.results.group import GROUP_KINDS, GROUP_STATUSES, PRIOR_SOURCES, VARIANCE_SOURCES
from profiler.results.jobs import JOB_STATUSES
from profiler.results.telemetry import DISTURBANCES

__all__ = [
    "BENCH_RESULT_FIELDS",
    "BENCH_SPEC_FIELDS",
    "BREAKDOWN_RESULT_FIELDS",
    "BREAKDOWN_SPEC_FIELDS",
    "CASE_FIELDS",
    "COUNT_RESULT_FIELDS",
    "COUNT_SPEC_FIELDS",
    "FILE_FIELDS",
    "GATE_FIELDS",
    "GROUP_FIELDS",
    "JOB_FIELDS",
    "Field",
    "check_fields",
    "validate_gate_data",
    "validate_pytest_benchmark",
    "validate_result_data",
]

Kind = Literal["int", "number", "string", "bool", "list", "object", "any"]

_KIND_TEXT = {"int": "an integer", "number": "a finite number", "string": "a string",
              "bool": "true or false", "list": "a list", "object": "an object", "any": "a value"}


@dataclass(frozen=True)
class Field:
    """One field of a record and what its value may be.

    ``items`` is the kind of a list's elements or of an object's values (``any``: not
    checked); ``fields`` the table of each element (a list of objects) or of the value (an
    object); ``minimum`` bounds numbers (None: unbounded); ``choices`` lists allowed strings.
    """

    name: str
    kind: Kind
    required: bool = False
    nullable: bool = False
    minimum: float | None = 0
    choices: tuple[str, ...] = ()
    items: Kind = "any"
    fields: tuple[Field, ...] = ()


def _show(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    text = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
    return text if len(text) <= 40 else text[:39] + "…"


def _kind_error(value: Any, kind: Kind, minimum: float | None) -> str | None:
    """Why ``value`` is not of ``kind`` (None when it is)."""
    if kind == "any":
        return None
    numeric = kind in ("int", "number")
    if numeric:
        ok_type = (isinstance(value, int) if kind == "int" else isinstance(value, (int, float)))
        if isinstance(value, bool) or not ok_type or \
                (isinstance(value, float) and not math.isfinite(value)):
            bound = "" if minimum is None else f" >= {minimum:g}"
            return f"expected {_KIND_TEXT[kind]}{bound}, got {_show(value)}"
        if minimum is not None and value < minimum:
            return f"expected {_KIND_TEXT[kind]} >= {minimum:g}, got {_show(value)}"
        return None
    expected = {"string": str, "bool": bool, "list": list, "object": dict}[kind]
    if not isinstance(value, expected):
        return f"expected {_KIND_TEXT[kind]}, got {_show(value)}"
    return None


def _check_value(value: Any, spec: Field, path: str, fail: Fail) -> None:
    why = _kind_error(value, spec.kind, spec.minimum)
    if why is not None:
        fail(path, why)
    if spec.choices and value not in spec.choices:
        fail(path, f"expected one of {', '.join(spec.choices)}, got {_show(value)}")
    if spec.kind == "list":
        for i, item in enumerate(value):
            _check_item(item, spec, f"{path}[{i}]", fail)
    elif spec.kind == "object":
        if spec.fields:
            check_fields(value, spec.fields, path, fail)
        elif spec.items != "any":
            for key, item in value.items():
                _check_item(item, spec, f"{path}.{key}", fail)


def _check_item(item: Any, spec: Field, path: str, fail: Fail) -> None:
    if spec.fields:
        if not isinstance(item, dict):
            fail(path, f"expected an object, got {_show(item)}")
        check_fields(item, spec.fields, path, fail)
        return
    why = _kind_error(item, spec.items, spec.minimum)
    if why is not None:
        fail(path, why)


class Fail:
    """Raises the one-line error for a field of the record being checked."""

    def __init__(self, source: str, where: str = "") -> None:
        self.source = source
        self.where = where

    def __call__(self, path: str, why: str) -> NoReturn:
        where = f" {self.where}:" if self.where else ""
        raise ResultFileError(f"{self.source}:{where} field {path!r}: {why}")


def check_fields(data: Mapping[str, Any], table: Sequence[Field], prefix: str,
                 fail: Fail) -> None:
    """Check ``data`` against ``table``; ``prefix`` is the path of ``data`` in the file."""
    for spec in table:
        path = f"{prefix}.{spec.name}" if prefix else spec.name
        if spec.name not in data:
            if spec.required:
                fail(path, "missing")
            continue
        value = data[spec.name]
        if value is None:
            if not spec.nullable:
                fail(path, f"expected {_KIND_TEXT[spec.kind]}, got null")
            continue
        _check_value(value, spec, path, fail)


def _opt(name: str, kind: Kind, **kwargs: Any) -> Field:
    """A field that may be absent or null."""
    return Field(name, kind, nullable=True, **kwargs)


SHARD_FIELDS = (Field("index", "int", required=True, minimum=1),
                Field("count", "int", required=True, minimum=1))
ENVIRONMENT_FIELDS = (
    Field("device", "string"), Field("device_name", "string"), Field("device_count", "int"),
    _opt("device_capability", "string"), _opt("device_memory_bytes", "int"),
    *(_opt(n, "string") for n in ("driver_version", "cuda_version", "torch_git_version",
                                  "fvcore_version", "numpy_version", "git_commit")),
    _opt("cudnn_version", "int"),
    *(Field(n, "string") for n in ("torch_version", "python_version", "platform", "hostname",
                                   "cpu_model", "float32_matmul_precision", "attnprof_version",
                                   "allocator")),
    Field("cpu_count", "int"), Field("torch_threads", "int"),
    Field("torch_interop_threads", "int"),
    *(Field(n, "bool") for n in ("mkldnn", "cudnn_benchmark", "cudnn_deterministic",
                                 "allow_tf32_matmul", "allow_tf32_cudnn")),
    Field("env_vars", "object", items="string"),
    Field("telemetry", "object"),
)
SUITE_FIELDS = (
    Field("name", "string", required=True), Field("path", "string"), Field("hash", "string"),
    _opt("claims", "string"), Field("description", "string"), Field("device", "string"),
    Field("planned", "int"), Field("total", "int"), _opt("shard", "object", fields=SHARD_FIELDS),
)
PART_FIELDS = (
    Field("source", "string"), _opt("shard", "object", fields=SHARD_FIELDS),
    Field("cases", "int"), _opt("git_commit", "string"), Field("created_utc", "string"),
    Field("environment", "object", fields=ENVIRONMENT_FIELDS),
)
GROUP_MEMBER_FIELDS = (
    Field("case_id", "string", required=True), Field("name", "string"), Field("label", "string"),
    Field("batch", "int"), Field("status", "string", choices=("ok", "oom", "error")),
    _opt("error", "string"), Field("warmup_steps", "int"), Field("times", "list"),
)
GROUP_RATIO_FIELDS = (
    Field("member", "int", required=True), Field("case_id", "string"), Field("name", "string"),
    *(_opt(n, "number") for n in ("throughput_ratio", "ci_low", "ci_high", "half_width")),
    Field("rounds", "int"), Field("rounds_disturbed", "int"),
    *(_opt(n, "number") for n in ("ratio_all_rounds", "ci_low_all_rounds",
                                  "ci_high_all_rounds")),
    _opt("process_ratios", "list", items="number"),
    *(_opt(n, "number") for n in ("within_sd", "between_sd", "within_ci_low",
                                   "within_ci_high")),
    _opt("build_ratios", "list", items="number"), _opt("between_build_sd", "number"),
)
PROCESS_RUN_FIELDS = (
    Field("process", "int", required=True, minimum=0), Field("rounds", "int"),
    Field("steps_per_round", "int"), _opt("seed", "int"), Field("stopped", "string"),
    Field("warmup_s", "number"), Field("rounds_s", "number"),
    Field("status", "string", choices=("ok", "error")), _opt("error", "string"),
    Field("builds", "int", minimum=0),
)
CPU_ROUND_FIELDS = (
    *(Field(n, "number", required=True) for n in ("wall_s", "own_cpu_s", "own_capacity_s",
                                                   "foreign_cpu_s", "steal_s",
                                                   "machine_cpu_s")),
    _opt("freq_mhz", "number"),
)
GPU_ROUND_FIELDS = (
    Field("samples", "int"),
    *(_opt(n, "number") for n in ("sm_clock_min_mhz", "sm_clock_median_mhz",
                                  "mem_clock_min_mhz", "mem_clock_median_mhz", "power_w")),
    _opt("temperature_c", "number", minimum=None),
    Field("reasons", "int"), Field("other_processes", "int"),
)
ROUND_TELEMETRY_FIELDS = (
    _opt("cpu", "object", fields=CPU_ROUND_FIELDS), _opt("gpu", "object", fields=GPU_ROUND_FIELDS),
    Field("disturbed_by", "list", items="string"), Field("cost_s", "number"),
)
GROUP_FIELDS = (
    Field("group_id", "string", required=True), Field("kind", "string", choices=GROUP_KINDS),
    _opt("index", "int"), Field("status", "string", choices=GROUP_STATUSES),
    _opt("error", "string"), Field("baseline", "int"),
    Field("members", "list", fields=GROUP_MEMBER_FIELDS),
    Field("ratios", "list", fields=GROUP_RATIO_FIELDS), Field("method", "string"),
    Field("confidence", "number"), Field("settings", "object"), _opt("seed", "int"),
    Field("steps_per_round", "int"), Field("rounds", "int"), Field("orders", "list", items="list"),
    Field("stopped", "string"), Field("started_utc", "string"),
    *(Field(n, "number") for n in ("duration_s", "warmup_s", "rounds_s", "memory_s")),
    _opt("min_detectable_slowdown", "number"),
    Field("telemetry", "list", fields=ROUND_TELEMETRY_FIELDS),
    Field("telemetry_absent", "list", items="string"), Field("disturbed_rounds", "int"),
    Field("mostly_disturbed", "bool"),
    Field("processes", "int", minimum=1),
    Field("round_process", "list", items="int"),
    Field("process_runs", "list", fields=PROCESS_RUN_FIELDS),
    Field("interval_method", "string", choices=("", *VARIANCE_SOURCES)),
    _opt("between_prior_sd", "number"), _opt("between_prior_df", "number"),
    Field("between_prior_source", "string", choices=("", *PRIOR_SOURCES)),
    Field("round_build", "list", items="int"),
)
JOB_FIELDS = (
    Field("number", "int", required=True, minimum=1),
    Field("status", "string", required=True, choices=JOB_STATUSES),
    Field("executor", "string"), Field("case_ids", "list", items="string"),
    *(Field(n, "string") for n in ("hostname", "gpu", "gpu_uuid", "cpu", "slurm_job_id", "log")),
    _opt("error", "string"),
)
PLAN_UNIT_FIELDS = (
    Field("key", "string", required=True), Field("label", "string"),
    Field("kind", "string", choices=("count", "breakdown", "bench", "group")),
    Field("cases", "int", minimum=0), Field("estimated_s", "number", minimum=0),
    _opt("processes", "int", minimum=1), _opt("rounds_per_process", "int", minimum=0),
    _opt("seconds_per_process", "number", minimum=0),
    _opt("min_rounds_per_process", "int", minimum=1),
    _opt("max_rounds_per_process", "int", minimum=1), _opt("measure_memory", "bool"),
    _opt("rounds_per_build", "int", minimum=1),
    Field("skipped", "bool"), _opt("needs_s", "number", minimum=0),
    _opt("actual_s", "number", minimum=0),
)
PLAN_FIELDS = (
    _opt("budget_s", "number", minimum=0), Field("reserve_s", "number", minimum=0),
    Field("estimated_s", "number", minimum=0), _opt("actual_s", "number", minimum=0),
    Field("scale", "number", minimum=0), _opt("probe", "object"),
    Field("units", "list", fields=PLAN_UNIT_FIELDS),
)
FILE_FIELDS = (
    Field("schema", "string"), Field("schema_version", "int", minimum=1),
    Field("tool_version", "string"), _opt("git_commit", "string"),
    Field("created_utc", "string"), Field("updated_utc", "string"),
    _opt("environment", "object", fields=ENVIRONMENT_FIELDS),
    _opt("suite", "object", fields=SUITE_FIELDS),
    _opt("parts", "list", fields=PART_FIELDS),
    _opt("cases", "list", items="object"),
    _opt("groups", "list", fields=GROUP_FIELDS),
    _opt("jobs", "list", fields=JOB_FIELDS),
    _opt("plan", "object", fields=PLAN_FIELDS),
)
CASE_FIELDS = (
    Field("case_id", "string"),
    Field("kind", "string", required=True, choices=("count", "bench", "breakdown")),
    _opt("index", "int"), Field("spec", "object", required=True),
    Field("status", "string", choices=("ok", "oom", "error", "skipped")),
    _opt("error", "string"), Field("started_utc", "string"), Field("duration_s", "number"),
    _opt("result", "object"), _opt("group_id", "string"),
)
WORKLOAD_FIELDS = (
    _opt("model", "string"), _opt("attention", "string"), _opt("block", "string"),
    _opt("channels", "int", minimum=1), _opt("options", "object"),
    Field("input_shape", "list", items="int", minimum=1),
)
COUNT_SPEC_FIELDS = (
    Field("workload", "object", required=True, fields=WORKLOAD_FIELDS),
    Field("batch", "int", minimum=1), Field("conventions", "list", items="string"),
    Field("backward", "bool"),
)
BENCH_SPEC_FIELDS = (
    Field("workload", "object", required=True, fields=WORKLOAD_FIELDS),
    Field("mode", "string", choices=("infer", "train")), Field("device", "string"),
    Field("batch", "int", minimum=1), Field("dtype", "string"),
    Field("channels_last", "bool"), Field("compile", "bool"), Field("cudnn_benchmark", "bool"),
    _opt("threads", "int", minimum=1), Field("min_time", "number"),
    Field("repeats", "int", minimum=1), Field("warmup", "int"), Field("nproc", "int", minimum=1),
    Field("memory", "bool"), Field("oom_retry", "bool"),
)
_COUNTS = ("params", "attention_params", "flops")
_MORE_COUNTS = ("flops_all", "attention_flops", "attention_flops_all", "activations",
                "activations_all", "attention_activations", "attention_activations_all")
BLOCK_COUNT_FIELDS = (
    Field("path", "string"), *(Field(n, "int", required=True)
                               for n in ("params", "flops", "flops_all")),
    Field("activations", "int"), Field("activations_all", "int"),
)
COUNTER_TOTAL_FIELDS = (
    Field("counter", "string", required=True), Field("flops", "int", required=True),
    Field("attention_flops", "int"), _opt("params", "int"),
)
COUNT_RESULT_FIELDS = (
    *(Field(n, "int", required=True) for n in _COUNTS), *(Field(n, "int") for n in _MORE_COUNTS),
    Field("batch", "int", minimum=1), Field("input_shape", "list", items="int", minimum=1),
    Field("convention", "string"),
    *(Field(n, "object", items="int") for n in ("by_operator", "by_operator_all", "by_module",
                                               "unsupported", "uncounted")),
    Field("blocks", "list", fields=BLOCK_COUNT_FIELDS),
    Field("counters", "list", fields=COUNTER_TOTAL_FIELDS), _opt("train_step_flops", "int"),
)
RANK_FIELDS = (
    Field("rank", "int", required=True), Field("batch", "int", required=True),
    Field("images_per_sec", "number", required=True),
    Field("step_ms_median", "number", required=True),
    Field("samples", "list", items="number"), _opt("peak_memory_bytes", "int"),
)
BENCH_RESULT_FIELDS = (
    *(Field(n, "number", required=True)
      for n in ("images_per_sec", "images_per_sec_iqr", "step_ms_median")),
    Field("samples", "list", items="number"), Field("batch", "int"),
    _opt("peak_memory_bytes", "int"), Field("memory_method", "string"),
    Field("images_per_sec_cv", "number"), Field("step_ms_iqr", "number"),
    Field("noisy", "bool"), Field("clock", "string"),
    *(Field(n, "int") for n in ("warmup_steps", "steps_per_repeat", "repeats",
                                "requested_batch")),
    *(_opt(n, "int") for n in ("static_memory_bytes", "activation_memory_bytes",
                               "reserved_memory_bytes", "min_bytes", "memory_estimate_bytes")),
    Field("nproc", "int", minimum=1), Field("per_rank", "list", fields=RANK_FIELDS),
    Field("min_bytes_formula", "string"),
    *(_opt(n, "number") for n in ("achieved_gbps", "copy_gbps", "fraction_of_copy")),
)
BREAKDOWN_SPEC_FIELDS = (
    Field("workload", "object", required=True, fields=WORKLOAD_FIELDS),
    Field("mode", "string", choices=("infer", "train")), Field("device", "string"),
    Field("batch", "int", minimum=1), Field("dtype", "string"),
    Field("channels_last", "bool"), Field("cudnn_benchmark", "bool"),
    _opt("threads", "int", minimum=1), Field("warmup", "int"),
    Field("timed_steps", "int", minimum=1), Field("profiled_steps", "int", minimum=1),
)
# A part's time may be negative only for "unattributed" (kernels overlapping on a GPU).
PART_SHARE_FIELDS = (
    Field("part", "string", required=True), Field("ms", "number", required=True, minimum=None),
    Field("time_share", "number", required=True, minimum=None),
    *(Field(n, "number") for n in ("flops_share", "bytes_share", "flops_all_share")),
    Field("flops", "int"), Field("bytes", "int"), _opt("achieved_gbps", "number"),
    Field("overhead_ms", "number"),
)
BLOCK_SHARE_FIELDS = (
    Field("path", "string", required=True), Field("ms", "number", required=True),
    Field("time_share", "number", required=True), Field("flops_share", "number"),
    Field("bytes", "int"), Field("overhead_ms", "number"),
)
BREAKDOWN_RESULT_FIELDS = (
    Field("step_ms", "number", required=True),
    Field("parts", "list", required=True, fields=PART_SHARE_FIELDS),
    *(Field(n, "number", required=True)
      for n in ("attention_time_share", "attention_flops_share")),
    *(Field(n, "number") for n in ("attention_bytes_share", "attention_ms", "profiled_step_ms")),
    *(_opt(n, "number") for n in ("attention_gbps", "copy_gbps")),
    *(Field(n, "number", minimum=None) for n in ("leftover_ms", "leftover_share")),
    Field("agrees", "bool"), Field("samples", "list", items="number"),
    *(Field(n, "int") for n in ("attention_bytes", "profiled_steps", "warmup_steps", "batch",
                                "flops", "bytes")),
    Field("clock", "string"), Field("time_source", "string"),
    Field("blocks", "list", fields=BLOCK_SHARE_FIELDS),
    *(Field(n, "number") for n in ("compensated_step_ms", "overhead_ms",
                                   "probe_events_per_step", "events_per_step")),
    _opt("profiler_overhead_us_per_op", "number"),
    Field("overhead_rounds_us", "list", items="number", minimum=None),  # noise: may be < 0
    Field("overhead_calibration_reused", "bool"),
    *(Field(n, "number", minimum=None) for n in ("raw_leftover_ms", "raw_leftover_share")),
)
SPEC_TABLES: dict[str, tuple[Field, ...]] = {"count": COUNT_SPEC_FIELDS,
                                             "bench": BENCH_SPEC_FIELDS,
                                             "breakdown": BREAKDOWN_SPEC_FIELDS}
RESULT_TABLES: dict[str, tuple[Field, ...]] = {"count": COUNT_RESULT_FIELDS,
                                               "bench": BENCH_RESULT_FIELDS,
                                               "breakdown": BREAKDOWN_RESULT_FIELDS}


def _case_name(position: int, case: Mapping[str, Any]) -> str:
    case_id = case.get("case_id")
    named = f" ({case_id})" if isinstance(case_id, str) and case_id else ""
    return f"case {position + 1}{named}"


def _validate_case(case: Any, position: int, source: str) -> None:
    if not isinstance(case, dict):
        Fail(source)(f"cases[{position}]", f"expected an object, got {_show(case)}")
    fail = Fail(source, _case_name(position, case))
    check_fields(case, CASE_FIELDS, "", fail)
    kind = case["kind"]
    check_fields(case["spec"], SPEC_TABLES[kind], "spec", fail)
    result = case.get("result")
    if case.get("status", "ok") == "ok" and result is None:
        fail("result", "the case is 'ok' but has no result")
    if result is not None:
        check_fields(result, RESULT_TABLES[kind], "result", fail)


def _validate_group(group: Mapping[str, Any], position: int, source: str) -> None:
    """Cross-field rules of a comparison group: indices point at members; a member's times
    are, per round, null or a list of positive step times."""
    fail = Fail(source, f"group {position + 1} ({group['group_id']})")
    members = group.get("members") or []
    if not 0 <= group.get("baseline", 0) < max(1, len(members)):
        fail("baseline", f"expected a member index below {len(members)}, got "
             f"{_show(group.get('baseline'))}")
    for k, ratio in enumerate(group.get("ratios") or []):
        if not 0 <= ratio["member"] < len(members):
            fail(f"ratios[{k}].member", f"expected a member index below {len(members)}, got "
                 f"{_show(ratio['member'])}")
    for name in ("round_process", "round_build"):
        tags = group.get(name) or []
        if tags and len(tags) != len(group.get("orders") or []):
            fail(name, f"expected one entry per round ({len(group.get('orders') or [])}), got "
                 f"{len(tags)}")
    if group.get("round_build") and not group.get("round_process"):
        fail("round_build", "expected round_process beside it (a build belongs to a process)")
    telemetry = group.get("telemetry") or []
    if len(telemetry) > len(group.get("orders") or []):
        fail("telemetry", f"expected at most one entry per round ({len(group.get('orders') or [])}"
             f"), got {len(telemetry)}")
    for r, entry in enumerate(telemetry):
        for code in entry.get("disturbed_by") or []:
            if code not in DISTURBANCES:
                fail(f"telemetry[{r}].disturbed_by", f"expected one of {', '.join(DISTURBANCES)}"
                     f", got {_show(code)}")
    for m, member in enumerate(members):
        for r, block in enumerate(member.get("times") or []):
            if block is None:
                continue
            if not isinstance(block, list) or not block:
                fail(f"members[{m}].times[{r}]", f"expected null or a list of step times, got "
                     f"{_show(block)}")
            for t, value in enumerate(block):
                why = _kind_error(value, "number", None)
                if why is not None or value <= 0:
                    fail(f"members[{m}].times[{r}][{t}]",
                         why or f"expected a step time > 0, got {_show(value)}")


def validate_result_data(data: Mapping[str, Any], source: str) -> None:
    """Check an attnprof result file's JSON (schema and version already checked).

    Raises :class:`~profiler.errors.ResultFileError` naming ``source``, the case (its
    position and id) or the comparison group, and the field, for the first problem found.
    """
    check_fields(data, FILE_FIELDS, "", Fail(source))
    for position, case in enumerate(data.get("cases") or []):
        _validate_case(case, position, source)
    for position, group in enumerate(data.get("groups") or []):
        _validate_group(group, position, source)
    check_consistency(data, source)  # then the file must agree with itself


# The gate's result file (``attnprof gate -o``, schema ``attnprof.gate``): its records are
# :mod:`profiler.results.gate`'s; ``decision`` and ``confirmation`` are checked there.
GATE_SIDE_FIELDS = (
    Field("name", "string", required=True), Field("ref", "string", required=True),
    Field("tree", "string", required=True), _opt("commit", "string"),
    Field("worker", "string", choices=("module", "file")),
    *(_opt(n, "string") for n in ("python", "torch", "tool_version", "profiler")),
    _opt("environment", "object", fields=ENVIRONMENT_FIELDS),
)
GATE_SIDE_TIMING_FIELDS = (
    _opt("batch", "int", minimum=1), _opt("warmup_steps", "int"), _opt("step_s", "number"),
    Field("blocks", "list", items="list"), _opt("error", "string"),
)
_GATE_TIMING_COMMON = (
    Field("case_id", "string", required=True), Field("label", "string", required=True),
    Field("decision", "string", required=True),
    Field("base", "object", fields=GATE_SIDE_TIMING_FIELDS),
    Field("head", "object", fields=GATE_SIDE_TIMING_FIELDS),
    *(_opt(n, "number") for n in ("ratio", "ci_low", "ci_high")),
    Field("rounds", "int"), Field("steps_per_block", "int"), Field("seconds", "number"),
    Field("first", "list", items="string"), Field("stopped", "string"),
    Field("method", "string"), _opt("needed_rounds", "int"), _opt("needed_seconds", "number"),
    _opt("error", "string"), Field("confirmation", "string"),
    Field("telemetry", "list", fields=ROUND_TELEMETRY_FIELDS), Field("rounds_disturbed", "int"),
)
# An attempt is a timing case of its own (without attempts of its own).
GATE_TIMING_FIELDS = (*_GATE_TIMING_COMMON,
                      Field("attempts", "list", fields=(*_GATE_TIMING_COMMON,
                                                        Field("attempts", "list"))))
GATE_METRIC_FIELDS = (
    Field("metric", "string", required=True), Field("base", "number", required=True),
    Field("head", "number", required=True), Field("rule", "string"), Field("changed", "bool"),
)
GATE_COUNT_FIELDS = (
    Field("case_id", "string", required=True), Field("label", "string", required=True),
    Field("metrics", "list", fields=GATE_METRIC_FIELDS),
    _opt("base_error", "string"), _opt("head_error", "string"),
)
GATE_SUITE_FIELDS = (Field("name", "string"), Field("path", "string"))
GATE_FIELDS = (
    Field("schema", "string", required=True), Field("schema_version", "int", minimum=1),
    _opt("tool_version", "string"), _opt("created_utc", "string"),
    Field("suite", "object", fields=GATE_SUITE_FIELDS), Field("device", "string"),
    Field("limit", "number"), Field("rules", "list", items="string"),
    _opt("max_minutes", "number"), Field("elapsed_s", "number"),
    Field("exit_status", "int"),
    Field("base", "object", required=True, fields=GATE_SIDE_FIELDS),
    Field("head", "object", required=True, fields=GATE_SIDE_FIELDS),
    Field("timing", "list", fields=GATE_TIMING_FIELDS),
    Field("counts", "list", fields=GATE_COUNT_FIELDS),
    *(Field(n, "list", items="string") for n in ("only_base", "only_head", "not_gated")),
)


def validate_gate_data(data: Mapping[str, Any], source: str) -> None:
    """Check a gate result file's JSON (schema and version already checked), as
    :func:`validate_result_data` checks a result file."""
    check_fields(data, GATE_FIELDS, "", Fail(source))


_STATS_FIELDS = (
    *(Field(n, "number", required=True) for n in ("min", "max", "mean", "median", "q1", "q3")),
    _opt("ops", "number"), _opt("stddev", "number"), _opt("iqr", "number"),
    _opt("rounds", "int"), _opt("data", "list", items="number"),
)
BENCHMARK_FIELDS = (
    Field("name", "string", required=True), _opt("fullname", "string"),
    _opt("group", "string"), Field("stats", "object", required=True, fields=_STATS_FIELDS),
)


def validate_pytest_benchmark(data: Mapping[str, Any], source: str) -> None:
    """Check pytest-benchmark JSON: every benchmark has a name and finite, non-negative stats."""
    for position, bench in enumerate(data.get("benchmarks") or []):
        name = bench.get("name") if isinstance(bench, dict) else None
        where = f"benchmark {position + 1}" + (f" ({name})" if isinstance(name, str) else "")
        if not isinstance(bench, dict):
            Fail(source)(f"benchmarks[{position}]", f"expected an object, got {_show(bench)}")
        check_fields(bench, BENCHMARK_FIELDS, "", Fail(source, where))
