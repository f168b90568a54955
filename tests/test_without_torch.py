"""Reading result files needs no torch: ``report``, ``compare`` and ``merge`` run where torch is
not installed (a CI summary job, a laptop reading a GPU run's JSON).

Each check runs a fresh interpreter whose import system refuses ``torch`` and ``fvcore`` (as if
they were not installed), runs the command, and fails if any module of theirs got loaded.
"""

from __future__ import annotations

import os
import subprocess
import sys
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


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    code = ("from profiler.cli import main\ncode = main(sys.argv[1:])\n" + REPORT_LOADED
            + "sys.exit(code)\n")
    return _python(code, *args)


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


def test_report_without_torch(tmp_path: Path) -> None:
    out, plots = tmp_path / "report.md", tmp_path / "plots"
    done = _cli("report", str(RESULTS / "eca-paper-cpu.json"), "-o", str(out),
                "--plots", str(plots))
    assert done.returncode == 0, done.stderr
    assert _loaded(done) == []
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# ") and "pass" in text and "Table 3" in text
    assert sorted(p.suffix for p in plots.iterdir()) and all(
        p.suffix == ".png" for p in plots.iterdir())


def test_compare_without_torch() -> None:
    slow = _cli("compare", str(RESULTS / "baseline.json"), str(RESULTS / "new-slow.json"))
    assert slow.returncode == 1, slow.stderr
    assert "REGRESSION" in slow.stdout and _loaded(slow) == []
    same = _cli("compare", str(RESULTS / "baseline.json"), str(RESULTS / "baseline.json"),
                "--format", "markdown")
    assert same.returncode == 0, same.stderr
    assert _loaded(same) == []


def test_merge_and_help_without_torch(tmp_path: Path) -> None:
    merged = _cli("merge", str(RESULTS / "baseline.json"), "-o", str(tmp_path / "m.json"))
    assert merged.returncode == 0, merged.stderr
    assert (tmp_path / "m.json").is_file() and _loaded(merged) == []
    helped = _cli("--help")
    assert helped.returncode == 0 and "report" in helped.stdout


def test_measuring_without_torch_is_one_line_exit_2() -> None:
    done = _cli("count", "resnet18")
    assert done.returncode == 2
    assert done.stderr.splitlines()[0] == ("attnprof: error: 'count' needs torch, which is not "
                                           "installed here (report, compare and merge work "
                                           "without it)")


def test_table_without_torch(tmp_path: Path) -> None:
    out = tmp_path / "t.tex"
    done = _cli("table", str(RESULTS / "eca-paper-cpu.json"), "--format", "latex", "-o",
                str(out))
    assert done.returncode == 0, done.stderr
    assert _loaded(done) == []
    assert out.read_text(encoding="utf-8").count("\\multirow") == 4
