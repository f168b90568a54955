"""User models that misbehave, loaded as ``tests.helpers.hostile_models:NAME``.

- ``ExitNet`` calls ``sys.exit`` while it is built (a user script's stray exit);
- ``ExitGate`` / ``InterruptGate`` are attention blocks (a :class:`Gate`) whose forward calls
  ``sys.exit(3)`` / raises ``KeyboardInterrupt`` (a comparison group's member that exits while
  it is timed);
- ``ChildSleeper`` is :class:`~tests.helpers.user_objects.TinyNet` in the timing process but
  sleeps while it is built in attnprof's CPU memory child, writing its PID to
  ``$ATTNPROF_TEST_PIDFILE`` first, so that a test can signal the parent while the child runs.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import torch

from tests.helpers.user_objects import Gate, TinyNet

__all__ = ["ChildSleeper", "ExitGate", "ExitNet", "InterruptGate"]


class ExitNet(TinyNet):
    """Calls ``sys.exit(3)`` in its constructor."""

    def __init__(self, attention: str | None = None,
                 attention_options: dict[str, Any] | None = None) -> None:
        super().__init__()
        sys.exit(3)


def _in_memory_child() -> bool:
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    return getattr(spec, "name", "") == "profiler.measure.memory.peak"


class ChildSleeper(TinyNet):
    """TinyNet; in the memory child, records its PID and sleeps for a minute."""

    def __init__(self, attention: str | None = None,
                 attention_options: dict[str, Any] | None = None) -> None:
        super().__init__()
        pidfile = os.environ.get("ATTNPROF_TEST_PIDFILE")
        if pidfile and _in_memory_child():
            Path(pidfile).write_text(str(os.getpid()))
            time.sleep(60)


class ExitGate(Gate):
    """A :class:`Gate` whose forward calls ``sys.exit(3)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sys.exit(3)


class InterruptGate(Gate):
    """A :class:`Gate` whose forward raises ``KeyboardInterrupt`` (no Ctrl-C pressed)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise KeyboardInterrupt
