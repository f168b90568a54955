"""A local job's process: ``python -m profiler.cluster.worker TASK.pkl RESULT.pkl``.

Loads ``(function, argument)`` from TASK (written by
:class:`~profiler.cluster.executors.LocalExecutor`), calls it and pickles its return value to
RESULT; an exception is printed (the job's log) and exits 1, SIGTERM/SIGHUP exit 128 + N.
"""

from __future__ import annotations

import pickle
import sys
import traceback
from pathlib import Path

from profiler.signals import Terminated

__all__ = ["main"]


def main(argv: list[str]) -> int:
    task, result = Path(argv[0]), Path(argv[1])
    with task.open("rb") as handle:
        function, argument = pickle.load(handle)
    try:
        value = function(argument)
    except Terminated as exc:
        print(f"attnprof job: {exc}", flush=True)
        return exc.exit_status
    except Exception as exc:  # the job's error goes to its log; the coordinator reads it
        traceback.print_exc()
        print(f"{type(exc).__name__}: {exc}".splitlines()[0], flush=True)
        return 1
    partial = result.with_suffix(".partial")
    with partial.open("wb") as handle:
        pickle.dump(value, handle)
    partial.replace(result)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
