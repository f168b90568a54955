"""One side of ``attnprof gate``: a long-lived process that builds and times cases on request.

Run as ``python -m profiler.gate.worker`` with the side's tree first on ``sys.path``
(``PYTHONPATH=<tree>``, current folder ``<tree>``), so that the suite's ``module:attr`` blocks
and models, and the tree's own ``profiler`` package when it has one, are that side's code.
A tree whose ``profiler`` predates this module runs this *file* (``python .../worker.py``)
with the old tree first on ``sys.path``: the file is self-contained on purpose (standard
library only at import time; everything else is imported from the side's ``profiler`` when a
request needs it), so it drives an older attnprof through the APIs it already had.

Protocol (version :data:`PROTOCOL_VERSION`): line-based JSON over stdin/stdout, one request
per line, one reply per line, strictly alternating. A request is
``{"v": 1, "op": OP, ...fields}``; a reply is ``{"v": 1, "ok": true, ...fields}`` or
``{"v": 1, "ok": false, "error": "<one line>", "kind": KIND}`` with KIND ``bad_input`` (an
attnprof error: unknown name, malformed suite), ``protocol`` (a request this worker does not
understand) or ``error`` (anything else: the case failed). The worker keeps running after an
error reply. Operations:

- ``hello`` -> ``protocol``, ``python``, ``torch``, ``tool_version``, ``profiler`` (the path
  of the ``profiler`` package in use), ``environment`` (or null);
- ``suite {path, device}`` -> ``name``, ``device``, ``cases``, ``pairing``: load and expand
  the suite file with this side's code (``device`` null = the suite's own); each case is
  ``{"id", "kind", "label", "batch"}``; ``pairing`` is the suite's settings for interleaved
  rounds (``PairingSettings.to_dict()``; null for an attnprof without them);
- ``load {case}`` -> ``batch``, ``times`` (the warm-up's step seconds): build a timing case
  of the loaded suite on its device and warm it up, as the tree's paired engine builds a
  member (``InProcessMember`` of ``profiler.measure.timing.members``, or of
  ``profiler.measure.members`` before measure/ had sub-packages: the CPU memory guard, then at
  least the case's ``warmup`` steps, until step times settle), at the case's thread count;
  replaces any case loaded before;
- ``time {steps}`` -> ``times``: run that many steps of the loaded case back to back and
  return each step's seconds (the device's clock);
- ``count {case}`` -> ``metrics`` (``params``, ``attention_params``, ``flops``,
  ``flops_all``) and ``result`` (the whole count record);
- ``quit`` -> an empty reply, then the process exits.

Anything the user's code prints goes to stderr: stdout carries the protocol alone. Reaching
the end of stdin (the driver went away) ends the worker.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import sys
from collections.abc import Callable
from contextlib import ExitStack
from typing import IO, Any

__all__ = ["PROTOCOL_VERSION", "Worker", "decode", "encode", "main"]

PROTOCOL_VERSION = 1
COUNT_METRICS = ("params", "attention_params", "flops", "flops_all")


def encode(message: dict[str, Any]) -> str:
    """One protocol line (with its newline)."""
    return json.dumps({"v": PROTOCOL_VERSION, **message}, separators=(",", ":")) + "\n"


def decode(line: str) -> dict[str, Any]:
    """A protocol line as a dict; ValueError when it is not a JSON object."""
    message = json.loads(line)
    if not isinstance(message, dict):
        raise ValueError(f"expected a JSON object, got {type(message).__name__}")
    return message


def _one_line(exc: BaseException, *, typed: bool | None = None) -> str:
    """:func:`profiler.errors.one_line` for a tree that predates it: this file imports nothing
    of ``profiler`` at import time (see the module docstring)."""
    text = str(exc).strip()
    first = text.splitlines()[0].strip() if text else ""
    if typed is None:  # attnprof's own errors speak for themselves
        typed = not any(cls.__name__ == "AttnprofError" for cls in type(exc).__mro__)
    if not first:
        return type(exc).__name__
    return f"{type(exc).__name__}: {first}" if typed else first


class _BadRequest(Exception):
    """A request this worker cannot serve as asked (reply kind ``protocol``)."""


class Worker:
    """The state behind the protocol: the loaded suite's cases and one built case."""

    def __init__(self) -> None:
        self.specs: dict[str, Any] = {}
        self.member: Any = None
        self.stack = ExitStack()

    # --- requests ------------------------------------------------------------------------

    def hello(self, request: dict[str, Any]) -> dict[str, Any]:
        import torch

        import profiler

        environment = _call("profiler.measure.env", "collect_environment", "cpu")
        return {"protocol": PROTOCOL_VERSION, "python": sys.version.split()[0],
                "torch": torch.__version__,
                "tool_version": _call("profiler.provenance", "tool_version")
                or _call("profiler.measure.env", "tool_version"),
                "profiler": os.path.dirname(os.path.abspath(profiler.__file__)),
                "environment": None if environment is None else environment.to_dict()}

    def suite(self, request: dict[str, Any]) -> dict[str, Any]:
        from profiler.suites import expand_suite, load_suite

        suite = load_suite(str(request["path"]))
        device = _run_device(request.get("device") or suite.device)
        specs = expand_suite(suite, device)
        self.specs = {spec.case_id: spec for spec in specs}
        cases = [{"id": spec.case_id, "kind": spec.kind, "label": spec.label,
                  "batch": spec.batch} for spec in specs]
        return {"name": suite.name, "device": device, "cases": cases,
                "pairing": _pairing(suite, device)}

    def _spec(self, request: dict[str, Any], kind: str) -> Any:
        spec = self.specs.get(str(request.get("case")))
        if spec is None:
            raise _BadRequest(f"no case {request.get('case')!r} in the loaded suite")
        if spec.kind != kind:
            raise _BadRequest(f"case {spec.label!r} is a {spec.kind} case, not {kind}")
        return spec

    def unload(self) -> None:
        if self.member is not None and hasattr(self.member, "close"):
            self.member.close()
        self.member = None
        self.stack.close()
        self.stack = ExitStack()
        gc.collect()

    def load(self, request: dict[str, Any]) -> dict[str, Any]:
        from profiler.measure.device import cudnn_benchmark, resolve_device, torch_threads

        spec = self._spec(request, "bench")
        self.unload()
        device = resolve_device(spec.device)
        self.stack.enter_context(torch_threads(spec.threads))
        self.stack.enter_context(cudnn_benchmark(spec.cudnn_benchmark))
        member = _member(spec, device)
        times = [float(t) for t in member.warm_up()]
        self.member = member
        return {"batch": member.batch, "times": times}

    def time(self, request: dict[str, Any]) -> dict[str, Any]:
        steps = request.get("steps")
        if not isinstance(steps, int) or isinstance(steps, bool) or steps <= 0:
            raise _BadRequest(f"steps must be a positive integer, got {steps!r}")
        if self.member is None:
            raise _BadRequest("no case is loaded: send load first")
        return {"times": [float(t) for t in self.member.time_block(steps)]}

    def count(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            from profiler.measure.count.counting import count
        except ImportError:  # an attnprof from before measure/ had sub-packages
            from profiler.measure.counting import count  # type: ignore[no-redef]

        spec = self._spec(request, "count")
        result = count(spec).to_dict()
        return {"metrics": {name: result.get(name) for name in COUNT_METRICS},
                "result": result}

    # --- dispatch ------------------------------------------------------------------------

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        """The reply to one request (errors become ``ok: false`` replies)."""
        if request.get("v") != PROTOCOL_VERSION:
            return {"ok": False, "kind": "protocol",
                    "error": f"protocol version {request.get('v')!r} is not supported; this "
                    f"worker speaks version {PROTOCOL_VERSION}"}
        handlers = {"hello": self.hello, "suite": self.suite, "load": self.load,
                    "time": self.time, "count": self.count}
        op = request.get("op")
        if op == "quit":
            self.unload()
            return {"ok": True}
        handler = handlers.get(str(op))
        if handler is None:
            return {"ok": False, "kind": "protocol",
                    "error": f"unknown op {op!r}; valid: {', '.join([*handlers, 'quit'])}"}
        try:
            return {"ok": True, **handler(request)}
        except _BadRequest as exc:
            return {"ok": False, "kind": "protocol", "error": str(exc)}
        except Exception as exc:
            return {"ok": False, "kind": _kind(exc), "error": _message(exc)}
        except SystemExit as exc:  # profiler/signals.py's rule (this file runs on old trees)
            return {"ok": False, "kind": "error",
                    "error": f"the model called sys.exit({exc.code!r})"}


class _StepMember:
    """A member for an attnprof without ``profiler.measure.members``: the same step and
    warm-up rules through the older functions it had (``prepare_step``, ``warm_up``)."""

    def __init__(self, spec: Any, device: Any) -> None:
        self.spec, self.device = spec, device
        self.batch = spec.batch
        self.run: Callable[[], object] | None = None
        self.clock: Any = None

    def warm_up(self) -> list[float]:
        from profiler.measure.steps import prepare_step

        try:
            from profiler.measure.timing.clock import clock_for
            from profiler.measure.timing.loop import warm_up
        except ImportError:  # an attnprof from before measure/ had sub-packages
            from profiler.measure.clock import clock_for  # type: ignore[no-redef]
            from profiler.measure.timing import warm_up  # type: ignore[no-redef]

        prepared = prepare_step(self.spec, self.device)
        self.clock = clock_for(self.device)
        times = warm_up(self.clock, prepared.run, self.spec.warmup, self.spec.min_time)
        self.run, self.batch = prepared.run, prepared.batch
        return list(times)

    def time_block(self, steps: int) -> list[float]:
        assert self.run is not None
        return list(self.clock.time_steps(self.run, steps))


def _member(spec: Any, device: Any) -> Any:
    """The tree's in-process member of the paired engine (memory guard, one-line torch
    errors), or :class:`_StepMember` for an attnprof that predates it."""
    try:
        from profiler.measure.timing.members import InProcessMember
    except ImportError:
        try:  # an attnprof from before measure/ had sub-packages
            from profiler.measure.members import (  # type: ignore[no-redef]
                InProcessMember,
            )
        except ImportError:
            return _StepMember(spec, device)
    return InProcessMember(spec, device)


def _call(module: str, function: str, *args: Any) -> Any:
    """``module.function(*args)`` of the tree's attnprof; None where that version lacks it
    or it fails (what ``hello`` reports is informative only)."""
    try:
        return getattr(importlib.import_module(module), function)(*args)
    except Exception:
        return None


def _pairing(suite: Any, device: str) -> dict[str, Any] | None:
    """The suite's settings for interleaved rounds (None: an attnprof without them)."""
    try:
        from profiler.suites.groups import pairing_settings
    except ImportError:
        return None
    return dict(pairing_settings(suite.budget_for(device)).to_dict())


def _run_device(requested: str) -> str:
    """``auto``/``cpu``/``cuda[:N]`` -> a device this machine has, as the tree's attnprof
    resolves it (``measure.device.available_device``; before it, ``suites.device``)."""
    try:
        from profiler.measure.device import available_device
    except ImportError:
        from profiler.suites.device import (  # type: ignore[no-redef]
            resolve_device as available_device,
        )
    return str(available_device(requested))


def _kind(exc: BaseException) -> str:
    try:
        from profiler.errors import AttnprofError, MeasurementError
    except ImportError:
        return "error"
    bad = isinstance(exc, AttnprofError) and not isinstance(exc, MeasurementError)
    return "bad_input" if bad else "error"


def _message(exc: BaseException) -> str:
    """The side's own :func:`profiler.errors.one_line`; this file's fallback for an older tree."""
    try:
        from profiler.errors import one_line
    except ImportError:
        return _one_line(exc)
    return one_line(exc)


def serve(requests: IO[str], replies: IO[str], worker: Worker | None = None) -> None:
    """Answer each request line until ``quit`` or the end of ``requests``."""
    worker = worker or Worker()
    for line in requests:
        if not line.strip():
            continue
        try:
            request = decode(line)
        except ValueError as exc:
            reply: dict[str, Any] = {"ok": False, "kind": "protocol",
                                     "error": f"malformed request: {_one_line(exc, typed=True)}"}
            request = {}
        else:
            reply = worker.handle(request)
        replies.write(encode(reply))
        replies.flush()
        if request.get("op") == "quit":
            return


def _protocol_channel() -> IO[str]:
    """The original stdout, for replies; fd 1 and ``sys.stdout`` then point at stderr."""
    sys.stdout.flush()
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return channel


def main() -> int:
    if __spec__ is None:  # run as a file: its own folder must not shadow the tree's modules
        here = os.path.dirname(os.path.abspath(__file__))
        sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    channel = _protocol_channel()
    try:
        serve(sys.stdin, channel)
    except KeyboardInterrupt:
        return 130
    finally:
        channel.close()
    return 0


def _exit(status: int) -> None:
    """Leave at once: nothing is left to write, and torch's teardown takes seconds."""
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    _exit(main())
