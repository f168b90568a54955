"""The driver's end of a worker: start one side's process and exchange protocol lines.

:class:`Side` says what a side is (``base`` or ``head``, its tree, the ref and commit it was
checked out from). :class:`WorkerProcess` starts ``python -m profiler.gate.worker`` for it,
with the tree first on ``PYTHONPATH`` and as the current folder, followed by the folder of the
running ``profiler`` package (so that a tree holding only the user's code still finds
attnprof). A tree whose own ``profiler`` lacks the worker module (an older attnprof) runs
this attnprof's worker *file* with that tree first on the path (see
:mod:`profiler.gate.worker`).

Failures come in two kinds: :class:`WorkerFailed` (the worker answered with an error and
goes on) and :class:`WorkerCrashed` (the process died, or did not answer in time: it is
killed, and the message carries its exit status and the last line it wrote to stderr).
:class:`WorkerMember` adapts a worker with a loaded case to the paired engine's member
protocol (``time_block(steps) -> step seconds``).
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from profiler.errors import MeasurementError
from profiler.gate import worker as worker_module
from profiler.gate.worker import PROTOCOL_VERSION, decode, encode
from profiler.measure.allocator import MALLOC_ENVIRONMENT
from profiler.results.gate import ref_label

__all__ = [
    "LOAD_TIMEOUT_S",
    "MALLOC_ENVIRONMENT",
    "Side",
    "WorkerCrashed",
    "WorkerError",
    "WorkerFailed",
    "WorkerMember",
    "WorkerProcess",
    "worker_command",
    "worker_environment",
]

WORKER_MODULE = "profiler.gate.worker"
# How long a worker may take to start and answer ``hello`` (imports torch), and to quit.
START_TIMEOUT_S = 300.0
QUIT_TIMEOUT_S = 10.0
# Building and warming up one case (torch.compile included), and counting one.
LOAD_TIMEOUT_S = 900.0


@dataclass(frozen=True)
class Side:
    """One side of a gate: ``name`` is ``base`` or ``head``; ``ref`` is what the user named
    (a git ref, ``working tree`` or a folder) and ``commit`` the commit checked out (None for
    a folder outside git)."""

    name: str
    tree: Path
    ref: str
    commit: str | None = None

    @property
    def title(self) -> str:
        """``base (main @ 1a2b3c4d)``."""
        return f"{self.name} ({ref_label(self.ref, self.commit)})"


class WorkerError(MeasurementError):
    """Side ``side`` could not do what was asked; the message is one line (without the
    side's name: callers add it)."""

    def __init__(self, message: str, side: str) -> None:
        super().__init__(message)
        self.side = side


class WorkerFailed(WorkerError):
    """The worker answered with an error (``kind``: bad_input, protocol or error)."""

    def __init__(self, message: str, side: str, kind: str) -> None:
        super().__init__(message, side)
        self.kind = kind


class WorkerCrashed(WorkerError):
    """The worker process died or stopped answering."""


def worker_command(tree: Path, python: str = sys.executable) -> list[str]:
    """How to start the worker for ``tree``: its own module, or this worker file."""
    own = tree / "profiler" / "__init__.py"
    has_worker = (tree / "profiler" / "gate" / "worker.py").is_file()
    if own.is_file() and not has_worker:
        return [python, str(Path(worker_module.__file__).resolve())]
    return [python, "-m", WORKER_MODULE]


# glibc malloc's thresholds, fixed for both workers as for every measuring process (the
# rule and its measurements: profiler.measure.allocator); through the environment, because a
# worker may run an older attnprof that does not fix them itself.
def worker_environment(tree: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a worker: ``PYTHONPATH`` = tree, this attnprof, what was there;
    :data:`MALLOC_ENVIRONMENT` where not set already."""
    env = dict(os.environ if base is None else base)
    running = str(Path(worker_module.__file__).resolve().parents[2])
    parts = [str(tree.resolve()), running]
    parts += [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p not in parts]
    env["PYTHONPATH"] = os.pathsep.join(parts)
    env["PYTHONUNBUFFERED"] = "1"
    for name, value in MALLOC_ENVIRONMENT.items():
        env.setdefault(name, value)
    return env


def _last_line(path: Path) -> str:
    try:
        lines = [line.strip() for line in path.read_text(errors="replace").splitlines()]
    except OSError:
        return ""
    lines = [line for line in lines if line]
    return lines[-1] if lines else ""


def _exit_text(code: int | None) -> str:
    if code is None:
        return "did not exit"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


class WorkerProcess:
    """A running worker for ``side``; use as a context manager (always stopped on exit)."""

    def __init__(self, side: Side, python: str = sys.executable,
                 start_timeout: float = START_TIMEOUT_S) -> None:
        self.side = side
        self.python = python
        self.start_timeout = start_timeout
        self.process: subprocess.Popen[str] | None = None
        self.hello: dict[str, Any] = {}
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._log_dir = tempfile.TemporaryDirectory(prefix=f"attnprof-gate-{side.name}-")
        self.log_path = Path(self._log_dir.name) / "stderr.log"

    # --- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> WorkerProcess:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def spawn(self) -> None:
        """Start the process and send ``hello`` (:meth:`handshake` reads the answer), so
        that several workers import torch at the same time."""
        log = self.log_path.open("w")
        try:
            self.process = subprocess.Popen(
                worker_command(self.side.tree, self.python), cwd=self.side.tree,
                env=worker_environment(self.side.tree), stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=log, text=True, encoding="utf-8", bufsize=1)
        except OSError as exc:
            raise WorkerCrashed(f"cannot start the worker: {exc}",
                                self.side.name) from exc
        finally:
            log.close()
        stdout = self.process.stdout
        assert stdout is not None
        threading.Thread(target=self._read, args=(stdout,), daemon=True).start()
        self.send("hello")

    def handshake(self) -> dict[str, Any]:
        """Read the answer to ``hello`` and check the protocol version."""
        self.hello = self.receive("hello", timeout=self.start_timeout)
        if self.hello.get("protocol") != PROTOCOL_VERSION:
            raise WorkerFailed(f"the worker speaks protocol "
                               f"{self.hello.get('protocol')!r}, not {PROTOCOL_VERSION}",
                               self.side.name, "protocol")
        return self.hello

    def start(self) -> dict[str, Any]:
        """Start the process and check that it speaks this protocol; returns ``hello``."""
        self.spawn()
        return self.handshake()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.put(line)
        self._lines.put(None)

    def begin_close(self) -> None:
        """Ask the worker to quit without waiting (:meth:`close` waits)."""
        if self.alive:
            with contextlib.suppress(OSError, ValueError):
                self._send({"op": "quit"})

    def close(self) -> None:
        """Ask the worker to quit, then make sure it is gone (kill after a grace period)."""
        self.begin_close()
        process = self.process
        if process is not None and process.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(QUIT_TIMEOUT_S)
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        for stream in (None if process is None else process.stdin,
                       None if process is None else process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self._log_dir.cleanup()

    # --- requests ------------------------------------------------------------------------

    def _send(self, message: dict[str, Any]) -> None:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(encode(message))
        self.process.stdin.flush()

    def _crashed(self, doing: str, timeout: float | None = None) -> WorkerCrashed:
        process = self.process
        if timeout is not None and process is not None and process.poll() is None:
            process.kill()
            process.wait()
            return WorkerCrashed(f"worker did not answer within {timeout:g} s "
                                 f"while {doing} (killed)", self.side.name)
        code = None if process is None else process.wait(QUIT_TIMEOUT_S)
        last = _last_line(self.log_path)
        tail = f": {last}" if last else ""
        return WorkerCrashed(f"worker died while {doing} "
                             f"({_exit_text(code)}){tail}", self.side.name)

    def send(self, op: str, **fields: Any) -> None:
        """Send one request; :meth:`receive` reads its reply (replies come in order)."""
        if not self.alive:
            raise self._crashed(_doing(op))
        try:
            self._send({"op": op, **fields})
        except (OSError, ValueError) as exc:
            raise self._crashed(_doing(op)) from exc

    def receive(self, op: str, timeout: float | None = None) -> dict[str, Any]:
        """The reply to the oldest unanswered request ``op`` (raises a :class:`WorkerError`)."""
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise self._crashed(_doing(op), timeout) from None
        if line is None:
            raise self._crashed(_doing(op))
        try:
            reply = decode(line)
        except ValueError as exc:
            raise WorkerFailed(f"worker wrote a malformed reply: {exc}",
                               self.side.name, "protocol") from exc
        if not reply.get("ok"):
            raise WorkerFailed(str(reply.get("error") or "unknown error"), self.side.name,
                               str(reply.get("kind") or "error"))
        return {k: v for k, v in reply.items() if k not in ("v", "ok")}

    def request(self, op: str, timeout: float | None = None, **fields: Any) -> dict[str, Any]:
        """Send one request and return the reply's fields (raises a :class:`WorkerError`)."""
        self.send(op, **fields)
        return self.receive(op, timeout)


def _doing(op: str) -> str:
    return {"hello": "starting", "suite": "loading the suite", "load": "building the case",
            "time": "timing", "count": "counting", "quit": "quitting"}.get(op, op)


class WorkerMember:
    """A worker's timing case as a member of the paired engine (``profiler.rounds``).

    ``warm_up()`` has the worker build the case and warm it up (its warm-up step seconds);
    ``time_block(steps)`` runs ``steps`` steps and returns their seconds. A block that takes
    far longer than the warm-up predicts (20x, plus a minute) kills the worker. Failures
    raise :class:`WorkerError`, which the engine records against this member. ``device`` (the
    suite's) tells the engine's telemetry which GPU to watch.
    """

    def __init__(self, name: str, batch: int, process: WorkerProcess, case: str,
                 device: str = "") -> None:
        self.name = name
        self.batch = batch
        self.device = device
        self.process = process
        self.case = case
        self.step_s: float | None = None

    def warm_up(self) -> list[float]:
        reply = self.process.request("load", timeout=LOAD_TIMEOUT_S, case=self.case)
        times = [float(t) for t in reply["times"]]
        self.batch = int(reply.get("batch", self.batch))
        self.step_s = max(times[-3:]) if times else None
        return times

    def timeout(self, steps: int) -> float:
        return 60.0 + 20.0 * steps * (self.step_s or 1.0)

    def time_block(self, steps: int) -> list[float]:
        reply = self.process.request("time", timeout=self.timeout(steps), steps=steps)
        return [float(t) for t in reply["times"]]
