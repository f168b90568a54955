"""Assemble the markdown report: summary, verdicts, tables, plots, unfinished cases, environment.

The report opens with a summary that fits one screen (:mod:`profiler.report.summary`); the
details follow, every long explanation as a numbered note under its table. Formatting only:
the numbers come from :mod:`profiler.report.tables`, the judgements from
:mod:`profiler.report.verdicts.verdict`, the images from :mod:`profiler.report.plots`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tabulate import tabulate

from profiler.devices import device_type
from profiler.report import tables
from profiler.report.breakdown import breakdown_section
from profiler.report.calibration import calibration_section
from profiler.report.data import ReportData, RunInfo
from profiler.report.plots import Plot
from profiler.report.ratios import UNPAIRED_MARK
from profiler.report.summary import summary_markdown
from profiler.report.verdicts.speed import RATIO_TOLERANCE
from profiler.report.verdicts.verdict import ClaimsCheck, Verdict
from profiler.stats import CONFIDENCE

__all__ = ["ReportText", "environment_section", "machines_note", "render_markdown"]


@dataclass(frozen=True)
class ReportText:
    """What the report says around its tables."""

    title: str
    reproduce: tuple[str, ...] = ()
    base_dir: Path = Path(".")


def _section(title: str, body: str, level: int = 2) -> str:
    return f"{'#' * level} {title}\n\n{body.rstrip()}\n"


def _table_section(table: tables.Table | None, level: int = 2) -> str | None:
    return None if table is None else _section(table.title, table.to_markdown(), level)


def _inputs_line(data: ReportData) -> str:
    runs = []
    for run in data.runs:
        counts = ", ".join(f"{n} {s}" for s, n in run.status_counts if n)
        suite = f"suite `{run.suite.name}`" if run.suite else "single cases"
        runs.append(f"`{run.source}` ({suite}: {counts or 'no cases'})")
    return "Inputs: " + "; ".join(runs) + "."


def _rules(check: ClaimsCheck) -> str:
    findings = check.findings
    basis = (f"one counting convention for the whole paper (`{findings.path.name}`): "
             f"{findings.statement.rstrip('.')}"
             if findings.available else
             "M = 10^6 and fvcore's FLOPs (no convention analysis found, "
             f"`{findings.path.name}`)")
    return (f"How claims are judged: parameters and FLOPs at the precision the paper prints, "
            f"under {basis}; throughput as each method's share of its own backbone's FPS "
            f"(absolute FPS depend on the hardware) with its {CONFIDENCE:.0%} confidence "
            "interval, paired over interleaved rounds where the cases were timed together "
            f"({UNPAIRED_MARK} marks cases timed apart; the interval covers the noise within "
            "this run, not what differs from one process to the next, a few points on some "
            "machines: README, Timing method); `pass` when the interval overlaps the "
            f"paper's share ±{100 * RATIO_TOLERANCE:.0f} percentage points, `fail` when it lies "
            "wholly outside, `inconclusive` when it is wider than that band; orderings per "
            "backbone and mode on the interval of the two methods' ratio: `pass` when it "
            "excludes 100% on the paper's side, `inconclusive` when it contains 100%. `n.a.` = "
            "nothing to compare. Every `fail` says why.")


def _missing_list(verdicts: Sequence[Verdict]) -> str:
    """Unmeasured claims (n.a.), grouped by reason, one line each."""
    groups: dict[str, list[str]] = {}
    for verdict in verdicts:
        groups.setdefault(verdict.explanation, []).append(f"{verdict.subject} ({verdict.claim})")
    lines = [f"- n.a., {reason}: {'; '.join(items)}." for reason, items in groups.items()]
    return "\n".join(lines) + "\n"


def _claims_sections(data: ReportData, check: ClaimsCheck) -> list[str]:
    claims = check.claims
    out = [_section("Verdicts", f"Against {claims.title} ({claims.source}; code: "
                    f"{claims.code}): **{check.summary() or 'no claim could be checked'}**."
                    f"\n\n{_rules(check)}")]
    comparison = tables.claims_table(data, claims)
    out.append(_section(comparison.title, comparison.to_markdown()))
    for title, verdicts in check.by_section():
        missing = [v for v in verdicts if v.status == "n.a." and v.ours == "–"]
        shown = [v for v in verdicts if v not in missing]
        table = tables.verdict_table(title, shown)
        parts = [table.to_markdown()] if table is not None else []
        if missing:
            parts.append(_missing_list(missing))
        if parts:
            out.append(_section(title, "\n".join(parts)))
    not_built = _table_section(tables.not_built_table(claims))
    if not_built:
        out.append(not_built)
    return out


def _plots_section(plots: Sequence[Plot], base_dir: Path) -> str | None:
    if not plots:
        return None
    parts = []
    for plot in plots:
        link = Path(os.path.relpath(plot.path.resolve(), base_dir.resolve())).as_posix()
        parts.append(f"### {plot.title}\n\n![{plot.title}]({link})\n\n{plot.caption}\n")
    return "## Plots\n\n" + "\n".join(parts)


def _unfinished_section(data: ReportData) -> str | None:
    if not data.unfinished:
        return None
    notes = tables.Notes()
    rows = tuple((r.status, r.spec.label, notes.cell(r.error or "")) for r in data.unfinished)
    table = tables.Table("Cases not measured", "Skipped cases ran past the run's time budget "
                         "(`--resume` measures them); errors carry their message.",
                         ("Status", "Case", "Message"), rows, notes.items())
    return _table_section(table)


def _env_rows(run: RunInfo) -> list[tuple[str, str]]:
    env = run.environment
    suite = run.suite
    rows = [
        ("device", f"{env.device} ({env.device_name})" if env.device_name else env.device),
        ("CPU", f"{env.cpu_model} ({env.cpu_count} logical cores)"),
        ("threads", f"{env.torch_threads} intra-op, {env.torch_interop_threads} inter-op"),
        ("torch", f"{env.torch_version}" + (f" ({env.torch_git_version[:12]})"
                                            if env.torch_git_version else "")),
        ("python", env.python_version), ("fvcore", env.fvcore_version or "–"),
        ("numpy", env.numpy_version or "–"), ("platform", env.platform),
    ]
    if env.cuda_version or device_type(env.device) == "cuda":
        rows += [("CUDA / cuDNN / driver", f"{env.cuda_version or '–'} / "
                  f"{env.cudnn_version or '–'} / {env.driver_version or '–'}"),
                 ("TF32 matmul / cuDNN", f"{env.allow_tf32_matmul} / {env.allow_tf32_cudnn}")]
    rows += [("attnprof", f"{run.tool_version or env.attnprof_version}"),
             ("git commit", run.git_commit or env.git_commit or "– (not a git checkout)")]
    if suite is not None:
        rows += [("suite", f"{suite.name} ({suite.path})"), ("suite hash", suite.hash or "–"),
                 ("cases", f"{suite.planned} planned of {suite.total} on {suite.device}")]
    rows += [("measured (UTC)", f"{run.created_utc} to {run.updated_utc}")]
    if env.env_vars:
        rows.append(("environment variables",
                     ", ".join(f"{k}={v}" for k, v in sorted(env.env_vars.items()))))
    return rows


def machines_note(data: ReportData) -> str | None:
    """When the inputs' cluster jobs ran on several machines: which measured how many cases,
    and that throughput is compared only within one machine."""
    names = data.machine_names
    if len(names) < 2:
        return None
    tally = {name: sum(1 for _, m in data.machines if m == name) for name in names}
    listed = "; ".join(f"{name}: {n} case(s)" for name, n in tally.items())
    return (f"Measured on {len(names)} machines ({listed}). Throughput is compared only "
            "within one machine: a ratio or claim whose cases come from two machines reads "
            "\"not compared\".")


def environment_section(data: ReportData) -> str:
    """Where each input was measured (one table per input file)."""
    note = machines_note(data)
    parts = [note] if note else []
    for run in data.runs:
        body = tabulate([(k, v.replace("|", "\\|")) for k, v in _env_rows(run)],
                        headers=["", ""], tablefmt="github", disable_numparse=True)
        heading = f"`{run.source}`" if len(data.runs) > 1 else ""
        parts.append(f"{heading}\n\n{body}" if heading else body)
    return _section("Environment", "\n\n".join(parts))


def render_markdown(data: ReportData, check: ClaimsCheck | None, plots: Sequence[Plot],
                    text: ReportText) -> str:
    """The whole report as markdown."""
    note = machines_note(data)
    head = f"{_inputs_line(data)}\n\n{note}" if note else _inputs_line(data)
    sections: list[str | None] = [f"# {text.title}\n\n{head}\n",
                                  _section("Summary", summary_markdown(data, check))]
    if check is not None:
        sections += _claims_sections(data, check)
    sections += [
        _table_section(tables.table3(data, check.claims if check else None)),
        _table_section(tables.overhead_table(data)),
        _table_section(tables.block_table(data)),
        breakdown_section(data),
        _plots_section(plots, text.base_dir),
        _unfinished_section(data),
        calibration_section(data),
        environment_section(data),
    ]
    if text.reproduce:
        commands = "\n".join(text.reproduce)
        sections.append(_section("How to reproduce", f"```bash\n{commands}\n```"))
    return "\n".join(s for s in sections if s)
