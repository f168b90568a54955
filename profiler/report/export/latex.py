"""An efficiency table as LaTeX: a ``table`` float with a ``booktabs`` tabular.

Needs ``\\usepackage{booktabs}`` and ``\\usepackage{multirow}`` only. Layout: ``\\toprule``,
the header, ``\\midrule``; each backbone's rows grouped, its name once in a ``\\multirow``
cell and a ``\\midrule`` between backbones; ``\\bottomrule``. The caption (above the table,
as tables have it) holds the user's text, then the units and the machine (device, torch
version, batch, precision).

Spreads and intervals, in a smaller size after the figure (our documented choice):

- absolute throughput: the median and the IQR of the raw samples, ``4.35 {\\scriptsize$\\pm$0.05}``
  (the IQR, not a confidence interval: the caption says so);
- share of the backbone's throughput: the percentage and its 95% interval as bounds,
  ``92.6 {\\scriptsize[91.3, 94.9]}``; bounds rather than a ``$\\pm$`` half-width, because the
  interval is not symmetric about the estimate.

``$^\\dagger$`` marks a noisy timing (IQR/median above 10%), ``$^\\ddagger$`` a share of cases
timed apart (unpaired interval). Every name and the caption are escaped (``& % $ # _ { } ~ ^ \\``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from profiler.errors import InvalidOptionError
from profiler.report.export.model import Cell, Column, EfficiencyTable, Row
from profiler.report.export.words import caption_text

__all__ = ["check_label", "escape", "render_latex"]

_SPECIAL = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
            "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}"}
_SPECIAL_RE = re.compile("|".join(re.escape(c) for c in _SPECIAL))
# What LaTeX's text fonts lack in OT1: the report's own symbols become math or words.
_SYMBOLS = {"–": "--", "±": r"$\pm$", "†": r"$^\dagger$", "‡": r"$^\ddagger$", "×": r"$\times$",
            "—": "---", "’": "'", "“": "``", "”": "''"}
_POWER = re.compile(r"(\d+)\^(\d+)")  # 10^6, 2^20 in the units: set as math
_LABEL = re.compile(r"[A-Za-z0-9:._/+-]+")
_MARKS = {"noisy": r"$^\dagger$", "unpaired": r"$^\ddagger$", "": ""}


def escape(text: str) -> str:
    """``text`` safe in LaTeX's text mode: its special characters escaped and the report's
    symbols (en dash, ±, †, ‡) spelled in LaTeX."""
    escaped = _SPECIAL_RE.sub(lambda m: _SPECIAL[m.group(0)], text)
    for symbol, spelled in _SYMBOLS.items():
        escaped = escaped.replace(symbol, spelled)
    return escaped


def _caption(text: str) -> str:
    """The caption escaped, its powers (``10^6``) as math (``$10^{6}$``)."""
    pieces = _POWER.split(text)  # text, base, exponent, text, ...
    out = [escape(pieces[0])]
    for index in range(1, len(pieces), 3):
        out.append(f"${pieces[index]}^{{{pieces[index + 1]}}}$" + escape(pieces[index + 2]))
    return "".join(out)


def check_label(label: str) -> str:
    """A ``\\label`` key: letters, digits and ``: . _ / + -`` (so it needs no escaping)."""
    if not _LABEL.fullmatch(label):
        raise InvalidOptionError(f"--label {label!r}: use letters, digits and : . _ / + - "
                                 "only, like tab:efficiency")
    return label


def _cell(cell: Cell, column: Column, intervals: bool) -> str:
    if cell.value is None:
        return "--"
    text = cell.text
    if intervals and column.kind == "fps" and cell.spread_text:
        text += rf" {{\scriptsize$\pm${cell.spread_text}}}"
    elif intervals and column.kind == "share" and cell.low_text and cell.high_text:
        text += rf" {{\scriptsize[{cell.low_text}, {cell.high_text}]}}"
    return text + _MARKS[cell.mark]


def _groups(rows: Sequence[Row]) -> list[list[Row]]:
    groups: list[list[Row]] = []
    for row in rows:
        if groups and groups[-1][0].backbone == row.backbone:
            groups[-1].append(row)
        else:
            groups.append([row])
    return groups


def _body(table: EfficiencyTable, intervals: bool) -> list[str]:
    lines = []
    for index, group in enumerate(_groups(table.rows)):
        if index:
            lines.append(r"\midrule")
        for position, row in enumerate(group):
            name = escape(row.backbone)
            first = (rf"\multirow{{{len(group)}}}{{*}}{{{name}}}" if len(group) > 1 else name)
            cells = [first if position == 0 else "", escape(row.method)]
            if table.mixed:
                cells.append(escape(row.machine))
            cells += [_cell(row.cells[c.id], c, intervals) for c in table.columns]
            lines.append(" & ".join(cells) + r" \\")
    return lines


_SUB = {"fps": "FPS", "share": r"share (\%)"}
Span = tuple[str, list[tuple[str, Column]]]  # group, its (sub-header, column) pairs


def _spans(columns: Sequence[Column]) -> list[Span]:
    """Adjacent columns of one group (``Training``: FPS, share) under one header."""
    spans: list[Span] = []
    for column in columns:
        if column.kind in _SUB:
            group, sub = column.header.split(" ")[0], _SUB[column.kind]
        elif column.kind == "memory":
            group, sub = "Peak memory (MiB)", column.header.split(" ")[0].lower()
        else:
            group, sub = "", escape(column.header)
        if group and spans and spans[-1][0] == group:
            spans[-1][1].append((sub, column))
        else:
            spans.append((group, [(sub, column)]))
    return spans


def _header(table: EfficiencyTable) -> list[str]:
    r"""One header row, or two when columns share a group (a ``\cmidrule`` under it)."""
    lead = ["Backbone", "Method", *(["Machine"] if table.mixed else [])]
    spans = _spans(table.columns)
    if all(len(members) == 1 for _, members in spans):
        return [" & ".join([*lead, *(escape(c.header) for c in table.columns)]) + r" \\"]
    top, rules, subs = [""] * len(lead), [], []
    first = len(lead) + 1
    for group, members in spans:
        if len(members) > 1:
            top.append(rf"\multicolumn{{{len(members)}}}{{c}}{{{escape(group)}}}")
            rules.append(rf"\cmidrule(lr){{{first}-{first + len(members) - 1}}}")
            subs += [sub for sub, _ in members]
        else:
            top.append("")
            subs.append(escape(members[0][1].header))
        first += len(members)
    return [" & ".join(top) + r" \\", " ".join(rules), " & ".join([*lead, *subs]) + r" \\"]


def render_latex(table: EfficiencyTable, *, intervals: bool = True, caption: str = "",
                 label: str | None = None) -> str:
    """The whole ``table`` environment, ready for ``\\input``."""
    align = "ll" + ("l" if table.mixed else "") + "r" * len(table.columns)
    lines = [
        "% attnprof table: needs \\usepackage{booktabs} and \\usepackage{multirow}",
        r"\begin{table}[t]",
        r"\centering",
        r"\small",
        r"\setlength{\tabcolsep}{4pt}",
        rf"\caption{{{_caption(caption_text(table, caption, intervals))}}}",
        *([rf"\label{{{check_label(label)}}}"] if label else []),
        rf"\begin{{tabular}}{{{align}}}",
        r"\toprule",
        *_header(table),
        r"\midrule",
        *_body(table, intervals),
        r"\bottomrule",
        r"\end{tabular}",
        r"\end{table}",
    ]
    return "\n".join(lines) + "\n"
