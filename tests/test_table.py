"""``attnprof table``: the efficiency table in LaTeX, CSV and markdown, on the committed run.

Figures are checked against the report's own Table 3 (paper vs ours) and against the result
file's JSON; the LaTeX by its structure (and by pdflatex where one is installed); bad input
by exit status and the one error line.
"""

from __future__ import annotations

import copy
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from profiler.claims.paper import load_claims
from profiler.cli import main
from profiler.report.data import collect
from profiler.report.export import TableOptions, build_efficiency_table, render
from profiler.report.export.latex import escape
from profiler.report.names import backbone_label
from profiler.report.tables import claims_table
from profiler.results.envelope import load_result_file

RESULTS = Path(__file__).resolve().parent / "fixtures" / "results"
PAPER = RESULTS / "eca-paper-cpu.json"


@pytest.fixture(scope="module")
def loaded() -> list[tuple[str, object]]:
    return [(str(PAPER), load_result_file(PAPER))]


def _table(loaded, **options):  # type: ignore[no-untyped-def]
    return build_efficiency_table(loaded, TableOptions(**options))


def _row(table, model: str, method: str, options: str = ""):  # type: ignore[no-untyped-def]
    found = [r for r in table.rows if r.model == model and r.method_name == method
             and (not options or r.options == options)]
    assert len(found) == 1, (model, method)
    return found[0]


def test_rows_match_the_reports_table3(loaded) -> None:  # type: ignore[no-untyped-def]
    claims = load_claims("eca-cvpr2020")
    report = claims_table(collect(loaded), claims)
    table = _table(loaded)
    checked = 0
    for paper_row, cells in zip([r for r in claims.table3 if r.buildable], report.rows,
                                strict=True):
        _, _, _, params, _, flops, _, train, _, infer = cells
        options = " ".join(f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}"
                           for k, v in dict(paper_row.options).items())
        candidates = [r for r in table.rows if r.model == paper_row.backbone
                      and r.method_name == paper_row.method and options in r.options]
        row = candidates[0]
        assert row.backbone == backbone_label(paper_row.backbone)
        assert row.cells["params"].markdown == params
        assert row.cells["flops"].markdown == flops
        for mode, ours in (("train", train), ("infer", infer)):
            fps, share = row.cells[f"{mode}_fps"], row.cells[f"{mode}_share"]
            expected = fps.markdown if paper_row.method == "none" else \
                f"{fps.markdown} ({share.markdown})"
            assert ours == expected, (paper_row.backbone, paper_row.method, mode)
        checked += 1
    assert checked == 15  # every buildable row of the paper's Table 3


def test_order_is_the_papers_with_the_baseline_first(loaded) -> None:  # type: ignore[no-untyped-def]
    table = _table(loaded)
    backbones = list(dict.fromkeys(r.model for r in table.rows))
    assert backbones == ["resnet50", "resnet101", "resnet152", "mobilenet_v2"]
    resnet50 = [r.method_name for r in table.rows if r.model == "resnet50"]
    assert resnet50 == ["none", "se", "cbam", "gc", "eca"]
    resnet152 = [r.method_name for r in table.rows if r.model == "resnet152"]
    assert resnet152 == ["none", "se", "eca", "cbam", "gc"]  # the paper's rows, then the rest
    assert len(table.rows) == 18  # one row per case


def test_markdown_is_the_report_table_alone(loaded) -> None:  # type: ignore[no-untyped-def]
    text = render(_table(loaded), "markdown")
    lines = text.splitlines()
    assert lines[0].startswith("#Param in M = 10^6 parameters; FLOPs in G = 10^9 per image")
    assert "cpu (AMD EPYC, 2 threads), torch 2.13.0+cpu, batch 2 (training)" in lines[0]
    table_lines = [line for line in lines if line.startswith("|")]
    assert len(table_lines) == 2 + 18
    se = next(line for line in table_lines if line.startswith("| ResNet-50   | SE "))
    cells = [c.strip() for c in se.strip("|").split("|")]
    assert cells == ["ResNet-50", "SE", "28.09", "4.12", "2.56 ± 0.22", "90.2% [86.6, 94.0]",
                     "8.95 ± 1.20 †", "95.2% [92.3, 98.2]"]


