"""Parameter and FLOP claims: Table 3's #Param and FLOPs, the abstract, Table 2's formulas.

A published count is judged under the one counting convention ``attnprof conventions`` chose
for the whole paper (:mod:`profiler.report.verdicts.findings`): ``pass`` "reproduced" when the
figure prints the same under it, ``fail`` otherwise, with the nearest alternative as a post-hoc note
(never a pass). Without findings, ours is compared at the precision the paper prints (two
decimals: 24.37):
parameters in M = 10^6, FLOPs in G = 10^9 under fvcore's convention (one multiply-add = one
FLOP) or with the elementwise operators fvcore skips ("all"), whichever matches.
Table 2's per-module formulas (``2C^2/r``, ``k*C``...) are evaluated for the blocks counted
alone: exact ``pass``; off by at most 2C ``partial`` (terms linear in C, such as SE's biases,
that the formulas leave out); else ``fail``.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping

from profiler.claims.paper import Claims, Table2Row, Table3Row
from profiler.report.cells import printed_decimals, sig
from profiler.report.data import CountEntry, ReportData, method_of
from profiler.report.names import backbone_label, block_info
from profiler.report.verdicts.findings import ClaimsFindings, Finding
from profiler.report.verdicts.verdict import Verdict
from profiler.spec import thaw_options

__all__ = ["abstract_verdicts", "count_verdicts", "evaluate_formula", "table2_verdicts"]

PARAMS_COLUMN = "#Param"  # the summary table's columns (Verdict.column)
FLOPS_COLUMN = "FLOPs"
PARAMS_DECIMALS = 2  # Table 3 prints params as 24.37 (M)
FLOPS_DECIMALS = 2  # ... and FLOPs as 3.86 (G); MobileNetV2's 319.4M is 0.3194 G


def _printed_match(value: float, published: float, minimum_decimals: int) -> bool:
    """True when ``value`` prints as ``published`` at the precision it was printed with."""
    decimals = printed_decimals(published, minimum_decimals)
    return abs(value - published) <= 0.5 * 10.0 ** -decimals * (1 + 1e-9)


def _from_finding(kind: str, subject: str, claim: str, paper: str, finding: Finding) -> Verdict:
    ours = f"{finding.ours:.6g}{finding.published_unit}"
    ours += f" ({finding.variant})" if finding.method != "none" else ""
    if finding.reproduced:
        return Verdict(kind, subject, claim, "pass", paper, ours,
                       f"reproduced under the paper-wide convention: {finding.explanation}")
    return Verdict(kind, subject, claim, "fail", paper, ours,
                   f"not reproduced under the paper-wide convention: {finding.explanation}; "
                   f"{finding.post_hoc}")


def _params_text(entry: CountEntry) -> str:
    return f"{entry.result.params / 1e6:.2f}M = {entry.result.params:,} parameters"


def _flops_text(value: float, value_all: float) -> str:
    return f"{value / 1e9:.4g} G (fvcore), {value_all / 1e9:.4g} G (all)"


def _missing(data: ReportData, backbone: str, method: str) -> str:
    for record in data.unfinished_for(backbone, method):
        if record.kind == "count":
            return f"not measured: count case {record.status}: {record.error}"
    return "not measured: no count case in the results"


def _no_analysis(findings: ClaimsFindings) -> str:
    return f"no convention analysis found ({findings.path.name})"


def _params_verdict(subject: str, claim: str, published_m: float, entry: CountEntry,
                    finding: Finding | None, findings: ClaimsFindings, kind: str) -> Verdict:
    paper = f"{published_m:.{printed_decimals(published_m, PARAMS_DECIMALS)}f}M"
    if finding is not None:
        return _from_finding(kind, subject, claim, paper, finding)
    ours_m = entry.result.params / 1e6
    if _printed_match(ours_m, published_m, PARAMS_DECIMALS):
        return Verdict(kind, subject, claim, "pass", paper, _params_text(entry),
                       f"matches with M = 10^6 ({_no_analysis(findings)})")
    return Verdict(kind, subject, claim, "fail", paper, _params_text(entry),
                   f"not reproduced with M = 10^6: {100 * (ours_m / published_m - 1):+.1f}%; "
                   f"the paper states no unit or counting tool; {_no_analysis(findings)}")


def _flops_verdict(subject: str, claim: str, published_g: float, flops: float, flops_all: float,
                   finding: Finding | None, findings: ClaimsFindings, kind: str,
                   minimum_decimals: int = FLOPS_DECIMALS) -> Verdict:
    decimals = printed_decimals(published_g, minimum_decimals)
    paper = f"{published_g:.{decimals}f} G" if published_g >= 1e-3 else f"{published_g:g} G"
    measured = _flops_text(flops, flops_all)
    if finding is not None:
        return _from_finding(kind, subject, claim, paper, finding)
    for value, name in ((flops, "fvcore's convention (one multiply-add = one FLOP)"),
                        (flops_all, "the 'all' convention (elementwise operators included)")):
        if _printed_match(value / 1e9, published_g, minimum_decimals):
            return Verdict(kind, subject, claim, "pass", paper, measured,
                           f"matches under {name} ({_no_analysis(findings)})")
    gap = 100 * (flops / 1e9 / published_g - 1) if published_g else 0.0
    return Verdict(kind, subject, claim, "fail", paper, measured,
                   f"not reproduced under fvcore's convention ({gap:+.1f}%) or with all "
                   f"operators; the paper states no counting convention; {_no_analysis(findings)}")


def _row_verdicts(data: ReportData, row: Table3Row, findings: ClaimsFindings) -> list[Verdict]:
    subject = f"{backbone_label(row.backbone)} / {row.label}"
    entry = data.count_for(row.backbone, row.method, row.options)
    params_claim = f"{row.params_m:.2f}M parameters"
    flops_claim = f"{row.gflops:g} GFLOPs"
    if entry is None:
        reason = _missing(data, row.backbone, row.method)
        return [Verdict("params", subject, params_claim, "n.a.", f"{row.params_m:.2f}M", "–",
                        reason).in_column(PARAMS_COLUMN, f"{row.params_m:.2f}M", "–"),
                Verdict("flops", subject, flops_claim, "n.a.", f"{row.gflops:g} G", "–",
                        reason).in_column(FLOPS_COLUMN, f"{row.gflops:g} G", "–")]
    params_finding = findings.find("table3", row.backbone, row.method, "params")
    flops_finding = findings.find("table3", row.backbone, row.method, "flops")
    params = _params_verdict(subject, params_claim, row.params_m, entry, params_finding,
                             findings, "params")
    flops = _flops_verdict(subject, flops_claim, row.gflops, entry.flops, entry.flops_all,
                           flops_finding, findings, "flops")
    return [
        params.in_column(PARAMS_COLUMN, params.paper,
                         _brief(params_finding, f"{entry.result.params / 1e6:.2f}M")),
        flops.in_column(FLOPS_COLUMN, flops.paper, _brief(flops_finding,
                                                          f"{entry.flops / 1e9:.4g} G")),
    ]


def _brief(finding: Finding | None, measured: str) -> str:
    """Ours in a few characters: under the finding's convention if there is one."""
    return measured if finding is None else f"{finding.ours:.6g} {finding.published_unit}"


