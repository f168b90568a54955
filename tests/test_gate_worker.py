"""The gate's worker protocol: in process (every request and error reply) and as a real
process per side (its own tree's code, a crash, an older attnprof tree)."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from profiler.gate.side import (
    Side,
    WorkerCrashed,
    WorkerFailed,
    WorkerMember,
    WorkerProcess,
    worker_command,
    worker_environment,
)
from profiler.gate.worker import PROTOCOL_VERSION, Worker, decode, encode, serve
from tests.helpers.gate_repo import GateRepo

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "fixtures" / "suites" / "tiny.toml"


def _exchange(*requests: dict[str, object], raw: str = "") -> list[dict[str, object]]:
    lines = raw + "".join(encode(r) for r in requests)
    out = io.StringIO()
    serve(io.StringIO(lines), out, Worker())
    return [decode(line) for line in out.getvalue().splitlines()]


def test_lines_are_versioned_json() -> None:
    line = encode({"op": "hello"})
    assert line.endswith("\n") and "\n" not in line[:-1]
    assert json.loads(line) == {"v": PROTOCOL_VERSION, "op": "hello"}
    with pytest.raises(ValueError):
        decode("[1, 2]")


def test_suite_load_time_count_quit_in_process() -> None:
    replies = _exchange(
        {"op": "hello"},
        {"op": "suite", "path": str(TINY), "device": None},
        {"op": "quit"},
        {"op": "hello"},  # after quit: not answered
    )
    assert [r["ok"] for r in replies] == [True, True, True]
    hello, suite, _ = replies
    assert hello["protocol"] == PROTOCOL_VERSION and hello["torch"]
    assert Path(str(hello["profiler"])) == ROOT / "profiler"
    assert suite["name"] == "tiny" and suite["device"] == "cpu"
    assert suite["pairing"]["block_time"] == 0.01 and suite["pairing"]["min_rounds"] == 6
    cases = suite["cases"]
    assert isinstance(cases, list) and len(cases) == 7
    block = next(c for c in cases if c["kind"] == "bench" and "se[" in c["label"])
    count = next(c for c in cases if c["kind"] == "count" and "+se" in c["label"])

    worker = Worker()
    worker.handle({"v": 1, "op": "suite", "path": str(TINY)})
    loaded = worker.handle({"v": 1, "op": "load", "case": block["id"]})
    assert loaded["ok"] and loaded["batch"] == 2 and len(loaded["times"]) >= 1
    timed = worker.handle({"v": 1, "op": "time", "steps": 3})
    assert timed["ok"] and len(timed["times"]) == 3 and all(t > 0 for t in timed["times"])
    counted = worker.handle({"v": 1, "op": "count", "case": count["id"]})
    # ResNet-18 (torchvision's 11,689,512) + SE (2Ch + h + C per block, h = C/16, 2 blocks a stage)
    se = sum(2 * (2 * c * (c // 16) + c // 16 + c) for c in (64, 128, 256, 512))
    assert counted["ok"] and counted["metrics"]["params"] == 11_689_512 + se
    assert set(counted["metrics"]) == {"params", "attention_params", "flops", "flops_all"}


@pytest.mark.parametrize(("request_", "kind", "message"), [
    ({"v": 99, "op": "hello"}, "protocol", "protocol version 99 is not supported"),
    ({"v": 1, "op": "dance"}, "protocol", "unknown op 'dance'"),
    ({"v": 1, "op": "time", "steps": 2}, "protocol", "no case is loaded"),
    ({"v": 1, "op": "time", "steps": 0}, "protocol", "steps must be a positive integer"),
    ({"v": 1, "op": "load", "case": "bench-nope"}, "protocol", "no case 'bench-nope'"),
    ({"v": 1, "op": "suite", "path": "/no/such.toml"}, "bad_input", "does not exist"),
])
def test_error_replies_are_one_line_and_the_worker_goes_on(request_: dict[str, object],
                                                           kind: str, message: str) -> None:
    reply = Worker().handle(request_)
    assert reply["ok"] is False and reply["kind"] == kind
    assert message in str(reply["error"]) and "\n" not in str(reply["error"])


def test_a_malformed_line_gets_an_error_reply() -> None:
    replies = _exchange({"op": "quit"}, raw="not json\n")
    assert replies[0]["ok"] is False and replies[0]["kind"] == "protocol"
    assert "malformed request" in str(replies[0]["error"])
    assert replies[1] == {"v": PROTOCOL_VERSION, "ok": True}


def test_a_case_of_the_wrong_kind_is_refused() -> None:
    worker = Worker()
    cases = worker.handle({"v": 1, "op": "suite", "path": str(TINY)})["cases"]
    count = next(c for c in cases if c["kind"] == "count")
    reply = worker.handle({"v": 1, "op": "load", "case": count["id"]})
    assert reply["ok"] is False and "is a count case, not bench" in reply["error"]


def test_the_environment_puts_the_tree_first_and_fixes_malloc(tmp_path: Path) -> None:
    env = worker_environment(tmp_path, {"PYTHONPATH": "/elsewhere"})
    parts = env["PYTHONPATH"].split(":")
    assert parts == [str(tmp_path.resolve()), str(ROOT), "/elsewhere"]
    assert env["MALLOC_MMAP_THRESHOLD_"] == str(32 * 2**20)
    assert env["MALLOC_TRIM_THRESHOLD_"] == str(2**31 - 1)
    mine = worker_environment(tmp_path, {"MALLOC_MMAP_THRESHOLD_": "65536"})
    assert mine["MALLOC_MMAP_THRESHOLD_"] == "65536"  # the user's value stays


# --- real worker processes ----------------------------------------------------------------


@pytest.fixture(scope="module")
def repo(gate_repo: GateRepo) -> GateRepo:
    return gate_repo  # built once per session (tests/conftest.py)


def _side(repo: GateRepo) -> Side:
    return Side("head", repo.root, "working tree")


def _bench_case(process: WorkerProcess, repo: GateRepo) -> dict[str, object]:
    suite = process.request("suite", path=str(repo.suite), device=None)
    return next(c for c in suite["cases"] if c["kind"] == "bench")


@pytest.mark.slow
def test_a_worker_process_runs_its_trees_block_and_dies_visibly(repo: GateRepo) -> None:
    repo.checkout("crash")  # prints on stdout at every call, then os._exit(3) at call 101
    with WorkerProcess(_side(repo)) as process:
        assert process.hello["protocol"] == PROTOCOL_VERSION
        case = _bench_case(process, repo)
        member = WorkerMember("head", int(case["batch"]), process, str(case["id"]))
        warm = member.warm_up()
        assert warm and member.step_s is not None
        assert len(member.time_block(5)) == 5  # the block's prints did not reach the protocol
        with pytest.raises(WorkerCrashed, match=r"worker died while timing \(exit status 3\)"):
            member.time_block(200)
        assert not process.alive
        with pytest.raises(WorkerCrashed):
            process.request("hello")
    repo.checkout("base")


@pytest.mark.slow
def test_a_block_that_raises_is_an_error_reply(repo: GateRepo) -> None:
    repo.checkout("raises")
    with WorkerProcess(_side(repo)) as process:
        case = _bench_case(process, repo)
        with pytest.raises(WorkerFailed, match="Work is broken in this commit") as failed:
            process.request("load", case=case["id"])
        assert failed.value.kind == "error" and failed.value.side == "head"
        assert process.alive
    repo.checkout("base")


@pytest.mark.slow
def test_an_older_attnprof_tree_runs_this_worker_file_with_its_own_profiler(
        tmp_path: Path) -> None:
    # an attnprof from before the gate and the paired engine's in-process members
    tree = tmp_path / "old"
    shutil.copytree(ROOT / "profiler", tree / "profiler",
                    ignore=shutil.ignore_patterns("gate", "members.py", "__pycache__"))
    command = worker_command(tree)
    assert command[1].endswith("profiler/gate/worker.py")
    assert worker_command(ROOT)[1:] == ["-m", "profiler.gate.worker"]
    with WorkerProcess(Side("base", tree, "old")) as process:
        assert Path(process.hello["profiler"]) == tree / "profiler"
        suite = process.request("suite", path=str(TINY), device="cpu")
        assert suite["name"] == "tiny"
        block = next(c for c in suite["cases"] if c["kind"] == "bench" and "eca[" in c["label"])
        member = WorkerMember("base", int(block["batch"]), process, str(block["id"]))
        assert member.warm_up() and len(member.time_block(4)) == 4
