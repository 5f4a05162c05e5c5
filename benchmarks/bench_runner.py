"""Backfill one year of a daily report exploded by 20 wikis: per-interval vs set-based.

Both ways run in this process, on the same DuckDB engine, over the same generated events
(hourly partitions, as the event tables are laid out). The per-interval way is Reportupdater's:
one query per day and wiki (7,300 queries). The set-based way is the same report with
`backfill: range`: one query per wiki over the whole year, and each `dt` partition written once.
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
        for hour in range(24):
            n = int(rng.poisson(per_hour))
            base = dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.timezone.utc)
            seconds = rng.integers(0, 3600, n)
            table = pa.table({
                "meta_dt": pa.array([base + dt.timedelta(seconds=int(s)) for s in seconds], pa.timestamp("us", tz="UTC")),
                "wiki": pa.array(rng.choice(wikis, n, p=_zipf(len(wikis)))),
                "session": pa.array(rng.integers(0, 5000, n).astype(str)),
            })
            warehouse.put_file("event", "bench", {"year": day.year, "month": day.month, "day": day.day, "hour": hour}, "gen", table)
            total += n
    return total


def _zipf(n: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1)
    return weights / weights.sum()


def folder(root: Path, name: str, wikis: list[str], start: dt.date, sql: str, extra: str) -> Path:
    q = root / name
    q.mkdir(parents=True)
    (q / "config.yaml").write_text(
        f"reports:\n  daily:\n    granularity: days\n    starts: {start}\n    explode_by: {{wiki: \"{', '.join(wikis)}\"}}\n{extra}"
    )
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
        print(f"generated {events:,} events in {args.days * 24:,} hourly partitions ({time.perf_counter() - t0:.1f} s)")
        per_interval = folder(root, "bench_interval", wikis, start, PER_INTERVAL_SQL, "")
        set_based = folder(root, "bench_range", wikis, start, SET_BASED_SQL, "    backfill: range\n")
        with open_engine(warehouse) as engine:
            timings = {}
            for name, q in [("per-interval", per_interval), ("set-based", set_based)]:
                t0 = time.perf_counter()
                summary = update_reports(q, engine, now=now, graphite=False, workers=args.workers)
                timings[name] = time.perf_counter() - t0
                if not summary.ok:
                    sys.exit(f"{name} run failed:\n" + "\n".join(summary.lines()))
                print(f"{name:>12}: {len(summary.outcomes):,} intervals in {timings[name]:.2f} s")
            a = engine.query("SELECT dt, wiki, toggles, sessions FROM metrics.bench_interval_daily ORDER BY dt, wiki").to_pylist()
            b = engine.query("SELECT dt, wiki, toggles, sessions FROM metrics.bench_range_daily ORDER BY dt, wiki").to_pylist()
            if a != b:
                sys.exit(f"the two ways disagree: {len(a)} vs {len(b)} rows")
            if sum(r["toggles"] for r in a) != events:
                sys.exit(f"toggles sum {sum(r['toggles'] for r in a)} != {events} generated events")
        queries = args.days * args.wikis
        print(f"queries: per-interval {queries:,}, set-based {args.wikis}")
        print(f"identical results: {len(a):,} rows, toggles sum = generated events ({events:,})")
        ratio = timings["per-interval"] / timings["set-based"]
        print(f"speed-up: {ratio:.1f}x (target >= 50x) -> {'MET' if ratio >= 50 else 'NOT MET'}")


if __name__ == "__main__":
    main()
