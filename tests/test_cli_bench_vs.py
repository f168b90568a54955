"""``attnprof bench --vs``: comparison groups from the command line (tiny models, short rounds)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from profiler.cli import main
from profiler.results import BenchResult, load_result_file
from tests.helpers.specs import FAST_ARGS, FAST_ROUNDS, GATE
from tests.helpers.specs import TINY as NET

QUICK = [*FAST_ARGS[2:], "--no-memory", "--min-time", "0.01", *FAST_ROUNDS, "--seed", "3"]
SMALL = ["--input", "3x16x16"]


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and err.startswith("attnprof: error:")
    return err


def test_json_gives_baseline_and_comparisons(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", NET, "--attention", "eca", "--vs", "none", "--vs", "se",
                 "--vs", GATE, *SMALL, *QUICK, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["baseline"]["attention"] == "eca" and data["baseline"]["images_per_sec"] > 0
    assert [c["attention"] for c in data["comparisons"]] == ["none", "se", GATE]
    for comparison in data["comparisons"]:
        for key in ("throughput_ratio", "ci_low", "ci_high", "rounds"):
            assert key in comparison
        assert comparison["ci_low"] <= comparison["throughput_ratio"] <= comparison["ci_high"]
        assert 6 <= comparison["rounds"] <= 8 and comparison["status"] == "ok"
    group = data["group"]
    assert group["seed"] == 3 and group["rounds"] == data["comparisons"][0]["rounds"]
    assert len(group["members"]) == 4 and all(len(m["times"]) == group["rounds"]
                                              for m in group["members"])
    assert data["environment"]["torch_threads"] == 1


def test_table_and_result_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "vs.json"
    assert main(["bench", NET, "--vs", "eca", *SMALL, *QUICK, "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "throughput vs none [95% CI]" in printed and "baseline" in printed
    assert "interleaved: " in printed and "seed 3" in printed
    loaded = load_result_file(out)
    (group,) = loaded.groups
    assert [c.case_id for c in loaded.cases] == list(group.case_ids)
    assert all(isinstance(c.result, BenchResult) and c.group_id == group.group_id
               for c in loaded.cases)


def test_blocks_at_the_same_shape(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--block", "se", "--channels", "16", "--size", "8x8", "--vs", "eca",
                 "--vs", GATE, *QUICK, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["baseline"]["attention"] == "se"
    assert [c["attention"] for c in data["comparisons"]] == ["eca", GATE]


def test_a_member_out_of_memory_is_listed_and_the_rest_measured(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", NET, "--vs", "eca", "--vs", "tests.helpers.user_objects:OomGate",
                 *SMALL, *QUICK, "--format", "json"]) == 2
    captured = capsys.readouterr()
    assert "1 member(s) of the group failed: tests.helpers.user_objects:OomGate" in captured.err
    data = json.loads(captured.out)
    eca, oom = data["comparisons"]
    assert eca["status"] == "ok" and eca["ci_low"] is not None
    assert oom["status"] == "oom" and oom["error"].startswith("out of memory on cpu at batch 2")


@pytest.mark.parametrize(("args", "fragment"), [
    ([NET, "--vs", "resnet34"], "'resnet34' is a model, not an attention block"),
    ([NET, "--vs", "resnet34+se"], "a different model ('resnet34')"),
    ([NET, "--attention", "se", "--vs", "se"], "a group needs two different members"),
    ([NET, "--vs", "eca", "--vs", "eca"], "a group needs two different members"),
    ([NET, "--vs", "sex"], "unknown attention block 'sex'"),
    (["resnet18", "--mode", "train", "--nproc", "2", "--vs", "eca"],
     "does not combine with --nproc"),
    (["--block", "se", "--channels", "16", "--vs", "none"], "--vs none needs a MODEL"),
    (["--block", "se", "--channels", "16", "--vs", "tests.helpers.user_objects:Halve"],
     "incompatible block shape"),
    ([NET, "--vs", "eca", "--min-rounds", "9", "--max-rounds", "8"], "min_rounds <= max_rounds"),
])
def test_bad_input_exits_2_with_one_line(capsys: pytest.CaptureFixture[str], args: list[str],
                                        fragment: str) -> None:
    small = [] if "--block" in args else SMALL
    assert main(["bench", *args, *small, "--batch", "2"]) == 2
    assert fragment in _one_line_error(capsys)


def test_rounds_flags_without_vs_are_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", NET, *SMALL, "--seed", "3", "--target", "1"]) == 2
    assert "--target, --seed apply with --vs" in _one_line_error(capsys)


def test_each_member_takes_its_own_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", NET, "--attention", "eca", "--vs", "eca[k_size=5]",
                 "--vs", "se[reduction=4;fc=linear]", *SMALL, *QUICK, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["baseline"]["options"] == {} and data["baseline"]["member"] == "eca"
    eca, se = data["comparisons"]
    assert (eca["attention"], eca["options"], eca["member"]) == ("eca", {"k_size": 5},
                                                                 "eca[k_size=5]")
    assert se["attention"] == "se" and se["options"] == {"fc": "linear", "reduction": 4}
    assert eca["case_id"] != data["baseline"]["case_id"]


def test_a_block_member_takes_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--block", "eca", "--channels", "16", "--size", "8x8",
                 "--vs", "eca[k_size=5]", *QUICK, "--format", "json"]) == 0
    (comparison,) = json.loads(capsys.readouterr().out)["comparisons"]
    assert comparison["options"] == {"k_size": 5} and comparison["status"] == "ok"


@pytest.mark.parametrize(("member", "message"), [
    ("eca[k_size=5", "malformed member"),
    ("[k_size=5]", "malformed member"),
    ("eca[k_size]", "expects KEY=VALUE"),
    ("none[k_size=5]", "takes no options"),
    ("eca[nope=1]", "nope"),
])
def test_bad_member_options_are_one_line(member: str, message: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", NET, "--vs", member, *SMALL, *QUICK]) == 2
    assert message in _one_line_error(capsys)
