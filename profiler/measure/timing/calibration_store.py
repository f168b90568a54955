"""Where ``attnprof calibrate --processes N`` keeps this machine's between-process spread.

A calibration across fresh processes (A/A, :mod:`profiler.measure.timing.replicate`) measures
how far a throughput ratio moves from one process to the next beyond its rounds' noise: the
between-process SD of a log ratio (:func:`profiler.stats.between_estimate`) with
``N - 1`` degrees of freedom. ``bench --vs`` and suite runs use it as the prior of groups
timed in fewer than 10 processes (:func:`profiler.stats.two_level_interval`, source
``calibration``); without one they use the documented default.

The user cache file is ``$XDG_CACHE_HOME/attnprof/between-process.json`` (``~/.cache/...``
when ``XDG_CACHE_HOME`` is unset): one entry per machine key (:func:`machine_key`: host name,
CPU model, device, thread count and torch version, since each changes the spread), holding
``sd``, ``df``, the workload and the UTC time of the calibration. A later calibration of the
same machine replaces the entry. Writes go through a temporary file and ``os.replace``.
Torch-free (the torch version is read from the installed package's metadata).
"""

from __future__ import annotations

import json
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from profiler.provenance import cpu_model
from profiler.stats import BetweenPrior

__all__ = ["CACHE_NAME", "cache_path", "load_prior", "machine_key", "store_prior"]

CACHE_NAME = "between-process.json"


def cache_path() -> Path:
    """``$XDG_CACHE_HOME/attnprof/between-process.json`` (``~/.cache`` without the variable)."""
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "attnprof" / CACHE_NAME


def _torch_version() -> str:
    try:
        return metadata.version("torch")
    except metadata.PackageNotFoundError:
        return "unknown"


def machine_key(device: str, threads: int | None) -> str:
    """What a between-process spread is stored under: host, CPU, device, threads, torch."""
    return (f"{platform.node()} | {cpu_model()} | {device} | threads "
            f"{'default' if threads is None else threads} | torch {_torch_version()}")


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def load_prior(key: str, path: Path | None = None) -> BetweenPrior | None:
    """The stored calibration for ``key`` (None: none, or an unreadable entry)."""
    entry = _read(path or cache_path()).get(key)
    try:
        return BetweenPrior(float(entry["sd"]), float(entry["df"]), "calibration")
    except (TypeError, KeyError, ValueError):
        return None


def store_prior(key: str, prior: BetweenPrior, workload: str, measured_utc: str,
                path: Path | None = None) -> Path:
    """Store ``prior`` for ``key`` (replacing an earlier one); the file written."""
    target = path or cache_path()
    data = _read(target)
    data[key] = {"sd": prior.sd, "df": prior.df, "workload": workload,
                 "measured_utc": measured_utc}
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + f".{os.getpid()}.partial")
    partial.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(partial, target)
    return target
