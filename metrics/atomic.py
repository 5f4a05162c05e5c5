"""Atomic file writes: a reader sees the old file or the new one, never half of either.

Each write goes to a uniquely named temporary file in the target's folder (so the rename stays
on one file system and concurrent writers never share a temporary), is flushed and fsynced, then
renamed over the target with `os.replace`. On any failure the temporary file is removed and
the target keeps its old content.

A process killed mid-write cannot remove its temporary, so each temporary is named with its
writer (`owner_tag`: host and pid); the next write of the same file removes the temporaries of
writers that are gone (`abandoned`), never those of a live process.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import uuid
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Iterator

_HOST = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:32]
TAG = re.compile(r"(?P<host>[A-Za-z0-9]*)-(?P<pid>[0-9]+)-(?P<nonce>[0-9a-f]{16})")
"""An owner tag: `<host>-<pid>-<16 hex digits>`."""
_TAG_AT_END = re.compile(TAG.pattern + r"(?:\.tmp)?$")


def owner_tag() -> str:
    """A name part unique to this write that says who wrote it: `<host>-<pid>-<16 hex digits>`."""
    return f"{_HOST}-{os.getpid()}-{uuid.uuid4().hex[:16]}"


def alive(pid: int) -> bool:
    """Whether process `pid` runs on this machine (a zombie, killed but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[-1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True  # no /proc: signal 0 said it exists


def abandoned(name: str) -> bool:
    """Whether the writer named in `name` (a file or folder name holding an `owner_tag`) is gone.

    A name without a tag (left by an older version) is abandoned; a tag of another host is not
    (its liveness cannot be known here), nor one of a live process, this one included.
    """
    match = _TAG_AT_END.search(name)
    if match is None:
        return True
    return match["host"] == _HOST and not alive(int(match["pid"]))


def sweep(directory: Path | str, pattern: str = ".*.tmp") -> int:
    """Remove the temporary files matching `pattern` in `directory` whose writers are gone; returns how many."""
    removed = 0
    for path in Path(directory).glob(pattern):
        if path.is_file() and abandoned(path.name):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


@contextlib.contextmanager
def temporary(path: Path | str, *, sweep_first: bool = True) -> Iterator[Path]:
    """A fresh temporary path beside `path`; whatever is written there replaces `path` when the block ends.

    For libraries that write to a path themselves (e.g. `pyarrow.parquet.write_table`). The
    temporaries of gone writers of `path` are removed first, unless `sweep_first` is False (for a
    caller that swept the folder already: listing it costs in a folder of many files).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if sweep_first:
        sweep(path.parent, f".{_glob_escape(path.name)}.*.tmp")
    tmp = path.with_name(f".{path.name}.{owner_tag()}.tmp")
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
def replacing(path: Path | str, *, sweep_first: bool = True) -> Iterator[BinaryIO]:
    """An open binary file that replaces `path` when the block ends without an exception (`temporary`)."""
    with temporary(path, sweep_first=sweep_first) as tmp, tmp.open("wb") as handle:
        yield handle


def _glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_bytes(path: Path | str, data: bytes, *, sweep_first: bool = True) -> None:
    """Replace `path` with `data` (`temporary`)."""
    with replacing(path, sweep_first=sweep_first) as handle:
        handle.write(data)


def write_text(path: Path | str, text: str, encoding: str = "utf-8", *, sweep_first: bool = True) -> None:
    """Replace `path` with `text`, written as is (no newline translation; `temporary`)."""
    write_bytes(path, text.encode(encoding), sweep_first=sweep_first)


def write_json(path: Path | str, obj: Any, *, sort_keys: bool = True) -> None:
    """Replace `path` with `obj` as indented JSON and a final newline."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=sort_keys) + "\n")


def remove_orphans(paths: Iterable[Path]) -> int:
    """Delete the temporary files among `paths` whose writers are gone (`abandoned`); returns how many."""
    removed = 0
    for path in paths:
        if path.is_file() and abandoned(path.name):
            path.unlink(missing_ok=True)
            removed += 1
    return removed
