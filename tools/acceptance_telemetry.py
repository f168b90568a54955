"""Acceptance measurements of per-round telemetry (issue #21, "Done when"): run on a quiet
machine.

1. **Quiet run**: ``attnprof bench MODEL --vs se --vs eca --batch 2 -o OUT/quiet.json``.
2. **Busy run**: the same command again, with a busy-loop process (``while True: pass``,
   pinned to CPU 0 with ``taskset`` where it exists) started ``--busy-after`` seconds after
   the command (30 s: past start-up and warm-up) and killed ``--busy-for`` seconds later
   (30 s). Both runs use ``--group-time 90 --target 0.25`` so that the rounds go on through
   the busy loop instead of converging before it.
3. Prints, for the busy run: rounds, flagged (disturbed) rounds, how many of the rounds that
   overlapped the busy loop were flagged and how many flagged rounds lay outside it (round
   times are rebuilt from the group's start, warm-up and each round's wall time: about +-1 s);
   each ratio on clean rounds against the quiet run's (target: within 2 points) and on all
   rounds; whether the warning line named the foreign CPU use; for both runs the share of
   flagged rounds (quiet: target <= 5%) and the telemetry's cost per round as a share of the
   round's time and of the median step time.

Usage (from the repository root; ResNet-50 at batch 2 takes a few minutes on 2 cores)::

    python tools/acceptance_telemetry.py                       # resnet50 --vs se --vs eca
    python tools/acceptance_telemetry.py --model resnet18 --input 3x64x64 \\
        --block-time 0.05 --group-time 20 --busy-after 8 --busy-for 6   # smoke test
    python tools/acceptance_telemetry.py --json acceptance-telemetry.json

Exit status 0 when the targets hold, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's attnprof, also for the in-process reader
BUSY = [sys.executable, "-c", "while True: pass"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _bench(args: argparse.Namespace, out: Path) -> list[str]:
    command = [sys.executable, "-m", "profiler", "bench", args.model, "--batch", str(args.batch),
               "-o", str(out), "--overwrite", "--no-memory"]
    for member in args.vs:
        command += ["--vs", member]
    for flag in ("input", "block_time", "group_time", "target", "threads"):
        value = getattr(args, flag)
        if value is not None:
            command += [f"--{flag.replace('_', '-')}", str(value)]
    return command


def _busy_loop() -> subprocess.Popen[bytes]:
    pinned = ["taskset", "-c", "0", *BUSY] if shutil.which("taskset") else BUSY
    return subprocess.Popen(pinned, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_bench(args: argparse.Namespace, out: Path,
              busy: bool) -> tuple[str, tuple[float, float] | None]:
    """Run one bench; with ``busy``, the busy loop in the middle. Returns stderr and the busy
    loop's (start, end) in epoch seconds."""
    command = _bench(args, out)
    print("$ " + " ".join(command), flush=True)
    process = subprocess.Popen(command, cwd=ROOT, env=_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    window = None
    if busy:
        try:
            process.wait(timeout=args.busy_after)
        except subprocess.TimeoutExpired:
            loop, start = _busy_loop(), time.time()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=args.busy_for)
            loop.send_signal(signal.SIGKILL)
            loop.wait()
            window = (start, time.time())
    stdout, stderr = process.communicate()
    if process.returncode != 0:
        sys.exit(f"bench failed ({process.returncode}):\n{stderr[-2000:]}")
    print(stdout, end="", flush=True)
    return stderr, window