def count_verdicts(claims: Claims, data: ReportData, findings: ClaimsFindings) -> list[Verdict]:
    """#Param and FLOPs of every buildable Table 3 row."""
    verdicts: list[Verdict] = []
    for row in claims.table3:
        if row.buildable:
            verdicts.extend(_row_verdicts(data, row, findings))
    return verdicts


def _abstract_finding(findings: ClaimsFindings, backbone: str, method: str,
                      quantity: str) -> Finding | None:
    return (findings.find("abstract", backbone, method, quantity)
            or findings.find("table3", backbone, method, quantity))


def abstract_verdicts(claims: Claims, data: ReportData, findings: ClaimsFindings) -> list[Verdict]:
    """The abstract: module params and GFLOPs against the backbone's; the accuracy gain."""
    claim = claims.abstract
    if claim is None:
        return []
    subject = f"{backbone_label(claim.backbone)} + {claim.method.upper()} (abstract)"
    module = data.count_for(claim.backbone, claim.method)
    backbone = data.count_for(claim.backbone, "none")
    verdicts: list[Verdict] = []
    params_claim = f"the modules add {claim.module_params} parameters"
    if module is None:
        verdicts.append(Verdict("abstract", subject, params_claim, "n.a.",
                                str(claim.module_params), "–",
                                _missing(data, claim.backbone, claim.method)))
    else:
        ours = module.result.attention_params
        options = thaw_options(module.workload.options) or "defaults"
        status = "pass" if ours == claim.module_params else "fail"
        why = (f"exact count of the attention modules' parameters (options: {options})"
               if status == "pass" else
               f"the modules' parameters depend on their kernel sizes; ours used {options}")
        verdicts.append(Verdict("abstract", subject, params_claim, status,
                                str(claim.module_params), f"{ours:,}", why))
    if backbone is None:
        verdicts.append(Verdict("abstract", subject, f"backbone {claim.backbone_params_m}M "
                                "parameters", "n.a.", f"{claim.backbone_params_m}M", "–",
                                _missing(data, claim.backbone, "none")))
    else:
        verdicts.append(_params_verdict(
            subject, f"backbone {claim.backbone_params_m}M parameters",
            claim.backbone_params_m, backbone,
            _abstract_finding(findings, claim.backbone, "none", "params"), findings,
            "abstract"))
    if module is not None:
        verdicts.append(_flops_verdict(
            subject, f"the modules cost {claim.module_gflops:g} GFLOPs", claim.module_gflops,
            module.attention_flops, module.attention_flops_all,
            findings.find("abstract", claim.backbone, claim.method, "flops"), findings,
            "abstract", minimum_decimals=0))
    if backbone is not None:
        verdicts.append(_flops_verdict(
            subject, f"backbone {claim.backbone_gflops:g} GFLOPs", claim.backbone_gflops,
            backbone.flops, backbone.flops_all,
            _abstract_finding(findings, claim.backbone, "none", "flops"), findings, "abstract"))
    if claim.top1_gain_min is not None:
        verdicts.append(Verdict("abstract", subject,
                                f"top-1 accuracy gain above {claim.top1_gain_min:g}%", "n.a.",
                                f"> {claim.top1_gain_min:g}%", "–",
                                "attnprof measures cost, not accuracy (no ImageNet training)"))
    return verdicts