def test_csv_round_trips_through_pandas(loaded) -> None:  # type: ignore[no-untyped-def]
    pandas = pytest.importorskip("pandas")
    frame = pandas.read_csv(io.StringIO(render(_table(loaded), "csv")))
    assert len(frame) == 18
    data = json.loads(PAPER.read_text())
    cases = {c["case_id"]: c for c in data["cases"]}

    def find(kind: str, model: str, attention: str | None, mode: str | None = None) -> dict:
        return next(c for c in data["cases"] if c["kind"] == kind
                    and c["spec"]["workload"]["model"] == model
                    and c["spec"]["workload"]["attention"] == attention
                    and (mode is None or c["spec"]["mode"] == mode))

    for _, row in frame.iterrows():
        attention = None if row["attention"] == "none" else row["attention"]
        count = find("count", row["model"], attention)["result"]
        assert row["params_M"] * 1e6 == pytest.approx(count["params"], rel=1e-15)
        assert row["flops_G"] * 1e9 == pytest.approx(count["flops"], rel=1e-15)
        assert (row["device"], row["device_name"], row["torch_version"]) == (
            "cpu", "AMD EPYC", "2.13.0+cpu")
    se = frame[(frame["model"] == "resnet50") & (frame["attention"] == "se")].iloc[0]
    bench = find("bench", "resnet50", "se", "infer")
    assert se["infer_fps"] == bench["result"]["images_per_sec"]
    assert se["infer_fps_iqr"] == bench["result"]["images_per_sec_iqr"]
    stored = next(r for g in data["groups"] for r in g["ratios"]
                  if r["case_id"] == bench["case_id"])
    assert cases[stored["case_id"]]["spec"]["mode"] == "infer"
    assert se["infer_share_pct"] == pytest.approx(100 * stored["throughput_ratio"], rel=1e-12)
    assert se["infer_share_low_pct"] == pytest.approx(100 * stored["ci_low"], rel=1e-12)
    assert se["infer_share_high_pct"] == pytest.approx(100 * stored["ci_high"], rel=1e-12)
    assert bool(se["infer_share_paired"]) is True
    assert se["infer_batch"] == 2 and se["dtype"] == "fp32"
    gc101 = frame[(frame["model"] == "resnet101") & (frame["attention"] == "gc")].iloc[0]
    assert pandas.isna(gc101["train_fps"])  # counted, not timed: an empty field


def test_csv_columns_follow_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    pandas = pytest.importorskip("pandas")
    smoke = RESULTS / "baseline.json"
    code, out, _ = _run(["table", str(smoke), "--format", "csv", "--throughput", "absolute",
                         "--no-intervals", "--columns", "params,infer,memory"], capsys)
    assert code == 0
    frame = pandas.read_csv(io.StringIO(out))
    assert list(frame.columns) == [
        "backbone", "method", "model", "attention", "options", "params_M", "infer_fps",
        "train_memory_mib", "infer_memory_mib", "device", "device_name", "torch_version",
        "threads", "train_batch", "infer_batch", "dtype"]
    data = json.loads(smoke.read_text())
    bench = next(c for c in data["cases"] if c["kind"] == "bench"
                 and c["spec"]["workload"]["model"] == "resnet18"
                 and c["spec"]["workload"]["attention"] == "se" and c["spec"]["mode"] == "infer"
                 and c["status"] == "ok")
    row = frame[(frame["model"] == "resnet18") & (frame["attention"] == "se")].iloc[0]
    assert row["infer_memory_mib"] * 2**20 == bench["result"]["peak_memory_bytes"]
    assert row["infer_fps"] == bench["result"]["images_per_sec"]
    assert row["infer_batch"] == bench["result"]["batch"]
    code, _, err = _run(["table", str(smoke), "--units", "paper"], capsys)
    assert code == 2 and "--units paper needs a paper's counting convention" in err


def _latex_rows(text: str) -> list[str]:
    body = text.split("\\midrule", 1)[1].split("\\bottomrule")[0]
    return [line for line in body.splitlines() if line.endswith("\\\\")]


