"""What a block says about itself: :class:`BlockInfo`, declared in the block's own file.

Each attention block class carries ``info = BlockInfo(...)``: how reports name it, its paper,
its parameter formula, the memory-bound passes that explain its timings, its memory-traffic
floor, and the values of the symbols a paper's parameter formula uses. The block registry
hands it out (``BLOCKS.info(name)``); reports, the bandwidth floor and ``attnprof list`` read it
from there, so adding a block is its file plus one ``BLOCKS.register`` line. A block without
``info`` (a user's ``package.module:attr`` block) gets :meth:`BlockInfo.default`.

This module is plain data and formulas (no torch), so readers of result files can use it.

Traffic floors. For a block on an (N, C, H, W) input with elements of ``s`` bytes
(``X = N*C*H*W*s``, ``M = N*H*W*s``, ``P`` = bytes of the block's parameters) the floor is the
least traffic a perfectly fused implementation needs; small per-(N, C) vectors (pooled
descriptors, gates) are left out, being C/(H*W) of X. The shared formulas:

- :func:`pool_rescale_traffic` (SE, ECA, GC, the ECA paper's ablations): forward ``3X + P``,
  read x for the pool, read x and write y for the rescale (GC: its softmax pooling in one
  online pass, then the broadcast add); forward + backward ``7X + 3P``: then read dy and x for
  d(gate), read dy and write dx (the pool's gradient is a broadcast added in that pass), read
  P and write dP.
- :func:`read_write_traffic` (the default): forward ``2X + P``, read x and write y;
  forward + backward ``4X + 3P``, also read dy and write dx.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "GENERIC_PASSES",
    "BlockInfo",
    "CountingVariant",
    "FormulaTerms",
    "Traffic",
    "TrafficFloor",
    "pool_rescale_traffic",
    "read_write_traffic",
    "variant",
]

GENERIC_PASSES = "its pooling and gating passes over the feature map"


@dataclass(frozen=True)
class TrafficFloor:
    """The least bytes a block moves (None where no formula is derived) and the formula."""

    bytes: int | None
    formula: str


# (X, M, P, training) -> floor; X, M, P in bytes as in the module docstring.
Traffic = Callable[[int, int, int, bool], TrafficFloor]
# (channels, options) -> values of a paper formula's symbols other than C (``r``, ``k``...).
FormulaTerms = Callable[[int, Mapping[str, Any]], Mapping[str, float]]


def pool_rescale_traffic(x: int, m: int, p: int, train: bool) -> TrafficFloor:
    """Pool, gate, rescale: ``3X + P`` forward, ``7X + 3P`` with backward."""
    if train:
        return TrafficFloor(7 * x + 3 * p, "7*N*C*H*W*s + 3*P")
    return TrafficFloor(3 * x + p, "3*N*C*H*W*s + P")


def read_write_traffic(x: int, m: int, p: int, train: bool) -> TrafficFloor:
    """Any block at the least: read x, write y (and read dy, write dx in training)."""
    if train:
        return TrafficFloor(4 * x + 3 * p, "4*N*C*H*W*s + 3*P (read x, write y, read dy, "
                                           "write dx)")
    return TrafficFloor(2 * x + p, "2*N*C*H*W*s + P (read x, write y)")


@dataclass(frozen=True)
class CountingVariant:
    """One implementation choice of a block that a paper's counts may have used (SE's FC
    biases, GC's ratio...): block ``options`` (as ``(name, value)`` pairs, lists as tuples),
    named ``id`` and described in words. Counted like any model by ``attnprof conventions``
    (:mod:`profiler.measure.count.variants`); the first variant of a block is the block as attnprof
    builds it for the paper (no options)."""

    id: str
    description: str
    options: tuple[tuple[str, Any], ...] = ()


def variant(id_: str, description: str, **options: Any) -> CountingVariant:
    """A :class:`CountingVariant` with keyword options (lists become tuples, keys sorted)."""
    frozen = tuple(sorted((k, tuple(v) if isinstance(v, list) else v)
                          for k, v in options.items()))
    return CountingVariant(id_, description, frozen)


@dataclass(frozen=True, kw_only=True)
class BlockInfo:
    """A block's metadata. Only ``label`` is required; every later field has a default, so a
    field added here never breaks a block that does not set it.

    ``label``: the name reports print (``SE``); ``summary``: one line for ``attnprof list``;
    ``paper``: the citation; ``params``: the parameter count as a formula of C (text);
    ``passes``: its memory-bound passes over the feature map, in words, which explain its
    timings in reports ("a global average pool, ... and a channel-wise rescale");
    ``traffic``: its memory-traffic floor (:data:`Traffic`); ``terms``: the values of the
    symbols of a paper's formula for given channels and options (:data:`FormulaTerms`;
    ``{"r": 16}`` for SE), None when the block has none; ``variants``: its implementation
    choices for explaining published counts (:class:`CountingVariant`, the block as built
    first), empty when it has none.
    """

    label: str
    summary: str = ""
    paper: str = ""
    params: str = ""
    passes: str = GENERIC_PASSES
    traffic: Traffic = read_write_traffic
    terms: FormulaTerms | None = None
    variants: tuple[CountingVariant, ...] = ()

    @classmethod
    def default(cls, name: str) -> BlockInfo:
        """For a block that declares nothing: labelled by its registry name, or by the
        attribute of a ``package.module:attr`` path."""
        label = name.rpartition(":")[2] if ":" in name else name
        return cls(label=label, summary=f"{label} (no block metadata)")

    def formula_terms(self, channels: int, options: Mapping[str, Any]) -> dict[str, float]:
        """``C`` and the block's own symbols, for evaluating a paper's formula."""
        terms = {} if self.terms is None else dict(self.terms(channels, options))
        return {"C": float(channels), **{k: float(v) for k, v in terms.items()}}
