"""The cost of one `hive -e` call of a script report: Python start, imports, engine open, one small query.

A real script report calls `hive` once per interval and explode value, thousands of times in a
backfill, so what one call costs before its query matters. This runs the `hive` command a script
sees (the wrapper `metrics.hive_cli.on_path` writes) over a warehouse of `--tables` tables with
`--partitions` daily partitions each, and prints the median wall and CPU time per call: a `set`
only (no engine opened), a query on one table (the engine opens that table's view only), and for
comparison the same query on an engine that makes every table visible at open.

    .venv/bin/python benchmarks/bench_hive_cli.py [--calls 15] [--tables 40] [--partitions 60]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from metrics import hive_cli  # noqa: E402
from metrics.engines import open_engine  # noqa: E402
from metrics.warehouse import Warehouse  # noqa: E402


def timed(argv: list[str], env: dict[str, str], calls: int) -> tuple[float, float]:
    """Median wall seconds and mean CPU seconds (user + system, children) of `calls` runs."""
    walls = []
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for _ in range(calls):
        started = time.perf_counter()
        subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
        walls.append(time.perf_counter() - started)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) / calls
    return statistics.median(walls), cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=15)
    parser.add_argument("--tables", type=int, default=40)
    parser.add_argument("--partitions", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        warehouse = Warehouse(Path(tmp) / "wh")
        day = dt.date(2026, 9, 1)
        for t in range(args.tables):
            for p in range(args.partitions):
                d = day + dt.timedelta(days=p)
                data = pa.table({"wiki": ["enwiki", "dewiki"], "views": [t + p, 1]})
                warehouse.replace_partition("bench", f"t{t}", {"year": d.year, "month": d.month, "day": d.day}, data)
        query = "select wiki, sum(views) from bench.t0 where year = 2026 and month = 9 and day = 1 group by wiki"
        with open_engine(warehouse) as engine, hive_cli.on_path(engine) as env:
            hive = [os.path.join(env["PATH"].split(os.pathsep)[0], "hive"), "-S", "-e"]
            rows = [
                ("python -c pass (interpreter start)", [sys.executable, "-c", "pass"], env),
                ("hive -e 'set x=1' (no engine)", hive + ["set x=1"], env),
                ("hive -e <query on one table>", hive + [query], env),
            ]
            eager = dict(env)
            eager_argv = [
                sys.executable,
                "-c",
                f"from metrics.engines import open_engine; e = open_engine({str(warehouse.root)!r}); e.query({query!r}, dialect='hive')",
            ]
            rows.append((f"same query, engine opening all {args.tables} tables", eager_argv, eager))
            print(f"{args.tables} tables x {args.partitions} partitions, {args.calls} calls each")
            for label, argv, environment in rows:
                wall, cpu = timed(argv, environment, args.calls)
                print(f"{label:<55} {wall * 1000:7.0f} ms wall (median) {cpu * 1000:7.0f} ms CPU (mean)")


if __name__ == "__main__":
    main()