def test_latex_structure(loaded) -> None:  # type: ignore[no-untyped-def]
    table = _table(loaded, names=(("none", "Res_Net & co #1"),))
    text = render(table, "latex", caption="50% of $ & {x} ~ ^ \\", label="tab:eff")
    for environment in ("table", "tabular"):
        assert text.count(f"\\begin{{{environment}}}") == text.count(
            f"\\end{{{environment}}}") == 1
    assert text.count("\\toprule") == 1 and text.count("\\bottomrule") == 1
    assert text.count("\\midrule") == 1 + 3  # under the header, between the 4 backbones
    assert "\\label{tab:eff}" in text
    columns = len(re.search(r"\\begin\{tabular\}\{(\w+)\}", text).group(1))
    rows = _latex_rows(text)
    assert len(rows) == 18
    assert all(row.count(" & ") == columns - 1 for row in rows)
    spans = [int(n) for n in re.findall(r"\\multirow\{(\d+)\}", text)]
    assert spans == [5, 5, 5, 3]
    assert "Res\\_Net \\& co \\#1" in text
    caption = re.search(r"\\caption\{(.*)\}\n", text).group(1)
    assert caption.startswith("50\\% of \\$ \\& \\{x\\} \\textasciitilde{} "
                              "\\textasciicircum{} \\textbackslash{}.")
    assert "M = $10^{6}$" in caption and "torch 2.13.0+cpu" in caption and "fp32" in caption
    se = next(row for row in rows if " & SE & " in row)
    assert "95.2 {\\scriptsize[92.3, 98.2]}" in se and "2.56 {\\scriptsize$\\pm$0.22}" in se
    # braces balance outside escaped ones
    plain = re.sub(r"\\[{}]", "", text)
    assert plain.count("{") == plain.count("}")


def test_escape() -> None:
    assert escape("a_b&c%d$e#f{g}h~i^j\\k") == (
        "a\\_b\\&c\\%d\\$e\\#f\\{g\\}h\\textasciitilde{}i\\textasciicircum{}j"
        "\\textbackslash{}k")
    assert escape("4.35 ± 0.05 †") == "4.35 $\\pm$ 0.05 $^\\dagger$"


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_latex_compiles_with_booktabs_and_multirow(tmp_path: Path) -> None:
    table = tmp_path / "t.tex"
    assert main(["table", str(PAPER), "--format", "latex", "--caption", "SimAM_x & 50%",
                 "-o", str(table)]) == 0
    (tmp_path / "doc.tex").write_text(
        "\\documentclass{article}\n\\usepackage{booktabs}\n\\usepackage{multirow}\n"
        "\\begin{document}\n\\input{t.tex}\n\\end{document}\n")
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                           "doc.tex"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stdout[-2000:]
    assert (tmp_path / "doc.pdf").stat().st_size > 0


def test_paper_units_and_counter(loaded) -> None:  # type: ignore[no-untyped-def]
    binary = _row(_table(loaded, units="paper"), "resnet50", "none")
    assert binary.cells["params"].markdown == "24.37"  # 25,557,032 / 2^20, as printed
    assert binary.cells["flops"].value == pytest.approx(4111512576 / 2**30)
    everything = _row(_table(loaded, counter="all"), "resnet50", "none")
    assert everything.cells["flops"].value == pytest.approx(4128446976 / 1e9)


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("argv", "message"), [
    (["--columns", "params,speed"], "unknown column 'speed' in --columns; valid: params"),
    (["--format", "docx"], "argument --format: invalid choice: 'docx'"),
    (["--counter", "thop-0.0.23"], "--counter thop-0.0.23: not recorded in every count"),
    (["--format", "latex", "--label", "tab:a b"], "--label 'tab:a b': use letters"),
    (["--name", "nosuch=X"], "no backbone or method 'nosuch' in the results"),
    (["--name", "oops"], "--name expects NAME=LABEL"),
])
def test_bad_options_are_one_line_exit_2(argv: list[str], message: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["table", str(PAPER), *argv], capsys)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith("attnprof: error: ")
    assert message in err


