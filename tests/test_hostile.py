"""Hostile inputs and faults through the CLI, each held to the README's promise.

Every row of :data:`CASES` runs ``attnprof`` in this process (``main(argv)``) on files made by
the ``arena`` fixture: corrupt result files, FIFOs, device nodes, folders, paths under a
regular file, existing outputs, a full disk (an injected ENOSPC), locks, misbehaving user
models, options that do not apply, impossible memory limits. The promise checked for each:

- the exit status: 2 for bad input or a fault, 1 only for a real regression (``compare``),
  0 where the input is accepted and the run goes on (a model calling ``sys.exit`` in a suite);
- exactly one ``attnprof: error: ...`` line on stderr for status 2 (none otherwise), holding
  the row's fragment, and no traceback anywhere;
- nothing measured lost: a row's ``check`` looks at what stayed on disk or went to stdout.

The faults that need a real second process (a signal during the CPU memory child, a lock held
by a live process, one left by a killed process) are the subprocess tests at the end.
"""

from __future__ import annotations

import copy
import errno
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from profiler.cli import main
from profiler.measure import case as case_module
from profiler.output import files as output_files
from profiler.output.lock import lock_path
from profiler.results import BenchResult, CountResult
from profiler.results.envelope import load_result_file
from profiler.spec import BenchSpec, CountSpec
from tests.helpers.fakes import FakeMeasure, install
from tests.helpers.specs import FAST_TIMING, TINY

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
BASELINE = FIXTURES / "results" / "baseline.json"
PB_BASELINE = FIXTURES / "pytest-benchmark" / "baseline.json"
TINY_SUITE = FIXTURES / "suites" / "tiny.toml"
TINY_CASES = 7
EXIT_NET = "tests.helpers.hostile_models:ExitNet"
BROKEN = "tests.helpers.raises_at_import:Net"
Check = Callable[[Path, str], None]
FAST = FAST_TIMING


# --- the arena: inputs made once per module ---------------------------------------------------


