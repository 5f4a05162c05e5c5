"""Atomic file writes: the old content or the new, never half, never a stray temporary."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from metrics import atomic


def test_writes_create_the_folder_and_replace_the_file(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "out.json"
    atomic.write_json(target, {"b": 1, "a": [1, 2]})
    assert target.read_text() == '{\n  "a": [\n    1,\n    2\n  ],\n  "b": 1\n}\n'
    atomic.write_text(target, "x\r\ny\n")
    assert target.read_bytes() == b"x\r\ny\n"
    atomic.write_bytes(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.json"]


def test_a_replaced_file_keeps_the_usual_permissions(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.write_text("x")
    atomic.write_text(tmp_path / "atomic", "x")
    assert (tmp_path / "atomic").stat().st_mode == plain.stat().st_mode


def test_a_failing_write_leaves_the_old_content_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(TypeError):
        atomic.write_json(target, {"not serialisable": object()})
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic.replacing(target) as handle:
            handle.write(b"half of the new")
            raise RuntimeError("disk full")
    with pytest.raises(RuntimeError):
        with atomic.temporary(target) as tmp:
            tmp.write_text("new")
            raise RuntimeError
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_concurrent_writers_never_leave_a_torn_file(tmp_path: Path) -> None:
    target = tmp_path / "shared.bin"
    payloads = [bytes([65 + i]) * (2_000_000 + i) for i in range(6)]
    atomic.write_bytes(target, payloads[0])
    stop = threading.Event()
    seen: list[bytes] = []
    errors: list[BaseException] = []

    def write(payload: bytes) -> None:
        try:
            for _ in range(5):
                atomic.write_bytes(target, payload)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    def read() -> None:
        while not stop.is_set():
            seen.append(target.read_bytes())

    reader = threading.Thread(target=read)
    reader.start()
    writers = [threading.Thread(target=write, args=(p,)) for p in payloads]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    stop.set()
    reader.join()
    assert errors == []
    assert seen and all(data in payloads for data in seen)
    assert target.read_bytes() in payloads
    assert [p.name for p in tmp_path.iterdir()] == ["shared.bin"]


def test_the_next_write_removes_what_a_killed_writer_left_never_a_live_ones(tmp_path: Path) -> None:
    """A temporary is named with its writer (host, pid); the next write of the same file removes
    those of writers that are gone, keeps a live writer's, and one of another host's."""
    import subprocess
    import sys

    target = tmp_path / "views.tsv"
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = atomic.owner_tag().rsplit("-", 2)[0]
    try:
        names = {
            "dead": f".views.tsv.{host}-{dead.pid}-0123456789abcdef.tmp",
            "live": f".views.tsv.{host}-{live.pid}-0123456789abcdef.tmp",
            "elsewhere": f".views.tsv.otherhost-{dead.pid}-0123456789abcdef.tmp",
            "untagged": ".views.tsv.9f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e.tmp",
            "other file": f".other.tsv.{host}-{dead.pid}-0123456789abcdef.tmp",
        }
        for name in names.values():
            (tmp_path / name).write_text("half")
        atomic.write_text(target, "new")
        left = sorted(p.name for p in tmp_path.iterdir())
        assert left == sorted([names["live"], names["elsewhere"], names["other file"], "views.tsv"])
        assert atomic.sweep(tmp_path) == 1  # the other file's, whose writer is gone too
    finally:
        live.kill()
        live.wait()


def test_a_zombie_is_not_alive(tmp_path: Path) -> None:
    """A writer killed but not yet reaped by its parent is gone: its files may go."""
    import os
    import signal
    import subprocess
    import sys
    import time

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    assert atomic.alive(child.pid)
    os.kill(child.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while atomic.alive(child.pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        assert not atomic.alive(child.pid)  # not reaped yet: a zombie
    finally:
        child.wait()
    assert not atomic.alive(child.pid) and atomic.alive(os.getpid())


def test_remove_orphans_removes_only_the_given_files_of_dead_writers(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = atomic.owner_tag().rsplit("-", 2)[0]
    names = {
        "dead": f".part-k.parquet.{host}-{dead.pid}-0123456789abcdef.tmp",
        "alive": f".part-k.parquet.{host}-{os.getpid()}-0123456789abcdef.tmp",
        "other host": f".part-k.parquet.otherhost-{dead.pid}-0123456789abcdef.tmp",
    }
    for name in names.values():
        (tmp_path / name).write_bytes(b"x")
    assert atomic.remove_orphans(sorted(tmp_path.iterdir())) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(v for k, v in names.items() if k != "dead")
