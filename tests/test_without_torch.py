"""Reading result files needs no torch: ``report``, ``compare`` and ``merge`` run where torch is
not installed (a CI summary job, a laptop reading a GPU run's JSON).

The checks run in fresh interpreters whose import system refuses ``torch`` and ``fvcore`` (as if
they were not installed): the commands one after another in one interpreter, each failing the
test if any module of theirs got loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "tests" / "fixtures" / "results"
BLOCKED = ("torch", "fvcore", "torchvision")

# Installs the blocker, runs ``main(argv)`` (or imports), then reports what was loaded.
BOOT = f"""
import importlib.abc, sys
BLOCKED = {BLOCKED!r}

class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked by the test)",
                                      name=name)
        return None

sys.meta_path.insert(0, NoTorch())
"""
REPORT_LOADED = """
loaded = sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED)
print("LOADED:" + ",".join(loaded), file=sys.stderr)
"""


def _python(code: str, *args: str, block: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    env.pop("MPLBACKEND", None)
    program = (BOOT if block else "import sys\nBLOCKED = " + repr(BLOCKED) + "\n") + code
    return subprocess.run([sys.executable, "-c", program, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


# Runs several CLI commands in one interpreter (one start instead of one per command: the
# imports are the slow part), each with its exit code, output, and what was loaded after it.
COMMANDS = """
import contextlib, io, json
from profiler.cli import main
done = []
for argv in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # --help
            code = exc.code
    loaded = sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED)
    done.append({"code": code, "stdout": out.getvalue(), "stderr": err.getvalue(),
                 "loaded": loaded})
print(json.dumps(done))
"""


@dataclass(frozen=True)
class Done:
    returncode: int
    stdout: str
    stderr: str
    loaded: list[str]


def _cli(*commands: Sequence[str]) -> list[Done]:
    """Each of ``commands`` run by ``main`` in turn, in one fresh interpreter with torch
    refused."""
    done = _python(COMMANDS, json.dumps([list(c) for c in commands]))
    assert done.returncode == 0, done.stderr
    return [Done(d["code"], d["stdout"], d["stderr"], d["loaded"])
            for d in json.loads(done.stdout)]


def _loaded(done: subprocess.CompletedProcess[str]) -> list[str]:
    line = next(x for x in done.stderr.splitlines() if x.startswith("LOADED:"))
    return [m for m in line.removeprefix("LOADED:").split(",") if m]


def test_the_blocker_blocks() -> None:
    done = _python("import torch\n")
    assert done.returncode != 0 and "blocked by the test" in done.stderr


@pytest.mark.parametrize("block", [True, False], ids=["torch-absent", "torch-installed"])
def test_reading_side_imports_load_no_torch(block: bool) -> None:
    done = _python("import profiler, profiler.results, profiler.report, profiler.compare\n"
                   "import profiler.report.plots, profiler.cli\n"
                   "profiler.cli.build_parser()\n" + REPORT_LOADED, block=block)
    assert done.returncode == 0, done.stderr
    assert _loaded(done) == []


def test_reading_commands_without_torch(tmp_path: Path) -> None:
    report, plotted, plots = tmp_path / "report.md", tmp_path / "plotted.md", tmp_path / "plots"
    merged, table = tmp_path / "m.json", tmp_path / "t.tex"
    baseline, cpu = str(RESULTS / "baseline.json"), str(RESULTS / "eca-paper-cpu.json")
    # the paper's report, then plots of the smaller fixture (the same four plots in half the
    # time: this test ends the suite's run more often than not)
    runs = _cli(("report", cpu, "-o", str(report)),
                ("report", baseline, "-o", str(plotted), "--plots", str(plots)),
                ("compare", baseline, str(RESULTS / "new-slow.json")),
                ("compare", baseline, baseline, "--format", "markdown"),
                ("merge", baseline, "-o", str(merged)),
                ("table", cpu, "--format", "latex", "-o", str(table)),
                ("--help",),
                ("count", "resnet18"))  # last: it tries to import torch
    reported, drawn, slow, same, merge, tabled, helped, counted = runs
    assert all(d.loaded == [] for d in runs)
    assert reported.returncode == 0, reported.stderr
    text = report.read_text(encoding="utf-8")
    assert text.startswith("# ") and "pass" in text and "Table 3" in text
    assert drawn.returncode == 0, drawn.stderr
    assert len(list(plots.iterdir())) == 4 and all(p.suffix == ".png" for p in plots.iterdir())
    assert all(f"({plots.name}/{p.name})" in plotted.read_text(encoding="utf-8")
               for p in plots.iterdir())
    assert slow.returncode == 1 and "REGRESSION" in slow.stdout, slow.stderr
    assert same.returncode == 0, same.stderr
    assert merge.returncode == 0 and merged.is_file(), merge.stderr
    assert tabled.returncode == 0, tabled.stderr
    assert table.read_text(encoding="utf-8").count("\\multirow") == 4
    assert helped.returncode == 0 and "report" in helped.stdout
    # measuring needs torch: one line, exit 2
    assert counted.returncode == 2
    assert counted.stderr.splitlines()[0] == (
        "attnprof: error: 'count' needs torch, which is not installed here (report, compare "
        "and merge work without it)")