def _json(path: Path, data: Any) -> str:
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def _first(data: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(c for c in data["cases"] if c["kind"] == kind)


def _set(kind: str, key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        _first(data, kind)[key] = value
    return change


def _result(kind: str, key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        _first(data, kind)["result"][key] = value
    return change


def _spec(kind: str, key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        _first(data, kind)["spec"][key] = value
    return change


def _sample(value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        _first(data, "bench")["result"]["samples"][0] = value
    return change


def _drop_result(data: dict[str, Any]) -> None:
    del _first(data, "bench")["result"]


def _truncate(data: dict[str, Any]) -> None:
    data["cases"] = data["cases"][: len(data["cases"]) // 2]


def _no_cases(data: dict[str, Any]) -> None:
    data["cases"] = []


def _top(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        data[key] = value
    return change


def _suite_field(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        data["suite"][key] = value
    return change


def _workload_shape(data: dict[str, Any]) -> None:
    _first(data, "bench")["spec"]["workload"]["input_shape"] = [3, -224, 224]


def _case_not_object(data: dict[str, Any]) -> None:
    data["cases"][0] = "case"


RESULT_VARIANTS: dict[str, Callable[[dict[str, Any]], None]] = {
    "nan-ips": _result("bench", "images_per_sec", float("nan")),
    "inf-ips": _result("bench", "images_per_sec", float("inf")),
    "neg-ips": _result("bench", "images_per_sec", -12.5),
    "str-ips": _result("bench", "images_per_sec", "fast"),
    "bool-ips": _result("bench", "images_per_sec", True),
    "null-step": _result("bench", "step_ms_median", None),
    "neg-peak": _result("bench", "peak_memory_bytes", -1),
    "nan-peak": _result("bench", "peak_memory_bytes", float("nan")),
    "nan-sample": _sample(float("nan")),
    "str-sample": _sample("0.1"),
    "neg-sample": _sample(-0.1),
    "samples-dict": _result("bench", "samples", {"a": 1}),
    "float-params": _result("count", "params", 1.5),
    "neg-params": _result("count", "params", -10),
    "str-flops": _result("count", "flops", "4.1G"),
    "ops-table-str": _result("count", "by_operator", {"conv": "many"}),
    "ok-null-result": _set("bench", "result", None),
    "ok-no-result": _drop_result,
    "bad-status": _set("bench", "status", "fine"),
    "bad-kind": _set("count", "kind", "measure"),
    "no-spec": _set("bench", "spec", None),
    "neg-duration": _set("bench", "duration_s", -3.0),
    "zero-batch": _spec("bench", "batch", 0),
    "bad-mode": _spec("bench", "mode", "sideways"),
    "neg-shape": _workload_shape,
    "case-not-object": _case_not_object,
    "cases-object": _top("cases", {"a": 1}),
    "env-list": _top("environment", [1, 2]),
    "planned-str": _suite_field("planned", "many"),
    "version-99": _top("schema_version", 99),
    "version-str": _top("schema_version", "2"),
    "truncated": _truncate,
    "no-cases": _no_cases,
}


def _pb_variant(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        data["benchmarks"][0]["stats"][key] = value
    return change


def _pb_drop(data: dict[str, Any]) -> None:
    data["benchmarks"] = data["benchmarks"][1:]


PB_VARIANTS: dict[str, Callable[[dict[str, Any]], None]] = {
    "pb-nan-median": _pb_variant("median", float("nan")),
    "pb-neg-min": _pb_variant("min", -1.0),
    "pb-str-mean": _pb_variant("mean", "slow"),
    "pb-missing": _pb_drop,
}

SUITE_TEMPLATE = """[suite]
name = {name}
device = "cpu"
{budget}
[[matrix]]
kind = "{kind}"
models = [{models}]
input = "3x16x16"
{extra}
"""


def _suite(folder: Path, file: str, name: str = '"hostile"', kind: str = "count",
           models: str = f'"{TINY}"', budget: str = "", extra: str = "") -> str:
    path = folder / file
    path.write_text(SUITE_TEMPLATE.format(name=name, kind=kind, models=models, budget=budget,
                                          extra=extra), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Read-only inputs shared by every row."""
    folder = tmp_path_factory.mktemp("hostile-inputs")
    base = json.loads(BASELINE.read_text())
    shutil.copy(BASELINE, folder / "good.json")
    for name, change in RESULT_VARIANTS.items():
        data = copy.deepcopy(base)
        change(data)
        _json(folder / f"{name}.json", data)
    pb = json.loads(PB_BASELINE.read_text())
    shutil.copy(PB_BASELINE, folder / "pb-good.json")
    for name, change in PB_VARIANTS.items():
        data = copy.deepcopy(pb)
        change(data)
        _json(folder / f"{name}.json", data)
    (folder / "garbage.json").write_bytes(b"\x00\xff\xfe not json")
    (folder / "empty.json").write_text("")
    (folder / "array.json").write_text("[1, 2]")
    (folder / "broken.json").write_text('{"schema": "attnprof.result", "cases": [')
    (folder / "a-folder").mkdir()
    os.mkfifo(folder / "fifo.json")
    _suite(folder, "dotdot.toml", name='"../escape"')
    _suite(folder, "absolute.toml", name='"/tmp/escape"')
    _suite(folder, "spaces.toml", name='"two words"')
    _suite(folder, "dots.toml", name='".."')
    _suite(folder, "import-fails.toml", models=f'"{BROKEN}"')
    _suite(folder, "exits.toml", models=f'"{EXIT_NET}", "{TINY}"')
    _suite(folder, "nan-budget.toml", budget="[budget]\nmin_time = nan\n")
    _suite(folder, "inf-budget.toml", budget="[budget]\nrepeats = inf\n")
    _suite(folder, "bench-tiny.toml", kind="bench", models=f'"{TINY}"',
           budget="[budget]\nmin_time = 0.01\nrepeats = 1\nwarmup = 1\n",
           extra='modes = ["infer", "train"]\nbatch = 2')
    second_sweep_inputs(folder)
    (folder / "mixed.toml").write_text(
        SUITE_TEMPLATE.format(name='"mixed"', kind="bench", models=f'"{TINY}"',
                              budget="[budget]\nmin_time = 0.01\nrepeats = 1\nwarmup = 1\n",
                              extra="batch = 2")
        + f'\n[[matrix]]\nkind = "count"\nmodels = ["{TINY}"]\ninput = "3x16x16"\n')
    return folder


# --- stand-ins and faults -----------------------------------------------------------------------


def _disk_full_after(writes: int) -> Callable[[pytest.MonkeyPatch], None]:
    """Patch the output writer so that every write after the first ``writes`` gets ENOSPC."""

    def patch(monkeypatch: pytest.MonkeyPatch) -> None:
        real = output_files._fill
        done = [0]

        def fill(fd: int, data: bytes) -> None:
            done[0] += 1
            if done[0] > writes:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            real(fd, data)

        monkeypatch.setattr(output_files, "_fill", fill)

    return patch


def _fake_measure(monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch, FakeMeasure())


def _live_lock(target: str) -> Callable[[Path], None]:
    """A lock on ``target`` held by PID 1 (alive as long as the machine is)."""

    def make(work: Path) -> None:
        from profiler.output.lock import LockOwner, _start_time

        owner = LockOwner(pid=1, host=os.uname().nodename, started=_start_time(1),
                          command="attnprof run elsewhere")
        lock_path(work / target).write_text(json.dumps(owner.__dict__))

    return make


def _stale_lock(target: str) -> Callable[[Path], None]:
    def make(work: Path) -> None:
        lock_path(work / target).write_text(json.dumps(
            {"pid": 2**22 + 12345, "host": os.uname().nodename, "started": "1",
             "command": "attnprof run (killed)"}))
    return make


def _touch(*names: str) -> Callable[[Path], None]:
    def make(work: Path) -> None:
        for name in names:
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            (work / name).write_text("keep me")
    return make


def _copy_good(name: str) -> Callable[[Path], None]:
    def make(work: Path) -> None:
        shutil.copy(BASELINE, work / name)
    return make


def _copy_tiny_run(name: str) -> Callable[[Path], None]:
    """A finished result file of the tiny suite (for --resume rows), made with fakes."""

    def make(work: Path) -> None:
        from profiler.suites import RunOptions, load_suite, run_suite
        from tests.helpers.fake_groups import FakeGroups

        run_suite(load_suite(str(TINY_SUITE)), RunOptions(output=work / name),
                  run_case=lambda spec: case_module.CaseRecord(spec=spec, status="error",
                                                               error="later"),
                  run_group=FakeGroups(FakeMeasure()))  # made up, as the cases are

    return make


# --- what stayed: checks of "nothing lost" ------------------------------------------------------


def _kept(name: str, text: str = "keep me") -> Check:
    def check(work: Path, out: str) -> None:
        assert (work / name).read_text() == text
    return check


def _result_on_stdout(kind: str) -> Check:
    def check(work: Path, out: str) -> None:
        data = json.loads(out)
        (record,) = data["cases"]
        assert record["kind"] == kind and record["status"] == "ok" and record["result"]
    return check


def _run_file(cases: int, statuses: tuple[str, ...] = ("ok",)) -> Check:
    def check(work: Path, out: str) -> None:
        loaded = load_result_file(work / "r.json")
        assert len(loaded.cases) == cases
        assert {c.status for c in loaded.cases} <= set(statuses)
        assert not lock_path(work / "r.json").exists()
        assert not [p for p in work.iterdir() if p.name.endswith(".partial")]
    return check


def _disk_full_run(work: Path, out: str) -> None:
    loaded = load_result_file(work / "r.json")
    assert len(loaded.cases) == 2  # the cases written before the disk filled up stay
    unsaved = json.loads(out)       # and the whole file, with the unwritten cases, is on stdout
    assert len(unsaved["cases"]) == 4  # the third write is a comparison group of two cases
    assert len(unsaved["groups"]) == 1
    assert not lock_path(work / "r.json").exists()


def _oom_estimates(work: Path, out: str) -> None:
    loaded = load_result_file(work / "r.json")
    benches = [c for c in loaded.cases if c.kind == "bench"]
    counts = [c for c in loaded.cases if c.kind == "count"]
    assert benches and all(c.status == "oom" and "estimated peak memory" in (c.error or "")
                           for c in benches)
    assert counts and all(c.status == "ok" for c in counts)  # the suite went on


def _exit_recorded(work: Path, out: str) -> None:
    loaded = load_result_file(work / "r.json")
    assert [c.status for c in loaded.cases] == ["error", "ok"]
    assert "sys.exit(3)" in (loaded.cases[0].error or "")


def _untouched(name: str) -> Check:
    def check(work: Path, out: str) -> None:
        assert (work / name).read_text() == BASELINE.read_text()
    return check


def _absent(name: str) -> Check:
    def check(work: Path, out: str) -> None:
        assert not (work / name).exists()
        assert not lock_path(work / name).exists()
    return check


def _lock_kept(work: Path, out: str) -> None:
    assert not (work / "r.json").exists()
    assert '"pid": 1' in lock_path(work / "r.json").read_text()  # the holder's lock stays


def _merged_on_stdout(work: Path, out: str) -> None:
    assert len(json.loads(out)["cases"]) == len(json.loads(BASELINE.read_text())["cases"])


# --- the table ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hostile:
    """One hostile input: argv (``{in}``: the inputs folder, ``{w}``: this row's folder)."""

    id: str
    argv: tuple[str, ...]
    code: int = 2
    fragment: str = ""
    setup: Callable[[Path], None] | None = None
    patch: Callable[[pytest.MonkeyPatch], None] | None = None
    check: Check | None = None
    tags: tuple[str, ...] = field(default=())


def _compare(name: str, fragment: str, code: int = 2, *extra: str) -> Hostile:
    row_id = "-".join(["compare", name, *(e.strip("-") for e in extra)])
    return Hostile(row_id, ("compare", "{in}/good.json", f"{{in}}/{name}.json", *extra), code,
                   fragment)


def _report(name: str, fragment: str) -> Hostile:
    return Hostile(f"report-{name}", ("report", f"{{in}}/{name}.json", "--claims", "none"), 2,
                   fragment)


_FIELD_ERRORS = {
    "nan-ips": "'result.images_per_sec': expected a finite number >= 0, got NaN",
    "inf-ips": "got Infinity", "neg-ips": "got -12.5", "str-ips": "got 'fast'",
    "bool-ips": "got True", "null-step": "'result.step_ms_median'",
    "neg-peak": "'result.peak_memory_bytes'", "nan-peak": "'result.peak_memory_bytes'",
    "nan-sample": "'result.samples[0]'", "str-sample": "'result.samples[0]'",
    "neg-sample": "'result.samples[0]'", "samples-dict": "'result.samples'",
    "float-params": "'result.params': expected an integer", "neg-params": "'result.params'",
    "str-flops": "'result.flops'", "ops-table-str": "'result.by_operator.conv'",
    "ok-null-result": "is 'ok' but has no result", "ok-no-result": "is 'ok' but has no result",
    "bad-status": "'status'", "bad-kind": "'kind'", "no-spec": "'spec'",
    "neg-duration": "'duration_s'", "zero-batch": "'spec.batch'", "bad-mode": "'spec.mode'",
    "neg-shape": "'spec.workload.input_shape[1]'", "case-not-object": "'cases[0]'",
    "cases-object": "'cases'", "env-list": "'environment'", "planned-str": "'suite.planned'",
    "version-99": "schema_version 99", "version-str": "schema_version '2'",
}

CASES: list[Hostile] = [
    # compare: every file is validated; the field is named
    *(_compare(name, fragment) for name, fragment in _FIELD_ERRORS.items()),
    Hostile("compare-baseline-nan", ("compare", "{in}/nan-ips.json", "{in}/good.json"), 2,
            "nan-ips.json: case"),
    _compare("truncated", "missing from the new file", 1),
    _compare("truncated", "only in the baseline", 0, "--allow-missing"),
    _compare("no-cases", "no case in common"),
    _compare("garbage", "cannot read"), _compare("empty", "invalid JSON"),
    _compare("array", "neither an attnprof result file"),
    _compare("broken", "invalid JSON"), _compare("nowhere", "no such file"),
    Hostile("compare-folder", ("compare", "{in}/good.json", "{in}/a-folder"), 2, "is a folder"),
    Hostile("compare-fifo", ("compare", "{in}/good.json", "{in}/fifo.json"), 2,
            "not a regular file"),
    Hostile("compare-dev-zero", ("compare", "{in}/good.json", "/dev/zero"), 2,
            "not a regular file"),
    Hostile("compare-dev-null", ("compare", "{in}/good.json", "/dev/null"), 2,
            "not a regular file"),
    Hostile("compare-pb-nan", ("compare", "{in}/pb-good.json", "{in}/pb-nan-median.json"), 2,
            "'stats.median'"),
    Hostile("compare-pb-neg", ("compare", "{in}/pb-good.json", "{in}/pb-neg-min.json"), 2,
            "'stats.min'"),
    Hostile("compare-pb-str", ("compare", "{in}/pb-good.json", "{in}/pb-str-mean.json"), 2,
            "'stats.mean'"),
    Hostile("compare-pb-missing", ("compare", "{in}/pb-good.json", "{in}/pb-missing.json"), 1,
            "missing from the new file"),
    Hostile("compare-kinds", ("compare", "{in}/good.json", "{in}/pb-good.json"), 2,
            "different kinds"),
    Hostile("compare-bad-rule", ("compare", "{in}/good.json", "{in}/good.json", "--fail-on",
                                 "images_per_sec:+5%"), 2, "malformed rule"),
    Hostile("compare-rule-metric", ("compare", "{in}/good.json", "{in}/good.json",
                                    "--fail-on", "speed:-5%"), 2, "unknown metric"),
    Hostile("compare-one-file", ("compare", "{in}/good.json"), 2, "the following arguments"),
    # report: the same validation, and outputs through the one writer
    *(_report(name, _FIELD_ERRORS[name]) for name in ("nan-ips", "neg-ips", "str-ips",
                                                      "ok-null-result", "str-sample",
                                                      "float-params")),
    Hostile("report-missing", ("report", "{in}/nowhere.json"), 2, "no such file"),
    Hostile("report-claims", ("report", "{in}/good.json", "--claims", "nope"), 2,
            "unknown claims"),
    Hostile("report-o-exists", ("report", "{in}/good.json", "-o", "{w}/r.md"), 2,
            "exists; pass --overwrite", setup=_touch("r.md"), check=_kept("r.md")),
    Hostile("report-o-fifo", ("report", "{in}/good.json", "-o", "{in}/fifo.json",
                              "--overwrite"), 2, "not a regular file"),
    Hostile("report-o-dev-null", ("report", "{in}/good.json", "-o", "/dev/null",
                                  "--overwrite"), 2, "not a regular file"),
    Hostile("report-o-folder", ("report", "{in}/good.json", "-o", "{in}/a-folder"), 2,
            "is a folder"),
    Hostile("report-o-slash", ("report", "{in}/good.json", "-o", "{w}/new/"), 2,
            "names a folder"),
    Hostile("report-o-under-file", ("report", "{in}/good.json", "-o", "{w}/blocker/r.md"), 2,
            "is not a folder", setup=_touch("blocker")),
    Hostile("report-o-input", ("report", "{w}/in.json", "-o", "{w}/in.json", "--overwrite"), 2,
            "one of this command's inputs", setup=_copy_good("in.json")),
    Hostile("report-o-proc", ("report", "{in}/good.json", "-o", "/proc/attnprof.md"), 2,
            "cannot write"),
    Hostile("report-plots-under-file", ("report", "{in}/good.json", "--plots",
                                        "{w}/blocker/plots"), 2, "is not a folder",
            setup=_touch("blocker")),
    Hostile("report-plots-exist", ("report", "{in}/good.json", "--plots", "{w}/p", "-o",
                                   "{w}/r.md"), 2, "exists; pass --overwrite",
            setup=_touch("p/throughput-vs-params.png"),
            check=_kept("p/throughput-vs-params.png")),
    Hostile("report-disk-full", ("report", "{in}/good.json", "--claims", "none", "-o",
                                 "{w}/r.md"), 2, "No space left on device",
            patch=_disk_full_after(0)),
    # table: the report's validation, and its output through the one writer
    *(Hostile(f"table-{name}", ("table", f"{{in}}/{name}.json"), 2, _FIELD_ERRORS[name])
      for name in ("nan-ips", "float-params", "ok-null-result")),
    Hostile("table-missing", ("table", "{in}/nowhere.json"), 2, "no such file"),
    Hostile("table-o-exists", ("table", "{in}/good.json", "-o", "{w}/t.tex"), 2,
            "exists; pass --overwrite", setup=_touch("t.tex"), check=_kept("t.tex")),
    Hostile("table-o-fifo", ("table", "{in}/good.json", "-o", "{in}/fifo.json",
                             "--overwrite"), 2, "not a regular file"),
    Hostile("table-o-input", ("table", "{w}/in.json", "-o", "{w}/in.json", "--overwrite"), 2,
            "one of this command's inputs", setup=_copy_good("in.json")),
    Hostile("table-disk-full", ("table", "{in}/good.json", "--format", "csv", "-o",
                                "{w}/t.csv"), 2, "No space left on device",
            patch=_disk_full_after(0)),
    Hostile("table-bad-column", ("table", "{in}/good.json", "--columns", "params,latency"), 2,
            "unknown column 'latency' in --columns"),
    Hostile("table-bad-format", ("table", "{in}/good.json", "--format", "docx"), 2,
            "invalid choice: 'docx'"),
    # merge: never onto an input, never over a file unless told
    Hostile("merge-o-exists", ("merge", "{in}/good.json", "-o", "{w}/m.json"), 2,
            "exists; pass --overwrite", setup=_touch("m.json"), check=_kept("m.json")),
    Hostile("merge-o-input", ("merge", "{w}/a.json", "-o", "{w}/a.json", "--overwrite"), 2,
            "one of this command's inputs", setup=_copy_good("a.json"),
            check=_untouched("a.json")),
    Hostile("merge-o-input-other-path", ("merge", "{w}/a.json", "-o", "{w}/sub/../a.json",
                                         "--overwrite"), 2, "one of this command's inputs",
            setup=lambda w: (_copy_good("a.json")(w), (w / "sub").mkdir())),
    Hostile("merge-o-fifo", ("merge", "{in}/good.json", "-o", "{in}/fifo.json",
                             "--overwrite"), 2, "not a regular file"),
    Hostile("merge-o-dev-null", ("merge", "{in}/good.json", "-o", "/dev/null", "--overwrite"),
            2, "not a regular file"),
    Hostile("merge-o-folder", ("merge", "{in}/good.json", "-o", "{in}/a-folder"), 2,
            "is a folder"),
    Hostile("merge-nan-part", ("merge", "{in}/nan-ips.json", "-o", "{w}/m.json"), 2,
            "got NaN"),
    Hostile("merge-no-o", ("merge", "{in}/good.json"), 2, "-o/--output"),
    Hostile("merge-disk-full", ("merge", "{in}/good.json", "-o", "{w}/m.json"), 2,
            "No space left", patch=_disk_full_after(0),
            check=_merged_on_stdout),
    # run: outputs, locks, full disk, suite names, misbehaving models, the memory guard
    Hostile("run-o-fifo", ("run", str(TINY_SUITE), "-o", "{in}/fifo.json", "--overwrite"), 2,
            "not a regular file", patch=_fake_measure),
    Hostile("run-o-dev-null", ("run", str(TINY_SUITE), "-o", "/dev/null", "--overwrite"), 2,
            "not a regular file", patch=_fake_measure),
    Hostile("run-o-folder", ("run", str(TINY_SUITE), "-o", "{in}/a-folder"), 2, "is a folder",
            patch=_fake_measure),
    Hostile("run-o-under-file", ("run", str(TINY_SUITE), "-o", "{w}/blocker/r.json"), 2,
            "is not a folder", setup=_touch("blocker"), patch=_fake_measure),
    Hostile("run-o-exists", ("run", str(TINY_SUITE), "-o", "{w}/r.json"), 2,
            "pass --resume", setup=_touch("r.json"), patch=_fake_measure,
            check=_kept("r.json")),
    Hostile("run-o-proc", ("run", str(TINY_SUITE), "-o", "/proc/attnprof/r.json"), 2,
            "cannot", patch=_fake_measure),
    Hostile("run-resume-nan", ("run", str(TINY_SUITE), "-o", "{w}/r.json", "--resume"), 2,
            "got NaN", setup=lambda w: shutil.copy(w.parent / "in" / "nan-ips.json",
                                                   w / "r.json"), patch=_fake_measure),
    Hostile("run-live-lock", ("run", str(TINY_SUITE), "-o", "{w}/r.json", "-q"), 2,
            "PID 1", setup=_live_lock("r.json"), patch=_fake_measure, check=_lock_kept),
    Hostile("run-resume-live-lock", ("run", str(TINY_SUITE), "-o", "{w}/r.json", "--resume",
                                     "-q"), 2, "is being written by another attnprof",
            setup=lambda w: (_copy_tiny_run("r.json")(w), _live_lock("r.json")(w)),
            patch=_fake_measure),
    Hostile("run-stale-lock", ("run", str(TINY_SUITE), "-o", "{w}/r.json", "-q"), 0,
            setup=_stale_lock("r.json"), patch=_fake_measure, check=_run_file(TINY_CASES)),
    Hostile("merge-onto-locked", ("merge", "{in}/good.json", "-o", "{w}/r.json",
                                  "--overwrite"), 2, "PID 1",
            setup=lambda w: (_touch("r.json")(w), _live_lock("r.json")(w)),
            check=_kept("r.json")),
    Hostile("run-disk-full-start", ("run", str(TINY_SUITE), "-o", "{w}/r.json", "-q"), 2,
            "No space left on device", patch=lambda m: (_fake_measure(m),
                                                        _disk_full_after(0)(m)),
            check=_absent("r.json")),
    Hostile("run-disk-full-mid", ("run", str(TINY_SUITE), "-o", "{w}/r.json", "-q"), 2,
            "keeps 2 case(s) written before", patch=lambda m: (_fake_measure(m),
                                                               _disk_full_after(3)(m)),
            check=_disk_full_run),
    Hostile("run-name-dotdot", ("run", "{in}/dotdot.toml"), 2, "is not a name"),
    Hostile("run-name-absolute", ("run", "{in}/absolute.toml"), 2, "is not a name"),
    Hostile("run-name-spaces", ("run", "{in}/spaces.toml"), 2, "is not a name"),
    Hostile("run-name-dots", ("run", "{in}/dots.toml"), 2, "dots.toml:2"),
    Hostile("run-import-fails", ("run", "{in}/import-fails.toml", "-o", "{w}/r.json"), 2,
            "it raised RuntimeError: this module cannot be imported"),
    Hostile("run-model-exits", ("run", "{in}/exits.toml", "-o", "{w}/r.json", "-q"), 0,
            check=_exit_recorded),
    Hostile("run-nan-budget", ("run", "{in}/nan-budget.toml", "-o", "{w}/r.json"), 2,
            "key 'budget.min_time'"),
    Hostile("run-inf-budget", ("run", "{in}/inf-budget.toml", "-o", "{w}/r.json"), 2,
            "key 'budget.repeats'"),
    Hostile("run-max-memory-bogus", ("run", str(TINY_SUITE), "-o", "{w}/r.json",
                                     "--max-memory", "lots"), 2, "malformed size 'lots'",
            patch=_fake_measure),
    Hostile("run-max-memory-zero", ("run", str(TINY_SUITE), "-o", "{w}/r.json",
                                    "--max-memory", "0"), 2, "positive size",
            patch=_fake_measure),
    Hostile("run-memory-guard", ("run", "{in}/mixed.toml", "-o", "{w}/r.json", "-q",
                                 "--max-memory", "56KiB"), 0, check=_oom_estimates),
    Hostile("run-shard-range", ("run", str(TINY_SUITE), "--shard", "3/2"), 2, "out of range"),
    Hostile("run-shard-text", ("run", str(TINY_SUITE), "--shard", "half"), 2,
            "malformed shard"),
    Hostile("run-cuda", ("run", str(TINY_SUITE), "--device", "cuda", "-o", "{w}/r.json"), 2,
            "CUDA is not available"),
    Hostile("run-minutes", ("run", str(TINY_SUITE), "--max-minutes", "-1", "-o",
                            "{w}/r.json"), 2, "max_minutes must be >= 0",
            patch=_fake_measure),
    Hostile("run-resume-overwrite", ("run", str(TINY_SUITE), "-o", "{w}/r.json", "--resume",
                                     "--overwrite"), 2, "not both", setup=_touch("r.json"),
            patch=_fake_measure, check=_kept("r.json")),
    Hostile("run-unknown-suite", ("run", "no-such-suite"), 2, "unknown suite"),
    Hostile("run-dev-zero-suite", ("run", "/dev/zero"), 2, "does not exist"),
    # bench: options that do not apply, bad values, outputs, memory guard, user models
    Hostile("bench-input-block", ("bench", "--block", "eca", "--channels", "8", "--input",
                                  "3x8x8"), 2, "--input"),
    Hostile("bench-attention-block", ("bench", "--block", "eca", "--channels", "8",
                                      "--attention", "se"), 2, "--attention"),
    Hostile("bench-channels-model", ("bench", TINY, "--channels", "8"), 2,
            "--channels apply only with --block"),
    Hostile("bench-size-model", ("bench", TINY, "--size", "8x8"), 2,
            "--size apply only with --block"),
    Hostile("bench-model-and-block", ("bench", TINY, "--block", "eca", "--channels", "8"), 2,
            "not both"),
    Hostile("bench-block-no-channels", ("bench", "--block", "eca"), 2, "needs --channels"),
    Hostile("bench-batch-zero", ("bench", TINY, "--batch", "0"), 2, "batch"),
    Hostile("bench-batch-negative", ("bench", TINY, "--batch", "-4"), 2, "batch"),
    Hostile("bench-batch-text", ("bench", TINY, "--batch", "many"), 2, "invalid int value"),
    Hostile("bench-dtype", ("bench", TINY, "--dtype", "fp64"), 2, "invalid choice"),
    Hostile("bench-mode", ("bench", TINY, "--mode", "sideways"), 2, "invalid choice"),
    Hostile("bench-unknown-flag", ("bench", TINY, "--turbo"), 2, "unrecognized arguments"),
    Hostile("bench-nproc-infer", ("bench", TINY, "--nproc", "2"), 2, "use --mode train"),
    Hostile("bench-input-zero", ("bench", TINY, "--input", "3x0x224"), 2, "malformed shape"),
    Hostile("bench-input-text", ("bench", TINY, "--input", "big"), 2, "malformed shape"),
    Hostile("bench-threads-zero", ("bench", TINY, *FAST, "--threads", "0"), 2,
            "threads"),
    Hostile("bench-device", ("bench", TINY, "--device", "tpu"), 2, "unknown device"),
    Hostile("bench-min-time", ("bench", TINY, "--min-time", "-1"), 2, ">= 0"),
    Hostile("bench-unknown-model", ("bench", "resnet5"), 2, "unknown model"),
    Hostile("bench-option", ("bench", TINY, "--attention-option", "k_size"), 2,
            "KEY=VALUE"),
    Hostile("bench-max-memory", ("bench", TINY, *FAST, "--max-memory", "56KiB"), 2,
            "estimated peak memory at batch 2"),
    Hostile("bench-max-memory-retry", ("bench", TINY, *FAST, "--max-memory", "1KiB",
                                       "--oom-retry"), 2, "not even batch 1 fits"),
    Hostile("bench-max-memory-bogus", ("bench", TINY, "--max-memory", "8 gigs"), 2,
            "malformed size"),
    Hostile("bench-o-fifo", ("bench", TINY, *FAST, "-o", "{in}/fifo.json", "--overwrite"), 2,
            "not a regular file"),
    Hostile("bench-o-exists", ("bench", TINY, *FAST, "-o", "{w}/b.json"), 2,
            "exists; pass --overwrite", setup=_touch("b.json"), check=_kept("b.json")),
    Hostile("bench-o-dev-null", ("bench", TINY, *FAST, "-o", "/dev/null", "--overwrite"), 2,
            "not a regular file"),
    Hostile("bench-o-slash", ("bench", TINY, *FAST, "-o", "{w}/out/"), 2, "names a folder"),
    Hostile("bench-o-under-file", ("bench", TINY, *FAST, "-o", "{w}/blocker/b.json"), 2,
            "is not a folder", setup=_touch("blocker")),
    Hostile("bench-o-disk-full", ("bench", TINY, *FAST, "-o", "{w}/b.json"), 2,
            "printed to stdout", patch=_disk_full_after(0), check=_result_on_stdout("bench")),
    Hostile("bench-model-exits", ("bench", EXIT_NET, *FAST), 2, "sys.exit(3)"),
    Hostile("bench-import-fails", ("bench", BROKEN, *FAST), 2, "cannot import module"),
    # count
    Hostile("count-o-exists", ("count", TINY, "--input", "3x16x16", "-o", "{w}/c.json"), 2,
            "exists; pass --overwrite", setup=_touch("c.json"), check=_kept("c.json")),
    Hostile("count-o-fifo", ("count", TINY, "-o", "{in}/fifo.json", "--overwrite"), 2,
            "not a regular file"),
    Hostile("count-o-disk-full", ("count", TINY, "--input", "3x16x16", "-o", "{w}/c.json"),
            2, "printed to stdout", patch=_disk_full_after(0),
            check=_result_on_stdout("count")),
    Hostile("count-input-block", ("count", "--block", "se", "--channels", "16", "--input",
                                  "3x8x8"), 2, "--input"),
    Hostile("count-size-model", ("count", TINY, "--size", "8x8"), 2, "--size"),
    Hostile("count-import-fails", ("count", BROKEN), 2, "cannot"),
    Hostile("count-model-exits", ("count", EXIT_NET, "--input", "3x16x16"), 2,
            "sys.exit(3)"),
    Hostile("count-depth", ("count", TINY, "--depth", "9"), 2, "--depth"),
    Hostile("count-batch", ("count", TINY, "--batch", "0"), 2, "--batch"),
    # trace
    Hostile("trace-logdir-under-file", ("trace", TINY, "--input", "3x16x16", "--logdir",
                                        "{w}/blocker/logs"), 2, "cannot write traces",
            setup=_touch("blocker")),
    Hostile("trace-logdir-proc", ("trace", TINY, "--input", "3x16x16", "--logdir",
                                  "/proc/attnprof-logs"), 2, "cannot write traces"),
    Hostile("trace-logdir-fifo", ("trace", TINY, "--input", "3x16x16", "--logdir",
                                  "{in}/fifo.json"), 2, "cannot write traces"),
    Hostile("trace-disk-full", ("trace", TINY, "--input", "3x16x16", "--batch", "2",
                                "--logdir", "{w}/logs"), 2, "No space left",
            patch=_disk_full_after(0)),
    Hostile("trace-channels-model", ("trace", TINY, "--channels", "8", "--logdir", "{w}/l"),
            2, "--channels"),
    Hostile("trace-max-memory", ("trace", TINY, "--input", "3x16x16", "--batch", "2",
                                 "--logdir", "{w}/logs", "--max-memory", "56KiB"), 2,
            "estimated peak memory"),
    Hostile("trace-no-logdir", ("trace", TINY), 2, "--logdir"),
    # reproduce and the rest
    Hostile("reproduce-bad-name", ("reproduce", "--suite", "{in}/dotdot.toml"), 2,
            "is not a name"),
    Hostile("reproduce-report-exists", ("reproduce", "--suite", str(TINY_SUITE), "--results",
                                        "{w}/r.json", "-o", "{w}/r.md", "-q"), 2,
            "pass --resume", setup=_touch("r.md"), patch=_fake_measure,
            check=_absent("r.json")),
    Hostile("unknown-command", ("frobnicate",), 2, "invalid choice"),
    Hostile("list-extra", ("list", "everything"), 2, "unrecognized arguments"),
]


# --- the second sweep (issue 25): silent successes, inconsistent files, writes onto inputs ----

PAPER = FIXTURES / "results" / "eca-paper-cpu.json"
EXIT_GATE = "tests.helpers.hostile_models:ExitGate"
INTERRUPT_GATE = "tests.helpers.hostile_models:InterruptGate"
ROUNDS = ("--block-time", "0.002", "--min-rounds", "3", "--max-rounds", "4", "--group-time",
          "0.2", "--seed", "1")
# two worker processes: the worker boundary is what these rows test, a third adds nothing
VS_FAST = (*FAST, *ROUNDS, "--processes", "2")
# the group timed in this process (`--processes 1`): the same faults without a worker boundary
VS_HERE = (*FAST, *ROUNDS, "--processes", "1")
CAL_FAST = ("--input", "3x16x16", "--batch", "2", "--threads", "1", "--warmup", "1", *ROUNDS)


def _group0(data: dict[str, Any]) -> dict[str, Any]:
    return data["groups"][0]


def _case_of(data: dict[str, Any], case_id: str) -> dict[str, Any]:
    return next(c for c in data["cases"] if c["case_id"] == case_id)


def _dup_case(data: dict[str, Any]) -> None:
    """A 50% slower copy of a timed case, placed first."""
    copy_ = copy.deepcopy(_first(data, "bench"))
    copy_["result"]["images_per_sec"] /= 2
    data["cases"].insert(0, copy_)


def _dup_group(data: dict[str, Any]) -> None:
    data["groups"].append(copy.deepcopy(_group0(data)))


def _member_batch(data: dict[str, Any]) -> None:
    _group0(data)["members"][1]["batch"] *= 10


def _members_swapped(data: dict[str, Any]) -> None:
    members = _group0(data)["members"]
    members[1]["case_id"], members[2]["case_id"] = members[2]["case_id"], members[1]["case_id"]


def _member_missing(data: dict[str, Any]) -> None:
    gone = _group0(data)["members"][2]["case_id"]
    data["cases"] = [c for c in data["cases"] if c["case_id"] != gone]


def _ratio(key: str, value: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        ratio = _group0(data)["ratios"][0]
        ratio[key] = value(ratio)
    return change


def _ci_reversed(data: dict[str, Any]) -> None:
    ratio = _group0(data)["ratios"][0]
    ratio["ci_low"], ratio["ci_high"] = ratio["ci_high"], ratio["ci_low"]


def _group_field(key: str,
                 value: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        _group0(data)[key] = value(_group0(data))
    return change


def _order_absent(data: dict[str, Any]) -> None:
    _group0(data)["orders"][0][0] = 9


def _times_short(data: dict[str, Any]) -> None:
    _group0(data)["members"][0]["times"].pop()


def _member_error_silent(data: dict[str, Any]) -> None:
    member = _group0(data)["members"][1]
    member["status"], member["error"] = "error", None


def _attention_params(data: dict[str, Any]) -> None:
    result = _first(data, "count")["result"]
    result["attention_params"] = result["params"] + 1


def _error_silent(data: dict[str, Any]) -> None:
    case = _first(data, "count")
    case["status"], case["error"] = "error", None


def _zero_baseline(data: dict[str, Any]) -> None:
    result = _case_of(data, _group0(data)["members"][0]["case_id"])["result"]
    result["images_per_sec"], result["samples"] = 0.0, []


def _negative_part(data: dict[str, Any]) -> None:
    parts = _first(data, "breakdown")["result"]["parts"]
    next(p for p in parts if p["part"] != "unattributed")["ms"] = -1.0


GROUP_VARIANTS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "dup-case": (_dup_case, "appears twice in the file"),
    "dup-group": (_dup_group, "field 'group_id'"),
    "member-batch": (_member_batch, "field 'members[1].batch'"),
    "members-swapped": (_members_swapped, "field 'members[1].label'"),
    "member-missing": (_member_missing, "is not a case of this file"),
    "ratio-above": (_ratio("throughput_ratio", lambda r: r["ci_high"] * 1.1),
                    "lies above its interval"),
    "ratio-below": (_ratio("throughput_ratio", lambda r: r["ci_low"] * 0.9),
                    "lies below its interval"),
    "ratio-baseline": (_ratio("member", lambda r: 0), "is the baseline"),
    "ratio-case": (_ratio("case_id", lambda r: "bench-000000000000"),
                   "field 'ratios[0].case_id'"),
    "ratio-rounds": (_ratio("rounds", lambda r: r["rounds"] + 1000),
                     "field 'ratios[0].rounds'"),
    "ci-reversed": (_ci_reversed, "is above ci_high"),
    "rounds-count": (_group_field("rounds", lambda g: g["rounds"] + 1), "field 'rounds'"),
    "order-absent": (_order_absent, "field 'orders[0]'"),
    "confidence-1.5": (_group_field("confidence", lambda g: 1.5), "field 'confidence'"),
    "times-short": (_times_short, "field 'members[0].times'"),
    "member-error-silent": (_member_error_silent, "field 'members[1].error'"),
    "attention-params": (_attention_params, "field 'result.attention_params'"),
    "error-silent": (_error_silent, "says no why"),
    "zero-baseline": (_zero_baseline, "field 'result.images_per_sec'"),
    "negative-part": (_negative_part, "only the 'unattributed' part may be negative"),
}


def _part(shard: dict[str, int] | None, slower: bool = False) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        data["suite"]["shard"] = shard
        if slower:
            _first(data, "bench")["result"]["images_per_sec"] /= 2
    return change


def _other_machine(data: dict[str, Any]) -> None:
    data["environment"]["cpu_model"] = "Some Other CPU"


PART_VARIANTS: dict[str, Callable[[dict[str, Any]], None]] = {
    "part-slower": _part(None, slower=True),
    "shard-1-2": _part({"index": 1, "count": 2}),
    "shard-1-2-again": _part({"index": 1, "count": 2}, slower=True),
    "shard-2-3": _part({"index": 2, "count": 3}),
    "other-machine": _other_machine,
}


def second_sweep_inputs(folder: Path) -> None:
    """The files of the second sweep, beside the first's."""
    paper = json.loads(PAPER.read_text())
    shutil.copy(PAPER, folder / "paper.json")
    for name, (change, _) in GROUP_VARIANTS.items():
        data = copy.deepcopy(paper)
        change(data)
        _json(folder / f"g-{name}.json", data)
    base = json.loads(BASELINE.read_text())
    for name, change in PART_VARIANTS.items():
        data = copy.deepcopy(base)
        change(data)
        _json(folder / f"{name}.json", data)
    _suite(folder, "hidden.toml", name='".hidden"')
    _suite(folder, "group-exits.toml", kind="bench", models=f'"{TINY}"',
           budget="[budget]\nmin_time = 0.01\nrepeats = 1\nwarmup = 1\nblock_time = 0.002\n"
           "min_rounds = 3\nmax_rounds = 4\ngroup_time = 0.2\nprocesses = 1\n",
           extra=f'attention = ["none", "{EXIT_GATE}", "{INTERRUPT_GATE}"]\nbatch = 2\n'
           'modes = "infer"')
    (folder / "group-exits.toml").write_text(
        (folder / "group-exits.toml").read_text()
        + f'\n[[matrix]]\nkind = "count"\nmodels = ["{TINY}"]\ninput = "3x16x16"\n')


def _no_memory_child(monkeypatch: pytest.MonkeyPatch) -> None:
    """Comparison groups skip the CPU memory child (a process per member: slow, not tested)."""
    from profiler.measure.memory.peak import MemoryFigures
    from profiler.measure.timing import group as group_module

    monkeypatch.setattr(group_module, "_memory",
                        lambda *args, **kwargs: MemoryFigures(method="skipped"))


def _little_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """This machine has 56 KiB available (below TinyNet's step at batch 2)."""
    from profiler.measure.memory import guard as memory_guard

    monkeypatch.setattr(memory_guard, "available_memory_bytes", lambda: 56 * 1024)


def _group_run_went_on(work: Path, out: str) -> None:
    loaded = load_result_file(work / "r.json")
    statuses = {c.spec.workload.attention: c.status for c in loaded.cases if c.kind == "bench"}
    assert statuses == {None: "ok", EXIT_GATE: "error", INTERRUPT_GATE: "error"}
    errors = {c.error for c in loaded.cases if c.status == "error"}
    assert any("the model called sys.exit(3)" in (e or "") for e in errors)
    assert any("raised KeyboardInterrupt" in (e or "") for e in errors)
    assert [c.status for c in loaded.cases if c.kind == "count"] == ["ok"]  # the rest went on


def _both_in_the_table(work: Path, out: str) -> None:
    assert "throughput vs none" in out and "the model called sys.exit(3)" in out
    assert "the model raised KeyboardInterrupt (no Ctrl-C was pressed)" in out


def _merged_prefers_last(work: Path, out: str) -> None:
    merged = load_result_file(work / "m.json")
    slower = json.loads(BASELINE.read_text())
    first = _first(slower, "bench")
    kept = merged.case(first["case_id"])
    assert kept is not None and kept.result is not None
    assert kept.result.images_per_sec == pytest.approx(first["result"]["images_per_sec"] / 2)


def _lock_folder_kept(work: Path, out: str) -> None:
    assert (work / "r.json.lock").is_dir() and not (work / "r.json").exists()
    assert not list(work.glob("*.stale-*"))


CLAIMS = ROOT / "suites" / "claims" / "eca-cvpr2020.toml"


def _kept_copy(name: str, source: Path) -> Check:
    def check(work: Path, out: str) -> None:
        assert (work / name).read_bytes() == source.read_bytes()
    return check


def _copy(source: str, name: str) -> Callable[[Path], None]:
    def make(work: Path) -> None:
        shutil.copy(source, work / name)
    return make


def _inputs_file(name: str) -> Callable[[Path], None]:
    """Copy ``name`` from the inputs folder (made by the fixture) into the row's folder."""
    def make(work: Path) -> None:
        shutil.copy(work.parent / "in" / name, work / name)
    return make


USER_OBJECTS = ROOT / "tests" / "helpers" / "user_objects.py"


def _user_module(work: Path) -> None:
    shutil.copy(USER_OBJECTS, work / "hostile_user_model.py")


def _importable_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """The row's folder (the current directory) on sys.path, as for ``python -m``."""
    monkeypatch.syspath_prepend(os.getcwd())
    monkeypatch.delitem(sys.modules, "hostile_user_model", raising=False)


def _lock_folder(work: Path) -> None:
    (work / "r.json.lock").mkdir()


SECOND_SWEEP: list[Hostile] = [
    # 1. user code that exits or raises KeyboardInterrupt: an error, the rest goes on
    # one group, both faults, in its worker processes (a pair of workers per fault repeats
    # the same path)
    Hostile("vs-members-exit-and-interrupt", ("bench", TINY, "--vs", EXIT_GATE, "--vs",
                                              INTERRUPT_GATE, *VS_FAST), 2,
            "the model called sys.exit(3)", patch=_no_memory_child, check=_both_in_the_table),
    Hostile("vs-baseline-exits", ("bench", TINY, "--attention", EXIT_GATE, "--vs", "none",
                                  *VS_HERE), 2, "the model called sys.exit(3)",
            patch=_no_memory_child),
    Hostile("vs-json-member-exits", ("bench", TINY, "--vs", EXIT_GATE, *VS_HERE, "--format",
                                     "json"), 2, "sys.exit(3)", patch=_no_memory_child),
    Hostile("calibrate-model-exits", ("calibrate", EXIT_NET, *CAL_FAST), 2,
            "the model called sys.exit(3)"),
    Hostile("calibrate-block-exits", ("calibrate", TINY, "--attention", EXIT_GATE, *CAL_FAST),
            2, "the model called sys.exit(3)"),
    Hostile("trace-model-exits", ("trace", TINY, "--attention", EXIT_GATE, "--input", "3x16x16",
                                  "--batch", "2", "--logdir", "{w}/logs"), 2,
            "the model called sys.exit(3)"),
    Hostile("trace-build-exits", ("trace", EXIT_NET, "--input", "3x16x16", "--batch", "2",
                                  "--logdir", "{w}/logs"), 2, "sys.exit(3)"),
    Hostile("breakdown-model-exits", ("breakdown", EXIT_NET, "--input", "3x16x16", "--batch",
                                      "2"), 2, "the model called sys.exit(3)"),
    Hostile("bench-forward-exits", ("bench", TINY, "--attention", EXIT_GATE, *FAST), 2,
            "the model called sys.exit(3)"),
    Hostile("run-group-member-exits", ("run", "{in}/group-exits.toml", "-o", "{w}/r.json",
                                       "-q"), 0, patch=_no_memory_child,
            check=_group_run_went_on),
    Hostile("run-group-member-exits-strict", ("run", "{in}/group-exits.toml", "-o",
                                              "{w}/r.json", "-q", "--strict"), 1,
            patch=_no_memory_child, check=_group_run_went_on),
    # 2. result files that contradict themselves: refused by report, compare, merge
    *(Hostile(f"report-g-{name}", ("report", f"{{in}}/g-{name}.json", "--claims", "none"), 2,
              fragment) for name, (_, fragment) in GROUP_VARIANTS.items()),
    Hostile("compare-dup-case", ("compare", "{in}/paper.json", "{in}/g-dup-case.json"), 2,
            "appears twice in the file"),
    Hostile("compare-dup-case-baseline", ("compare", "{in}/g-dup-case.json", "{in}/paper.json"),
            2, "appears twice in the file"),
    Hostile("compare-members-swapped", ("compare", "{in}/paper.json",
                                        "{in}/g-members-swapped.json"), 2, "members[1]"),
    Hostile("merge-dup-case", ("merge", "{in}/g-dup-case.json", "-o", "{w}/m.json"), 2,
            "appears twice in the file", check=_absent("m.json")),
    Hostile("merge-member-batch", ("merge", "{in}/g-member-batch.json", "-o", "{w}/m.json"),
            2, "'members[1].batch'", check=_absent("m.json")),
    Hostile("merge-ratio-above", ("merge", "{in}/paper.json", "{in}/g-ratio-above.json", "-o",
                                  "{w}/m.json"), 2, "lies above its interval"),
    # 3. no write onto the command's own inputs, with or without --overwrite
    Hostile("gate-o-suite", ("gate", "{w}/s.toml", "--base", "HEAD", "-o", "{w}/s.toml",
                             "--overwrite"), 2, "one of this command's inputs",
            setup=_copy(str(TINY_SUITE), "s.toml"), check=_kept_copy("s.toml", TINY_SUITE)),
    Hostile("run-o-suite", ("run", "{w}/s.toml", "-o", "{w}/s.toml", "--overwrite"), 2,
            "one of this command's inputs", setup=_copy(str(TINY_SUITE), "s.toml"),
            check=_kept_copy("s.toml", TINY_SUITE)),
    Hostile("conventions-write-claims", ("conventions", "--claims", "{w}/c.toml", "--write",
                                         "{w}/c.toml", "--overwrite"), 2,
            "one of this command's inputs", setup=_copy(str(CLAIMS), "c.toml"),
            check=_kept_copy("c.toml", CLAIMS)),
    Hostile("report-o-claims", ("report", "{in}/good.json", "--claims", "{w}/c.toml", "-o",
                                "{w}/c.toml", "--overwrite"), 2, "one of this command's inputs",
            setup=_copy(str(CLAIMS), "c.toml"), check=_kept_copy("c.toml", CLAIMS)),
    Hostile("report-o-second-input", ("report", "{in}/good.json", "{w}/in.json", "-o",
                                      "{w}/in.json", "--overwrite"), 2,
            "one of this command's inputs", setup=_copy_good("in.json"),
            check=_untouched("in.json")),
    Hostile("merge-o-second-part", ("merge", "{in}/good.json", "{w}/a.json", "-o",
                                    "{w}/a.json", "--overwrite"), 2,
            "one of this command's inputs", setup=_copy_good("a.json"),
            check=_untouched("a.json")),
    Hostile("count-o-model-source", ("count", "hostile_user_model:TinyNet", "--input",
                                     "3x16x16", "-o", "{w}/hostile_user_model.py",
                                     "--overwrite"), 2, "one of this command's inputs",
            setup=_user_module, patch=_importable_work,
            check=_kept_copy("hostile_user_model.py", USER_OBJECTS)),
    # 4. calibrate --into: another machine's file is refused (unless --force), untouched
    Hostile("calibrate-into-other-machine", ("calibrate", TINY, *CAL_FAST, "--into",
                                             "{w}/other-machine.json"), 2,
            "CPU model 'Some Other CPU' in the file", setup=_inputs_file("other-machine.json")),
    Hostile("calibrate-into-inconsistent", ("calibrate", TINY, *CAL_FAST, "--into",
                                            "{w}/g-dup-case.json"), 2,
            "appears twice in the file", setup=_inputs_file("g-dup-case.json")),
    # 5. the memory guard: --max-memory lowers the limit, never raises it; steps are bounded
    Hostile("max-memory-above-available", ("bench", TINY, *FAST, "--max-memory", "1TiB"), 2,
            "estimated peak memory at batch 2", patch=_little_memory),
    Hostile("max-memory-absurd", ("bench", TINY, *FAST, "--max-memory",
                                  "99999999999999999999999TiB"), 2, "of memory available",
            patch=_little_memory),
    Hostile("breakdown-max-memory-above", ("breakdown", TINY, "--input", "3x16x16", "--batch",
                                           "2", "--max-memory", "1TiB"), 2,
            "estimated peak memory", patch=_little_memory),
    Hostile("breakdown-profiled-steps-huge", ("breakdown", TINY, "--profiled-steps",
                                              "1000000000"), 2, "at most 100"),
    Hostile("breakdown-timed-steps-huge", ("breakdown", TINY, "--timed-steps", "100000000"), 2,
            "at most 10000"),
    Hostile("breakdown-profiler-events", ("breakdown", TINY, "--input", "3x16x16", "--batch",
                                          "2", "--profiled-steps", "100", "--max-memory",
                                          "2MiB"), 2, "profiling 101 steps keeps about"),
    Hostile("trace-profiler-events", ("trace", TINY, "--input", "3x16x16", "--batch", "2",
                                      "--active", "90", "--logdir", "{w}/l", "--max-memory",
                                      "1MiB"), 2, "profiling 91 steps keeps about"),
    Hostile("trace-steps-huge", ("trace", TINY, "--active", "100000", "--logdir", "{w}/l"), 2,
            "at most 100 are profiled"),
    # 6. merge: different ok records of one case; shards that do not fit
    Hostile("merge-conflicting-ok", ("merge", "{in}/good.json", "{in}/part-slower.json", "-o",
                                     "{w}/m.json"), 2, "pass --prefer first|last",
            check=_absent("m.json")),
    Hostile("merge-prefer-last", ("merge", "{in}/good.json", "{in}/part-slower.json", "-o",
                                  "{w}/m.json", "--prefer", "last"), 0, "merged 2 part(s)",
            check=_merged_prefers_last),
    Hostile("merge-prefer-bogus", ("merge", "{in}/good.json", "-o", "{w}/m.json", "--prefer",
                                   "newest"), 2, "invalid choice"),
    Hostile("merge-shards-1-2-and-2-3", ("merge", "{in}/shard-1-2.json", "{in}/shard-2-3.json",
                                         "-o", "{w}/m.json"), 2, "shards of one run share N"),
    Hostile("merge-shard-twice", ("merge", "{in}/shard-1-2.json", "{in}/shard-1-2-again.json",
                                  "-o", "{w}/m.json"), 2, "both shard 1/2"),
    Hostile("merge-whole-and-shard", ("merge", "{in}/good.json", "{in}/shard-1-2.json", "-o",
                                      "{w}/m.json"), 2, "merge either shards or whole runs"),
    # 7. --vs members: options checked as --attention-option's, before anything is timed
    *(Hostile(f"vs-option-{key}", ("bench", TINY, *(part for text in member.split("|")
                                                     for part in ("--vs", text)), *VS_FAST),
              2, fragment)
      for key, member, fragment in (
          ("abc", "se[reduction=abc]", "reduction must be a positive integer, got 'abc'"),
          ("bracket", "se[reduction=8]]", "malformed member"),
          ("empty", "se[reduction=]", "reduction must be a positive integer, got ''"),
          ("even-k", "eca[k_size=4]", "k_size must be a positive odd integer"),
          ("stages", "se[stages=9]", "option stages must be distinct stage numbers"),
          ("nan", "se[reduction=nan]", "got 'nan'"),
          ("repeated", "se[reduction=4;reduction=8]", "reduction is given twice"),
          ("signature", "tests.helpers.user_objects:not_a_module", "--vs "),
          ("exit-on-build", "tests.helpers.hostile_models:ExitNet", "sys.exit(3)"),
          ("same-as-baseline", "none", "a group needs two different members"),
          ("default-spelled-out", "se[reduction=16]|se",
           "builds the same module as --vs se[reduction=16]"),
      )),
    Hostile("block-vs-bad-option", ("bench", "--block", "se", "--channels", "16", "--size",
                                    "8x8", "--vs", "eca[k_size=4]", *ROUNDS), 2,
            "k_size must be a positive odd integer"),
    Hostile("attention-option-repeated", ("bench", TINY, "--attention", "se",
                                          "--attention-option", "reduction=4",
                                          "--attention-option", "reduction=8"), 2,
            "reduction is given twice"),
    # 8. locks that are not regular files; NaN and infinity in every float flag
    Hostile("lock-is-folder-run", ("run", str(TINY_SUITE), "-o", "{w}/r.json", "-q"), 2,
            "is a folder, not a lock file", setup=_lock_folder, check=_lock_folder_kept),
    Hostile("lock-is-folder-count", ("count", TINY, "--input", "3x16x16", "-o", "{w}/r.json"),
            2, "is a folder, not a lock file", setup=_lock_folder, check=_lock_folder_kept),
    *(Hostile(f"nonfinite-{i}-{argv[0]}-{argv[-2].strip('-')}-{argv[-1]}", argv, 2,
              f"argument {argv[-2]}: expected a finite number")
      for i, argv in enumerate((
          ("bench", TINY, "--vs", "eca", "--block-time", "nan"),
          ("bench", TINY, "--vs", "eca", "--block-time", "inf"),
          ("bench", TINY, "--vs", "eca", "--group-time", "inf"),
          ("bench", TINY, "--vs", "eca", "--target", "nan"),
          ("bench", TINY, "--min-time", "nan"),
          ("calibrate", "--block-time", "nan"),
          ("calibrate", "--block-time", "inf"),
          ("gate", "tiny", "--base", "HEAD", "--max-minutes", "nan"),
          ("run", "tiny", "--max-minutes", "inf"),
          ("reproduce", "--max-minutes", "nan"),
      ))),
    Hostile("compare-drop-above-100", ("compare", "{in}/good.json", "{in}/good.json",
                                       "--fail-on", "images_per_sec:-500%"), 2,
            "cannot drop by more than 100%"),
    Hostile("run-hidden-suite-name", ("run", "{in}/hidden.toml", "-o", "{w}/r.json"), 2,
            "is not a name"),
]

CASES.extend(SECOND_SWEEP)


def _expand(argv: tuple[str, ...], inputs: Path, work: Path) -> list[str]:
    return [a.replace("{in}", str(inputs)).replace("{w}", str(work)) for a in argv]


def test_the_table_is_broad() -> None:
    assert len(CASES) >= 100
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("row", CASES, ids=[c.id for c in CASES])
def test_hostile_input_is_handled_as_promised(row: Hostile, inputs: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "in").symlink_to(inputs)
    monkeypatch.chdir(work)
    if row.setup is not None:
        row.setup(work)
    if row.patch is not None:
        row.patch(monkeypatch)
    try:
        code: int | str | None = main(_expand(row.argv, inputs, work))
    except SystemExit as exc:  # argparse
        code = exc.code
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Traceback" not in out
    assert code == row.code, (out, err)
    errors = [line for line in err.splitlines() if line.startswith("attnprof: error:")]
    if row.code == 2:
        assert len(errors) == 1 and err.splitlines()[-1] == errors[0], err
        assert row.fragment in errors[0], errors[0]
    else:
        assert errors == [], err
        assert row.fragment in out, out
    if row.check is not None:
        row.check(work, out)


# --- faults that need a real second process --------------------------------------------------


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env["TMPDIR"] = str(tmp_path / "tmp")
    env["ATTNPROF_TEST_PIDFILE"] = str(tmp_path / "child.pid")
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return env


def _wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[-1].split()[0] == "Z")


def _signal_during_the_child(signum: int, folder: Path, parent: subprocess.Popen[str]) -> None:
    """Signal ``parent`` once its memory child runs; it ends as promised, cleaning up."""
    pidfile = folder / "child.pid"
    started = _wait_for(lambda: pidfile.exists() or parent.poll() is not None, 120)
    assert started and parent.poll() is None, parent.communicate(timeout=5)
    assert list((folder / "tmp").glob("attnprof-mem-*"))
    child = int(pidfile.read_text())
    parent.send_signal(signum)
    _, err = parent.communicate(timeout=60)
    assert parent.returncode == 128 + signum
    assert err.strip().splitlines()[-1] == f"attnprof: terminated by {signal.Signals(signum).name}"
    assert "Traceback" not in err
    assert _wait_for(lambda: not _alive(child), 10)
    assert not list((folder / "tmp").glob("attnprof-*"))


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc and signals")
def test_signal_during_the_memory_child_cleans_up(tmp_path: Path) -> None:
    # SIGTERM only: SIGHUP takes the same way out (profiler.signals: both raise Terminated),
    # which test_termination_mid_run_keeps_finished_cases_and_the_lock_goes checks for both
    signals = (signal.SIGTERM,)
    runs = []
    for signum in signals:
        folder = tmp_path / signal.Signals(signum).name
        folder.mkdir()
        command = [sys.executable, "-m", "profiler", "bench",
                   "tests.helpers.hostile_models:ChildSleeper",
                   *(a for a in FAST if a != "--no-memory"), "-o", str(folder / "b.json")]
        runs.append((signum, folder, subprocess.Popen(
            command, cwd=folder, env=_env(folder), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)))
    try:
        for signum, folder, parent in runs:
            _signal_during_the_child(signum, folder, parent)
    finally:
        for _, _, parent in runs:
            if parent.poll() is None:
                parent.kill()


HOLDER = """
import sys, time
from profiler.output.lock import hold_lock
with hold_lock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(120)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc")
def test_lock_held_by_a_live_process_then_taken_over_when_it_dies(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.json"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(out)], env=_env(tmp_path),
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        install(monkeypatch, FakeMeasure())
        assert main(["run", str(TINY_SUITE), "-o", str(out), "-q"]) == 2
        err = capsys.readouterr().err
        assert f"PID {holder.pid}" in err and err.count("\n") == 1
        assert not out.exists()
        holder.kill()  # SIGKILL: its lock file stays behind, stale
        holder.wait(timeout=10)
        assert lock_path(out).exists()
        assert main(["run", str(TINY_SUITE), "-o", str(out), "-q"]) == 0
        assert len(load_result_file(out).cases) == TINY_CASES
        assert not lock_path(out).exists()
    finally:
        if holder.poll() is None:
            holder.kill()


def test_disk_full_mid_run_then_resume_after_space_is_freed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.json"
    first = FakeMeasure()
    install(monkeypatch, first)
    # the start, cases 1 and 2 are written; cases 3 and 4 (a comparison group, written
    # together) are not
    _disk_full_after(3)(monkeypatch)
    assert main(["run", str(TINY_SUITE), "-o", str(out), "-q"]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("attnprof: error:") == 1 and "--resume" in captured.err
    assert len(first.labels) == 4 and len(json.loads(captured.out)["cases"]) == 4
    assert len(load_result_file(out).cases) == 2
    monkeypatch.undo()  # space freed
    rest = FakeMeasure()
    install(monkeypatch, rest)
    assert main(["run", str(TINY_SUITE), "-o", str(out), "--resume", "-q"]) == 0
    assert len(rest.labels) == TINY_CASES - 2
    assert [c.status for c in load_result_file(out).cases] == ["ok"] * TINY_CASES


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="needs POSIX signals")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_termination_mid_run_keeps_finished_cases_and_the_lock_goes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        signum: int) -> None:
    out = tmp_path / "r.json"
    measure = FakeMeasure()

    def terminated_at_the_third(spec: CountSpec | BenchSpec,
                                memory_limit: int | None = None) -> CountResult | BenchResult:
        if len(measure.labels) == 2:
            os.kill(os.getpid(), signum)
            time.sleep(5)  # the handler raises before this ends
        return measure(spec)

    install(monkeypatch, terminated_at_the_third)
    assert main(["run", str(TINY_SUITE), "-o", str(out), "-q"]) == 128 + signum
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == f"attnprof: terminated by {signal.Signals(signum).name}"
    assert "--resume" in err and "Traceback" not in err
    assert len(load_result_file(out).cases) == 2 and not lock_path(out).exists()
    assert signal.getsignal(signum) is not signal.SIG_IGN  # handlers restored after main
    install(monkeypatch, FakeMeasure())
    assert main(["run", str(TINY_SUITE), "-o", str(out), "--resume", "-q"]) == 0
    assert len(load_result_file(out).cases) == TINY_CASES


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("command", [["count", TINY, "--input", "3x16x16"],
                                     ["run", str(TINY_SUITE), "-q"]], ids=["count", "run"])
def test_a_fifo_lock_is_refused_not_opened(tmp_path: Path, command: list[str],
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """A FIFO at the lock path: opening it would block until the other end opens, so a
    watchdog opens both ends after a while (a regression then fails, it does not hang)."""
    lock = lock_path(tmp_path / "r.json")
    os.mkfifo(lock)
    monkeypatch.chdir(tmp_path)
    opened: list[int] = []
    watchdog = threading.Timer(30.0, lambda: opened.append(
        os.open(lock, os.O_RDWR | os.O_NONBLOCK)))
    watchdog.start()
    try:
        code = main([*command, "-o", str(tmp_path / "r.json")])
    finally:
        watchdog.cancel()
        for fd in opened:
            os.close(fd)
    err = capsys.readouterr().err
    assert not opened, "the FIFO was opened (the watchdog had to unblock it)"
    assert code == 2, err
    assert err.count("\n") == 1 and "is a FIFO, not a lock file" in err
    assert stat.S_ISFIFO(os.lstat(lock).st_mode) and not (tmp_path / "r.json").exists()
