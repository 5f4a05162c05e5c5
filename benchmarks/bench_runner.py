"""The runner against the floors it must beat, every figure measured in this run.

Script reports (`--scripts`, e.g. `30x332,300x28`: explode values x days): a daily script
report exploded by wiki, run by `update_reports` on the default pool, against the serial floor,
the same script invocations (same argv) one after another in a plain loop, which is the least
any one-at-a-time runner such as Reportupdater spends. Targets: runner <= 0.7x the floor (on 2
cores), and the runner's cost per interval the same, within 20%, whatever the number of explode
values. Each run's table (row count, and the sum of the printed numbers) and every one of its TSV
files (byte for byte) are checked against what the script prints. The script is one `printf`, so
its own cost is about that of starting a process: the figures measure the runner's overhead over
process starts, the worst case for any runner. The exit status is 1 when a target is not met.

SQL report (`--sql`, e.g. `300x365`): one year of a daily report exploded by 300 wikis on
DuckDB, per interval (one query per day and wiki, Reportupdater's way), with `backfill: range`
(one query per wiki), and grouped (no explode_by, wiki as a column: one query); the three
tables are compared row for row (the days a wiki has events) before any time is printed. The
per-interval run covers the first 30 wikis (`--sql-per-interval-wikis`; 0 for all 300, about an
hour): each of its queries is one wiki and day over the same partitions, so its cost per
interval does not depend on how many wikis run. On DuckDB that cost grows with the partitions
of the table read (a year is 365 of them, listed by each query's glob), which is what
`backfill: range` avoids.

Script shapes run `--rounds` times each, floor and runner in turn, and the best of each counts,
so that both meet the same load on a shared machine; the CPU of this process and of the scripts
is printed beside them.

    .venv/bin/python benchmarks/bench_runner.py                               # the full sizes
    .venv/bin/python benchmarks/bench_runner.py --scripts 10x60,60x10 --sql 20x30   # a quick run
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from metrics.engines import open_engine  # noqa: E402
from metrics.reports.runner import default_workers, update_reports  # noqa: E402
from metrics.warehouse import Warehouse  # noqa: E402

START = dt.date(2025, 1, 1)

SCRIPT = """#!/bin/sh
# $1 start, $2 end, $3 wiki, $4 folder: one row, a number derived from the arguments
printf 'date\\twiki\\tedits\\n%s\\t%s\\t%s\\n' "$1" "$3" "${#3}${1##*-}"
"""

PER_INTERVAL_SQL = """
SELECT DATE '{from_date}' AS date, count(*) AS toggles, count(DISTINCT session) AS sessions
FROM event.bench
WHERE wiki = '{wiki}' AND year = {year} AND month = {month} AND day = {day}
"""

SET_BASED_SQL = """
SELECT CAST(meta_dt AS DATE) AS date, count(*) AS toggles, count(DISTINCT session) AS sessions
FROM event.bench
WHERE wiki = '{wiki}'
  AND meta_dt >= from_iso8601_timestamp('{from_date}T00:00:00Z')
  AND meta_dt < from_iso8601_timestamp('{to_date}T00:00:00Z')
GROUP BY CAST(meta_dt AS DATE)
"""

GROUPED_SQL = """
SELECT CAST(meta_dt AS DATE) AS date, wiki, count(*) AS toggles, count(DISTINCT session) AS sessions
FROM event.bench
WHERE meta_dt >= from_iso8601_timestamp('{from_date}T00:00:00Z')
  AND meta_dt < from_iso8601_timestamp('{to_date}T00:00:00Z')
GROUP BY CAST(meta_dt AS DATE), wiki
"""


def shapes(text: str) -> list[tuple[int, int]]:
    """`30x332,300x28` -> [(30, 332), (300, 28)]: explode values x days."""
    out = []
    for part in filter(None, text.split(",")):
        values, _, days = part.partition("x")
        out.append((int(values), int(days)))
    return out


def folder(root: Path, name: str, wikis: list[str] | None, files: dict[str, str], extra: str = "", kind: str = "") -> Path:
    q = root / name
    q.mkdir(parents=True)
    explode = f'    explode_by: {{wiki: "{", ".join(wikis)}"}}\n' if wikis else ""
    (q / "config.yaml").write_text(f"reports:\n  daily:\n{kind}    granularity: days\n    starts: {START}\n{explode}{extra}")
    for file_name, text in files.items():
        (q / file_name).write_text(text)
        if text.startswith("#!"):
            (q / file_name).chmod(0o755)
    return q


def serial_floor(script: Path, wikis: list[str], days: int) -> float:
    """The same invocations as the runner's, one after another, output read and nothing else done."""
    t0 = time.perf_counter()
    for wiki in wikis:
        for d in range(days):
            day = START + dt.timedelta(days=d)
            argv = [str(script), day.isoformat(), (day + dt.timedelta(days=1)).isoformat(), wiki, str(script.parent)]
            subprocess.run(argv, capture_output=True, check=True)
    return time.perf_counter() - t0


