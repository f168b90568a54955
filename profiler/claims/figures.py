"""A paper's params/FLOPs figures as printed: value, unit, and the precision printed.

Table 3 of the ECA paper prints parameters in M with two decimals ("3.40M") and FLOPs in G
with two decimals, MobileNetV2's in M with one ("319.4M", stored in the claims as ``gflops =
0.3194``); the abstract prints the modules' "80" parameters and "4.7e-4" GFLOPs. A count
reproduces a figure when it prints the same at that precision: it lies within half a unit of
the last printed digit (:attr:`Figure.half`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from profiler.claims.paper import Claims
from profiler.spec import Options

__all__ = ["Figure", "figures", "half_unit", "printed"]


@dataclass(frozen=True)
class Figure:
    """One published figure: ``published`` as printed in ``unit`` ("", "M" or "G"), ``half``
    the rounding half-width of its printed precision, ``scope`` "model" or "attention" (the
    abstract's module figures), ``options`` the claims row's attention options."""

    table: str
    backbone: str
    method: str
    quantity: str
    published: float
    unit: str
    half: float
    scope: str = "model"
    options: Options = ()

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.table, self.backbone, self.method, self.quantity)

    def prints(self, value: float) -> bool:
        """True when ``value`` (in :attr:`unit`) prints as the published figure."""
        return abs(value - self.published) <= self.half * (1 + 1e-9)


def half_unit(value: float, minimum_decimals: int) -> float:
    """Half a unit of the last printed digit; ``4.7e-4`` (two significant digits) -> 5e-6."""
    text = f"{value:.10g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
        return 0.5 * 10.0 ** (int(exponent) - decimals)
    decimals = len(text.split(".")[1]) if "." in text else 0
    return 0.5 * 10.0 ** -max(decimals, minimum_decimals)


def printed(figure: Figure, value: float | None = None, extra_digits: int = 0) -> str:
    """``value`` (default: the published figure) as the paper prints the figure, with
    ``extra_digits`` more: ``3.86G``, ``319.4M``, ``0.00047G``, ``80``."""
    shown = figure.published if value is None else value
    if not figure.unit:
        return f"{shown:,.0f}"
    if figure.published < 0.01:
        return f"{shown:.{2 + extra_digits}g}{figure.unit}"
    decimals = max(0, round(-math.log10(2 * figure.half))) + extra_digits
    return f"{shown:.{decimals}f}{figure.unit}"


def figures(claims: Claims) -> list[Figure]:
    """Every params/FLOPs figure of the buildable Table 3 rows, then the abstract's four."""
    found: list[Figure] = []
    for row in claims.table3:
        if not row.buildable:
            continue
        key = ("table3", row.backbone, row.method)
        found.append(Figure(*key, "params", row.params_m, "M", half_unit(row.params_m, 2),
                            options=row.options))
        if row.gflops >= 1:
            found.append(Figure(*key, "flops", row.gflops, "G", half_unit(row.gflops, 2),
                                options=row.options))
        else:
            mflops = float(f"{row.gflops * 1000:.10g}")
            found.append(Figure(*key, "flops", mflops, "M", half_unit(mflops, 1),
                                options=row.options))
    abstract = claims.abstract
    if abstract is not None:
        backbone, method = abstract.backbone, abstract.method
        found += [
            Figure("abstract", backbone, "none", "params", abstract.backbone_params_m, "M",
                   half_unit(abstract.backbone_params_m, 2)),
            Figure("abstract", backbone, "none", "flops", abstract.backbone_gflops, "G",
                   half_unit(abstract.backbone_gflops, 2)),
            Figure("abstract", backbone, method, "params", float(abstract.module_params), "",
                   0.5, scope="attention"),
            Figure("abstract", backbone, method, "flops", abstract.module_gflops, "G",
                   half_unit(abstract.module_gflops, 0), scope="attention"),
        ]
    return found