def _epoch(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()


def summarize(path: Path, window: tuple[float, float] | None) -> dict[str, Any]:
    """Rounds, flags, overlap with the busy loop, ratios and cost of the file's group."""
    from profiler.results import load_result_file

    result = load_result_file(path)
    group = result.groups[0]
    flags = group.disturbed
    figures: dict[str, Any] = {"rounds": group.rounds, "flagged": sum(flags),
                               "flagged_share": sum(flags) / group.rounds if group.rounds else 0,
                               "telemetry_absent": list(group.telemetry_absent)}
    if window is not None and group.telemetry:
        start = _epoch(group.started_utc) + group.warmup_s
        overlapped, caught, outside = 0, 0, 0
        for entry, flagged in zip(group.telemetry, flags, strict=False):
            wall = entry.cpu.wall_s if entry.cpu else 0.0
            hit = start < window[1] and start + wall > window[0]
            overlapped += hit
            caught += hit and flagged
            outside += flagged and not hit
            start += wall
        figures.update(overlapped=overlapped, flagged_of_overlapped=caught,
                       flagged_outside=outside)
    names = {i: m.name for i, m in enumerate(group.members)}
    figures["ratios"] = {names[r.member]: {
        "clean": r.throughput_ratio, "ci": [r.ci_low, r.ci_high], "all": r.ratio_all_rounds,
        "disturbed": r.rounds_disturbed} for r in group.ratios}
    # the sampling runs once per round, between blocks: its cost per step is the round's cost
    # over the round's timed steps, i.e. its share of the steps' time
    costs = [t.cost_s for t in group.telemetry]
    timed = [sum(sum(m.times[r] or ()) for m in group.members) for r in range(len(costs))]
    if costs and all(timed):
        figures["cost_ms_per_round"] = 1e3 * statistics.median(costs)
        figures["cost_share_of_step"] = statistics.median(
            c / t for c, t in zip(costs, timed, strict=True))
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="resnet50")
    parser.add_argument("--vs", action="append", help="members (default: se, eca)")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--input", help="input shape, e.g. 3x64x64 (default: the model's)")
    parser.add_argument("--block-time", type=float)
    parser.add_argument("--group-time", type=float, default=90.0,
                        help="seconds of rounds (default 90: the busy loop falls inside)")
    parser.add_argument("--target", type=float, default=0.25,
                        help="interval target in points (default 0.25: the rounds use the "
                        "whole --group-time instead of converging before the busy loop)")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--busy-after", type=float, default=30.0)
    parser.add_argument("--busy-for", type=float, default=30.0)
    parser.add_argument("--out", type=Path, help="folder of the result files (default: temp)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    args.vs = args.vs or ["se", "eca"]
    out = args.out or Path(tempfile.mkdtemp(prefix="attnprof-telemetry-"))
    out.mkdir(parents=True, exist_ok=True)
    quiet_err, _ = run_bench(args, out / "quiet.json", busy=False)
    busy_err, window = run_bench(args, out / "busy.json", busy=True)
    quiet = summarize(out / "quiet.json", None)
    busy = summarize(out / "busy.json", window)
    busy["warning"] = next((line for line in busy_err.splitlines() if "warning" in line), None)
    quiet["warning"] = next((line for line in quiet_err.splitlines() if "warning" in line), None)
    print(f"quiet: {quiet['flagged']} of {quiet['rounds']} rounds flagged "
          f"({100 * quiet['flagged_share']:.0f}%; target <= 5%)")
    if window is None:
        print("busy: the bench ended before the busy loop started; raise --group-time")
    else:
        print(f"busy: {busy['flagged']} of {busy['rounds']} rounds flagged; "
              f"{busy.get('flagged_of_overlapped')} of the {busy.get('overlapped')} rounds that "
              f"overlapped the busy loop, {busy.get('flagged_outside')} outside it")
    worst = 0.0
    for name, figures in busy["ratios"].items():
        reference = quiet["ratios"].get(name, {}).get("clean")
        clean, everything = figures["clean"], figures["all"]
        gap = None if None in (reference, clean) else 100 * abs(clean - reference)
        worst = max(worst, gap or 0.0)
        print(f"  {name}: clean {_pct(clean)} (quiet {_pct(reference)}, "
              f"gap {'–' if gap is None else f'{gap:.1f}'} points; target <= 2), all rounds "
              f"{_pct(everything)}, {figures['disturbed']} rounds disturbed")
    print(f"warning: {busy['warning'] or '(none)'}")
    for label, figures in (("quiet", quiet), ("busy", busy)):
        if "cost_ms_per_round" in figures:
            print(f"cost ({label}): {figures['cost_ms_per_round']:.2f} ms per round (median), "
                  f"{100 * figures['cost_share_of_step']:.3f}% of the step time (median over "
                  "rounds of the cost over the round's timed steps; target <= 1%)")
    if args.json is not None:
        args.json.write_text(json.dumps({"quiet": quiet, "busy": busy}, indent=2) + "\n")
    passed = (quiet["flagged_share"] <= 0.05 and window is not None and worst <= 2.0
              and bool(busy["warning"]) and "CPU" in (busy["warning"] or "")
              and quiet.get("cost_share_of_step", 1.0) <= 0.01)
    print("PASS" if passed else "FAIL")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
