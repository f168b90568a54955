"""Do intervals hold from one process to the next? (issue #19's acceptance check)

    python tools/acceptance_replication.py RESULT.json RESULT.json [...]

Each file is a result file written by ``attnprof run``/``reproduce``/``bench --vs -o``. For
every pair of files and every throughput ratio both hold (same case id, an interval in each),
``z`` is the difference of the two log ratios over their combined standard error, each
standard error taken from its 95% interval on the log scale (half the interval's log width /
1.96). Honest intervals give mean z^2 of about 1 and almost never |z| > 3. Prints every pair's
mean z^2, the largest |z| and the pooled figures. Torch-free.
"""

from __future__ import annotations

import itertools
import json
import math
import sys
from pathlib import Path

Z95 = 1.959963984540054


def ratios(path: Path) -> dict[str, tuple[float, float, float]]:
    """case id -> (ratio, ci_low, ci_high) of every ratio with an interval in the file."""
    data = json.loads(path.read_text())
    found: dict[str, tuple[float, float, float]] = {}
    for group in data.get("groups") or []:
        if group.get("kind", "comparison") != "comparison":
            continue
        for ratio in group.get("ratios") or []:
            values = (ratio.get("throughput_ratio"), ratio.get("ci_low"), ratio.get("ci_high"))
            if all(isinstance(v, (int, float)) and v > 0 for v in values):
                found[str(ratio["case_id"])] = tuple(float(v) for v in values)
    return found


def z_scores(a: dict[str, tuple[float, float, float]],
             b: dict[str, tuple[float, float, float]]) -> dict[str, float]:
    out = {}
    for case in sorted(set(a) & set(b)):
        (ra, la, ha), (rb, lb, hb) = a[case], b[case]
        se_a = (math.log(ha) - math.log(la)) / (2 * Z95)
        se_b = (math.log(hb) - math.log(lb)) / (2 * Z95)
        se = math.hypot(se_a, se_b)
        if se > 0:
            out[case] = (math.log(ra) - math.log(rb)) / se
    return out


def main(argv: list[str]) -> int:
    paths = [Path(p) for p in argv]
    if len(paths) < 2:
        print("usage: acceptance_replication.py RESULT.json RESULT.json [...]", file=sys.stderr)
        return 2
    loaded = {p: ratios(p) for p in paths}
    pooled: list[float] = []
    for p, q in itertools.combinations(paths, 2):
        z = z_scores(loaded[p], loaded[q])
        if not z:
            print(f"{p.name} vs {q.name}: no ratio in common")
            continue
        pooled.extend(z.values())
        worst = max(z, key=lambda c: abs(z[c]))
        print(f"{p.name} vs {q.name}: {len(z)} ratios, mean z^2 "
              f"{sum(v * v for v in z.values()) / len(z):.2f}, max |z| {abs(z[worst]):.2f} "
              f"({worst})")
    if not pooled:
        return 1
    mean = sum(v * v for v in pooled) / len(pooled)
    big = sum(1 for v in pooled if abs(v) > 3)
    print(f"pooled: {len(pooled)} differences, mean z^2 {mean:.2f} (target <= 1.3), "
          f"|z| > 3: {big} (target 0)")
    return 0 if mean <= 1.3 and big == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
