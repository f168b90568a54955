"""The CPU memory guard: estimate a step's peak memory before timing it; refuse what won't fit.

A CUDA allocation that does not fit raises an error attnprof can catch; on the CPU the kernel
lets the process grow into swap and then the OOM killer ends it (or a neighbour on a shared
host), with nothing recorded. So before a CPU step is timed, :func:`plan_memory` estimates its
peak and compares it with the limit (``--max-memory``, else the memory available to this
process: ``MemAvailable``, bounded by the cgroup's limit in a container):

    peak(B) = weights + gradients + optimizer state + margin x activations_per_image x B

- weights (parameters and buffers), gradients (one per trainable parameter in training) and
  optimizer state (SGD's momentum buffers) are counted exactly from one *probe* step;
- activations come from the same probe, run at a small batch ``b0`` (2, or 1 when the batch
  is 1 or two samples' input is over 1/16 of the limit; a sample over 1/16 alone is refused
  without a probe): the bytes autograd saves for backward (parameters excluded, each storage once),
  the input batch, and a working set of the largest tensor a module returns (twice in
  training: that output and its gradient; three times in inference: a residual, the layer's
  input and output). Divided by ``b0`` that is the activations per image, which scale
  linearly with the batch;
- ``margin`` (1.25) covers the allocator's slack and temporary workspaces.

Refusal is :class:`~profiler.errors.MemoryLimitError` (an OutOfMemoryError: exit 2 from
``bench``, an ``oom`` case with the estimate in a suite). With ``oom_retry`` the guard instead
picks the largest batch that fits (see :func:`largest_batch`). Data-parallel runs
(``nproc`` > 1) need ``nproc`` times the estimate. The probe builds the model once more and
runs one step at ``b0`` (``torch.compile`` off): it costs well under the timing run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import nn

from profiler.errors import AttnprofError, MemoryLimitError
from profiler.measure.device import free_memory_bytes, torch_threads
from profiler.measure.steps import prepare_step, static_memory_parts, tensor_bytes
from profiler.measure.workload import torch_dtype
from profiler.signals import user_code
from profiler.spec import BenchSpec

__all__ = [
    "EVENTS_PER_MODULE",
    "EVENT_BYTES",
    "INPUT_SHARE",
    "MARGIN",
    "PROBE_BATCH",
    "MemoryEstimate",
    "MemoryPlan",
    "ProbeFigures",
    "activation_bytes",
    "available_memory_bytes",
    "check_profiler_memory",
    "largest_batch",
    "plan_memory",
    "probe_step",
    "sample_input_bytes",
]

MARGIN = 1.25
PROBE_BATCH = 2
# A probe runs only where INPUT_SHARE probe inputs fit in the limit (activations are several
# times the input); a sample bigger than that is refused without a probe.
INPUT_SHARE = 16
# A profiled step keeps every event until the window ends: about this many per module call
# (its record_function range and the aten ops under it, forward; three times that in
# training), each a few hundred bytes in C++ plus the Python FunctionEvent made from it.
EVENTS_PER_MODULE = 8
EVENT_BYTES = 2048
_CGROUP_V2 = Path("/sys/fs/cgroup")
_CGROUP_V1 = Path("/sys/fs/cgroup/memory")


@dataclass(frozen=True)
class ProbeFigures:
    """What one probe step at ``batch`` held, in bytes."""

    batch: int
    weights_bytes: int
    gradient_bytes: int
    optimizer_bytes: int
    input_bytes: int
    saved_bytes: int
    largest_output_bytes: int


def activation_bytes(probe: ProbeFigures, mode: str) -> int:
    """Activation bytes of the probe's step (see the module doc for the working set)."""
    working = (2 if mode == "train" else 3) * probe.largest_output_bytes
    return probe.input_bytes + probe.saved_bytes + working


