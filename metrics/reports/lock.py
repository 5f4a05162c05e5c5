"""One run per query folder at a time: an advisory lock file, released when the process ends.

The lock is keyed by the folder's real path (symbolic links and `..` resolved), so that
`q/codemirror`, `q/../q/codemirror` and a link to it are one folder and one lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from metrics.errors import MetricsError


class Locked(MetricsError):
    """Another run holds the folder's lock."""


def lock_path(folder: Path) -> Path:
    """The lock file of a query folder: `$METRICS_LOCK_DIR` (default: the temporary folder), named after its real path."""
    real = os.path.realpath(folder)
    name = "metrics-reportupdater-" + real.strip(os.sep).replace(os.sep, "-")[-80:] + "-" + hashlib.sha1(real.encode()).hexdigest()[:8]
    return Path(os.environ.get("METRICS_LOCK_DIR", tempfile.gettempdir())) / f"{name}.lock"


@contextmanager
def folder_lock(folder: Path) -> Iterator[Path]:
    """Hold the lock of `folder`, or raise `Locked` at once."""
    path = lock_path(folder)
    handle = path.open("a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise Locked(f"another run (pid {holder}) is updating {os.path.realpath(folder)}; exiting") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield path
    finally:
        handle.close()
