"""The step a timing run repeats: one inference batch or one training iteration.

:func:`prepare_step` builds the workload, moves it to the device, dtype and memory format of a
:class:`~profiler.spec.BenchSpec`, makes the synthetic input on the device, and returns a
closure that runs one step. The timing harness, the CPU memory child, the tracer and the
data-parallel workers all run this same step.

Conventions:

- Inference: ``model.eval()``, each step under ``torch.inference_mode()``.
- Training a model: ``model.train()``, forward, cross-entropy against random labels (drawn
  once, from the width of the (N, K) logits), backward, SGD (lr 0.1, momentum 0.9,
  weight decay 1e-4 as in the ECA paper), ``zero_grad(set_to_none=True)``. A model whose
  output is not (N, K) logits backpropagates ``out.float().mean()`` instead.
- Training a single block: forward and backward of ``out.float().sum()`` with respect to the
  block's parameters *and its input* (a block sits inside a network, so it must produce dx);
  no optimizer step.
- fp16/bf16 for a model: automatic mixed precision (``torch.autocast`` on the device, fp32
  weights), with a ``GradScaler`` when training in fp16 on CUDA. For a single block: the block and
  its input are cast to the dtype (autocast would leave the pooling and the rescale in fp32,
  and the block's memory traffic is what a block benchmark is about).
- channels_last: model (or block) and input in ``torch.channels_last``.
- compile: ``torch.compile`` of the module; the first steps compile, and warm-up runs them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from profiler.errors import AttnprofError, MeasurementError, one_line
from profiler.measure.workload import build_module, example_input, torch_dtype
from profiler.spec import BenchSpec

__all__ = [
    "MOMENTUM",
    "SGD_LR",
    "WEIGHT_DECAY",
    "PreparedStep",
    "prepare_step",
    "static_memory_bytes",
    "static_memory_parts",
    "tensor_bytes",
]

SGD_LR = 0.1
MOMENTUM = 0.9
WEIGHT_DECAY = 1e-4

Wrap = Callable[[nn.Module], nn.Module]


@dataclass(frozen=True)
class PreparedStep:
    """A ready-to-run step. ``module`` is the plain module (before DDP/compile wrappers)."""

    run: Callable[[], None]
    module: nn.Module
    inputs: torch.Tensor
    optimizer: torch.optim.Optimizer | None
    batch: int
    loss: str


def tensor_bytes(tensor: torch.Tensor) -> int:
    return tensor.numel() * tensor.element_size()


def static_memory_parts(prepared: PreparedStep, mode: str) -> tuple[int, int, int]:
    """Bytes of (parameters + buffers, gradients, optimizer state).

    Gradients are counted as one per trainable parameter in training, the size they have at
    the end of a backward pass (``zero_grad(set_to_none=True)`` frees them between steps);
    optimizer state is what the optimizer holds now (SGD's momentum after the first step).
    """
    module = prepared.module
    weights = sum(tensor_bytes(p) for p in module.parameters())
    weights += sum(tensor_bytes(b) for b in module.buffers())
    gradients = 0
    if mode == "train":
        gradients = sum(tensor_bytes(p) for p in module.parameters() if p.requires_grad)
    optimizer = 0
    if prepared.optimizer is not None:
        for state in prepared.optimizer.state.values():
            optimizer += sum(tensor_bytes(v) for v in state.values()
                             if isinstance(v, torch.Tensor))
    return weights, gradients, optimizer


def static_memory_bytes(prepared: PreparedStep, mode: str) -> int:
    """Bytes of parameters, buffers, gradients (training) and optimizer state."""
    return sum(static_memory_parts(prepared, mode))


def _build(spec: BenchSpec) -> nn.Module:
    try:
        module = build_module(spec.workload)
    except AttnprofError:
        raise
    except Exception as exc:
        raise MeasurementError(f"cannot build {spec.workload.label}: "
                               f"{one_line(exc, typed=False)}") from exc
    if not isinstance(module, nn.Module):
        raise MeasurementError(f"{spec.workload.label} did not build an nn.Module "
                               f"(got {type(module).__name__})")
    return module


AutocastFactory = Callable[[], contextlib.AbstractContextManager[object]]


def _autocast(spec: BenchSpec, device: torch.device) -> AutocastFactory:
    if spec.dtype == "fp32" or spec.workload.is_block:
        return contextlib.nullcontext
    dtype = torch_dtype(spec.dtype)
    return lambda: torch.autocast(device_type=device.type, dtype=dtype)


def _model_loss(batch: int, device: torch.device) -> Callable[[torch.Tensor], torch.Tensor]:
    """Cross-entropy against random labels drawn once (from the logits' width)."""
    labels: list[torch.Tensor] = []
    generator = torch.Generator(device="cpu").manual_seed(0)

    def loss(out: torch.Tensor) -> torch.Tensor:
        if out.dim() != 2:
            return out.float().mean()
        if not labels:
            drawn = torch.randint(0, out.shape[1], (batch,), generator=generator)
            labels.append(drawn.to(device))
        return F.cross_entropy(out, labels[0])

    return loss


def _grad_scaler() -> torch.amp.GradScaler:
    """A CUDA GradScaler (``torch.amp.GradScaler`` from torch 2.3, ``torch.cuda.amp`` before)."""
    factory = getattr(torch.amp, "GradScaler", None)
    if factory is not None:
        return factory("cuda")
    return torch.cuda.amp.GradScaler()  # pragma: no cover - torch < 2.3


def prepare_step(spec: BenchSpec, device: torch.device, batch: int | None = None,
                 wrap: Wrap | None = None) -> PreparedStep:
    """Build ``spec``'s workload on ``device`` and return its step (``batch`` overrides).

    ``wrap`` (for example DistributedDataParallel) is applied after the module is on the
    device and before ``torch.compile``.
    """
    batch = spec.batch if batch is None else batch
    torch.manual_seed(0)
    module = _build(spec)
    is_block = spec.workload.is_block
    layout = torch.channels_last if spec.channels_last else torch.contiguous_format
    input_dtype = torch_dtype(spec.dtype) if is_block else torch.float32
    module = module.to(device=device, dtype=input_dtype)
    module = module.to(memory_format=layout)  # type: ignore[call-overload]
    module.train(spec.mode == "train")
    inputs = example_input(spec.workload, batch, device=device, dtype=input_dtype)
    inputs = inputs.contiguous(memory_format=layout)
    runner: nn.Module = module if wrap is None else wrap(module)
    if spec.compile:
        runner = torch.compile(runner)  # type: ignore[assignment]
    autocast = _autocast(spec, device)

    if spec.mode == "infer":
        def infer() -> None:
            with torch.inference_mode(), autocast():
                runner(inputs)

        return PreparedStep(infer, module, inputs, None, batch, "none")

    if is_block:
        inputs.requires_grad_(True)

        def block_train() -> None:
            inputs.grad = None
            runner(inputs).float().sum().backward()
            module.zero_grad(set_to_none=True)

        return PreparedStep(block_train, module, inputs, None, batch, "output_sum")

    optimizer = torch.optim.SGD(module.parameters(), lr=SGD_LR, momentum=MOMENTUM,
                                weight_decay=WEIGHT_DECAY)
    scaler = _grad_scaler() if spec.dtype == "fp16" and device.type == "cuda" else None
    loss_fn = _model_loss(batch, device)

    def train() -> None:
        with autocast():
            loss = loss_fn(runner(inputs))
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return PreparedStep(train, module, inputs, optimizer, batch, "cross_entropy")
