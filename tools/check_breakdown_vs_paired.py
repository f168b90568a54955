"""Check that a block's measured time share agrees with the paired throughput ratio.

If an attention block only adds its own operations to a step, the variant's step is the plain
backbone's step plus the attention ops' time, so

    1 - ratio = 1 - T_plain / T_variant = attention_ms / T_variant = attention_time_share

where ``ratio`` is the variant's throughput over the plain backbone's (``attnprof bench MODEL
--vs A --format json``: ``throughput_ratio`` with its 95% interval, from interleaved rounds)
and ``attention_time_share`` comes from ``attnprof breakdown MODEL --attention A --format
json``. For each mode and method this script runs both, with the same model, batch, dtype and
threads, and prints the share, 1 - ratio with its interval, and their difference in
percentage points. Exit 1 when a difference exceeds ``--tolerance`` (default 3 points) and the
interval does not reach the share either; 0 otherwise.

Run on a quiet machine (it takes minutes), from the repository root::

    python tools/check_breakdown_vs_paired.py --model resnet50 --batch-infer 8 --batch-train 4

It needs ``attnprof bench --vs`` (the paired timing of issue #9).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

__all__ = ["Agreement", "agreement", "main"]

METHODS = ("se", "cbam", "gc", "eca")
MODES = ("infer", "train")


@dataclass(frozen=True)
class Agreement:
    """One method in one mode: breakdown share against paired 1 - ratio."""

    mode: str
    method: str
    share: float
    lost: float
    lost_low: float
    lost_high: float

    @property
    def difference(self) -> float:
        return self.share - self.lost

    def agrees(self, tolerance: float) -> bool:
        inside = self.lost_low - tolerance <= self.share <= self.lost_high + tolerance
        return abs(self.difference) <= tolerance or inside


def _attnprof(args: list[str]) -> dict[str, Any]:
    command = [sys.executable, "-m", "profiler", *args, "--format", "json"]
    print("$ " + " ".join(command[2:]), file=sys.stderr, flush=True)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {done.stderr.strip()}")
    return json.loads(done.stdout)


def agreement(mode: str, method: str, breakdown: dict[str, Any],
              comparison: dict[str, Any]) -> Agreement:
    """Pair a breakdown's JSON with one ``comparisons[]`` entry of ``bench --vs``."""
    ratio = float(comparison["throughput_ratio"])
    return Agreement(mode=mode, method=method, share=float(breakdown["attention_time_share"]),
                     lost=1.0 - ratio, lost_low=1.0 - float(comparison["ci_high"]),
                     lost_high=1.0 - float(comparison["ci_low"]))


def _measure(options: argparse.Namespace, mode: str) -> list[Agreement]:
    batch = str(options.batch_infer if mode == "infer" else options.batch_train)
    common = [options.model, "--mode", mode, "--batch", batch, "--device", options.device,
              "--dtype", options.dtype]
    if options.threads:
        common += ["--threads", str(options.threads)]
    vs = [flag for method in options.methods for flag in ("--vs", method)]
    paired = _attnprof(["bench", *common, *vs, "--no-memory"])
    by_method = {c["attention"]: c for c in paired["comparisons"]}
    found = []
    for method in options.methods:
        breakdown = _attnprof(["breakdown", *common, "--attention", method,
                               "--profiled-steps", str(options.profiled_steps)])
        found.append(agreement(mode, method, breakdown, by_method[method]))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="resnet50")
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="fp32")
    parser.add_argument("--batch-infer", type=int, default=8)
    parser.add_argument("--batch-train", type=int, default=4)
    parser.add_argument("--threads", type=int, default=0, help="0: torch's default")
    parser.add_argument("--profiled-steps", type=int, default=3)
    parser.add_argument("--tolerance", type=float, default=0.03,
                        help="allowed |share - (1 - ratio)| (default 0.03 = 3 points)")
    options = parser.parse_args(argv)
    rows = [row for mode in options.modes for row in _measure(options, mode)]
    print(f"{'mode':<6} {'method':<6} {'attention share':>16} {'1 - ratio [95% CI]':>26} "
          f"{'diff (pp)':>10}  agrees")
    for row in rows:
        interval = f"{100 * row.lost:.1f}% [{100 * row.lost_low:.1f}, {100 * row.lost_high:.1f}]"
        print(f"{row.mode:<6} {row.method:<6} {100 * row.share:>15.1f}% {interval:>26} "
              f"{100 * row.difference:>+10.1f}  {'yes' if row.agrees(options.tolerance) else 'NO'}")
    return 0 if all(r.agrees(options.tolerance) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
