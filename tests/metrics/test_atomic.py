"""Atomic file writes: the old content or the new, never half, never a stray temporary."""

from __future__ import annotations

import os
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


def test_only_leftovers_of_dead_processes_of_this_host_are_orphans(tmp_path: Path) -> None:
    import subprocess
    import sys

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    dead_pid = int(gone.stdout)  # exited and reaped: no such process (unless the pid was reused, then kept: never wrong)
    names = {
        "dead": f".part-k.parquet.{dead_pid}-{atomic.HOST}.{'0' * 32}.tmp",
        "alive": f".part-k.parquet.{os.getpid()}-{atomic.HOST}.{'1' * 32}.tmp",
        "other host": f".part-k.parquet.{dead_pid}-{'f' * 8 if atomic.HOST != 'f' * 8 else '0' * 8}.{'2' * 32}.tmp",
        "old name": f".part-k.parquet.{'3' * 32}.tmp",
    }
    for name in names.values():
        (tmp_path / name).write_bytes(b"x")
    assert atomic.remove_orphans(sorted(tmp_path.iterdir())) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(v for k, v in names.items() if k != "dead")
