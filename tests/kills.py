"""Kill loops and what is compared after them: start a real process, SIGKILL it at a seeded random
moment, run it again, and compare what it left with an uninterrupted run.

- `run_and_kill` starts a command, waits until it is ready (a condition on the process, e.g. it
  holds its folder's lock), lets it run `delay` seconds more, and kills it; it says whether the
  kill landed (a process that finished first was not killed).
- `table_rows` reads a warehouse table as plain rows (partition values included) with pyarrow,
  as another process would; `difference` counts the rows one side lacks (losses) and has twice
  (duplicates).
- `leftovers` lists what writers leave only while they work: staging folders and temporary files.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Outcome:
    """One started process: killed or not, its exit code, what it wrote on stderr, and how long it ran once ready."""

    killed: bool
    returncode: int
    stderr: str
    seconds: float

    @property
    def traceback(self) -> bool:
        return "Traceback" in self.stderr or "FileNotFoundError" in self.stderr


def metrics_command(warehouse: Path, *args: str) -> list[str]:
    """`metrics --warehouse WAREHOUSE ARGS...` run by this interpreter (no catalogue)."""
    return [sys.executable, "-m", "metrics", "--warehouse", str(warehouse), "--catalogue", str(warehouse.parent / "no-catalogue"), *args]


def environment(lock_dir: Path) -> dict[str, str]:
    """The environment of the processes a test starts: the folder locks in `lock_dir`, the checkout importable."""
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return {**os.environ, "METRICS_LOCK_DIR": str(lock_dir), "PYTHONPATH": path}


def run_and_kill(
    command: Sequence[str],
    *,
    delay: float | None,
    env: dict[str, str],
    ready: Callable[[subprocess.Popen], bool] = lambda proc: True,
    log: Path,
    timeout: float = 180.0,
) -> Outcome:
    """Run `command`; once `ready(proc)` holds, wait `delay` seconds and SIGKILL it (None: let it finish).

    stderr goes to the file `log` (a pipe could fill and stall the process). `Outcome.seconds`
    counts from the moment it was ready.
    """
    deadline = time.monotonic() + timeout
    with log.open("w") as err:
        proc = subprocess.Popen(list(command), stdout=subprocess.DEVNULL, stderr=err, env=env)
        try:
            while proc.poll() is None and not ready(proc) and time.monotonic() < deadline:
                time.sleep(0.005)
            started = time.monotonic()
            if delay is not None:
                end = started + delay
                while proc.poll() is None and time.monotonic() < end:
                    time.sleep(0.002)
                if proc.poll() is None:
                    proc.send_signal(signal.SIGKILL)
            code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return Outcome(code == -signal.SIGKILL, code, log.read_text(errors="replace"), time.monotonic() - started)


def lock_held(lock_file: Path) -> Callable[[subprocess.Popen], bool]:
    """A `ready` condition: the process holds the folder lock whose file is `lock_file` (it wrote its pid there)."""

    def held(proc: subprocess.Popen) -> bool:
        try:
            return lock_file.read_text().strip() == str(proc.pid)
        except OSError:
            return False

    return held


def table_rows(warehouse: Path, schema: str, table: str, drop: Sequence[str] = ()) -> Counter:
    """Every row of a table as a sorted tuple of (column, value) pairs, partition values included, counted."""
    directory = warehouse / schema / table
    meta = directory / "_table.json"
    if not meta.is_file():
        return Counter()
    keys = list(json.loads(meta.read_text())["partition_by"])
    pattern = "/".join(f"{k}=*" for k in keys) + "/*.parquet" if keys else "*.parquet"
    rows: Counter = Counter()
    for path in sorted(directory.glob(pattern)):
        parts = dict(p.split("=", 1) for p in path.relative_to(directory).parts[:-1])
        for row in pq.read_table(path).to_pylist():
            row = {**row, **parts}
            rows[tuple(sorted((k, _plain(v)) for k, v in row.items() if k not in drop))] += 1
    return rows


def _plain(value: object) -> object:
    if isinstance(value, dict):
        return tuple(sorted((k, _plain(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_plain(v) for v in value)
    return str(value) if value is not None and not isinstance(value, (int, float, str, bool)) else value


def difference(expected: Counter, got: Counter) -> tuple[int, int]:
    """(rows of `expected` that `got` lacks, rows `got` has beyond `expected`)."""
    return sum((expected - got).values()), sum((got - expected).values())


def leftovers(root: Path) -> list[Path]:
    """Staging folders (with anything in them) and temporary files under `root`."""
    found = [p for p in root.rglob("*.tmp")]
    found += [work for staging in root.rglob(".staging") for work in staging.iterdir()]
    return sorted(found)


def files(root: Path, pattern: str = "**/*") -> dict[str, bytes]:
    """relative path -> bytes of every file under `root` matching `pattern`."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.glob(pattern)) if p.is_file()} if root.is_dir() else {}
