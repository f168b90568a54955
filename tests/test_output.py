"""The one output writer and the result-file lock (profiler.output)."""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path

import pytest

from profiler.errors import LockedError, OutputError
from profiler.output import check_output, check_unlocked, hold_lock, lock_path, write_output
from profiler.output import files as output_files
from profiler.output.lock import LockOwner, _start_time, process_alive, read_owner

DEAD_PID = 2**22 + 12345  # above Linux's largest pid_max: never a live process


def test_writes_atomically_with_the_umask_mode(tmp_path: Path) -> None:
    target = write_output(tmp_path / "a" / "b.txt", "hello")
    assert target.read_text() == "hello"
    mask = os.umask(0o022)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask
    assert sorted(p.name for p in target.parent.iterdir()) == ["b.txt"]


def test_an_existing_file_is_replaced_only_when_told(tmp_path: Path) -> None:
    target = tmp_path / "r.txt"
    target.write_text("old")
    with pytest.raises(OutputError, match="exists; pass --overwrite to replace it"):
        write_output(target, "new")
    with pytest.raises(OutputError, match="pass --resume"):
        write_output(target, "new", flag="--resume")
    assert target.read_text() == "old"
    write_output(target, "new", overwrite=True)
    assert target.read_text() == "new"


@pytest.mark.parametrize("make", ["fifo", "folder", "device", "under-file", "slash",
                                  "dangling-link"])
def test_only_regular_files_are_written(tmp_path: Path, make: str) -> None:
    paths = {"fifo": tmp_path / "fifo", "folder": tmp_path, "device": Path("/dev/null"),
             "under-file": tmp_path / "file" / "x.json", "slash": f"{tmp_path}/new/",
             "dangling-link": tmp_path / "link"}
    if make == "fifo":
        os.mkfifo(tmp_path / "fifo")
    if make == "under-file":
        (tmp_path / "file").write_text("x")
    if make == "dangling-link":
        (tmp_path / "link").symlink_to(tmp_path / "nowhere")
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(OutputError) as info:
        write_output(paths[make], "data", overwrite=True)
    assert "\n" not in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    if make == "fifo":
        assert stat.S_ISFIFO(os.stat(tmp_path / "fifo").st_mode)


def test_an_input_is_never_an_output(tmp_path: Path) -> None:
    source = tmp_path / "in.json"
    source.write_text("input")
    (tmp_path / "sub").mkdir()
    for alias in (source, tmp_path / "sub" / ".." / "in.json"):
        with pytest.raises(OutputError, match="one of this command's inputs"):
            check_output(alias, overwrite=True, inputs=[source])
    (tmp_path / "hard").hardlink_to(source)
    with pytest.raises(OutputError, match="one of this command's inputs"):
        write_output(tmp_path / "hard", "x", overwrite=True, inputs=[source])
    assert source.read_text() == "input"


def test_a_failed_write_keeps_the_old_file_and_carries_the_unsaved_text(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "r.json"
    target.write_text("previous")

    def full(fd: int, data: bytes) -> None:
        os.write(fd, data[:3])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(output_files, "_fill", full)
    with pytest.raises(OutputError) as info:
        write_output(target, "measured", overwrite=True, unsaved="measured")
    assert str(info.value) == f"cannot write {target}: No space left on device"
    assert info.value.unsaved == "measured"
    assert target.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_a_file_appearing_while_writing_is_not_clobbered(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "r.json"
    real = output_files._fill

    def racing(fd: int, data: bytes) -> None:
        target.write_text("someone else's")
        real(fd, data)

    monkeypatch.setattr(output_files, "_fill", racing)
    with pytest.raises(OutputError, match="appeared while it was being written"):
        write_output(target, "mine")
    assert target.read_text() == "someone else's"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


# --- the lock -----------------------------------------------------------------------------------


def _write_lock(target: Path, **owner: object) -> Path:
    lock = lock_path(target)
    lock.write_text(json.dumps(owner))
    return lock


def test_the_lock_is_held_for_the_block_and_removed_after(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    with hold_lock(target) as lock:
        owner = read_owner(lock)
        assert owner is not None and owner.is_me and owner.started == _start_time(os.getpid())
        check_unlocked(target)  # our own lock does not stop our own writes
        with pytest.raises(LockedError, match="already being written by this process"), \
                hold_lock(target):
            pass
    assert not lock.exists()
    with pytest.raises(KeyboardInterrupt), hold_lock(target):
        raise KeyboardInterrupt
    assert not lock.exists()


def test_a_live_holder_is_named(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    lock = _write_lock(target, pid=1, host=os.uname().nodename, started=_start_time(1),
                       command="attnprof run x")
    with pytest.raises(LockedError) as info, hold_lock(target):
        pass
    assert info.value.pid == 1 and "(PID 1: attnprof run x)" in str(info.value)
    with pytest.raises(LockedError):
        check_unlocked(target)
    assert read_owner(lock) == LockOwner(1, os.uname().nodename, _start_time(1),
                                         "attnprof run x")


@pytest.mark.parametrize("owner", [
    {"pid": DEAD_PID, "host": os.uname().nodename},                   # a killed process
    {"pid": 1, "host": os.uname().nodename, "started": "not-its-start"},  # a reused PID
    {},                                                                 # an empty lock
], ids=["dead", "reused", "garbage"])
def test_stale_locks_are_taken_over(tmp_path: Path, owner: dict[str, object]) -> None:
    target = tmp_path / "r.json"
    _write_lock(target, **owner)
    with hold_lock(target) as lock:
        taken = read_owner(lock)
        assert taken is not None and taken.is_me
    assert not lock.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_lock_from_another_host_is_refused_with_a_hint(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    lock = _write_lock(target, pid=DEAD_PID, host="elsewhere")
    with pytest.raises(LockedError, match=f"on host elsewhere .*delete {lock}"), \
            hold_lock(target):
        pass


def test_process_alive() -> None:
    assert process_alive(os.getpid(), _start_time(os.getpid()))
    assert not process_alive(os.getpid(), "1")
    assert not process_alive(DEAD_PID)
    assert not process_alive(0) and not process_alive(-5)
