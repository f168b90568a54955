"""Build a report from result files: load, merge, check claims, plot, render.

The single entry point used by ``attnprof report`` and ``attnprof reproduce``. Claims: by
default those the first input's suite names (``claims = "eca-cvpr2020"``); ``"none"`` turns
them off; any other value is a claims id or a path to a claims file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from profiler.claims.paper import Claims, load_claims
from profiler.devices import device_type
from profiler.errors import InvalidOptionError
from profiler.report.data import ReportData, collect
from profiler.report.markdown import ReportText, render_markdown
from profiler.report.plots import Plot, make_plots
from profiler.report.verdicts.check import check_claims
from profiler.report.verdicts.findings import load_claims_findings
from profiler.report.verdicts.verdict import ClaimsCheck
from profiler.results.envelope import ResultFile, load_result_file

__all__ = ["NO_CLAIMS", "Report", "ReportRequest", "build_report", "reproduce_commands"]

NO_CLAIMS = "none"


@dataclass(frozen=True)
class ReportRequest:
    """What to report: result files, claims (None = the suite's), where plots go."""

    results: tuple[Path, ...]
    output: Path | None = None
    claims: str | None = None
    plots_dir: Path | None = None
    title: str | None = None
    reproduce: tuple[str, ...] | None = None
    overwrite: bool = False


@dataclass(frozen=True)
class Report:
    """A rendered report and what went into it."""

    markdown: str
    data: ReportData
    check: ClaimsCheck | None
    plots: tuple[Plot, ...]


def _claims(choice: str | None, data: ReportData) -> Claims | None:
    if choice is not None and choice.lower() == NO_CLAIMS:
        return None
    name = choice or data.claims_id
    return None if name is None else load_claims(name)


def _devices(data: ReportData) -> str:
    devices = dict.fromkeys(device_type(r.environment.device) for r in data.runs)
    return "/".join(devices) or "unknown device"


def _title(data: ReportData, claims: Claims | None) -> str:
    suites = list(dict.fromkeys(r.suite.name for r in data.runs if r.suite is not None))
    what = ", ".join(suites) if suites else "single cases"
    if claims is not None:
        return f"{claims.title}: reproduction on {_devices(data)} ({what})"
    return f"attnprof report: {what} on {_devices(data)}"


def reproduce_commands(data: ReportData, output: Path | None,
                       plots_dir: Path | None) -> tuple[str, ...]:
    """The commands that remake this report from scratch."""
    run = data.runs[0] if data.runs else None
    if run is None or run.suite is None:
        return ()
    device = run.suite.device or run.environment.device
    plots = f" --plots {plots_dir}" if plots_dir else ""
    out = f" -o {output}" if output else ""
    if run.suite.name == "eca-paper":
        return (f"attnprof reproduce --device {device_type(device)}{out}{plots}",)
    result = f"results/{run.suite.name}-{device.replace(':', '')}.json"
    return (f"attnprof run {run.suite.name} --device {device} -o {result}",
            f"attnprof report {result}{out}{plots}")


def build_report(request: ReportRequest) -> Report:
    """Load the results, check the claims, write the plots and render the markdown."""
    if not request.results:
        raise InvalidOptionError("give at least one result file")
    loaded: Sequence[tuple[str, ResultFile]] = [(str(p), load_result_file(p))
                                                for p in request.results]
    data = collect(loaded)
    claims = _claims(request.claims, data)
    check = None if claims is None else check_claims(claims, data, load_claims_findings(claims))
    plots = () if request.plots_dir is None else make_plots(data, request.plots_dir,
                                                            request.overwrite, claims)
    base_dir = request.output.parent if request.output is not None else Path.cwd()
    reproduce = (request.reproduce if request.reproduce is not None
                 else reproduce_commands(data, request.output, request.plots_dir))
    text = ReportText(title=request.title or _title(data, claims), reproduce=reproduce,
                      base_dir=base_dir)
    return Report(markdown=render_markdown(data, check, plots, text), data=data, check=check,
                  plots=plots)

