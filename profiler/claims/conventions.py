"""One counting convention per paper: the hypothesis that reproduces the most figures.

A paper's params/FLOPs figures came from one script run with one counting tool: a FLOPs
figure depends on the counter (which operators, how much), on MACs vs FLOPs and on the prefix
(G = 10^9 or 2^30); a parameter figure on the prefix and on implementation choices (SE's FC
biases, GC's ratio and stages, ECA's kernel sizes). Picking, per figure, whichever of dozens
of candidates prints it would explain anything. So the analysis states one hypothesis for the
whole paper and counts how many figures it reproduces:

1. a hypothesis is a counter (:mod:`profiler.measure.count.counters`: real tools and emulated real
   releases only), units ("si" or "binary", for parameters and FLOPs alike), a scale (printed
   FLOPs = 1 or 2 x what the counter counts; 1 only for ``torch``, which already counts 2 per
   multiply-add), and one implementation per method, used for every backbone (parameters are
   what the counter reports: thop's own sum, the exact count otherwise);
2. every counter x units x scale is tried; for each, each method's implementation is the one
   that reproduces the most of that method's figures (the paper's own first on ties);
3. the hypothesis with the most reproduced figures is *the* convention (the first tried wins
   ties); every figure is then judged under it alone;
4. a figure it misses gets, as a post-hoc note, the nearest alternative that would print it
   (fewest changed choices: implementation, then units, then scale, then counter), or the
   closest value if nothing prints it. Post-hoc notes never count as reproduced.

:func:`analyse` does this on counts given as :class:`~profiler.results.count.CountResult`
(one per backbone, method and implementation, with every counter in ``counters``); it needs
no torch and measures nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from profiler.claims.figures import Figure, printed
from profiler.claims.findings import Convention, Finding, Findings, Hypothesis
from profiler.results.count import CountResult
from profiler.spec import Options

__all__ = ["UNITS", "CounterInfo", "Implementation", "RowKey", "analyse", "candidate_value"]

UNITS: tuple[str, ...] = ("si", "binary")
_UNIT_TEXT = {"si": "SI units (M = 10^6, G = 10^9)", "binary": "binary units (M = 2^20, "
              "G = 2^30)"}

RowKey = tuple[str, str, Options, str]  # backbone, method, claims-row options, variant id


class CounterInfo(Protocol):
    """What the analysis needs of a counter
    (:class:`profiler.measure.count.counters.FlopCounter`)."""

    @property
    def name(self) -> str: ...

    @property
    def emulates(self) -> str: ...

    @property
    def per_mac(self) -> int: ...


@dataclass(frozen=True)
class Implementation:
    """One implementation variant of a method (:mod:`profiler.measure.count.variants`)."""

    id: str
    description: str


@dataclass(frozen=True)
class _Choice:
    counter: str
    units: str
    scale: int


def candidate_value(figure: Figure, count: CountResult, counter: str, units: str,
                    scale: int) -> tuple[int, float]:
    """The raw count and its value in the figure's unit under one counter, units, scale."""
    total = count.counted(counter)
    if total is None:
        raise ValueError(f"counter {counter!r} did not run on this count")
    if figure.quantity == "params":
        if figure.scope == "attention":
            raw = count.attention_params
        else:
            raw = total.params if total.params is not None else count.params
    else:
        raw = scale * (total.attention_flops if figure.scope == "attention" else total.flops)
    if not figure.unit:
        return raw, float(raw)
    power = " KMGT".index(figure.unit)
    return raw, raw / (1000 if units == "si" else 1024) ** power


class _Table:
    """Every figure's value under every choice and implementation, computed once."""

    def __init__(self, figures: Sequence[Figure], counts: Mapping[RowKey, CountResult],
                 counters: Sequence[CounterInfo],
                 implementations: Callable[[str], Sequence[Implementation]]) -> None:
        self.figures = list(figures)
        self.counters = {c.name: c for c in counters}
        self.implementations = implementations
        self.choices = [_Choice(c.name, u, s) for c in counters for u in UNITS
                        for s in ((1, 2) if c.per_mac == 1 else (1,))]
        self.values: dict[tuple[Figure, _Choice, str], tuple[int, float]] = {}
        for figure in self.figures:
            for impl in implementations(figure.method):
                count = counts[(figure.backbone, figure.method, figure.options, impl.id)]
                for choice in self.choices:
                    self.values[figure, choice, impl.id] = candidate_value(
                        figure, count, choice.counter, choice.units, choice.scale)

    def prints(self, figure: Figure, choice: _Choice, impl: str) -> bool:
        return figure.prints(self.values[figure, choice, impl][1])

    def methods(self) -> list[str]:
        return list(dict.fromkeys(f.method for f in self.figures))

    def hypothesis(self, choice: _Choice) -> Hypothesis:
        chosen: list[tuple[str, str]] = []
        total = 0
        for method in self.methods():
            own = [f for f in self.figures if f.method == method]
            scores = [(sum(self.prints(f, choice, impl.id) for f in own), -index, impl.id)
                      for index, impl in enumerate(self.implementations(method))]
            best, _, impl_id = max(scores)
            chosen.append((method, impl_id))
            total += best
        return Hypothesis(choice.counter, choice.units, choice.scale, tuple(chosen), total,
                          len(self.figures))


