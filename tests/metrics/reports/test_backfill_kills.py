"""A SIGKILL loop over `metrics backfill`: backfills killed at seeded random moments, then run to
completion, end as an uninterrupted backfill does: every table row, each interval's latest run-log
entry (status, rows, definition), every TSV byte, and each stale interval logged ok once with the
new definition.

The toy folder of the runner's kill test runs to completion; then its `clicks` query changes (its
45 intervals become stale, the two other reports stay as they are) and the backfill is killed.
"""

from __future__ import annotations

import random
import shutil
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from metrics.reports.lock import lock_path
from tests.kills import environment, files, leftovers, lock_held, metrics_command, run_and_kill, table_rows
from tests.metrics.reports.test_runner_kills import NOW, TABLES, Setup
from tests.reliability import record, scale

pytestmark = pytest.mark.reliability

STALE = 15 * 3
"""The intervals of the `clicks` report (Nov 8-22, three wikis)."""


def entries(place: Path) -> tuple[dict[tuple, tuple], Counter]:
    """(report, explode, start) -> (status, rows, query_hash) of its latest run-log entry; and the `ok` entries per (report, explode, start, hash)."""
    rows = [e for path in sorted((place / "wh" / "metrics" / "report_runs").glob("month=*/*.parquet")) for e in pq.read_table(path).to_pylist()]
    latest: dict[tuple, tuple] = {}
    oks: Counter = Counter()
    for e in sorted(rows, key=lambda e: e["finished_at"]):
        key = (e["report"], e["explode"], e["interval_start"])
        latest[key] = (e["status"], e["rows"], e["query_hash"])
        oks[(*key, e["query_hash"])] += e["status"] == "ok"
    return latest, oks


def state(place: Path) -> tuple[dict[str, Counter], dict[tuple, tuple], dict[str, bytes]]:
    return {t: table_rows(place / "wh", "metrics", t) for t in TABLES}, entries(place)[0], files(place / "tsv")


def backfill(place: Path, delay: float | None):
    command = metrics_command(
        place / "wh", "backfill", str(place / "toy"), "--output", str(place / "tsv"), "--now", NOW, "--no-graphite", "--flush-seconds", "0", "--workers", "2"
    )
    lock = place / "locks" / lock_path(place / "toy").name
    return run_and_kill(command, delay=delay, env=environment(place / "locks"), ready=lock_held(lock), log=place / "stderr.txt")


def test_backfill_killed_again_and_again_ends_as_an_uninterrupted_backfill(tmp_path: Path) -> None:
    kills = scale(2, 40)
    setup = Setup(tmp_path)
    base = setup.fresh("base")
    first = setup.run(base, None)
    assert first.returncode == 0 and not first.traceback, first.stderr
    sql = base / "toy" / "clicks.sql"
    sql.write_text(sql.read_text().replace("count(*) AS clicks", "count(*) * 10 AS clicks"))

    whole = tmp_path / "whole"
    shutil.copytree(base, whole)
    uninterrupted = backfill(whole, None)
    assert uninterrupted.returncode == 0 and not uninterrupted.traceback, uninterrupted.stderr
    reference = state(whole)
    new_hash = {h for (r, _, _), (_, _, h) in reference[1].items() if r == "clicks"}
    assert len(new_hash) == 1 and sum(r == "clicks" for r, _, _ in reference[1]) == STALE
    assert reference[0] != state(base)[0]  # the backfill changed the numbers

    rng = random.Random(17)
    done = chains = losses = duplicates = tracebacks = 0
    notes: list[str] = []
    while done < kills:
        chains += 1
        place = tmp_path / f"chain-{chains}"
        shutil.copytree(base, place)
        for _ in range(3):
            share = sum(h in new_hash for _, _, h in entries(place)[0].values()) / STALE
            outcome = backfill(place, rng.uniform(0, uninterrupted.seconds * max(0.1, 1 - share)))
            tracebacks += outcome.traceback
            if not outcome.killed:
                assert outcome.returncode == 0, outcome.stderr
                break
            done += 1
        final = backfill(place, None)
        tracebacks += final.traceback
        assert final.returncode == 0, final.stderr
        tables, latest, tsv = state(place)
        for table in TABLES:
            lost, extra = sum((reference[0][table] - tables[table]).values()), sum((tables[table] - reference[0][table]).values())
            losses, duplicates = losses + lost, duplicates + extra
            notes += [f"{table}: {lost} row(s) lost, {extra} extra"] if lost or extra else []
        wrong = [k for k in reference[1] if latest.get(k) != reference[1][k]]
        twice = [k for k, n in entries(place)[1].items() if n > 1 and k[3] in new_hash]
        differ = [name for name in sorted(set(tsv) | set(reference[2])) if tsv.get(name) != reference[2].get(name)]
        left = leftovers(place)
        losses, duplicates = losses + len(wrong) + len(differ), duplicates + len(twice) + len(left)
        notes += [f"run log {k}: {latest.get(k)}" for k in wrong[:3]] + [f"logged twice: {k}" for k in twice[:3]] + [f"TSV {n} differs" for n in differ[:3]]
        shutil.rmtree(place)
    record(
        "kills",
        "backfill",
        trials=done,
        losses=losses,
        duplicates=duplicates,
        tracebacks=tracebacks,
        detail=f"SIGKILL at random moments of `metrics backfill` recomputing {STALE} stale intervals of one report (two others unchanged), "
        f"each written on its own; {chains} chain(s) of kills, each ended by a backfill to completion; tables, the run log's latest entries "
        "(status, rows, query hash), TSV bytes and leftovers compared with an uninterrupted backfill; a stale interval logged ok twice "
        "with the new hash counts as a duplicate",
    )
    assert notes == [] and (losses, duplicates, tracebacks) == (0, 0, 0)
