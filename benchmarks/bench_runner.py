"""Backfill one year of a daily report exploded by 20 wikis: per-interval vs set-based.

Both ways run in this process, on the same DuckDB engine, over the same generated events,
partitioned by day. (With hourly partitions each of the 7,300 per-interval queries lists 8,760
files, and the per-interval way alone takes most of an hour: the ratio only grows.) The per-interval way is Reportupdater's:
one query per day and wiki (7,300 queries). The set-based way is the same report with
`backfill: range`: one query per wiki over the whole year, and each `dt` partition written once.
The grouped way drops `explode_by` and groups by wiki: one query for the year ("dimensions as
data": the TSV output then has a wiki column instead of one file per wiki).
The two tables are compared row for row before any figure is printed.

    .venv/bin/python benchmarks/bench_runner.py [--days 365] [--wikis 20] [--events-per-hour 60]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

GROUPED_SQL = """
SELECT CAST(meta_dt AS DATE) AS date, wiki, count(*) AS toggles, count(DISTINCT session) AS sessions
FROM event.bench
WHERE wiki IN ({wiki_list})
  AND meta_dt >= from_iso8601_timestamp('{{from_date}}T00:00:00Z')
  AND meta_dt < from_iso8601_timestamp('{{to_date}}T00:00:00Z')
GROUP BY CAST(meta_dt AS DATE), wiki
"""

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from metrics.engines import open_engine  # noqa: E402
from metrics.reports.runner import update_reports  # noqa: E402
from metrics.warehouse import Warehouse  # noqa: E402

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


def generate(warehouse: Warehouse, start: dt.date, days: int, wikis: list[str], per_hour: int, seed: int) -> int:
    rng = np.random.default_rng(seed)
    total = 0
    for d in range(days):
        day = start + dt.timedelta(days=d)
        n = int(rng.poisson(per_hour * 24))
        base = np.datetime64(day.isoformat(), "us")
        table = pa.table(
            {
                "meta_dt": pa.array(base + rng.integers(0, 86_400_000_000, n).astype("timedelta64[us]")).cast(pa.timestamp("us", tz="UTC")),
                "wiki": pa.array(rng.choice(wikis, n, p=_zipf(len(wikis)))),
                "session": pa.array(rng.integers(0, 5000, n).astype(str)),
            }
        )
        warehouse.put_file("event", "bench", {"year": day.year, "month": day.month, "day": day.day}, "gen", table)
        total += n
    return total


def _zipf(n: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1)
    return weights / weights.sum()


def folder(root: Path, name: str, wikis: list[str] | None, start: dt.date, sql: str, extra: str) -> Path:
    q = root / name
    q.mkdir(parents=True)
    explode = f'    explode_by: {{wiki: "{", ".join(wikis)}"}}\n' if wikis else ""
    (q / "config.yaml").write_text(f"reports:\n  daily:\n    granularity: days\n    starts: {start}\n{explode}{extra}")
    (q / "daily.sql").write_text(sql)
    return q


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--wikis", type=int, default=20)
    parser.add_argument("--events-per-hour", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    start = dt.date(2025, 1, 1)
    now = dt.datetime.combine(start + dt.timedelta(days=args.days), dt.time(12))
    wikis = [f"wiki{i:02d}" for i in range(args.wikis)]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        warehouse = Warehouse(root / "warehouse")
        t0 = time.perf_counter()
        events = generate(warehouse, start, args.days, wikis, args.events_per_hour, args.seed)
        print(f"generated {events:,} events in {args.days:,} daily partitions ({time.perf_counter() - t0:.1f} s)")
        per_interval = folder(root, "bench_interval", wikis, start, PER_INTERVAL_SQL, "")
        set_based = folder(root, "bench_range", wikis, start, SET_BASED_SQL, "    backfill: range\n")
        grouped = folder(root, "bench_grouped", None, start, GROUPED_SQL.format(wiki_list=", ".join(f"'{w}'" for w in wikis)), "    backfill: range\n")
        with open_engine(warehouse) as engine:
            timings = {}
            runs = [("per-interval", per_interval), ("set-based", set_based), ("grouped", grouped)]
            for name, q in runs:
                t0 = time.perf_counter()
                summary = update_reports(q, engine, now=now, graphite=False, workers=args.workers)
                timings[name] = time.perf_counter() - t0
                if not summary.ok:
                    sys.exit(f"{name} run failed:\n" + "\n".join(summary.lines()))
                print(f"{name:>12}: {len(summary.outcomes):,} intervals in {timings[name]:.2f} s")
            a = engine.query("SELECT dt, wiki, toggles, sessions FROM metrics.bench_interval_daily ORDER BY dt, wiki").to_pylist()
            for other in ("bench_range_daily", "bench_grouped_daily"):
                b = engine.query(f"SELECT dt, wiki, toggles, sessions FROM metrics.{other} ORDER BY dt, wiki").to_pylist()
                if a != b:
                    sys.exit(f"metrics.{other} disagrees with the per-interval table: {len(b)} vs {len(a)} rows")
            if sum(r["toggles"] for r in a) != events:
                sys.exit(f"toggles sum {sum(r['toggles'] for r in a)} != {events} generated events")
        queries = args.days * args.wikis
        print(f"queries: per-interval {queries:,}; set-based {args.wikis} (one per wiki: explode_by kept); grouped 1 (wiki as a column)")
        print(f"identical results in all three tables: {len(a):,} rows, toggles sum = generated events ({events:,})")
        for name in ("set-based", "grouped"):
            ratio = timings["per-interval"] / timings[name]
            print(f"speed-up of {name} over per-interval: {ratio:.1f}x (target >= 50x) -> {'MET' if ratio >= 50 else 'NOT MET'}")


if __name__ == "__main__":
    main()