def _division(raw: int, figure: Figure, choice: _Choice, counter: CounterInfo) -> str:
    """``4,142,713,856 multiply-adds (thop-0.0.23) / 2^30`` and the like."""
    if figure.quantity == "params":
        what = f"{raw:,} parameters"
        if figure.scope == "model" and choice.counter.startswith("thop"):
            what += f" ({choice.counter}'s sum)"
    else:
        unit = "multiply-adds" if counter.per_mac == 1 else "FLOPs"
        what = (f"{raw:,} {unit}" if choice.scale == 1
                else f"{choice.scale} x {raw // choice.scale:,} {unit}")
        what += f" ({choice.counter})"
    if not figure.unit:
        return what
    power = " KMGT".index(figure.unit)
    base = f"2^{10 * power}" if choice.units == "binary" else f"10^{3 * power}"
    return f"{what} / {base}"


def _explain(figure: Figure, raw: int, value: float, choice: _Choice,
             counter: CounterInfo) -> str:
    text = (f"{_division(raw, figure, choice, counter)} = {printed(figure, value, 2)}, "
            f"printed {printed(figure)}")
    margin = figure.half - abs(value - figure.published)
    if figure.prints(value) and value and margin < 0.02 * figure.half:
        text += f" (only {margin / value * raw:,.0f} from the rounding boundary)"
    return text


def _changes(a: _Choice, impl_a: str, b: _Choice, impl_b: str) -> tuple[int, ...]:
    """How far an alternative is from the convention: number of changed choices, then which
    (implementation < units < scale < counter)."""
    diff = (impl_a != impl_b, a.units != b.units, a.scale != b.scale, a.counter != b.counter)
    return (sum(diff), *(int(d) for d in reversed(diff)))


def _label(choice: _Choice, impl: str, figure: Figure,
           implementations: Sequence[Implementation]) -> str:
    described = next((i.description for i in implementations if i.id == impl), impl)
    units = "" if not figure.unit else f", {choice.units} units"
    scale = "" if figure.quantity == "params" or choice.scale == 1 else ", x2 (FLOPs = 2 MACs)"
    return f"{choice.counter}{units}{scale}, {described}"


class _Analysis:
    def __init__(self, table: _Table) -> None:
        self.table = table
        hypotheses = [table.hypothesis(choice) for choice in table.choices]
        order = {h.id: index for index, h in enumerate(hypotheses)}
        self.ranking = sorted(hypotheses, key=lambda h: (-h.reproduced, order[h.id]))
        best = self.ranking[0]
        self.best = best
        self.choice = _Choice(best.counter, best.units, best.scale)

    def finding(self, figure: Figure) -> Finding:
        table, choice = self.table, self.choice
        impl = self.best.implementation(figure.method)
        raw, value = table.values[figure, choice, impl]
        counter = table.counters[choice.counter]
        reproduced = figure.prints(value)
        return Finding(
            table=figure.table, backbone=figure.backbone, method=figure.method,
            quantity=figure.quantity, published=figure.published, published_unit=figure.unit,
            printed=printed(figure), ours=value, raw=raw, variant=impl, reproduced=reproduced,
            explanation=_explain(figure, raw, value, choice, counter),
            post_hoc="" if reproduced else self.post_hoc(figure, impl))

    def post_hoc(self, figure: Figure, impl: str) -> str:
        """The nearest alternative that prints ``figure``, or the closest value."""
        table = self.table
        impls = table.implementations(figure.method)
        options = [(c, i.id) for c in table.choices for i in impls]
        printing = [o for o in options if table.prints(figure, *o)]
        if printing:
            alt_choice, alt_impl = min(printing, key=lambda o: _changes(
                self.choice, impl, o[0], o[1]))
            raw, value = table.values[figure, alt_choice, alt_impl]
            division = _division(raw, figure, alt_choice, table.counters[alt_choice.counter])
            return (f"post hoc, not a pass: {_label(alt_choice, alt_impl, figure, impls)} "
                    f"would print it ({division} = {printed(figure, value, 2)})")
        closest = min(options, key=lambda o: abs(table.values[figure, o[0], o[1]][1]
                                                  - figure.published))
        raw, value = table.values[figure, closest[0], closest[1]]
        gap = value / figure.published - 1 if figure.published else 0.0
        return (f"post hoc: none of {len(options)} counter, unit and implementation choices "
                f"prints {printed(figure)}; the closest is "
                f"{_label(closest[0], closest[1], figure, impls)}: "
                f"{printed(figure, value, 2)} ({gap:+.1%})")

    def convention(self) -> Convention:
        best, table = self.best, self.table
        counter = table.counters[best.counter]
        descriptions = []
        for method, impl in best.implementations:
            described = next((i.description for i in table.implementations(method)
                              if i.id == impl), impl)
            descriptions.append((method, described))
        shown = [d for m, d in descriptions if m != "none"]
        scale = "" if best.scale == 1 else ", FLOPs = 2 x counted multiply-adds"
        statement = (f"{best.reproduced} of {best.figures} figures reproduce under "
                     f"{best.counter} ({counter.emulates}), {_UNIT_TEXT[best.units]}{scale}, "
                     f"with these implementations: {'; '.join(shown)}.")
        return Convention(best, counter.emulates, statement, tuple(descriptions))


def analyse(claims_id: str, figures: Sequence[Figure], counts: Mapping[RowKey, CountResult],
            counters: Sequence[CounterInfo],
            implementations: Callable[[str], Sequence[Implementation]]) -> Findings:
    """Choose the paper-wide convention and judge every figure under it.

    ``counts`` maps (backbone, method, claims-row options, implementation id) to a count that
    ran every counter of ``counters``; ``implementations(method)`` lists a method's variants,
    the paper's own first.
    """
    analysis = _Analysis(_Table(figures, counts, counters, implementations))
    return Findings(claims_id, analysis.convention(), tuple(analysis.ranking),
                    tuple(analysis.finding(f) for f in figures))
