"""Partitions under kills and concurrent writers, with real processes.

- A process replaces partitions again and again (write to staging, move the old partition aside,
  rename the new one in) and is SIGKILLed at seeded random moments. After each kill, the next
  writer's repair leaves every partition whole: one version, all its rows, none twice, and no
  staging folder; a partition a kill caught between the two renames is put back. The same with
  `replace_partitions`, which renames a new file over a partition's one file.
- Processes write one table at once, each its own rows of the same partitions (read the kept
  rows, merge, replace), as two query folders sharing a metric table do: no row is lost.
"""

from __future__ import annotations

import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest

from metrics import atomic
from metrics.warehouse import STAGING, Warehouse
from tests.kills import environment, leftovers, run_and_kill, table_rows
from tests.reliability import record, scale

pytestmark = pytest.mark.reliability

PARTS = 4
REPLACER = """
import os, sys
import pyarrow as pa
from metrics.warehouse import Warehouse
root, first, last, ready = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
warehouse = Warehouse(root)
open(ready, "w").write(str(os.getpid()))
for version in range(first, last + 1):
    parts = []
    for part in range(PARTS):
        n = 500 + 37 * (version % 11)
        parts.append(({"part": part}, pa.table({"version": [version] * n, "part": [part] * n, "i": list(range(n))})))
    if METHOD == "replace_partition":
        for partition, rows in parts:
            warehouse.replace_partition("raw", "versions", partition, rows)
    else:
        warehouse.replace_partitions("raw", "versions", parts)
""".replace("PARTS", str(PARTS))


def versions(root: Path) -> dict[int, int]:
    """part -> the one version it holds; asserts the partition is whole (every row of that version, once)."""
    rows = table_rows(root, "raw", "versions")
    found: dict[int, int] = {}
    for part in range(PARTS):
        mine = Counter({row: n for row, n in rows.items() if dict(row)["part"] == str(part)})
        assert mine, f"partition {part} is missing"
        [version] = {dict(row)["version"] for row in mine}
        n = 500 + 37 * (version % 11)
        assert sorted(dict(row)["i"] for row in mine.elements()) == list(range(n)), f"partition {part}: not whole version {version}"
        found[part] = version
    return found


@pytest.mark.parametrize("method", ["replace_partition", "replace_partitions"])
def test_partition_renames_killed_again_and_again_leave_whole_partitions(tmp_path: Path, method: str) -> None:
    """`replace_partition` swaps partition folders; `replace_partitions` (the runner's) renames one file over another."""
    kills = scale(8, 60)
    env = environment(tmp_path)
    ready = tmp_path / "ready"
    root = tmp_path / "wh"
    last = 10_000

    def replacer(first: int, until: int, delay: float | None):
        ready.unlink(missing_ok=True)
        command = [sys.executable, "-c", REPLACER.replace("METHOD", repr(method)), str(root), str(first), str(until), str(ready)]
        return run_and_kill(command, delay=delay, env=env, ready=lambda p: ready.exists() and ready.read_text() == str(p.pid), log=tmp_path / "err.txt")

    first = replacer(0, 0, None)
    assert first.returncode == 0, first.stderr
    rng = random.Random(18)
    killed = tracebacks = broken = restored = staged = 0
    version = 1
    while killed < kills:
        outcome = replacer(version, last, rng.uniform(0, 0.4))
        tracebacks += outcome.traceback
        killed += outcome.killed
        staging = root / "raw" / "versions" / STAGING
        staged += any((work / "data").is_dir() for work in staging.iterdir()) if staging.is_dir() else 0
        restored += len(Warehouse(root).recover("raw", "versions"))  # what the next writer does first
        try:
            version = max(versions(root).values()) + 1
        except AssertionError:
            broken += 1
            version += 1
        assert leftovers(root) == []
    final = replacer(version, version, None)
    assert final.returncode == 0, final.stderr
    assert versions(root) == dict.fromkeys(range(PARTS), version)
    record(
        "kills",
        "partition-renames" if method == "replace_partition" else "partition-file-renames",
        trials=killed,
        losses=broken,
        tracebacks=tracebacks,
        detail=f"SIGKILL of a process replacing {PARTS} partitions again and again ({method}); after each kill the repair leaves each partition one whole "
        f"version and no staging ({staged} kill(s) while a new version was being staged, {restored} between the two renames, its partition put back)",
    )
    assert (broken, tracebacks) == (0, 0)


