"""Locks shared between threads and processes: one `filelock.FileLock` per lock file and process.

A lock file is named by its real path, so two spellings of one path (`a/../a/t`, a symbolic
link) are one lock. The thread that holds a lock may take it again (it is re-entered); another
thread, or another process, waits for it. Two `FileLock` objects on one file in one process
would block each other even in one thread, hence the one object per file kept here.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from filelock import FileLock

_LOCKS: dict[str, FileLock] = {}
_GUARD = threading.Lock()


def file_lock(path: Path | str) -> FileLock:
    """The process's lock of the file at `path` (created when missing), for `with file_lock(path): ...`."""
    key = os.path.realpath(path)
    with _GUARD:
        lock = _LOCKS.get(key)
        if lock is None:
            lock = _LOCKS[key] = FileLock(key)
        return lock
