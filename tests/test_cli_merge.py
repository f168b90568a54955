"""``attnprof run --shard`` then ``attnprof merge``: the parts join into the full run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from profiler.cli import main
from profiler.results.envelope import load_result_file
from tests.helpers.fakes import install

TINY = str(Path(__file__).resolve().parent / "fixtures" / "suites" / "tiny.toml")


@pytest.fixture(autouse=True)
def fake_measure(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fake measurement: these tests are about sharding and merging, not measuring."""
    install(monkeypatch)


@pytest.fixture
def shards(tmp_path: Path) -> tuple[Path, Path, Path]:
    full, one, two = (tmp_path / n for n in ("full.json", "one.json", "two.json"))
    assert main(["run", TINY, "-q", "-o", str(full)]) == 0
    assert main(["run", TINY, "-q", "--shard", "1/2", "-o", str(one)]) == 0
    assert main(["run", TINY, "-q", "--shard", "2/2", "-o", str(two)]) == 0
    return full, one, two


def test_shards_merge_into_the_full_run(tmp_path: Path, shards: tuple[Path, Path, Path],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    full, one, two = shards
    # shards are round-robin over units (cases alone or whole comparison groups)
    assert len(load_result_file(one).cases) == 5 and len(load_result_file(two).cases) == 2
    merged = tmp_path / "merged.json"
    capsys.readouterr()
    assert main(["merge", str(two), str(one), "-o", str(merged)]) == 0
    assert f"merged 2 part(s) into {merged}: 7 cases (7 ok" in capsys.readouterr().out
    joined, whole = load_result_file(merged), load_result_file(full)
    assert [c.case_id for c in joined.cases] == [c.case_id for c in whole.cases]
    assert [g.group_id for g in joined.groups] == [g.group_id for g in whole.groups]
    assert joined.suite is not None and joined.suite.shard is None
    assert [str(p.source) for p in joined.parts] == [str(two), str(one)]


def test_a_missing_shard_is_reported(tmp_path: Path, shards: tuple[Path, Path, Path],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    _, one, _ = shards
    capsys.readouterr()
    assert main(["merge", str(one), "-o", str(tmp_path / "m.json")]) == 0
    assert "5 cases (5 ok, 0 oom, 0 error, 0 skipped); 2 of 7 planned cases missing" in \
        capsys.readouterr().out


def test_mismatched_parts_exit_2(tmp_path: Path, shards: tuple[Path, Path, Path],
                                 capsys: pytest.CaptureFixture[str]) -> None:
    _, one, two = shards
    data = json.loads(two.read_text())
    data["suite"]["hash"] = "sha256:0"
    other = tmp_path / "other.json"
    other.write_text(json.dumps(data))
    out = tmp_path / "m.json"
    capsys.readouterr()
    assert main(["merge", str(one), str(other), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "hash differs" in err and err.count("\n") == 1 and not out.exists()


def test_mixed_devices_need_allow_mixed(tmp_path: Path, shards: tuple[Path, Path, Path],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    _, one, two = shards
    data = json.loads(two.read_text())
    data["environment"]["device_name"] = "Another CPU"
    other = tmp_path / "other.json"
    other.write_text(json.dumps(data))
    out = tmp_path / "m.json"
    assert main(["merge", str(one), str(other), "-o", str(out)]) == 2
    assert "--allow-mixed" in capsys.readouterr().err
    assert main(["merge", str(one), str(other), "-o", str(out), "--allow-mixed"]) == 0
    parts = load_result_file(out).parts
    assert parts[1].environment.device_name == "Another CPU"


def test_unreadable_part_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["merge", str(tmp_path / "none.json"), "-o", str(tmp_path / "m.json")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_output_is_required(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as info:
        main(["merge", str(tmp_path / "a.json")])
    assert info.value.code == 2
