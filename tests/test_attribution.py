"""Attribution of profiler events to parts, on hand-built event trees (no profiler)."""

from __future__ import annotations

import pytest

from profiler.errors import MeasurementError
from profiler.measure.breakdown.attribution import (
    MODULE_RANGE,
    STEP_LABEL,
    ModuleRole,
    OpEvent,
    attention_op,
    attribute,
    op_bytes,
    place,
)

ROLES = {
    "": ModuleRole(""),
    "conv": ModuleRole("conv", kind="convolution"),
    "block": ModuleRole("block"),
    "block.relu": ModuleRole("block.relu", kind="activation"),
    "attn": ModuleRole("attn", attention="attn"),
    "attn.fc": ModuleRole("attn.fc", attention="attn", attention_op="conv_fc"),
}
MAIN, OTHER = 1, 7


class Trace:
    """Builds events: ``add`` returns the new event's index; children nest inside parents."""

    def __init__(self) -> None:
        self.events: list[OpEvent] = []
        self.clock = 0.0

    def add(self, name: str, parent: int | None = None, self_us: float = 0.0,
            span: float | None = None, seq: int = -1, thread: int = MAIN, fwd_thread: int = 0,
            shapes: tuple[tuple[int, ...], ...] = (), dtypes: tuple[str, ...] = ()) -> int:
        index = len(self.events) + 1
        start = self.clock
        self.clock += 1.0
        end = start + (span if span is not None else max(self_us, 1.0))
        self.events.append(OpEvent(index, name, parent, start, end, self_us, thread, seq,
                                   fwd_thread, shapes, dtypes))
        return index

    def part_of(self, index: int, **kwargs: bool) -> str:
        placements, _ = place(self.events, ROLES, **kwargs)  # type: ignore[arg-type]
        return next(p.part for p in placements if p.event.index == index)


def _train_step(trace: Trace, step_span: float = 1000.0) -> dict[str, int]:
    """One training step: forward through conv, block.relu, attn; loss; backward; SGD."""
    ids: dict[str, int] = {}
    step = trace.add(STEP_LABEL, span=step_span, self_us=100.0)
    model = trace.add(MODULE_RANGE, step, self_us=5.0, span=500.0)
    conv = trace.add(MODULE_RANGE + "conv", model, self_us=2.0, span=300.0)
    ids["conv2d"] = trace.add("aten::conv2d", conv, self_us=200.0, seq=10)
    block = trace.add(MODULE_RANGE + "block", model, self_us=1.0, span=100.0)
    relu = trace.add(MODULE_RANGE + "block.relu", block, self_us=1.0)
    ids["relu"] = trace.add("aten::relu", relu, self_us=20.0, seq=11)
    ids["add"] = trace.add("aten::add_", block, self_us=10.0, seq=12,
                           shapes=((2, 4, 8, 8), (2, 4, 8, 8), ()), dtypes=("float",) * 3)
    attn = trace.add(MODULE_RANGE + "attn", model, self_us=1.0, span=80.0)
    ids["mean"] = trace.add("aten::mean", attn, self_us=6.0, seq=13)
    fc = trace.add(MODULE_RANGE + "attn.fc", attn, self_us=1.0)
    ids["linear"] = trace.add("aten::linear", fc, self_us=4.0, seq=14)
    ids["sigmoid"] = trace.add("aten::sigmoid", attn, self_us=2.0, seq=15)
    ids["mul"] = trace.add("aten::mul", attn, self_us=8.0, seq=16,
                           shapes=((2, 4, 8, 8), (2, 4, 1, 1)), dtypes=("float",) * 2)
    ids["loss"] = trace.add("aten::cross_entropy_loss", step, self_us=3.0, seq=17)
    for name, seq, own in (("MulBackward0", 16, 9.0), ("ConvolutionBackward0", 10, 300.0),
                           ("AddBackward0", 12, 1.0), ("NllLossBackward0", 17, 2.0)):
        node = trace.add(f"autograd::engine::evaluate_function: {name}", step, self_us=1.0,
                         seq=seq, fwd_thread=MAIN)
        ids[name] = trace.add("aten::some_backward_kernel", node, self_us=own)
    accumulate = trace.add("autograd::engine::evaluate_function: torch::autograd::"
                           "AccumulateGrad", step, self_us=1.0)
    ids["accumulate"] = trace.add("aten::detach", accumulate, self_us=2.0)
    optimizer = trace.add("Optimizer.step#SGD.step", step, self_us=5.0)
    ids["sgd"] = trace.add("aten::add_", optimizer, self_us=50.0)
    return ids


