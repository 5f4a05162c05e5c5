"""A SIGKILL loop over TSV writes: a process merges day after day into one Reportupdater TSV file
(read, merge, write beside, rename) and is killed at seeded random moments. After every kill the
file is the one of some finished step, whole; the next run (from the first day the file lacks)
removes what the killed one left beside it; the file at the end equals an uninterrupted run's, byte
for byte."""

from __future__ import annotations

import csv
import datetime as dt
import random
import sys
from pathlib import Path

import pytest

from tests.kills import environment, run_and_kill
from tests.reliability import record, scale

pytestmark = pytest.mark.reliability

DAYS, ROWS = 60, 100
FIRST = dt.date(2026, 1, 1)
WRITER = """
import datetime as dt, os, sys
from pathlib import Path
from metrics.reports import tsv
path, first, days, rows, ready = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), Path(sys.argv[5])
ready.write_text(str(os.getpid()))
for i in range(first, days):
    day = dt.date(2026, 1, 1) + dt.timedelta(days=i)
    tsv.update(path, ["date", "wiki", "views"], {day: [[f"w{j:03d}", str(i * 1000 + j)] for j in range(rows)]}, max_data_points=400)
"""


def days_in(path: Path) -> int:
    """How many steps the file holds; asserts it is exactly what those steps wrote (never part of one)."""
    if not path.exists():
        return 0
    with path.open(newline="") as handle:
        lines = list(csv.reader(handle, delimiter="\t"))
    assert lines[0] == ["date", "wiki", "views"]
    body = lines[1:]
    count = len(body) // ROWS
    assert len(body) == count * ROWS, f"{len(body)} rows: not whole steps"
    expected = [[(FIRST + dt.timedelta(days=i)).isoformat(), f"w{j:03d}", str(i * 1000 + j)] for i in range(count) for j in range(ROWS)]
    assert body == expected
    return count


def test_tsv_writes_killed_again_and_again_leave_a_whole_file(tmp_path: Path) -> None:
    kills = scale(6, 60)
    env = environment(tmp_path)
    ready = tmp_path / "ready"

    def writer(path: Path, first: int, delay: float | None):
        ready.unlink(missing_ok=True)
        command = [sys.executable, "-c", WRITER, str(path), str(first), str(DAYS), str(ROWS), str(ready)]
        return run_and_kill(command, delay=delay, env=env, ready=lambda p: ready.exists() and ready.read_text() == str(p.pid), log=tmp_path / "err.txt")

    whole = writer(tmp_path / "whole" / "views.tsv", 0, None)
    assert whole.returncode == 0, whole.stderr
    reference = (tmp_path / "whole" / "views.tsv").read_bytes()
    rng = random.Random(17)
    killed = losses = tracebacks = torn = mid_write = 0
    path = tmp_path / "killed" / "views.tsv"
    while killed < kills:
        if path.exists() and days_in(path) == DAYS:
            path.unlink()  # start the file again: kills land early in a file as well as late
        outcome = writer(path, days_in(path), rng.uniform(0, whole.seconds / 4))
        tracebacks += outcome.traceback
        killed += outcome.killed
        mid_write += outcome.killed and any(path.parent.glob(".*.tmp"))
        try:
            days_in(path)
        except AssertionError:
            torn += 1
            path.unlink()
    final = writer(path, days_in(path), None)
    assert final.returncode == 0, final.stderr
    losses += path.read_bytes() != reference
    stale = sorted(p.name for p in path.parent.iterdir() if p != path)
    record(
        "kills",
        "tsv-writes",
        trials=killed,
        losses=losses + torn,
        duplicates=len(stale),
        tracebacks=tracebacks,
        detail=f"SIGKILL of a process merging {DAYS} days of {ROWS} rows into one TSV file, one write per day ({mid_write} kill(s) during a write, "
        "a temporary file left beside it); after each kill the file holds whole days only, and the run to completion gives the uninterrupted run's bytes with no temporary file left (a leftover counts as a duplicate)",
    )
    assert (losses, torn, tracebacks, stale) == (0, 0, 0, [])