def script_case(root: Path, values: int, days: int, workers: int, rounds: int) -> tuple[float, float]:
    """(runner seconds, serial floor seconds) of one shape, each the best of `rounds` runs taken in
    turn (floor, runner, floor, runner, ...) so that both meet the same load; exits when the output is wrong."""
    wikis = [f"wiki{i:03d}" for i in range(values)]
    name = f"bench_{values}x{days}"
    q = folder(root, name, wikis, {"daily": SCRIPT}, kind="    type: script\n")
    now = dt.datetime.combine(START + dt.timedelta(days=days), dt.time(12))
    floors, runners = [], []
    cpu: dict[str, list[tuple[float, float]]] = {"floor": [], "runner": []}
    for attempt in range(rounds):
        with cpu_of(cpu["floor"]):
            floors.append(serial_floor(q / "daily", wikis, days))
        with cpu_of(cpu["runner"]):
            runners.append(runner_once(root / f"{name}_{attempt}", q, name, wikis, days, now, workers))
    print(f"  {name}: floor {' '.join(f'{s:.2f}' for s in floors)} s; runner {' '.join(f'{s:.2f}' for s in runners)} s")
    n = values * days
    for what, times in cpu.items():
        own, scripts = min(times)
        print(f"  {name}: {what} CPU per interval {1000 * own / n:.2f} ms in this process, {1000 * scripts / n:.2f} ms in the scripts")
    return min(runners), min(floors)


@contextlib.contextmanager
def cpu_of(into: list[tuple[float, float]]) -> Iterator[None]:
    """Appends the CPU seconds of this process (all its threads) and of its finished children spent in the block."""
    before = os.times()
    yield
    after = os.times()
    into.append(
        (after.user + after.system - before.user - before.system, after.children_user + after.children_system - before.children_user - before.children_system)
    )


def runner_once(run: Path, q: Path, name: str, wikis: list[str], days: int, now: dt.datetime, workers: int) -> float:
    """One run of `update_reports` on a new warehouse and output folder: its seconds, once its output is checked."""
    values = len(wikis)
    with open_engine(run / "warehouse") as engine:
        t0 = time.perf_counter()
        summary = update_reports(q, engine, run / "out", now=now, graphite=False, workers=workers)
        seconds = time.perf_counter() - t0
        if not summary.ok or len(summary.outcomes) != values * days:
            sys.exit(f"{name}: run failed or incomplete:\n" + "\n".join(summary.lines()))
        got = engine.query(f"SELECT count(*) AS n, sum(edits) AS s FROM metrics.{name}_daily").to_pylist()[0]
    expected = sum(int(f"{len(w)}{(START + dt.timedelta(days=d)).day:02d}") for w in wikis for d in range(days))
    if got != {"n": values * days, "s": expected}:
        sys.exit(f"{name}: table holds {got}, expected {values * days} rows summing to {expected}")
    for wiki in wikis:
        lines = ["date\twiki\tedits"]
        for d in range(days):
            day = START + dt.timedelta(days=d)
            lines.append(f"{day.isoformat()}\t{wiki}\t{len(wiki)}{day.day:02d}")
        expected_tsv = ("\r\n".join(lines) + "\r\n").encode()
        if (run / "out" / "daily" / f"{wiki}.tsv").read_bytes() != expected_tsv:
            sys.exit(f"{name}: the TSV file of {wiki} is not what the script printed")
    return seconds


def generate(warehouse: Warehouse, days: int, wikis: list[str], per_hour: int, seed: int) -> int:
    rng = np.random.default_rng(seed)
    total = 0
    weights = 1.0 / np.arange(1, len(wikis) + 1)
    for d in range(days):
        day = START + dt.timedelta(days=d)
        n = int(rng.poisson(per_hour * 24))
        base = np.datetime64(day.isoformat(), "us")
        table = pa.table(
            {
                "meta_dt": pa.array(base + rng.integers(0, 86_400_000_000, n).astype("timedelta64[us]")).cast(pa.timestamp("us", tz="UTC")),
                "wiki": pa.array(rng.choice(wikis, n, p=weights / weights.sum())),
                "session": pa.array(rng.integers(0, 5000, n).astype(str)),
            }
        )
        warehouse.put_file("event", "bench", {"year": day.year, "month": day.month, "day": day.day}, "gen", table)
        total += n
    return total


