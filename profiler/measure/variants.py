"""Implementation variants of each attention method, for explaining published counts.

A published params/FLOPs figure depends on small implementation choices the paper does not
state: SE's FC biases and whether its FCs are 1x1 convolutions or Linear layers, CBAM's biases
and pooling modules, GC's ratio and stages, ECA's kernel sizes. A :class:`Variant` is one such
choice as block options; :func:`variants_of` lists those of a method, the first being the
model as attnprof builds it for the paper (its preset's options, e.g. ECA-Net50's released
k = 3,5,5,7). Every variant is a real, buildable block configuration (documented in the
block's docstring), counted like any other model.

TEMPORARY HOME. Knowledge about a block belongs in the block's file (issue #14 item 3): when
the per-block metadata (a typed dataclass on each block class) lands, these tuples move into
it and this module reads them from the registry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from profiler.results.count import CountResult
from profiler.spec import Options, freeze_options, thaw_options

__all__ = [
    "VARIANTS",
    "Variant",
    "count_variants",
    "paper_options",
    "variant_options",
    "variants_of",
]


@dataclass(frozen=True)
class Variant:
    """One implementation choice of a method: ``options`` override the paper model's."""

    id: str
    description: str
    options: Options = ()


def _variant(id_: str, description: str, options: Mapping[str, Any] | None = None) -> Variant:
    return Variant(id_, description, freeze_options(options))


_ALL_STAGES = [1, 2, 3, 4]

VARIANTS: dict[str, tuple[Variant, ...]] = {
    "none": (_variant("backbone", "the torchvision-layout backbone"),),
    "se": (
        _variant("se", "SE with 1x1-conv FCs and biases (the Caffe release)"),
        _variant("se-nobias", "SE with 1x1-conv FCs without biases (Table 2's 2C^2/r)",
                 {"bias": False}),
        _variant("se-linear", "SE with Linear FCs and biases", {"fc": "linear"}),
        _variant("se-linear-nobias", "SE with Linear FCs without biases (senet.pytorch)",
                 {"fc": "linear", "bias": False}),
    ),
    "cbam": (
        _variant("cbam", "CBAM with pooling modules and MLP biases"),
        _variant("cbam-official", "CBAM with functional channel pooling and MLP biases (the "
                 "official code)", {"pooling": "functional"}),
        _variant("cbam-nobias", "CBAM with pooling modules, without MLP biases",
                 {"bias": False}),
        _variant("cbam-official-nobias", "CBAM with functional channel pooling, without MLP "
                 "biases", {"pooling": "functional", "bias": False}),
    ),
    "gc": (
        _variant("gc-r16", "GC ratio 1/16 in stages c3-c5 (GCNet's r16)"),
        _variant("gc-r4", "GC ratio 1/4 in stages c3-c5 (GCNet's r4)", {"ratio": 0.25}),
        _variant("gc-r16-all", "GC ratio 1/16 in every stage", {"stages": _ALL_STAGES}),
        _variant("gc-r4-all", "GC ratio 1/4 in every stage",
                 {"ratio": 0.25, "stages": _ALL_STAGES}),
    ),
    "eca": (
        _variant("eca-released", "ECA with the released per-stage kernel sizes"),
        _variant("eca-adaptive", "ECA with the paper's adaptive psi(C) kernel sizes",
                 {"k_size": "adaptive"}),
        _variant("eca-k3", "ECA with k = 3 everywhere", {"k_size": 3}),
    ),
}


def variants_of(method: str) -> tuple[Variant, ...]:
    """The implementation variants of ``method``; the first is the paper's model. A method
    without listed variants (a user block) has one: as attnprof builds it."""
    return VARIANTS.get(method) or (_variant(method, f"{method} as attnprof builds it"),)


def paper_options(backbone: str, method: str) -> dict[str, Any]:
    """The attention options of the paper's model: a preset's (``eca_resnet50`` is ECA with
    the released kernels k = 3,5,5,7), else the block's defaults."""
    from profiler.models.presets import PRESETS

    for preset in PRESETS:
        if preset.backbone == backbone and preset.attention == method:
            return thaw_options(preset.options)
    return {}


def variant_options(backbone: str, method: str, variant: Variant,
                    row_options: Options = ()) -> Options:
    """The options that build ``variant`` of ``method`` on ``backbone``: the paper model's,
    then the claims row's (MobileNetV2's SE r = 8), then the variant's."""
    return freeze_options({**paper_options(backbone, method), **thaw_options(row_options),
                           **thaw_options(variant.options)})


def count_variants(rows: Iterable[tuple[str, str, Options]], counters: Sequence[str],
                   input_shape: tuple[int, int, int] = (3, 224, 224),
                   ) -> dict[tuple[str, str, Options, str], CountResult]:
    """Count every variant of every (backbone, method, claims-row options) row with every
    counter in ``counters``, at batch 1; keyed by (backbone, method, row options, variant
    id). A model that several keys share is counted once."""
    from profiler.measure.counting import count
    from profiler.spec import CountSpec, Workload

    done: dict[tuple[str, str, Options], CountResult] = {}
    counts: dict[tuple[str, str, Options, str], CountResult] = {}
    for backbone, method, row_options in dict.fromkeys(rows):
        for variant in variants_of(method):
            options = variant_options(backbone, method, variant, row_options)
            model = (backbone, method, options)
            if model not in done:
                workload = Workload.for_model(backbone, None if method == "none" else method,
                                              thaw_options(options), input_shape)
                done[model] = count(CountSpec(workload, conventions=tuple(counters)))
            counts[(backbone, method, row_options, variant.id)] = done[model]
    return counts
