"""What is measured: frozen, hashable specs shared by every measuring harness.

A :class:`Workload` names the network (a backbone with optional attention, or one attention
block alone) and its per-sample input shape. :class:`CountSpec` and :class:`BenchSpec` add how
it is measured. Specs are plain data: they serialise to JSON-able dicts and back, and two equal
specs have the same :attr:`case_id`, which is how result files are resumed, merged and compared.
They name dtypes and devices as strings and load without torch; building the module and its
input is the measuring side's job (:mod:`profiler.measure.workload`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from profiler import defaults
from profiler.devices import check_device
from profiler.errors import InvalidOptionError

__all__ = [
    "DTYPES",
    "MODES",
    "BenchSpec",
    "BreakdownSpec",
    "CountSpec",
    "Options",
    "Workload",
    "freeze_options",
    "parse_shape",
    "thaw_options",
]

Options = tuple[tuple[str, Any], ...]
Mode = Literal["infer", "train"]
MODES: tuple[str, ...] = ("infer", "train")
# Precisions by name; the torch dtypes they stand for are in profiler.measure.workload.
DTYPES: tuple[str, ...] = ("fp32", "fp16", "bf16")


def _freeze(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


def freeze_options(options: Mapping[str, Any] | Options | None) -> Options:
    """A hashable, order-independent form of an options mapping (lists become tuples)."""
    if not options:
        return ()
    items = options.items() if isinstance(options, Mapping) else options
    return tuple(sorted((str(k), _freeze(v)) for k, v in items))


def thaw_options(options: Options) -> dict[str, Any]:
    """The options as a plain dict with lists, ready for JSON or ``build_*(**options)``."""
    return {k: _thaw(v) for k, v in options}


def parse_shape(text: str, dims: int = 3) -> tuple[int, ...]:
    """Parse ``3x224x224`` (or ``224x224`` for ``dims=2``) into a tuple of positive ints."""
    parts = text.lower().replace("*", "x").split("x")
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        shape = ()
    if len(shape) != dims or any(d <= 0 for d in shape):
        example = "x".join(["3", "224", "224"][-dims:])
        raise InvalidOptionError(
            f"malformed shape {text!r}: expected {dims} positive integers like {example}"
        )
    return shape


@dataclass(frozen=True)
class Workload:
    """The network that runs: a model (+ attention) or a single attention block.

    For a model, ``input_shape`` is the per-sample (C, H, W) image shape and ``options`` are
    the ``attention_options`` of :func:`profiler.build_model`. For a block, ``channels`` is set,
    ``input_shape`` is (channels, H, W) and ``options`` go to :func:`profiler.build_block`.
    """

    model: str | None = None
    attention: str | None = None
    block: str | None = None
    channels: int | None = None
    options: Options = ()
    input_shape: tuple[int, int, int] = defaults.INPUT_SHAPE

    def __post_init__(self) -> None:
        if (self.model is None) == (self.block is None):
            raise InvalidOptionError("a workload names exactly one of a model or a block")
        if self.block is not None:
            if self.channels is None or self.channels <= 0:
                raise InvalidOptionError(f"block {self.block!r} needs a positive channel count")
            if self.input_shape[0] != self.channels:
                raise InvalidOptionError(
                    f"block input has {self.input_shape[0]} channels, expected {self.channels}"
                )
        if len(self.input_shape) != 3 or any(d <= 0 for d in self.input_shape):
            raise InvalidOptionError(f"input shape must be 3 positive ints (C, H, W), got "
                                     f"{self.input_shape}")

    @classmethod
    def for_model(
        cls,
        model: str,
        attention: str | None = None,
        options: Mapping[str, Any] | None = None,
        input_shape: tuple[int, int, int] = defaults.INPUT_SHAPE,
    ) -> Workload:
        return cls(model=model, attention=attention, options=freeze_options(options),
                   input_shape=tuple(input_shape))  # type: ignore[arg-type]

    @classmethod
    def for_block(
        cls,
        block: str,
        channels: int,
        size: tuple[int, int],
        options: Mapping[str, Any] | None = None,
    ) -> Workload:
        return cls(block=block, channels=channels, options=freeze_options(options),
                   input_shape=(channels, size[0], size[1]))

    @property
    def is_block(self) -> bool:
        return self.block is not None

    @property
    def options_text(self) -> str:
        """The options as labels show them: ``k_size=3557,reduction=8`` ("" without)."""
        return ",".join(f"{k}={_format_value(v)}" for k, v in self.options)

    @property
    def label(self) -> str:
        """Short human label: ``resnet50+eca`` or ``eca[C=256,56x56]``."""
        opts = self.options_text
        if self.block is not None:
            _, h, w = self.input_shape
            extra = f",{opts}" if opts else ""
            return f"{self.block}[C={self.channels},{h}x{w}{extra}]"
        name = self.model if self.attention is None else f"{self.model}+{self.attention}"
        return f"{name}[{opts}]" if opts else name

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "attention": self.attention,
            "block": self.block,
            "channels": self.channels,
            "options": thaw_options(self.options),
            "input_shape": list(self.input_shape),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Workload:
        return cls(
            model=data.get("model"),
            attention=data.get("attention"),
            block=data.get("block"),
            channels=data.get("channels"),
            options=freeze_options(data.get("options")),
            input_shape=tuple(data.get("input_shape", defaults.INPUT_SHAPE)),  # type: ignore[arg-type]
        )


def _format_value(value: Any) -> str:
    if isinstance(value, tuple):
        return "".join(str(v) for v in value) if all(isinstance(v, int) and v < 10 for v in value) \
            else "/".join(str(v) for v in value)
    return str(value)


def _case_id(kind: str, payload: dict[str, Any]) -> str:
    text = json.dumps({"kind": kind, **payload}, sort_keys=True, separators=(",", ":"))
    return f"{kind}-{hashlib.sha1(text.encode()).hexdigest()[:12]}"


@dataclass(frozen=True)
class CountSpec:
    """Count parameters, FLOPs and activations of a workload at a batch size.

    ``conventions`` names the FLOP counters to run (:mod:`profiler.measure.count.counters`); the
    first is the one the result's ``flops`` reports (fvcore and all always run). ``backward``
    also counts a training step (forward + backward) with the first of them that can.
    """

    workload: Workload
    batch: int = defaults.COUNT_BATCH
    conventions: tuple[str, ...] = defaults.COUNT_CONVENTIONS
    backward: bool = False

    kind: Literal["count"] = field(default="count", init=False)

    def __post_init__(self) -> None:
        if self.batch <= 0:
            raise InvalidOptionError(f"batch must be a positive integer, got {self.batch}")
        if not self.conventions:
            raise InvalidOptionError("a count needs at least one counter")

    @property
    def counter(self) -> str:
        """The counter whose total is the result's ``flops``."""
        return self.conventions[0]

    @property
    def case_id(self) -> str:
        return _case_id(self.kind, self.to_dict())

    @property
    def label(self) -> str:
        return f"count {self.workload.label} b{self.batch}"

    def to_dict(self) -> dict[str, Any]:
        data = {"workload": self.workload.to_dict(), "batch": self.batch,
                "conventions": list(self.conventions)}
        if self.backward:  # written only when set, so earlier case ids stay the same
            data["backward"] = True
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CountSpec:
        return cls(workload=Workload.from_dict(data["workload"]),
                   batch=int(data.get("batch", defaults.COUNT_BATCH)),
                   conventions=tuple(data.get("conventions", defaults.COUNT_CONVENTIONS)),
                   backward=bool(data.get("backward", False)))


