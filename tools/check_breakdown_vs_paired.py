"""Check that a block's measured time share agrees with the paired throughput ratio.

If an attention block only adds its own operations to a step, the variant's step is the plain
backbone's step plus the attention ops' time, so

    1 - ratio = 1 - T_plain / T_variant = attention_ms / T_variant = attention_time_share

where ``ratio`` is the variant's throughput over the plain backbone's and
``attention_time_share`` comes from ``attnprof breakdown MODEL --attention A --format json``.
The ratios come from one ``attnprof bench MODEL --vs A --vs B ... --format json``: the plain
backbone and every method timed together in interleaved rounds, each method's
``comparisons[]`` entry giving ``throughput_ratio`` with its 95% interval ``ci_low``/``ci_high``.
For each mode and method this script runs both, with the same model, batch, dtype and
threads, and prints the share, 1 - ratio with its interval, and their difference in
percentage points. Exit 1 when a difference exceeds ``--tolerance`` (default 3 points) and the
interval does not reach the share either, or when a member failed; 0 otherwise.

Run on a quiet machine (it takes minutes), from the repository root::

    python tools/check_breakdown_vs_paired.py --model resnet50 --batch-infer 2 --batch-train 2

(batch 2 is the eca-paper suite's CPU batch, as in the report's attention-cost table). Each
method runs with its defaults (ECA: adaptive k, not the released k = 3,5,5,7) on both sides;
``bench --vs`` would take options as ``'eca[k_size=3,5,5,7]'``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

__all__ = ["Agreement", "agreement", "bench_arguments", "breakdown_arguments", "main",
           "parse_arguments"]

METHODS = ("se", "cbam", "gc", "eca")
MODES = ("infer", "train")


@dataclass(frozen=True)
class Agreement:
    """One method in one mode: breakdown share against paired 1 - ratio (``lost_low`` and
    ``lost_high`` None when the rounds were too few for an interval)."""

    mode: str
    method: str
    share: float
    lost: float
    lost_low: float | None
    lost_high: float | None

    @property
    def difference(self) -> float:
        return self.share - self.lost

    def agrees(self, tolerance: float) -> bool:
        if abs(self.difference) <= tolerance:
            return True
        if self.lost_low is None or self.lost_high is None:
            return False
        return self.lost_low - tolerance <= self.share <= self.lost_high + tolerance

    @property
    def interval(self) -> str:
        if self.lost_low is None or self.lost_high is None:
            return f"{100 * self.lost:.1f}% [no interval]"
        return f"{100 * self.lost:.1f}% [{100 * self.lost_low:.1f}, {100 * self.lost_high:.1f}]"


def _attnprof(args: list[str]) -> dict[str, Any]:
    command = [sys.executable, "-m", "profiler", *args]
    print("$ attnprof " + " ".join(args), file=sys.stderr, flush=True)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {done.stderr.strip()}")
    return json.loads(done.stdout)


def _lost(value: Any) -> float | None:
    return None if value is None else 1.0 - float(value)


def agreement(mode: str, method: str, breakdown: dict[str, Any],
              comparison: dict[str, Any]) -> Agreement:
    """Pair a breakdown's JSON with one ``comparisons[]`` entry of ``bench --vs``; raises
    ValueError when that member has no ratio (it failed, or ran out of memory)."""
    if comparison.get("throughput_ratio") is None:
        raise ValueError(f"{mode} {method}: no paired ratio (status "
                         f"{comparison.get('status')}: {comparison.get('error')})")
    return Agreement(mode=mode, method=method, share=float(breakdown["attention_time_share"]),
                     lost=1.0 - float(comparison["throughput_ratio"]),
                     lost_low=_lost(comparison.get("ci_high")),
                     lost_high=_lost(comparison.get("ci_low")))


def _common(options: argparse.Namespace, mode: str) -> list[str]:
    batch = str(options.batch_infer if mode == "infer" else options.batch_train)
    common = [options.model, "--mode", mode, "--batch", batch, "--device", options.device,
              "--dtype", options.dtype]
    if options.threads:
        common += ["--threads", str(options.threads)]
    return common


def bench_arguments(options: argparse.Namespace, mode: str) -> list[str]:
    """``attnprof bench`` arguments: the plain backbone against every method, paired."""
    vs = [flag for method in options.methods for flag in ("--vs", method)]
    extra = [] if options.group_time is None else ["--group-time", str(options.group_time)]
    return ["bench", *_common(options, mode), *vs, *extra, "--no-memory", "--format", "json"]


def breakdown_arguments(options: argparse.Namespace, mode: str, method: str) -> list[str]:
    """``attnprof breakdown`` arguments for one method, at the same model and batch."""
    return ["breakdown", *_common(options, mode), "--attention", method,
            "--profiled-steps", str(options.profiled_steps), "--format", "json"]


def _measure(options: argparse.Namespace, mode: str) -> list[Agreement]:
    paired = _attnprof(bench_arguments(options, mode))
    by_method = {c["attention"]: c for c in paired["comparisons"]}
    return [agreement(mode, method, _attnprof(breakdown_arguments(options, mode, method)),
                      by_method[method]) for method in options.methods]


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--model", default="resnet50")
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="fp32")
    parser.add_argument("--batch-infer", type=int, default=2)
    parser.add_argument("--batch-train", type=int, default=2)
    parser.add_argument("--threads", type=int, default=0, help="0: torch's default")
    parser.add_argument("--profiled-steps", type=int, default=3)
    parser.add_argument("--group-time", type=float, default=None,
                        help="seconds of paired rounds per mode (default: bench's)")
    parser.add_argument("--tolerance", type=float, default=0.03,
                        help="allowed |share - (1 - ratio)| (default 0.03 = 3 points)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    options = parse_arguments(argv)
    try:
        rows = [row for mode in options.modes for row in _measure(options, mode)]
    except ValueError as exc:
        print(f"check_breakdown_vs_paired: {exc}", file=sys.stderr)
        return 1
    print(f"{'mode':<6} {'method':<6} {'attention share':>16} {'1 - ratio [95% CI]':>26} "
          f"{'diff (pp)':>10}  agrees")
    for row in rows:
        print(f"{row.mode:<6} {row.method:<6} {100 * row.share:>15.1f}% {row.interval:>26} "
              f"{100 * row.difference:>+10.1f}  {'yes' if row.agrees(options.tolerance) else 'NO'}")
    return 0 if all(r.agrees(options.tolerance) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