def _gib(value: float) -> str:
    for unit, size in (("PiB", 2**50), ("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20),
                       ("KiB", 2**10)):
        if abs(value) >= size:
            return f"{value / size:.3g} {unit}"
    return f"{value:.0f} B"


@dataclass(frozen=True)
class MemoryEstimate:
    """A step's estimated peak memory as a function of the batch (see the module doc)."""

    weights_bytes: int
    gradient_bytes: int
    optimizer_bytes: int
    activation_bytes_per_image: float
    probe_batch: int
    nproc: int = 1
    margin: float = MARGIN

    @classmethod
    def from_probe(cls, probe: ProbeFigures, mode: str, nproc: int = 1) -> MemoryEstimate:
        return cls(probe.weights_bytes, probe.gradient_bytes, probe.optimizer_bytes,
                   activation_bytes(probe, mode) / probe.batch, probe.batch, nproc)

    @property
    def static_bytes(self) -> int:
        return self.weights_bytes + self.gradient_bytes + self.optimizer_bytes

    def activations(self, batch: int) -> int:
        """Activation bytes at ``batch``, margin included (one process)."""
        return math.ceil(self.margin * self.activation_bytes_per_image * batch)

    def peak_bytes(self, batch: int) -> int:
        """Estimated peak of the whole run at ``batch`` (all ``nproc`` processes)."""
        return self.nproc * (self.static_bytes + self.activations(batch))

    def describe(self, batch: int) -> str:
        ranks = f"{self.nproc} processes x (" if self.nproc > 1 else "("
        return (f"{_gib(self.peak_bytes(batch))} {ranks}weights {_gib(self.weights_bytes)}, "
                f"gradients {_gib(self.gradient_bytes)}, optimizer state "
                f"{_gib(self.optimizer_bytes)}, activations {_gib(self.activations(batch))} = "
                f"{_gib(self.activation_bytes_per_image)}/image x {batch} x {self.margin:g} "
                f"margin, probed at batch {self.probe_batch})")


def largest_batch(estimate: MemoryEstimate, limit: int) -> int:
    """The largest batch whose estimated peak is within ``limit`` (0 if none is)."""
    room = limit / estimate.nproc - estimate.static_bytes
    per_image = estimate.margin * estimate.activation_bytes_per_image
    if room < per_image:
        return 0
    if per_image <= 0:
        return 2**31 - 1
    batch = int(room // per_image)
    while batch > 0 and estimate.peak_bytes(batch) > limit:  # ceil() at the boundary
        batch -= 1
    return batch


def _cgroup_headroom() -> int | None:
    """The cgroup's memory limit minus its usage, if this process runs under one."""
    for limit_file, usage_file in ((_CGROUP_V2 / "memory.max", _CGROUP_V2 / "memory.current"),
                                   (_CGROUP_V1 / "memory.limit_in_bytes",
                                    _CGROUP_V1 / "memory.usage_in_bytes")):
        try:
            limit_text = limit_file.read_text().strip()
            usage = int(usage_file.read_text().strip())
        except (OSError, ValueError):
            continue
        if limit_text == "max" or not limit_text.isdigit() or int(limit_text) >= 2**60:
            return None
        return max(0, int(limit_text) - usage)
    return None


def available_memory_bytes() -> int | None:
    """Memory this process may still take: ``MemAvailable``, bounded by its cgroup's room."""
    known = [v for v in (free_memory_bytes(torch.device("cpu")), _cgroup_headroom())
             if v is not None]
    return min(known) if known else None


class _Tracker:
    """Storage bytes autograd saves and the largest module output during one step."""

    def __init__(self, skip: set[int]) -> None:
        self.seen = set(skip)
        self.saved = 0
        self.largest = 0

    @staticmethod
    def _storage(tensor: torch.Tensor) -> tuple[int, int] | None:
        try:
            storage = tensor.untyped_storage()
            return storage.data_ptr(), storage.nbytes()
        except (RuntimeError, NotImplementedError, TypeError):
            return None

    def pack(self, tensor: torch.Tensor) -> torch.Tensor:
        found = self._storage(tensor)
        if found is not None and found[0] not in self.seen:
            self.seen.add(found[0])
            self.saved += found[1]
        return tensor

    def output(self, module: nn.Module, inputs: object, output: object) -> None:
        tensors = output if isinstance(output, (tuple, list)) else (output,)
        for tensor in tensors:
            if isinstance(tensor, torch.Tensor):
                found = self._storage(tensor)
                if found is not None:
                    self.largest = max(self.largest, found[1])


@contextmanager
def _tracking(module: nn.Module, tracker: _Tracker) -> Iterator[None]:
    handles = [m.register_forward_hook(tracker.output) for m in module.modules()]
    try:
        with torch.autograd.graph.saved_tensors_hooks(tracker.pack, lambda t: t):
            yield
    finally:
        for handle in handles:
            handle.remove()


def probe_step(spec: BenchSpec, batch: int) -> ProbeFigures:
    """Run one step of ``spec`` at ``batch`` on the CPU and measure what it holds."""
    probe_spec = replace(spec, compile=False, batch=batch)
    with torch_threads(spec.threads):
        prepared = prepare_step(probe_spec, torch.device("cpu"), batch)
        skip = {p.untyped_storage().data_ptr() for p in prepared.module.parameters()}
        skip |= {b.untyped_storage().data_ptr() for b in prepared.module.buffers()}
        skip.add(prepared.inputs.untyped_storage().data_ptr())
        tracker = _Tracker(skip)
        with _tracking(prepared.module, tracker):
            prepared.run()
        weights, gradients, optimizer = static_memory_parts(prepared, spec.mode)
        figures = ProbeFigures(batch=batch, weights_bytes=weights, gradient_bytes=gradients,
                               optimizer_bytes=optimizer,
                               input_bytes=tensor_bytes(prepared.inputs),
                               saved_bytes=tracker.saved,
                               largest_output_bytes=tracker.largest)
        del prepared
    return figures


def sample_input_bytes(spec: BenchSpec) -> int:
    """Bytes of one sample of the synthetic input (a block's input is in the run's dtype)."""
    dtype = torch_dtype(spec.dtype) if spec.workload.is_block else torch.float32
    return math.prod(spec.workload.input_shape) * torch.empty((), dtype=dtype).element_size()


@dataclass(frozen=True)
class MemoryPlan:
    """The batch to time and the estimate behind it."""

    batch: int
    estimate: MemoryEstimate
    limit: int

    @property
    def peak_bytes(self) -> int:
        return self.estimate.peak_bytes(self.batch)


Probe = Callable[[BenchSpec, int], ProbeFigures]


def _limit_text(limit: int, given: bool, capped: bool = False) -> str:
    if capped:
        return (f"the {_gib(limit)} of memory available (--max-memory asked for more; it can "
                "only lower the limit)")
    if given:
        return f"the {_gib(limit)} limit (--max-memory)"
    return f"the {_gib(limit)} of memory available (--max-memory sets the limit)"


def plan_memory(spec: BenchSpec, limit: int | None = None, *,
                probe: Probe | None = None,
                available: Callable[[], int | None] | None = None) -> MemoryPlan | None:
    """Check that ``spec`` fits in ``limit`` (None: the available memory) on the CPU; a
    ``limit`` above the available memory is capped by it (it only ever lowers the limit).

    Returns the plan (``spec.batch``, or with ``spec.oom_retry`` the largest batch that fits
    if that is smaller); None when there is nothing to check against or the probe step
    itself fails (the timing run then reports that failure). Raises MemoryLimitError when
    the batch does not fit (with ``oom_retry``: when not even batch 1 does). ``probe`` and
    ``available`` default to :func:`probe_step` and :func:`available_memory_bytes`.
    """
    room = (available or available_memory_bytes)()
    # --max-memory lowers the limit, never raises it above what the machine has
    bound = room if limit is None else limit if room is None else min(limit, room)
    if bound is None:
        return None
    capped = room is not None and limit is not None and limit > room
    sample = sample_input_bytes(spec)
    if INPUT_SHARE * sample > bound:  # the probe itself would not fit: refuse unprobed
        raise MemoryLimitError(
            f"{spec.label}: one sample's input is {_gib(sample)}; with its activations (several "
            f"times that) not even batch 1 fits in {_limit_text(bound, limit is not None, capped)}",
            batch=spec.batch, estimate_bytes=spec.nproc * sample * spec.batch, limit_bytes=bound)
    probe_batch = 1 if INPUT_SHARE * PROBE_BATCH * sample > bound else PROBE_BATCH
    try:
        with user_code(f"{spec.label} failed"):
            figures = (probe or probe_step)(spec, min(probe_batch, spec.batch))
    except AttnprofError:
        return None
    except Exception:  # the real run reports the model's failure, in its own words
        return None
    estimate = MemoryEstimate.from_probe(figures, spec.mode, spec.nproc)
    if estimate.peak_bytes(spec.batch) <= bound:
        return MemoryPlan(spec.batch, estimate, bound)
    fits = largest_batch(estimate, bound)
    if spec.oom_retry and fits >= 1:
        return MemoryPlan(fits, estimate, bound)
    hint = (f"the largest batch that fits is {fits}: pass --batch {fits} or --oom-retry"
            if fits >= 1 else "not even batch 1 fits")
    raise MemoryLimitError(
        f"{spec.label}: estimated peak memory at batch {spec.batch}: "
        f"{estimate.describe(spec.batch)} exceeds "
        f"{_limit_text(bound, limit is not None, capped)}; {hint}",
        batch=spec.batch, estimate_bytes=estimate.peak_bytes(spec.batch), limit_bytes=bound)


def check_profiler_memory(spec: BenchSpec, modules: int, steps: int,
                          plan: MemoryPlan | None) -> int:
    """Count what profiling ``steps`` steps of a model of ``modules`` modules keeps (events per
    step x steps x :data:`EVENT_BYTES`) beside the step's planned peak; raise MemoryLimitError
    when the two together exceed the plan's limit. Returns the events' estimated bytes."""
    per_step = EVENTS_PER_MODULE * modules * (3 if spec.mode == "train" else 1)
    events_bytes = per_step * steps * EVENT_BYTES
    if plan is None or plan.peak_bytes + events_bytes <= plan.limit:
        return events_bytes
    raise MemoryLimitError(
        f"{spec.label}: profiling {steps} steps keeps about {per_step * steps} events "
        f"({_gib(events_bytes)}) beside the step's {_gib(plan.peak_bytes)}: more than the "
        f"{_gib(plan.limit)} memory limit; profile fewer steps",
        batch=spec.batch, estimate_bytes=plan.peak_bytes + events_bytes, limit_bytes=plan.limit)