# --- Table 2: per-module parameter formulas -----------------------------------------------

_OPERATORS: Mapping[type, Callable[[float, float], float]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.Pow: operator.pow,
}


def _evaluate(node: ast.AST, names: Mapping[str, float]) -> float:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, names)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return float(node.value)
    if isinstance(node, ast.Name):
        if node.id not in names:
            raise ValueError(f"no value for {node.id!r} (known: {', '.join(sorted(names))})")
        return names[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.left, names),
                                         _evaluate(node.right, names))
    raise ValueError(f"unsupported term {ast.dump(node)}")


def evaluate_formula(formula: str, names: Mapping[str, float]) -> float:
    """Evaluate a Table 2 formula such as ``2C^2/r`` (``^`` is a power; ``2C`` is ``2*C``)."""
    text = formula.replace("^", "**").replace(" ", "")
    spaced = "".join(f"{ch}*" if ch.isdigit() and nxt.isalpha() else ch
                     for ch, nxt in zip(text, [*text[1:], ""], strict=True))
    try:
        return _evaluate(ast.parse(spaced, mode="eval"), names)
    except (SyntaxError, ValueError, ZeroDivisionError) as exc:
        raise ValueError(f"cannot evaluate formula {formula!r}: {exc}") from None


def _formula_names(entry: CountEntry) -> dict[str, float]:
    """``C`` and the symbols the block declares (``r``, ``k``) for this count's options."""
    block = entry.workload.block or ""
    return block_info(block).formula_terms(entry.workload.channels or 0,
                                           thaw_options(entry.workload.options))


def _table2_verdict(row: Table2Row, entries: list[CountEntry]) -> Verdict:
    checks: list[tuple[int, float, int]] = []
    for entry in entries:
        try:
            formula = evaluate_formula(row.module_params, _formula_names(entry))
        except ValueError as exc:  # a symbol the block does not declare, or a bad option
            return Verdict("table2", row.label, f"module parameters = {row.module_params}",
                           "n.a.", row.module_params, f"{entry.result.params:,}",
                           f"cannot evaluate the formula for {entry.workload.label}: {exc}")
        checks.append((entry.workload.channels or 0, formula, entry.result.params))
    shown = "; ".join(f"C={c}: {sig(f, 6)} vs {n:,}" for c, f, n in checks)
    if all(abs(f - n) < 0.5 for _, f, n in checks):
        return Verdict("table2", row.label, f"module parameters = {row.module_params}", "pass",
                       row.module_params, shown, "exact at every channel count measured")
    if all(abs(f - n) <= 2 * c for c, f, n in checks):
        return Verdict("table2", row.label, f"module parameters = {row.module_params}",
                       "partial", row.module_params, shown,
                       "off by at most 2C: terms linear in C (biases) the formula leaves out")
    return Verdict("table2", row.label, f"module parameters = {row.module_params}", "fail",
                   row.module_params, shown,
                   "our block's parameter count does not follow the paper's formula")


def table2_verdicts(claims: Claims, data: ReportData) -> list[Verdict]:
    """Table 2's formulas, for the blocks the results counted alone (others are skipped)."""
    verdicts: list[Verdict] = []
    for row in claims.table2:
        entries = [c for c in data.block_counts if method_of(c.workload) == row.method
                   and set(row.options) <= set(c.workload.options)]
        if entries and row.method != "none":
            verdicts.append(_table2_verdict(row, entries))
    return verdicts