def sql_case(root: Path, values: int, days: int, per_hour: int, workers: int, sample: int) -> None:
    """The SQL report three ways; the per-interval way over the first `sample` wikis only (its cost
    per interval does not depend on how many wikis there are: one query per wiki and day)."""
    wikis = [f"wiki{i:03d}" for i in range(values)]
    sample = min(sample or values, values)
    warehouse = Warehouse(root / "wh_sql")
    t0 = time.perf_counter()
    events = generate(warehouse, days, wikis, per_hour, seed=1)
    print(f"sql: generated {events:,} events in {days} daily partitions ({time.perf_counter() - t0:.1f} s)")
    now = dt.datetime.combine(START + dt.timedelta(days=days), dt.time(12))
    runs = [
        ("per-interval", folder(root, "sql_interval", wikis[:sample], {"daily.sql": PER_INTERVAL_SQL})),
        ("range", folder(root, "sql_range", wikis, {"daily.sql": SET_BASED_SQL}, "    backfill: range\n")),
        ("grouped", folder(root, "sql_grouped", None, {"daily.sql": GROUPED_SQL}, "    backfill: range\n")),
    ]
    timings = {}
    with open_engine(warehouse) as engine:
        for name, q in runs:
            t0 = time.perf_counter()
            summary = update_reports(q, engine, now=now, graphite=False, workers=workers)
            timings[name] = time.perf_counter() - t0
            if not summary.ok:
                sys.exit(f"sql {name} run failed:\n" + "\n".join(summary.lines()))
        # A wiki without events on a day has a row of 0 per interval, and no row grouped by date.
        tables = {
            name: engine.query(f"SELECT dt, wiki, toggles, sessions FROM metrics.{q.name}_daily WHERE toggles > 0 ORDER BY dt, wiki").to_pylist()
            for name, q in runs
        }
    if tables["range"] != tables["grouped"]:
        sys.exit(f"sql: the range table disagrees with the grouped one ({len(tables['range'])} vs {len(tables['grouped'])} rows)")
    sampled = set(wikis[:sample])
    if [r for r in tables["range"] if r["wiki"] in sampled] != tables["per-interval"]:
        sys.exit(f"sql: the per-interval table disagrees with the range one on the wikis it ran for ({sample})")
    if sum(r["toggles"] for r in tables["range"]) != events:
        sys.exit("sql: the toggles do not add up to the generated events")
    intervals = values * days
    per_interval = timings["per-interval"] / (sample * days)
    print(f"sql: identical tables, {len(tables['range']):,} rows; {intervals:,} intervals ({values} wikis x {days} days)")
    print(
        f"sql: per-interval  {timings['per-interval']:8.1f} s  {sample * days:,} queries ({sample} of the {values} wikis), {1000 * per_interval:.2f} ms per interval"
        + (f"; all {values} wikis at that rate: {per_interval * intervals:.0f} s" if sample < values else "")
    )
    print(f"sql: range         {timings['range']:8.1f} s  {values} queries, {per_interval * intervals / timings['range']:.1f}x faster than per-interval")
    print(f"sql: grouped       {timings['grouped']:8.1f} s  1 query, {per_interval * intervals / timings['grouped']:.1f}x faster than per-interval")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scripts", default="30x332,300x28", help="script report shapes, explode values x days (empty: none)")
    parser.add_argument("--sql", default="300x365", help="SQL report shape, explode values x days (empty: none)")
    parser.add_argument(
        "--sql-per-interval-wikis", type=int, default=30, help="wikis the per-interval SQL run covers (0: all; the full 300 x 365 takes about an hour)"
    )
    parser.add_argument("--events-per-hour", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3, help="runs of the runner and of the floor per script shape, taken in turn; the best of each counts")
    parser.add_argument("--workers", type=int, default=default_workers(), help="the runner's pool (default: one per CPU)")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.1f}; runner workers: {args.workers}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        per_interval = {}
        met = True
        for values, days in shapes(args.scripts):
            runner, floor = script_case(root, values, days, args.workers, args.rounds)
            n = values * days
            per_interval[(values, days)] = runner / n
            ratio = runner / floor
            met &= ratio <= 0.7
            print(
                f"script {values:>4} values x {days:>3} days = {n:>6,} intervals: runner {runner:7.1f} s, serial floor {floor:7.1f} s,"
                f" ratio {ratio:.2f} (target <= 0.70: {'MET' if ratio <= 0.7 else 'NOT MET'}); {1000 * runner / n:.2f} ms per interval"
            )
        if len(per_interval) > 1:
            costs = list(per_interval.values())
            spread = max(costs) / min(costs) - 1
            met &= spread <= 0.2
            print(f"script: per-interval cost differs by {100 * spread:.0f}% across shapes (target <= 20%: {'MET' if spread <= 0.2 else 'NOT MET'})")
        if args.sql:
            (values, days) = shapes(args.sql)[0]
            sql_case(root, values, days, args.events_per_hour, args.workers, args.sql_per_interval_wikis)
        if args.scripts:
            print(f"script targets: {'all MET' if met else 'NOT all met'}")
            if not met:
                sys.exit(1)


if __name__ == "__main__":
    main()