def _step_spec_dict(spec: Any) -> dict[str, Any]:
    """A spec with a workload (bench, breakdown) as a JSON-able dict, without its kind."""
    data = asdict(spec)
    data.pop("kind")
    data["workload"] = spec.workload.to_dict()
    return data


def _step_spec_kwargs(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    """The init arguments of ``cls`` found in ``data`` (unknown keys ignored)."""
    known = {f.name for f in fields(cls) if f.init}
    kwargs = {k: v for k, v in data.items() if k in known}
    kwargs["workload"] = Workload.from_dict(data["workload"])
    return kwargs


@dataclass(frozen=True)
class BenchSpec:
    """Time one workload in one mode on one device.

    ``min_time`` is the measured time budget per repeat (seconds); ``repeats`` is how many
    independent repeats of that budget are taken. ``nproc`` > 1 runs data-parallel training
    through torchrun. ``threads`` = None keeps torch's default thread count. ``memory`` = False
    skips the peak-memory measurement (on the CPU it costs an extra run in a child process);
    ``oom_retry`` halves the batch after an out-of-memory error until it fits.
    """

    workload: Workload
    mode: Mode = defaults.MODE  # type: ignore[assignment]
    device: str = defaults.DEVICE
    batch: int = defaults.TIMING_BATCH
    dtype: str = defaults.DTYPE
    channels_last: bool = False
    compile: bool = False
    cudnn_benchmark: bool = True
    threads: int | None = None
    min_time: float = defaults.MIN_TIME
    repeats: int = defaults.REPEATS
    warmup: int = defaults.WARMUP
    nproc: int = 1
    memory: bool = True
    oom_retry: bool = False

    kind: Literal["bench"] = field(default="bench", init=False)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InvalidOptionError(f"unknown mode {self.mode!r}; valid: {', '.join(MODES)}")
        if self.dtype not in DTYPES:
            raise InvalidOptionError(f"unknown dtype {self.dtype!r}; valid: {', '.join(DTYPES)}")
        for name in ("batch", "repeats", "nproc"):
            if getattr(self, name) <= 0:
                raise InvalidOptionError(f"{name} must be a positive integer")
        if self.warmup < 0 or self.min_time < 0:
            raise InvalidOptionError("warmup and min_time must be >= 0")
        if self.threads is not None and self.threads <= 0:
            raise InvalidOptionError("threads must be a positive integer")
        check_device(self.device)

    @property
    def case_id(self) -> str:
        return _case_id(self.kind, self.to_dict())

    @property
    def label(self) -> str:
        flags = "".join(
            s for s, on in ((" cl", self.channels_last), (" compiled", self.compile)) if on
        )
        return f"{self.mode} {self.workload.label} b{self.batch} {self.dtype} {self.device}{flags}"

    def step_kind(self) -> tuple[str, str, str, bool, int | None, bool]:
        """The kind of step, whatever the model and batch: mode, device, dtype, layout,
        threads, cuDNN setting. A process calibrates the profiler's cost once per kind
        (:func:`profiler.measure.breakdown.overhead.probe_calibration`; the planner counts
        that cost once per kind too)."""
        return (self.mode, self.device, self.dtype, self.channels_last, self.threads,
                self.cudnn_benchmark)

    def to_dict(self) -> dict[str, Any]:
        return _step_spec_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BenchSpec:
        return cls(**_step_spec_kwargs(cls, data))


@dataclass(frozen=True)
class BreakdownSpec:
    """Split one workload's step into parts (``attnprof breakdown``).

    The step is the one :class:`BenchSpec` times (same ``mode``, ``device``, ``batch``,
    ``dtype``, layout, cuDNN and thread settings); after ``warmup`` (as in timing), the step
    time is measured over ``timed_steps`` steps without the profiler, then ``profiled_steps``
    steps are profiled and attributed. No ``torch.compile``: compiled graphs fuse operations
    across modules, so eager ops are what is attributed.
    """

    workload: Workload
    mode: Mode = defaults.MODE  # type: ignore[assignment]
    device: str = defaults.DEVICE
    batch: int = defaults.BREAKDOWN_BATCH
    dtype: str = defaults.DTYPE
    channels_last: bool = False
    cudnn_benchmark: bool = True
    threads: int | None = None
    warmup: int = defaults.WARMUP
    timed_steps: int = defaults.BREAKDOWN_TIMED_STEPS
    profiled_steps: int = defaults.BREAKDOWN_PROFILED_STEPS

    kind: Literal["breakdown"] = field(default="breakdown", init=False)

    def __post_init__(self) -> None:
        self.bench_spec()  # same checks as timing
        limits = {"timed_steps": defaults.MAX_TIMED_STEPS,
                  "profiled_steps": defaults.MAX_PROFILED_STEPS}
        for name, limit in limits.items():
            if getattr(self, name) <= 0:
                raise InvalidOptionError(f"{name} must be a positive integer")
            if getattr(self, name) > limit:
                raise InvalidOptionError(f"{name} must be at most {limit} (each profiled step "
                                         "keeps its events in memory), got "
                                         f"{getattr(self, name)}")

    def bench_spec(self) -> BenchSpec:
        """The timing spec of the same step (no memory measurement)."""
        return BenchSpec(workload=self.workload, mode=self.mode, device=self.device,
                         batch=self.batch, dtype=self.dtype, channels_last=self.channels_last,
                         cudnn_benchmark=self.cudnn_benchmark, threads=self.threads,
                         warmup=self.warmup, memory=False)

    @property
    def case_id(self) -> str:
        return _case_id(self.kind, self.to_dict())

    @property
    def label(self) -> str:
        layout = " cl" if self.channels_last else ""
        return (f"breakdown {self.mode} {self.workload.label} b{self.batch} {self.dtype} "
                f"{self.device}{layout}")

    def to_dict(self) -> dict[str, Any]:
        return _step_spec_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BreakdownSpec:
        return cls(**_step_spec_kwargs(cls, data))