def _part(data: dict, model: str, cpu: str | None = None) -> dict:
    """The cases of one backbone (and their comparison groups), on another CPU if given."""
    part = copy.deepcopy(data)
    part["cases"] = [c for c in part["cases"] if c["spec"]["workload"]["model"] == model]
    kept = {c["case_id"] for c in part["cases"]}
    part["groups"] = [g for g in part["groups"]
                      if all(m["case_id"] in kept for m in g["members"])]
    if cpu is not None:
        part["environment"]["cpu_model"] = part["environment"]["device_name"] = cpu
    return part


def test_two_machines_need_allow_mixed(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(PAPER.read_text())
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(json.dumps(_part(data, "resnet50")))
    second.write_text(json.dumps(_part(data, "mobilenet_v2", cpu="Intel Xeon")))
    code, _, err = _run(["table", str(first), str(second)], capsys)
    assert code == 2 and len(err.splitlines()) == 1
    assert "the results come from 2 machines" in err and "--allow-mixed" in err
    code, out, _ = _run(["table", str(first), str(second), "--allow-mixed"], capsys)
    assert code == 0
    header = next(line for line in out.splitlines() if line.startswith("| Backbone"))
    assert "| Machine " in header
    assert "Intel Xeon, torch 2.13.0+cpu, 2 threads" in out
    assert "Measured on the machines of the Machine column, batch 2 (training)" in out


def test_no_timing_drops_throughput_with_one_line(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(PAPER.read_text())
    data["cases"] = [c for c in data["cases"] if c["kind"] == "count"]
    data["groups"] = []
    counts = tmp_path / "counts.json"
    counts.write_text(json.dumps(data))
    code, out, err = _run(["table", str(counts), "--format", "csv"], capsys)
    assert code == 0
    assert err == ("attnprof: columns dropped: Training FPS, Training share (%) (the results "
                   "hold no training timing); Inference FPS, Inference share (%) (the results "
                   "hold no inference timing)\n")
    assert out.splitlines()[0].startswith("backbone,method,model,attention,options,params_M,"
                                          "flops_G,device")
    code, _, err = _run(["table", str(counts), "--columns", "train"], capsys)
    assert code == 2 and err.startswith("attnprof: error: none of the columns asked for")


def test_output_never_over_an_input(tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "run.json"
    shutil.copyfile(PAPER, source)
    code, _, err = _run(["table", str(source), "-o", str(source), "--overwrite"], capsys)
    assert code == 2 and "one of this command's inputs" in err
    assert source.read_bytes() == PAPER.read_bytes()
    out = tmp_path / "t.csv"
    assert _run(["table", str(source), "--format", "csv", "-o", str(out)], capsys)[0] == 0
    code, _, err = _run(["table", str(source), "--format", "csv", "-o", str(out)], capsys)
    assert code == 2 and "pass --overwrite" in err


def test_user_block_label_and_name_mapping(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    data = _part(json.loads(PAPER.read_text()), "mobilenet_v2")
    for case in data["cases"]:
        case["spec"]["workload"]["model"] = "mypkg.nets:TinyNet"
        if case["spec"]["workload"]["attention"] == "eca":
            case["spec"]["workload"]["attention"] = "mypkg.blocks:SimAM"
    for group in data["groups"]:  # the groups name their members as the cases do
        for member in group["members"]:
            for key in ("label", "name"):
                member[key] = member[key].replace("mobilenet_v2", "mypkg.nets:TinyNet") \
                    .replace("+eca", "+mypkg.blocks:SimAM")
    path = tmp_path / "user.json"
    path.write_text(json.dumps(data))
    code, out, _ = _run(["table", str(path), "--no-intervals", "--throughput", "share"],
                        capsys)
    assert code == 0
    # renamed cases no longer match their comparison groups' case ids: timed apart, marked
    assert re.search(r"\| TinyNet +\| SimAM +\| 3.50 +\| 0.3148 +\| 89.8% ‡ +\| 87.9% ‡ +\|", out)
    code, out, _ = _run(["table", str(path), "--name", "mypkg.blocks:SimAM=SimAM-v2",
                         "--name", "none=TinyNet (ours)", "--name", "mypkg.nets:TinyNet=Tiny"],
                        capsys)
    assert code == 0 and re.search(r"\| Tiny +\| SimAM-v2 +\|", out)
    assert re.search(r"\| Tiny +\| TinyNet \(ours\) +\|", out)
