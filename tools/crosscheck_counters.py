"""Count attnprof's models with the REAL thop releases, into a committed fixture.

attnprof emulates the thop releases the ECA paper's ``paras_flops.py`` could have used
(:mod:`profiler.measure.count.counters`). This script produces what those emulations are tested
against: it creates a throwaway virtual environment that sees the installed torch
(``python -m venv --system-site-packages``), installs each thop build of 2019-2020 in turn
(``pip install --no-deps thop==VERSION``), and counts every case of :data:`CASES` (Table 3's
15 models, implementation variants, attention blocks alone) with that build's own
``thop.profile``, in a fresh interpreter per build. Old builds import ``collections.Iterable``,
gone since Python 3.10: it is aliased to ``collections.abc.Iterable`` before thop is imported;
nothing else is changed. The June 2019 builds take ``input_size`` instead of ``inputs`` (they
profile a zero tensor of that size); the count only depends on shapes.

The fixture (default ``tests/fixtures/counters/thop-real.json``) holds, per build, the
integer thop returned for every case (``int(ops)``, ``int(params)``: thop returns floats that
it accumulated in float32 or float64), or the error a build raised; plus the cases, the
torch and Python versions, and the date. ``tests/test_counters_crosscheck.py`` asserts that
each emulation returns exactly these integers.

Usage (needs network access to PyPI; about 15-20 minutes on two cores)::

    python tools/crosscheck_counters.py                      # every build, every case
    python tools/crosscheck_counters.py --builds 0.0.23.post1907011323 --venv /tmp/thop-venv
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "tests" / "fixtures" / "counters" / "thop-real.json"
INPUT = (1, 3, 224, 224)

# Every thop release of 2019 and 2020 on PyPI (`pip index versions thop`), oldest first.
BUILDS: tuple[str, ...] = (
    "0.0.22", "0.0.22.post1906241147",
    "0.0.23.post1906241153", "0.0.23.post1906241219", "0.0.23.post1906241402",
    "0.0.23.post1907011323", "0.0.23.post1907171426", "0.0.23.post1907171430",
    "0.0.23.post1908021457", "0.0.23.post1908021517", "0.0.23.post1908021522",
    "0.0.23.post1908061459", "0.0.30.post190806", "0.0.30.post1908061459",
    "0.0.30.post1908061501", "0.0.30.post1908281655", "0.0.30.post1908282105",
    "0.0.30.post1908282106", "0.0.30.post1908282117", "0.0.30.post1908302010",
    "0.0.31.post1909021322", "0.0.31.post1909230639", "0.0.31.post1910280903",
    "0.0.31.post1912272122", "0.0.31.post2001170342", "0.0.31.post2004070130",
    "0.0.31.post2004101309", "0.0.31.post2005141432", "0.0.31.post2005141830",
    "0.0.31.post2005241907", "0.0.4.post2006032126", "0.0.4.post2006111041",
    "0.0.4.post2007140009", "0.0.4.post2009041907", "0.0.4.post2009191310",
)


@dataclass(frozen=True)
class Case:
    """One network to count: a backbone + attention (``method`` "none" for the plain
    backbone), or one block alone (``channels`` and ``size`` set)."""

    backbone: str = ""
    method: str = "none"
    options: Mapping[str, Any] = field(default_factory=dict)
    channels: int = 0
    size: int = 0

    @property
    def key(self) -> str:
        opts = ",".join(f"{k}={_text(v)}" for k, v in sorted(self.options.items()))
        head = (f"{self.backbone}/{self.method}" if not self.channels
                else f"block/{self.method}/{self.channels}x{self.size}x{self.size}")
        return f"{head}[{opts}]" if opts else head


def _text(value: Any) -> str:
    return "-".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def _model_cases() -> list[Case]:
    released = {"resnet50": [3, 5, 5, 7], "resnet101": [3, 3, 5, 7], "resnet152": [3, 3, 5, 7],
                "mobilenet_v2": [1, 1, 1, 1, 3, 3, 3]}
    table3 = {"resnet50": ("none", "se", "cbam", "gc", "eca"),
              "resnet101": ("none", "se", "cbam", "eca"), "resnet152": ("none", "se", "eca"),
              "mobilenet_v2": ("none", "se", "eca")}
    cases: list[Case] = []
    for backbone, methods in table3.items():
        se = {"reduction": 8} if backbone == "mobilenet_v2" else {}
        for method in methods:
            options = {"eca": {"k_size": released[backbone]}, "se": se}.get(method, {})
            cases.append(Case(backbone, method, options))
        for extra in ({"bias": False}, {"fc": "linear"}, {"fc": "linear", "bias": False}):
            cases.append(Case(backbone, "se", {**se, **extra}))
        cases += [Case(backbone, "eca", {"k_size": "adaptive"}),
                  Case(backbone, "eca", {"k_size": 3})]
    for backbone in ("resnet50", "resnet101"):
        cases += [Case(backbone, "cbam", options) for options in (
            {"bias": False}, {"pooling": "functional"}, {"bias": False, "pooling": "functional"})]
    cases += [Case("resnet50", "gc", options) for options in (
        {"ratio": 0.25}, {"stages": [1, 2, 3, 4]}, {"ratio": 0.25, "stages": [1, 2, 3, 4]})]
    return cases


def _block_cases() -> list[Case]:
    blocks: list[tuple[str, dict[str, Any]]] = [
        ("se", {}), ("se", {"bias": False}), ("se", {"fc": "linear"}),
        ("cbam", {}), ("cbam", {"pooling": "functional"}), ("gc", {}), ("eca", {"k_size": 5}),
    ]
    return [Case("", name, options, channels, size)
            for channels, size in ((256, 56), (2048, 7)) for name, options in blocks]


CASES: tuple[Case, ...] = (*_model_cases(), *_block_cases())


# --- inside the throwaway environment -----------------------------------------------------------

def _shim() -> None:
    """The one change old builds need on Python >= 3.10: ``collections.Iterable``."""
    import collections
    import collections.abc

    if not hasattr(collections, "Iterable"):
        collections.Iterable = collections.abc.Iterable  # type: ignore[attr-defined]


def _network(case: Case) -> Any:
    import torch

    from profiler.blocks import build_block
    from profiler.models import build_model

    torch.manual_seed(0)
    if case.channels:
        return build_block(case.method, case.channels, **case.options), (
            1, case.channels, case.size, case.size)
    attention = None if case.method == "none" else case.method
    return build_model(case.backbone, attention, dict(case.options) or None), INPUT


def _profile(thop: Any, model: Any, shape: tuple[int, ...]) -> tuple[float, float]:
    import inspect

    import torch

    parameters = inspect.signature(thop.profile).parameters
    if "inputs" in parameters:
        return thop.profile(model, inputs=(torch.randn(*shape),), verbose=False)[:2]
    return thop.profile(model, input_size=shape, verbose=False)[:2]  # June 2019 builds


def worker(cases: Sequence[Case]) -> dict[str, Any]:
    """Count ``cases`` with the thop importable here (one CPU thread)."""
    import contextlib
    import io

    import torch

    torch.set_num_threads(1)
    _shim()
    try:
        import thop
    except Exception as exc:  # a broken build: record why
        return {"status": "error", "error": f"import thop: {type(exc).__name__}: {exc}"}
    ops: dict[str, int] = {}
    params: dict[str, int] = {}
    errors: dict[str, str] = {}
    for case in cases:
        model, shape = _network(case)
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # some builds print per module
                total_ops, total_params = _profile(thop, model, shape)
        except Exception as exc:
            first = str(exc).splitlines()[0] if str(exc) else ""
            errors[case.key] = f"{type(exc).__name__}: {first}"
            continue
        ops[case.key], params[case.key] = int(total_ops), int(total_params)
    result: dict[str, Any] = {"status": "ok" if not errors else "error", "ops": ops,
                              "params": params}
    if errors:
        result["errors"] = errors
        result["error"] = next(iter(errors.values()))
    return result


# --- driver ----------------------------------------------------------------------------------

def _run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, check=False, text=True, capture_output=True, **kwargs)


def _count_build(python: Path, version: str) -> dict[str, Any]:
    pip = _run([str(python), "-m", "pip", "install", "--no-deps", "--force-reinstall",
                "--no-cache-dir", "-q", f"thop=={version}"])
    if pip.returncode != 0:
        return {"status": "error", "error": f"pip: {pip.stderr.strip().splitlines()[-1]}"}
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = _run([str(python), str(Path(__file__).resolve()), "--worker"], env=env, cwd=ROOT)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"status": "error", "error": f"worker exit {done.returncode}: {tail}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _torch_version() -> str:
    import torch

    return str(torch.__version__)


def crosscheck(builds: Sequence[str], venv: Path, out: Path) -> dict[str, Any]:
    """Count every case in every build; write and return the fixture."""
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                       check=True)
    python = venv / "bin" / "python"
    results: dict[str, Any] = {}
    for version in builds:
        results[version] = _count_build(python, version)
        status = results[version]["status"]
        print(f"thop {version}: {status} {results[version].get('error', '')}", file=sys.stderr)
    data = {
        "generated_by": "tools/crosscheck_counters.py",
        "date": dt.date.today().isoformat(),
        "torch": _torch_version(),
        "python": platform.python_version(),
        "input": list(INPUT),
        "shim": "collections.Iterable = collections.abc.Iterable before importing thop; "
                "nothing else changed",
        "note": "ops and params are int() of what thop.profile returned (thop accumulates "
                "in float32 before 2020-04 and in float64 after)",
        "cases": {c.key: {k: v for k, v in asdict(c).items() if v not in ("", 0, {})}
                  for c in CASES},
        "builds": results,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    return data


def reproduced_flops(data: Mapping[str, Any], claims_id: str = "eca-cvpr2020") -> list[str]:
    """Per build of the fixture: how many of Table 3's FLOPs figures the real package's
    integers print, with one implementation per method (the best for that build; the
    paper's own first on ties) and the better of SI and binary units."""
    from profiler.claims.figures import figures
    from profiler.claims.paper import load_claims
    from profiler.measure.count.variants import variant_options, variants_of
    from profiler.spec import thaw_options

    published = [f for f in figures(load_claims(claims_id))
                 if f.table == "table3" and f.quantity == "flops"]
    lines = []
    for version, found in data["builds"].items():
        if found["status"] != "ok":
            lines.append(f"{version}: cannot run ({found['error'][:60]})")
            continue
        best = (-1, "", ())
        for units, base in (("si", 1000), ("binary", 1024)):
            total, chosen = 0, []
            for method in dict.fromkeys(f.method for f in published):
                own = [f for f in published if f.method == method]
                scores = []
                for index, variant in enumerate(variants_of(method)):
                    hits = 0
                    for f in own:
                        options = thaw_options(variant_options(f.backbone, method, variant,
                                                               f.options))
                        ops = found["ops"][Case(f.backbone, method, options).key]
                        hits += f.prints(ops / base ** " KMGT".index(f.unit))
                    scores.append((hits, -index, variant.id))
                hits, _, variant_id = max(scores)
                total += hits
                chosen.append(variant_id)
            if total > best[0]:
                best = (total, units, tuple(chosen))
        lines.append(f"{version}: {best[0]} of {len(published)} ({best[1]} units; "
                     f"{', '.join(best[2])})")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--builds", nargs="+", default=list(BUILDS), metavar="VERSION",
                        help="thop versions to count (default: every 2019-2020 release)")
    parser.add_argument("--venv", type=Path, help="reuse this virtual environment "
                        "(default: a temporary one, removed afterwards)")
    parser.add_argument("-o", "--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--summary", action="store_true",
                        help="only print, per build of the fixture --out, how many of Table "
                        "3's FLOPs figures its real counts print")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(CASES)))
        return 0
    if args.summary:
        print("\n".join(reproduced_flops(json.loads(args.out.read_text(encoding="utf-8")))))
        return 0
    if args.venv is not None:
        crosscheck(args.builds, args.venv, args.out)
        return 0
    with tempfile.TemporaryDirectory(prefix="thop-venv-") as tmp:
        crosscheck(args.builds, Path(tmp), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
