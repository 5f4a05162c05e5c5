"""A SIGKILL loop over `metrics update-reports`: runs killed at seeded random moments, then run to
completion, end as an uninterrupted run does: every table row, the run log (each interval logged
ok once, with its row count), every TSV byte, and the last value of every point sent to carbon.

A kill lands anywhere in what is left of the run (the wait, from the moment the run holds its
folder's lock, is drawn from the time an uninterrupted run took for the intervals not logged yet):
computing, writing a partition, a TSV file, the outbox, the run log, or sending to carbon.
"""

from __future__ import annotations

import random
import shutil
import socket
import threading
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from metrics.reports.lock import lock_path
from tests.kills import Outcome, difference, environment, files, leftovers, lock_held, metrics_command, run_and_kill, table_rows
from tests.metrics.reports.test_runner import BY_WIKI_HQL, CLICKS_SQL, make_events, query_folder
from tests.reliability import record, scale

pytestmark = pytest.mark.reliability

STEPS = "#!/bin/sh\nprintf 'date\\twiki\\tstep\\n%s\\t%s\\t%s\\n' $1 $3 $(echo $1 | cut -c9-10)\n"
CONFIG = """
reports:
  clicks:
    granularity: days
    starts: 2026-11-08
    explode_by: {wiki: "enwiki, dewiki, cawiki"}
    graphite:
      path: 'toy.{_metric}.{wiki}'
      metrics: {clicks: clicks, half: half_n}
  by_wiki:
    type: hive
    granularity: weeks
    starts: 2026-11-09
  steps:
    type: script
    granularity: days
    starts: 2026-11-15
    explode_by: {wiki: "enwiki, dewiki"}
"""
TABLES = ["toy_clicks", "toy_by_wiki", "toy_steps"]
NOW = "2026-11-23T10:00"


class Setup:
    """An input warehouse of toy events and a query folder, copied afresh for every chain of kills."""

    def __init__(self, root: Path, config: str = CONFIG):
        self.root = root
        make_events(root / "input" / "wh")
        query_folder(root / "input", config, {"clicks.sql": CLICKS_SQL, "by_wiki.hql": BY_WIKI_HQL, "steps": STEPS})

    def fresh(self, name: str) -> Path:
        target = self.root / name
        shutil.copytree(self.root / "input", target)
        (target / "locks").mkdir()
        return target

    def command(self, place: Path, *extra: str) -> list[str]:
        return metrics_command(
            place / "wh", "update-reports", str(place / "toy"), str(place / "out"), "--now", NOW, "--flush-seconds", "0", "--workers", "2", *extra
        )

    def run(self, place: Path, delay: float | None, *extra: str) -> Outcome:
        env = environment(place / "locks")
        lock = place / "locks" / lock_path(place / "toy").name
        return run_and_kill(self.command(place, *extra), delay=delay, env=env, ready=lock_held(lock), log=place / "stderr.txt")


def run_log(warehouse: Path) -> tuple[dict[tuple, tuple], Counter]:
    """(report, explode, interval start) -> (status, rows) of its latest entry; and how many `ok` entries each has."""
    latest: dict[tuple, tuple] = {}
    oks: Counter = Counter()
    entries = []
    for path in sorted((warehouse / "metrics" / "report_runs").glob("month=*/*.parquet")):
        entries += pq.read_table(path).to_pylist()
    for e in sorted(entries, key=lambda e: e["finished_at"]):
        key = (e["report"], e["explode"], e["interval_start"])
        latest[key] = (e["status"], e["rows"])
        oks[key] += e["status"] == "ok"
    return latest, oks


def state(place: Path) -> tuple[dict[str, Counter], dict, dict[str, bytes]]:
    tables = {t: table_rows(place / "wh", "metrics", t) for t in TABLES}
    return tables, run_log(place / "wh")[0], files(place / "out")


def compare(place: Path, reference: tuple[dict[str, Counter], dict, dict[str, bytes]]) -> tuple[int, int, list[str]]:
    """(losses, duplicates, what differs) of a place against the uninterrupted run."""
    tables, log, tsv = state(place)
    ref_tables, ref_log, ref_tsv = reference
    losses = duplicates = 0
    notes = []
    for table in TABLES:
        lost, extra = difference(ref_tables[table], tables[table])
        losses, duplicates = losses + lost, duplicates + extra
        if lost or extra:
            notes.append(f"{table}: {lost} row(s) lost, {extra} extra")
    missing = [k for k in ref_log if log.get(k) != ref_log[k]]
    losses += len(missing)
    notes += [f"run log {k}: {log.get(k)} instead of {ref_log[k]}" for k in missing[:3]]
    twice = [k for k, n in run_log(place / "wh")[1].items() if n > 1]
    duplicates += len(twice)
    notes += [f"run log {k}: logged ok {run_log(place / 'wh')[1][k]} times" for k in twice[:3]]
    for name in sorted(set(ref_tsv) | set(tsv)):
        if tsv.get(name) != ref_tsv.get(name):
            losses += 1
            notes.append(f"TSV {name} differs")
    stale = leftovers(place)
    notes += [f"left behind: {p.relative_to(place)}" for p in stale[:3]]
    return losses, duplicates + len(stale), notes