def test_each_op_goes_to_its_part() -> None:
    trace = Trace()
    ids = _train_step(trace)
    expected = {
        "conv2d": "convolution", "relu": "activation", "add": "other_ops",
        "mean": "attention.pooling", "linear": "attention.conv_fc",
        "sigmoid": "attention.sigmoid", "mul": "attention.rescale", "loss": "loss",
        "MulBackward0": "attention.rescale", "ConvolutionBackward0": "convolution",
        "AddBackward0": "other_ops", "NllLossBackward0": "loss",
        "accumulate": "unattributed", "sgd": "optimizer",
    }
    placements, _ = place(trace.events, ROLES, train=True, same_thread=True)
    found = {p.event.index: p for p in placements}
    for key, part in expected.items():
        assert found[ids[key]].part == part, key
    assert found[ids["mul"]].block == "attn" and found[ids["conv2d"]].block is None
    assert found[ids["add"]].loose and not found[ids["AddBackward0"]].loose


def test_parts_add_up_to_the_step_and_unattributed_is_the_rest() -> None:
    trace = Trace()
    _train_step(trace)
    result = attribute(trace.events, ROLES, train=True, same_thread=True)
    assert result.steps == 1 and result.step_us == 1000.0
    assert result.part_us["convolution"] == 2.0 + 200.0 + 1.0 + 300.0
    assert result.part_us["attention.rescale"] == 8.0 + 1.0 + 9.0
    # the attention module's own range time is its "other" operation
    assert result.part_us["attention.other"] == 1.0
    assert result.part_us["optimizer"] == 55.0
    assert result.part_us["unattributed"] == pytest.approx(1000.0 - sum(
        v for k, v in result.part_us.items() if k != "unattributed"))
    assert sum(result.part_us.values()) == pytest.approx(result.step_us)
    assert result.block_us == {"attn": pytest.approx(1 + 6 + 1 + 4 + 2 + 8 + 1 + 9)}
    assert result.loose_bytes == {"other_ops": 3 * 2 * 4 * 8 * 8 * 4}


def test_inference_ops_outside_the_model_are_other_ops() -> None:
    trace = Trace()
    step = trace.add(STEP_LABEL, span=100.0)
    outside = trace.add("aten::to", step, self_us=5.0)
    assert trace.part_of(outside, train=False, same_thread=True) == "other_ops"
    assert trace.part_of(outside, train=True, same_thread=True) == "loss"


def test_the_last_forward_op_with_a_sequence_number_created_the_node() -> None:
    trace = Trace()
    step = trace.add(STEP_LABEL, span=1000.0)
    conv = trace.add(MODULE_RANGE + "conv", step, span=10.0)
    trace.add("aten::add_", conv, self_us=1.0, seq=20)  # peeks 20, creates no node
    relu = trace.add(MODULE_RANGE + "block.relu", step)
    trace.add("aten::relu", relu, self_us=1.0, seq=20)  # creates node 20
    node = trace.add("autograd::engine::evaluate_function: ReluBackward0", step, seq=20,
                     fwd_thread=MAIN)
    kernel = trace.add("aten::threshold_backward", node, self_us=3.0)
    assert trace.part_of(kernel, train=True, same_thread=True) == "activation"


