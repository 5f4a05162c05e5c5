"""Atomic file writes: a reader sees the old file or the new one, never half of either.

Each write goes to a uniquely named temporary file in the target's folder (so the rename stays
on one file system and concurrent writers never share a temporary), is flushed and fsynced, then
renamed over the target with `os.replace`. On any failure the temporary file is removed and
the target keeps its old content.

A process killed mid-write cannot remove its temporary file. Each one is named after its
writer, `.<name>.<pid>-<host>.<random>.tmp` (`host`: a hash of the host name), so a later writer
can tell a leftover from a write in progress: `orphaned` is true only for a file of this host
whose process is gone (never for a live process, whoever it is; a file of another host, or of a
pid that was reused, is left alone).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import socket
import uuid
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Iterator

HOST = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]
TEMPORARY = re.compile(r"^\..+\.(?P<pid>[0-9]+)-(?P<host>[0-9a-f]{8})\.[0-9a-f]{32}\.tmp$")


@contextlib.contextmanager
def temporary(path: Path | str) -> Iterator[Path]:
    """A fresh temporary path beside `path`; whatever is written there replaces `path` when the block ends.

    For libraries that write to a path themselves (e.g. `pyarrow.parquet.write_table`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{HOST}.{uuid.uuid4().hex}.tmp")
    # Not mkstemp: its 0600 would make every replaced file private; this honours the umask.
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def replacing(path: Path | str) -> Iterator[BinaryIO]:
    """An open binary file that replaces `path` when the block ends without an exception."""
    with temporary(path) as tmp, tmp.open("wb") as handle:
        yield handle


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_bytes(path: Path | str, data: bytes) -> None:
    """Replace `path` with `data`."""
    with replacing(path) as handle:
        handle.write(data)


def write_text(path: Path | str, text: str, encoding: str = "utf-8") -> None:
    """Replace `path` with `text`, written as is (no newline translation)."""
    write_bytes(path, text.encode(encoding))


def write_json(path: Path | str, obj: Any, *, sort_keys: bool = True) -> None:
    """Replace `path` with `obj` as indented JSON and a final newline."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=sort_keys) + "\n")


def orphaned(tmp: Path | str) -> bool:
    """Whether `tmp` is a temporary file of `temporary` left by a process of this host that is gone."""
    match = TEMPORARY.match(Path(tmp).name)
    if match is None or match["host"] != HOST:
        return False
    pid = int(match["pid"])
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:  # it exists, run by another user
        return False
    return False


def remove_orphans(paths: Iterable[Path]) -> int:
    """Delete the `orphaned` temporary files among `paths`; returns how many."""
    removed = 0
    for path in paths:
        if orphaned(path):
            path.unlink(missing_ok=True)
            removed += 1
    return removed