WRITER = """
import datetime as dt, sys
import pyarrow as pa
from metrics.engines import open_engine
from metrics.reports.store import Store, explode_key
root, wiki, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
days = [dt.date(2026, 11, d) for d in range(1, 6)]
with open_engine(root) as engine:
    store = Store(engine)
    for r in range(rounds):
        rows = pa.table({"dt": days, "wiki": [wiki] * len(days), "n": [r * 10 + i for i in range(len(days))]})
        store.write("shared_t", rows, {explode_key({"wiki": wiki}): days}, ["wiki"])
"""


def test_processes_writing_one_table_at_once_lose_no_rows(tmp_path: Path) -> None:
    """Each process replaces its own wiki's rows in the same five partitions, many times over; each
    write keeps the others' rows. Without a lock across processes, a write that read the kept rows
    before another process's write drops that write's rows."""
    trials = scale(2, 5)
    wikis, rounds = ["enwiki", "dewiki", "frwiki"], 15
    losses = duplicates = tracebacks = 0
    for trial in range(trials):
        root = tmp_path / f"wh{trial}"
        procs = [
            subprocess.Popen([sys.executable, "-c", WRITER, str(root), wiki, str(rounds)], stderr=subprocess.PIPE, text=True, env=environment(tmp_path))
            for wiki in wikis
        ]
        for proc in procs:
            _, err = proc.communicate(timeout=300)
            if proc.returncode != 0 or "Traceback" in err:
                tracebacks += 1
                print(err)  # shown with the failure
        rows = table_rows(root, "metrics", "shared_t")
        expected = Counter((("dt", f"2026-11-0{d}"), ("n", (rounds - 1) * 10 + d - 1), ("wiki", wiki)) for wiki in wikis for d in range(1, 6))
        losses += sum((expected - rows).values())
        duplicates += sum((rows - expected).values())
        assert leftovers(root) == []
    record(
        "concurrency",
        "one-table-three-processes",
        trials=trials,
        losses=losses,
        duplicates=duplicates,
        tracebacks=tracebacks,
        detail=f"{len(wikis)} processes each rewrite their own rows of the same 5 partitions of one table {rounds} times at once; every "
        "process's last rows are there, once",
    )
    assert (losses, duplicates, tracebacks) == (0, 0, 0)


def test_a_table_lock_is_one_lock_whatever_the_path(tmp_path: Path) -> None:
    """The same table reached through a link or `..` is one lock: a second process waits while the first holds it."""
    (tmp_path / "wh").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "wh")
    holder = Warehouse(tmp_path / "wh")
    probe = """
import sys
from filelock import Timeout
from metrics.locks import file_lock
from metrics.warehouse import Warehouse, LOCK
path = Warehouse(sys.argv[1]).table_dir("metrics", "t") / LOCK
try:
    file_lock(path).acquire(timeout=0.2)
    print("acquired")
except Timeout:
    print("waits")
"""
    with holder.table_lock("metrics", "t"):
        for spelling in (tmp_path / "link", tmp_path / "wh" / ".." / "wh"):
            result = subprocess.run([sys.executable, "-c", probe, str(spelling)], capture_output=True, text=True, env=environment(tmp_path), timeout=60)
            assert result.stdout.strip() == "waits", result.stderr
    result = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "link")], capture_output=True, text=True, env=environment(tmp_path), timeout=60)
    assert result.stdout.strip() == "acquired"


def test_a_live_writers_staging_is_left_alone_and_a_dead_ones_removed(tmp_path: Path) -> None:
    """The repair removes only what writers that are gone left: another live process's partition in progress stays."""
    warehouse = Warehouse(tmp_path / "wh")
    warehouse.replace_partition("raw", "t", {"part": 1}, pa.table({"x": [1]}))
    staging = warehouse.table_dir("raw", "t") / STAGING
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    try:
        host = atomic.owner_tag().rsplit("-", 2)[0]
        for proc in (live, dead):
            (staging / f"{host}-{proc.pid}-0123456789abcdef" / "data").mkdir(parents=True)
        (staging / f"otherhost-{dead.pid}-0123456789abcdef").mkdir()
        table = warehouse.table_dir("raw", "t") / "part=1"
        (table / f".part-x.parquet.{host}-{dead.pid}-0123456789abcdef.tmp").write_text("half")
        (table / f".part-x.parquet.{host}-{live.pid}-0123456789abcdef.tmp").write_text("in progress")
        Warehouse(tmp_path / "wh").recover("raw", "t")
        assert sorted(p.name for p in staging.iterdir()) == sorted([f"{host}-{live.pid}-0123456789abcdef", f"otherhost-{dead.pid}-0123456789abcdef"])
        assert sorted(p.name for p in table.glob(".*.tmp")) == [f".part-x.parquet.{host}-{live.pid}-0123456789abcdef.tmp"]
    finally:
        live.kill()
        live.wait()