def test_backward_on_another_thread_links_by_forward_thread() -> None:
    """On a GPU the autograd engine runs backward on its own thread (device time)."""
    trace = Trace()
    step = trace.add(STEP_LABEL, span=1000.0)
    conv = trace.add(MODULE_RANGE + "conv", step, span=10.0)
    trace.add("aten::conv2d", conv, self_us=40.0, seq=5)
    node = trace.add("autograd::engine::evaluate_function: ConvolutionBackward0", None,
                     seq=5, thread=OTHER, fwd_thread=MAIN)
    kernel = trace.add("aten::convolution_backward", node, self_us=70.0, thread=OTHER)
    assert trace.part_of(kernel, train=True, same_thread=False) == "convolution"
    cpu_view = attribute(trace.events, ROLES, train=True, same_thread=True)
    device_view = attribute(trace.events, ROLES, train=True, same_thread=False)
    assert cpu_view.part_us["convolution"] == 40.0
    assert device_view.part_us["convolution"] == 110.0


def test_times_are_averaged_over_steps_and_events_outside_steps_ignored() -> None:
    trace = Trace()
    trace.add("aten::warmup_op", None, self_us=999.0)
    for span in (100.0, 300.0):
        step = trace.add(STEP_LABEL, span=span)
        conv = trace.add(MODULE_RANGE + "conv", step)
        trace.add("aten::conv2d", conv, self_us=span / 2)
        trace.clock += span
    result = attribute(trace.events, ROLES, train=False, same_thread=True)
    assert result.steps == 2 and result.step_us == 200.0
    assert result.part_us["convolution"] == 100.0
    assert result.step_times_us == (100.0, 300.0)


def test_a_profile_without_steps_is_an_error() -> None:
    with pytest.raises(MeasurementError, match="no 'attnprof_step' range"):
        attribute([OpEvent(1, "aten::add", None, 0.0, 1.0, 1.0)], ROLES, train=False,
                  same_thread=True)


@pytest.mark.parametrize(("name", "shapes", "part"), [
    ("aten::adaptive_avg_pool2d", (), "pooling"),
    ("aten::matmul", (), "pooling"),
    ("aten::_softmax", (), "pooling"),
    ("aten::conv1d", (), "conv_fc"),
    ("aten::linear", (), "conv_fc"),
    ("aten::sigmoid_", (), "sigmoid"),
    ("aten::mul", ((2, 8, 7, 7), (2, 8, 1, 1)), "rescale"),
    ("aten::add", ((2, 8, 7, 7), (2, 8, 1, 1)), "rescale"),
    ("aten::add", ((2, 8), (2, 8)), "other"),  # CBAM's sum of two pooled descriptors
    ("aten::mul", ((2, 8, 1, 1), (2, 8, 1, 1)), "other"),
    ("aten::mul", (), "rescale"),  # shapes not recorded: by name
    ("aten::layer_norm", (), "other"),
])
def test_attention_operations(name: str, shapes: tuple[tuple[int, ...], ...], part: str) -> None:
    assert attention_op(OpEvent(1, name, None, 0.0, 1.0, 1.0, input_shapes=shapes)) == part
    assert attention_op(None) == "other"


def test_op_bytes_reads_inputs_and_writes_the_largest() -> None:
    x = (2, 4, 8, 8)
    add = OpEvent(1, "aten::add_", None, 0, 1, 1, input_shapes=(x, x, ()),
                  input_dtypes=("float", "float", "Scalar"))
    assert op_bytes(add) == 3 * 512 * 4
    half = OpEvent(1, "aten::mul", None, 0, 1, 1, input_shapes=(x, (2, 4, 1, 1)),
                   input_dtypes=("c10::Half", "c10::Half"))
    assert op_bytes(half) == (512 + 8 + 512) * 2
    view = OpEvent(1, "aten::flatten", None, 0, 1, 1, input_shapes=(x,), input_dtypes=("float",))
    assert op_bytes(view) == 0
    assert op_bytes(OpEvent(1, "aten::add", None, 0, 1, 1)) == 0
