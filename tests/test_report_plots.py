"""Report plots: PNG files written only for what the data holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from profiler.claims.paper import load_claims
from profiler.report.data import collect
from profiler.report.plots import _forest_panels, make_plots, throughput_share_forest
from profiler.results.envelope import load_result_file

RESULTS = Path(__file__).resolve().parent / "fixtures" / "results"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_plots_from_the_smoke_fixture(tmp_path: Path) -> None:
    data = collect([("baseline", load_result_file(RESULTS / "baseline.json"))])
    plots = make_plots(data, tmp_path / "plots")
    names = [p.path.name for p in plots]
    assert names == ["throughput-vs-params.png", "attention-overhead.png",
                     "block-time-vs-channels.png", "throughput-share-forest.png"]
    for plot in plots:
        content = plot.path.read_bytes()
        assert content.startswith(PNG_MAGIC) and len(content) > 10_000
        assert plot.title and plot.caption


def test_no_timing_no_timing_plots(tmp_path: Path) -> None:
    result = load_result_file(RESULTS / "baseline.json")
    counts_only = [c for c in result.cases if c.kind == "count"]
    data = collect([("counts", result.__class__(environment=result.environment,
                                                cases=tuple(counts_only)))])
    plots = make_plots(data, tmp_path)
    assert [p.path.name for p in plots] == ["attention-overhead.png"]
    assert sorted(f.name for f in tmp_path.iterdir()) == ["attention-overhead.png"]


def test_forest_plot_with_the_paper_shares(tmp_path: Path) -> None:
    data = collect([("paper", load_result_file(RESULTS / "eca-paper-cpu.json"))])
    # the forest plot alone (``report --plots`` on this fixture draws all four: test_cli_report)
    forest = throughput_share_forest(data, tmp_path / "forest.png", load_claims("eca-cvpr2020"))
    assert forest is not None and forest.path.read_bytes().startswith(PNG_MAGIC)
    assert "95% interval" in forest.caption
    panels = _forest_panels(data, load_claims("eca-cvpr2020"))
    resnet50 = {(backbone, mode): rows for backbone, mode, rows in panels}[("resnet50", "infer")]
    assert [r.method for r in resnet50] == ["se", "cbam", "gc", "eca"]
    assert resnet50[0].paper == pytest.approx(1620 / 1855) and resnet50[2].paper is None