class Carbon:
    """A TCP listener that keeps every line it receives, as carbon's plaintext receiver takes them."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.data = bytearray()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                received = bytearray()
                while chunk := conn.recv(65536):
                    received += chunk
            with self.lock:
                self.data += received[: received.rfind(b"\n") + 1]  # carbon drops a line cut by a closed connection

    def lines(self) -> list[str]:
        with self.lock:
            return self.data.decode().splitlines()

    def close(self) -> None:
        self.server.close()


def last_values(lines: list[str]) -> tuple[dict[tuple[str, int], float], int]:
    """(path, timestamp) -> the last value received, as carbon stores it; and how many lines were not `path value timestamp`."""
    values: dict[tuple[str, int], float] = {}
    malformed = 0
    for line in lines:
        parts = line.split(" ")
        try:
            path, value, stamp = parts
            values[(path, int(stamp))] = float(value)
        except ValueError:
            malformed += 1
    return values, malformed


INTERVALS = 15 * 3 + 2 + 8 * 2


def done_share(place: Path) -> float:
    """The share of the intervals the run log says are ok."""
    latest, _ = run_log(place / "wh")
    return sum(status == "ok" for status, _ in latest.values()) / INTERVALS


def test_update_reports_killed_again_and_again_ends_as_an_uninterrupted_run(tmp_path: Path) -> None:
    kills = scale(3, 50)
    per_chain = 3 if kills <= 3 else 10
    carbon = Carbon()
    try:
        setup = Setup(tmp_path)
        address = ("--graphite", f"127.0.0.1:{carbon.port}")
        whole = setup.fresh("whole")
        uninterrupted = setup.run(whole, None, *address)
        assert uninterrupted.returncode == 0 and not uninterrupted.traceback, uninterrupted.stderr
        reference = state(whole)
        points, _ = last_values(carbon.lines())
        rows = [dict(row) for row in reference[0]["toy_clicks"]]
        assert all(reference[0][t] for t in TABLES) and len(reference[1]) == INTERVALS
        assert len(points) == sum((r["clicks"] is not None) + (r["half_n"] is not None) for r in rows) > 50

        rng = random.Random(15)
        done = chains = losses = duplicates = tracebacks = malformed = resent = 0
        notes: list[str] = []
        while done < kills:
            chains += 1
            place = setup.fresh(f"chain-{chains}")
            start = len(carbon.lines())
            for _ in range(per_chain):
                outcome = setup.run(place, rng.uniform(0, uninterrupted.seconds * max(0.1, 1 - done_share(place))), *address)
                tracebacks += outcome.traceback
                if not outcome.killed:
                    assert outcome.returncode == 0, outcome.stderr
                    break  # it finished before the kill
                done += 1
            final = setup.run(place, None, *address)
            tracebacks += final.traceback
            assert final.returncode == 0, final.stderr
            lost, extra, differ = compare(place, reference)
            received = carbon.lines()[start:]
            values, bad = last_values(received)
            wrong = [k for k in points if values.get(k) != points[k]] + sorted(set(values) - set(points))
            losses, duplicates, malformed = losses + lost + len(wrong), duplicates + extra, malformed + bad
            resent += len(received) - bad - len(values)
            notes += differ + [f"point {k}: {values.get(k)} instead of {points.get(k)}" for k in wrong[:3]]
            shutil.rmtree(place)
    finally:
        carbon.close()
    record(
        "kills",
        "update-reports",
        trials=done,
        losses=losses,
        duplicates=duplicates,
        escapes=malformed,
        tracebacks=tracebacks,
        detail=f"SIGKILL at random moments of runs of 3 reports (SQL, Hive, script: {INTERVALS} intervals, each written on its own) that queue and send "
        f"{len(points)} points to a TCP listener; {chains} chain(s) of kills, each ended by a run to completion; tables, run log, TSV bytes and the "
        f"last value of every point compared with an uninterrupted run ({resent} point(s) sent again after a kill: carbon keeps one value per point "
        "and time; a malformed line counts as an escape)",
    )
    assert notes == [] and (losses, duplicates, malformed, tracebacks) == (0, 0, 0, 0)
