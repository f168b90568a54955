"""Implementation variants of each attention method, for explaining published counts.

A published params/FLOPs figure depends on small implementation choices the paper does not
state: SE's FC biases and whether its FCs are 1x1 convolutions or Linear layers, CBAM's biases
and pooling modules, GC's ratio and stages, ECA's kernel sizes. Each block declares its
choices in its own file (``BlockInfo.variants``, :class:`~profiler.blockinfo.CountingVariant`:
real, buildable configurations documented in the block's docstring); :func:`variants_of`
reads them from the registry, the first being the model as attnprof builds it for the paper
(its preset's options, e.g. ECA-Net50's released k = 3,5,5,7). :func:`count_variants` counts
them all with every counter for ``attnprof conventions``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from profiler.blockinfo import CountingVariant, variant
from profiler.results.count import CountResult
from profiler.spec import Options, freeze_options, thaw_options

__all__ = [
    "BACKBONE",
    "count_variants",
    "paper_options",
    "variant_options",
    "variants_of",
]

BACKBONE = variant("backbone", "the torchvision-layout backbone")


def variants_of(method: str) -> tuple[CountingVariant, ...]:
    """The implementation variants of ``method`` (``"none"``: the plain backbone); the first
    is the paper's model. A block that declares none has one: as attnprof builds it."""
    from profiler.blocks import BLOCKS  # block classes need torch: load them when asked

    if method == "none":
        return (BACKBONE,)
    return BLOCKS.info(method).variants or (
        variant(method, f"{method} as attnprof builds it"),)


def paper_options(backbone: str, method: str) -> dict[str, Any]:
    """The attention options of the paper's model: a preset's (``eca_resnet50`` is ECA with
    the released kernels k = 3,5,5,7), else the block's defaults."""
    from profiler.models.presets import PRESETS

    for preset in PRESETS:
        if preset.backbone == backbone and preset.attention == method:
            return thaw_options(preset.options)
    return {}


def variant_options(backbone: str, method: str, chosen: CountingVariant,
                    row_options: Options = ()) -> Options:
    """The options that build ``variant`` of ``method`` on ``backbone``: the paper model's,
    then the claims row's (MobileNetV2's SE r = 8), then the variant's."""
    return freeze_options({**paper_options(backbone, method), **thaw_options(row_options),
                           **thaw_options(chosen.options)})


def count_variants(rows: Iterable[tuple[str, str, Options]], counters: Sequence[str],
                   input_shape: tuple[int, int, int] = (3, 224, 224),
                   ) -> dict[tuple[str, str, Options, str], CountResult]:
    """Count every variant of every (backbone, method, claims-row options) row with every
    counter in ``counters``, at batch 1; keyed by (backbone, method, row options, variant
    id). A model that several keys share is counted once."""
    from profiler.measure.count.counting import count
    from profiler.spec import CountSpec, Workload

    done: dict[tuple[str, str, Options], CountResult] = {}
    counts: dict[tuple[str, str, Options, str], CountResult] = {}
    for backbone, method, row_options in dict.fromkeys(rows):
        for choice in variants_of(method):
            options = variant_options(backbone, method, choice, row_options)
            model = (backbone, method, options)
            if model not in done:
                workload = Workload.for_model(backbone, None if method == "none" else method,
                                              thaw_options(options), input_shape)
                done[model] = count(CountSpec(workload, conventions=tuple(counters)))
            counts[(backbone, method, row_options, choice.id)] = done[model]
    return counts
