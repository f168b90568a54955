"""Where attention goes in a backbone: ``attention_options`` resolved into one plan per stage.

``attention_options`` holds the block's own options plus ``stages``, the 1-based stage numbers
that get attention (ResNet: 1..4 = layer1..layer4 = c2..c5). An option given as a list (or
tuple) is per stage and must have exactly one value per stage of the backbone, e.g.
``{"k_size": [3, 5, 5, 7]}`` on a ResNet. Backbones supply their own defaults: the stages a
block goes in by default (GC: c3-c5, as GCNet) and block options (SE r = 8 on MobileNetV2).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from torch import nn

from profiler.blocks import BLOCKS, block_options, build_block
from profiler.errors import InvalidOptionError
from profiler.registry import is_import_path

__all__ = ["STAGES_OPTION", "AttentionPlan", "plan_attention"]

STAGES_OPTION = "stages"

StageOptions = tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class AttentionPlan:
    """Which stages of a backbone get attention block ``attention``, with which options.

    ``stage_options[s - 1]`` holds the block options of stage ``s`` (scalars only); ``model``
    names the backbone in error messages.
    """

    attention: str | None
    stages: tuple[int, ...]
    stage_options: tuple[StageOptions, ...]
    model: str = "model"

    @property
    def num_stages(self) -> int:
        return len(self.stage_options)

    def options_for(self, stage: int) -> dict[str, Any]:
        """The block options of ``stage`` (1-based)."""
        return dict(self.stage_options[stage - 1])

    def block(self, stage: int, channels: int) -> nn.Module | None:
        """A new attention block for a unit of ``stage`` with ``channels``, or None."""
        if self.attention is None or stage not in self.stages:
            return None
        try:
            return build_block(self.attention, channels, **self.options_for(stage))
        except InvalidOptionError as exc:
            raise InvalidOptionError(f"{self.model} stage {stage}: {exc}") from exc


def _is_list(value: Any) -> bool:
    return isinstance(value, (list, tuple))


def _stages(model: str, value: Any, num_stages: int) -> tuple[int, ...]:
    values = list(value) if _is_list(value) else [value]
    valid = all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= num_stages
                for v in values)
    if not valid or len(set(values)) != len(values):
        raise InvalidOptionError(
            f"{model}: option stages must be distinct stage numbers in 1..{num_stages}, "
            f"got {value!r}"
        )
    return tuple(sorted(values))


def _per_stage(
    model: str, options: Mapping[str, Any], num_stages: int
) -> tuple[StageOptions, ...]:
    for key, value in options.items():
        if _is_list(value) and len(value) != num_stages:
            raise InvalidOptionError(
                f"{model}: option {key} has {len(value)} values; a per-stage list needs "
                f"exactly {num_stages} (one per stage), or give a single value"
            )
    return tuple(
        tuple((key, value[s] if _is_list(value) else value) for key, value in options.items())
        for s in range(num_stages)
    )


def _check_names(model: str, attention: str, options: Mapping[str, Any]) -> None:
    accepted = block_options(attention)
    if accepted is None:
        return
    for key in options:
        if key not in accepted:
            valid = ", ".join((STAGES_OPTION, *accepted))
            raise InvalidOptionError(
                f"{model}: attention {attention!r} has no option {key!r}; valid options: {valid}"
            )


def plan_attention(
    attention: str | None,
    attention_options: Mapping[str, Any] | None,
    *,
    model: str,
    num_stages: int,
    default_stages: Mapping[str, Sequence[int]] | None = None,
    block_defaults: Mapping[str, Mapping[str, Any]] | None = None,
) -> AttentionPlan:
    """Resolve ``attention`` and ``attention_options`` for a backbone with ``num_stages``.

    ``default_stages`` and ``block_defaults`` map registered block names to the backbone's
    defaults; user options override them. Raises InvalidOptionError for options without an
    attention block, bad stages, unknown options and per-stage lists of the wrong length.
    """
    options = dict(attention_options or {})
    if attention is None:
        if options:
            raise InvalidOptionError(
                f"{model}: attention options {', '.join(sorted(options))} given without an "
                f"attention block"
            )
        return AttentionPlan(None, (), ((),) * num_stages, model)
    BLOCKS.factory(attention)  # unknown names fail here, listing the valid ones
    builtin = not is_import_path(attention)
    stages_value = options.pop(STAGES_OPTION, None)
    if stages_value is None:
        defaults = default_stages or {}
        stages_value = list(defaults.get(attention, range(1, num_stages + 1))) if builtin \
            else list(range(1, num_stages + 1))
    stages = _stages(model, stages_value, num_stages)
    defaults_for_block = (block_defaults or {}).get(attention, {}) if builtin else {}
    merged = {**defaults_for_block, **options}
    _check_names(model, attention, merged)
    return AttentionPlan(attention, stages, _per_stage(model, merged, num_stages), model)
