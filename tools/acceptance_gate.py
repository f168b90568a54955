"""Acceptance measurements of ``attnprof gate`` (issue #10, "Done when"): run on a quiet machine.

1. Builds the test repository of ``tests/helpers/gate_repo.py`` (a user block ``userblock:Work``
   whose ``slow`` commit does 11 elementwise passes per step where ``base`` does 10: about
   10% more work, no sleep) in a temporary folder.
2. Runs ``attnprof gate gate.toml --base <base>`` ``--runs`` times with the head at the
   same commit (every regression is a false positive), then ``--runs`` times with the
   ``slow`` commit as head (every regression is a detection); prints the false-positive and
   detection rates, each run's decision and interval, and the time per gate.
3. Times ``attnprof gate ci-smoke --base HEAD`` in this repository (both sides, the whole
   suite; target: under 6 minutes on 2 cores).

Every gate runs as a separate ``python -m profiler gate`` process, as in CI. Usage (from the
repository root; the full run takes about 10-20 minutes on 2 cores)::

    python tools/acceptance_gate.py                      # 10 + 10 fixture gates, ci-smoke
    python tools/acceptance_gate.py --runs 1 --skip-ci-smoke --max-minutes 1   # smoke test
    python tools/acceptance_gate.py --json acceptance-gate.json

Exit status 0 when the targets hold (false positives 0, detections >= 90%, ci-smoke under
6 minutes), 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers.gate_repo import GateRepo, make_gate_repo  # noqa: E402

CI_SMOKE_TARGET_S = 6 * 60.0
DETECTION_TARGET = 0.9


@dataclass(frozen=True)
class GateRun:
    """One gate process: exit status, seconds, and its timing case's decision."""

    head: str
    exit_status: int
    seconds: float
    decision: str
    ratio: float | None
    ci_low: float | None
    ci_high: float | None
    rounds: int
    error: str
    attempts: str = ""


def _environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))])}


def _gate(cwd: Path, suite: str, base: str, out: Path, max_minutes: float | None) -> tuple[
        subprocess.CompletedProcess[str], float]:
    command = [sys.executable, "-m", "profiler", "gate", suite, "--base", base, "-q",
               "-o", str(out)]
    if max_minutes is not None:
        command += ["--max-minutes", f"{max_minutes:g}"]
    start = time.monotonic()
    done = subprocess.run(command, cwd=cwd, env=_environment(), capture_output=True, text=True,
                          check=False)
    return done, time.monotonic() - start


def fixture_run(repo: GateRepo, head: str, out: Path, max_minutes: float | None) -> GateRun:
    repo.checkout(head)
    done, seconds = _gate(repo.root, str(repo.suite), repo.commits["base"], out, max_minutes)
    if done.returncode == 2 or not out.exists():
        return GateRun(head, done.returncode, seconds, "failed", None, None, None, 0,
                       (done.stderr.strip().splitlines() or ["no output"])[-1])
    (case,) = json.loads(out.read_text())["timing"]
    attempts = "; ".join(f"{a['decision']} {a['ratio']:.3f}" for a in case.get("attempts", ())
                         if a.get("ratio") is not None)
    if attempts:
        attempts = f"{case['confirmation']}: {attempts}"
    return GateRun(head, done.returncode, seconds, case["decision"], case["ratio"],
                   case["ci_low"], case["ci_high"], case["rounds"], case.get("error") or "",
                   attempts)


def _interval(run: GateRun) -> str:
    if run.ratio is None or run.ci_low is None or run.ci_high is None:
        return "-"
    return f"{run.ratio:.3f} [{run.ci_low:.3f}, {run.ci_high:.3f}]"


def _report(title: str, runs: list[GateRun]) -> None:
    print(f"\n{title}")
    for i, run in enumerate(runs, 1):
        tail = f"  {run.error}" if run.error else (f"  ({run.attempts})" if run.attempts else "")
        print(f"  {i:>2}. exit {run.exit_status}  {run.decision:<12} {_interval(run):<24} "
              f"{run.rounds:>3} rounds  {run.seconds:6.1f} s{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="gates per setting (default 10)")
    parser.add_argument("--max-minutes", type=float, default=None,
                        help="--max-minutes of each fixture gate (default: the gate's)")
    parser.add_argument("--skip-ci-smoke", action="store_true", help="skip the ci-smoke gate")
    parser.add_argument("--json", type=Path, help="write every run's figures here")
    args = parser.parse_args(argv)

    from profiler.measure.env import collect_environment

    environment = collect_environment("cpu")
    print(f"machine: {environment.device_name}, {os.cpu_count()} CPUs; python "
          f"{sys.version.split()[0]}, torch {environment.torch_version}")
    with tempfile.TemporaryDirectory(prefix="attnprof-acceptance-") as folder:
        repo = make_gate_repo(Path(folder) / "repo")
        outs = (Path(folder) / f"gate-{i}.json" for i in range(2 * args.runs))
        same = [fixture_run(repo, "base", next(outs), args.max_minutes)
                for _ in range(args.runs)]
        _report("head = base (same commit): any regression is a false positive", same)
        slow = [fixture_run(repo, "slow", next(outs), args.max_minutes)
                for _ in range(args.runs)]
        _report("head = slow (10% more work per step): a regression is a detection", slow)
    false_positives = sum(r.decision == "regression" for r in same)
    detections = sum(r.decision == "regression" for r in slow)
    per_gate = [r.seconds for r in same + slow]
    print(f"\nfalse positives: {false_positives}/{len(same)}; detections: "
          f"{detections}/{len(slow)}; time per gate: median "
          f"{sorted(per_gate)[len(per_gate) // 2]:.1f} s, max {max(per_gate):.1f} s")
    ok = false_positives == 0 and detections >= DETECTION_TARGET * len(slow)

    smoke: dict[str, object] = {}
    if not args.skip_ci_smoke:
        with tempfile.TemporaryDirectory(prefix="attnprof-acceptance-") as folder:
            result = Path(folder) / "ci-smoke-gate.json"
            done, seconds = _gate(ROOT, "ci-smoke", "HEAD", result, None)
            decisions: dict[str, int] = {}
            if result.exists():
                for case in json.loads(result.read_text())["timing"]:
                    decisions[case["decision"]] = decisions.get(case["decision"], 0) + 1
        smoke = {"exit_status": done.returncode, "seconds": seconds, "decisions": decisions}
        print(f"ci-smoke gate (both sides, base = HEAD): exit {done.returncode} in "
              f"{seconds / 60:.1f} min (target < {CI_SMOKE_TARGET_S / 60:g}); {decisions}")
        if done.returncode == 2:
            print(f"  {done.stderr.strip()}")
        ok = ok and seconds < CI_SMOKE_TARGET_S and done.returncode != 2
    if args.json is not None:
        args.json.write_text(json.dumps({
            "environment": environment.to_dict(), "same": [asdict(r) for r in same],
            "slow": [asdict(r) for r in slow], "false_positives": false_positives,
            "detections": detections, "ci_smoke": smoke}, indent=2) + "\n")
    print("targets met" if ok else "targets NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
