"""Top pages per wiki against the jobs it replaces, every figure measured in this run.

1. One hour: a generated hour of --lines lines (5 million by default: the real format, ~1,000
   domain codes, heavy-tailed views, gzip), the top 25 of each domain (row_number, ties by title).
   Each implementation runs in a fresh subprocess, --runs times (best kept); the clock starts after
   its imports (and after Spark's session start, reported on its own); peak memory is the
   subprocess's own peak RSS (with Spark, the JVM's too). The implementations: this project
   (`metrics.toppages.rank_file`), plain pandas, DuckDB SQL written the obvious way, PySpark
   local[2] (skipped with --no-spark or without Java), and the floors `gzip -dc` and ISA-L's
   `igzip -dc` (the decompressor the project uses). `metrics toppages FILE` as a command (start-up
   and writes included) is timed too. Every result is compared row for row with the project's
   before any figure is printed. Targets: <= 1.5x `gzip -dc`, >= 10x faster than PySpark, >= 4x
   faster than pandas, faster than the obvious DuckDB query, peak memory < 1 GB.
2. One day: 24 such hours, `metrics toppages --daily DIR` as a command (wall, peak RSS), checked
   against DuckDB's SQL over the same 24 files (also timed). Targets: <= 20 s, <= 2 GB.
3. The same daily report as a query folder (reportupdater_queries/top_articles) on DuckDB, over
   24 smaller hours (--report-lines) loaded into wmf.pageview_hourly, beside `metrics toppages
   --daily` from that table and from the files; with --trino, on a Trino started by
   tests/services/trino.py too (its start-up reported on its own).

Generated dumps are kept in build/bench/ (deterministic: the same bytes for the same size), so a
second run starts at once. Prints the figures; with --json FILE also writes them for RESULTS.md.

    .venv/bin/python benchmarks/bench_toppages.py [--lines 5000000] [--runs 3] [--no-spark] [--trino] [--json OUT]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DAY = dt.datetime(2026, 11, 3, tzinfo=dt.timezone.utc)
HOUR = DAY + dt.timedelta(hours=7)
TOP = 25
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
JAVA_HOME = "/usr/lib/jvm/java-17-openjdk-amd64"

GENERATE = """
import sys, datetime as dt, pathlib
from ingestion import generate
hour = dt.datetime.fromisoformat(sys.argv[2])
generate.write_dump(pathlib.Path(sys.argv[1]), generate.pageview_lines(1, hour, int(sys.argv[3])))
"""

# Each implementation: argv[1] the dump, argv[2] where to write its result (Parquet), argv[3] N.
# It prints JSON: seconds (after imports and session start), cpu seconds, peak RSS (MB), start seconds.
PRELUDE = """
import json, resource, sys, time
path, out, top = sys.argv[1], sys.argv[2], int(sys.argv[3])
def done(table, seconds, start_seconds=0.0, extra_rss_kb=0, extra_cpu=0.0):
    usage = resource.getrusage(resource.RUSAGE_SELF)
    import pyarrow.parquet as pq
    pq.write_table(table, out)
    peak = max(usage.ru_maxrss, extra_rss_kb) / 1024
    cpu = usage.ru_utime + usage.ru_stime - cpu0 + extra_cpu
    print(json.dumps({"seconds": seconds, "cpu": cpu, "rss_mb": peak, "start_seconds": start_seconds}))
"""

IMPLEMENTATIONS = {
    "this project": """
from metrics.toppages import rank_file
import pyarrow, pyarrow.csv, pyarrow.compute, numpy, isal.igzip, duckdb  # imported by rank_file anyway: not part of the time
import pandas  # noqa: F401 - pyarrow imports it at its first list conversion: start-up, not ranking
usage = resource.getrusage(resource.RUSAGE_SELF); cpu0 = usage.ru_utime + usage.ru_stime
started = time.perf_counter()
table = rank_file(path, top=top)
done(table, time.perf_counter() - started)
""",
    "pandas": """
import pandas as pd, pyarrow as pa
usage = resource.getrusage(resource.RUSAGE_SELF); cpu0 = usage.ru_utime + usage.ru_stime
started = time.perf_counter()
df = pd.read_csv(
    path, sep=" ", header=None, names=["domain_code", "page_title", "count_views", "total_response_size"],
    quotechar='"', escapechar="\\\\", doublequote=False, keep_default_na=False, na_filter=False,
    dtype={"domain_code": str, "page_title": str, "count_views": "int64", "total_response_size": "int64"},
)
df = df.sort_values(["domain_code", "count_views", "page_title"], ascending=[True, False, True], kind="stable")
best = df.groupby("domain_code", sort=False).head(top).copy()
best["rank"] = best.groupby("domain_code", sort=False).cumcount() + 1
table = pa.Table.from_pandas(best[["domain_code", "page_title", "count_views", "rank"]], preserve_index=False)
done(table, time.perf_counter() - started)
""",
    "DuckDB, the obvious SQL": """
import duckdb
usage = resource.getrusage(resource.RUSAGE_SELF); cpu0 = usage.ru_utime + usage.ru_stime
started = time.perf_counter()
con = duckdb.connect()
table = con.sql(
    "SELECT domain_code, page_title, count_views,"
    " row_number() OVER (PARTITION BY domain_code ORDER BY count_views DESC, page_title) AS rank"
    " FROM read_csv($path, delim = ' ', quote = '\\"', escape = '\\\\', header = false, auto_detect = false, allow_quoted_nulls = false,"
    "   columns = {'domain_code': 'VARCHAR', 'page_title': 'VARCHAR', 'count_views': 'BIGINT', 'total_response_size': 'BIGINT'})"
    " QUALIFY rank <= $top ORDER BY domain_code, count_views DESC, page_title",
    params={"path": path, "top": top},
).to_arrow_table()
done(table, time.perf_counter() - started)
""",
    "PySpark local[2]": """
import os
from pyspark.sql import SparkSession, Window, functions as F
import pyarrow as pa
begin = time.perf_counter()
spark = (SparkSession.builder.master("local[2]").appName("toppages-bench").config("spark.driver.memory", "2g")
         .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false").config("spark.sql.shuffle.partitions", "2")
         .config("spark.sql.session.timeZone", "UTC").getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
spark.range(1).collect()
start_seconds = time.perf_counter() - begin
usage = resource.getrusage(resource.RUSAGE_SELF); cpu0 = usage.ru_utime + usage.ru_stime
started = time.perf_counter()
df = spark.read.csv(path, schema="domain_code STRING, page_title STRING, count_views LONG, total_response_size LONG",
                    sep=" ", quote='"', escape="\\\\", emptyValue="", nullValue="\\u0000")  # else "" (the empty domain) reads as NULL
ranked = df.withColumn("rank", F.row_number().over(Window.partitionBy("domain_code").orderBy(F.desc("count_views"), F.asc("page_title"))))
rows = ranked.where(F.col("rank") <= top).select("domain_code", "page_title", "count_views", "rank").collect()
table = pa.Table.from_pylist([r.asDict() for r in rows])
seconds = time.perf_counter() - started
jvm = spark.sparkContext._gateway.proc
spark.stop()
jvm.stdin.close()  # the JVM ends when its stdin closes; then its peak RSS is among this process's children's
jvm.wait(timeout=120)
jvm = resource.getrusage(resource.RUSAGE_CHILDREN)
done(table, seconds, start_seconds, jvm.ru_maxrss, jvm.ru_utime + jvm.ru_stime)  # the JVM's CPU includes its session start
""",
}

TIMED = """
import resource, subprocess, sys, time
started = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
seconds = time.perf_counter() - started
if done.returncode:
    sys.exit(done.stderr)
print(seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
"""

DAY_SQL = """
SELECT domain_code, page_title, count_views,
    row_number() OVER (PARTITION BY domain_code ORDER BY count_views DESC, page_title) AS rank
FROM (
    SELECT domain_code, page_title, CAST(sum(count_views) AS BIGINT) AS count_views
    FROM read_csv($paths, delim = ' ', quote = '"', escape = '\\', header = false, auto_detect = false, allow_quoted_nulls = false,
        columns = {'domain_code': 'VARCHAR', 'page_title': 'VARCHAR', 'count_views': 'BIGINT', 'total_response_size': 'BIGINT'})
    GROUP BY domain_code, page_title
)
QUALIFY rank <= 25
ORDER BY domain_code, count_views DESC, page_title
"""


def say(text: str) -> None:
    print(text, flush=True)


def dumps(folder: Path, lines: int, hours: int) -> list[Path]:
    """The day's hourly dumps of `lines` lines each in build/bench (generated once, two at a time)."""
    from ingestion import generate

    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / generate.dump_name(DAY + dt.timedelta(hours=h)) for h in range(hours)]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        started = time.perf_counter()

        def make(path: Path) -> None:
            hour = dt.datetime.strptime(path.name, "pageviews-%Y%m%d-%H0000.gz").replace(tzinfo=dt.timezone.utc)
            part = path.with_name(path.name + ".part")
            subprocess.run([sys.executable, "-c", GENERATE, str(part), hour.isoformat(), str(lines)], cwd=ROOT, env=ENV, check=True)
            part.rename(path)

        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(make, missing))
        say(f"generated {len(missing)} hour(s) of {lines:,} lines in {time.perf_counter() - started:.0f} s ({folder})")
    return paths


def run_implementation(name: str, path: Path, out: Path) -> dict:
    env = dict(ENV)
    if name.startswith("PySpark") and "JAVA_HOME" not in env:
        env["JAVA_HOME"] = JAVA_HOME
    done = subprocess.run(
        [sys.executable, "-c", PRELUDE + IMPLEMENTATIONS[name], str(path), str(out), str(TOP)], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise RuntimeError(f"{name} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def rows(path: Path) -> list[tuple]:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    return [(r["domain_code"], r["page_title"], int(r["count_views"]), int(r["rank"])) for r in table.to_pylist()]


def floor(argv: list[str], runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - started)
    return best


def timed_command(argv: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of a command, measured by a fresh wrapper process."""
    done = subprocess.run([sys.executable, "-c", TIMED, *argv], cwd=ROOT, env=ENV, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr[-2000:]}")
    seconds, rss = done.stdout.split()
    return float(seconds), float(rss)


def bench_hour(path: Path, runs: int, spark: bool, tmp: Path) -> dict:
    names = [n for n in IMPLEMENTATIONS if spark or not n.startswith("PySpark")]
    results: dict[str, dict] = {}
    outputs: dict[str, list[tuple]] = {}
    for name in names:
        repeat = runs if name in ("this project", "DuckDB, the obvious SQL") else 1  # pandas and Spark take long: once
        best: dict | None = None
        for run in range(repeat):
            figures = run_implementation(name, path, tmp / f"{name[:6]}-{run}.parquet")
            if best is None or figures["seconds"] < best["seconds"]:
                best = figures
            outputs.setdefault(name, rows(tmp / f"{name[:6]}-{run}.parquet"))
        assert best is not None
        best["runs"] = repeat
        results[name] = best
    reference = outputs["this project"]
    for name, got in outputs.items():
        if got != reference:
            wrong = next(i for i, (a, b) in enumerate(zip(got, reference)) if a != b) if len(got) == len(reference) else None
            sys.exit(f"hour: {name} gives {len(got)} rows, this project {len(reference)}; first difference at row {wrong}: no figure counts")
    say(f"hour: every implementation gives the same {len(reference):,} rows")
    gzip_s = floor(["gzip", "-dc", str(path)], runs)
    igzip_s = floor([sys.executable, "-m", "isal.igzip", "-d", "-c", str(path)], runs)
    command_s, command_rss = timed_command(
        [sys.executable, "-m", "metrics", "--warehouse", str(tmp / "wh-hour"), "toppages", str(path), "--csv-dir", str(tmp / "csv")]
    )
    return {"rows": len(reference), "implementations": results, "gzip_s": gzip_s, "igzip_s": igzip_s, "command_s": command_s, "command_rss_mb": command_rss}


def bench_day(paths: list[Path], tmp: Path) -> dict:
    import duckdb
    import pyarrow.parquet as pq

    folder = paths[0].parent
    warehouse = tmp / "wh-day"
    seconds, rss = timed_command([sys.executable, "-m", "metrics", "--warehouse", str(warehouse), "toppages", "--daily", str(folder)])
    ours = pq.read_table(warehouse / "metrics" / "top_pages_daily" / f"dt={DAY:%Y-%m-%d}").select(["domain_code", "page_title", "count_views", "rank"])
    started = time.perf_counter()
    con = duckdb.connect()
    theirs = con.sql(DAY_SQL, params={"paths": [str(p) for p in paths]}).to_arrow_table()
    duck_s = time.perf_counter() - started
    con.close()
    mine = [(r["domain_code"], r["page_title"], r["count_views"]) for r in ours.to_pylist()]
    other = [(r["domain_code"], r["page_title"], r["count_views"]) for r in theirs.to_pylist()]
    if mine != other:
        sys.exit(f"day: metrics toppages --daily gives {len(mine)} rows, DuckDB's SQL {len(other)}: no figure counts")
    say(f"day: metrics toppages --daily and DuckDB's SQL give the same {len(mine):,} rows")
    return {"hours": len(paths), "rows": len(mine), "command_s": seconds, "command_rss_mb": rss, "duckdb_s": duck_s}


def bench_report(lines: int, tmp: Path, trino: bool) -> dict:
    """The top_articles query folder on DuckDB (and Trino) over a day loaded into wmf.pageview_hourly, beside the command."""
    from ingestion import pageviews
    from metrics.engines import open_engine
    from metrics.reports.runner import update_reports

    paths = dumps(ROOT / "build" / "bench" / f"day-{lines}", lines, 24)
    warehouse = tmp / "wh-report"
    started = time.perf_counter()
    pageviews.load(warehouse, paths)
    load_s = time.perf_counter() - started
    folder = ROOT / "reportupdater_queries" / "top_articles"
    now = DAY + dt.timedelta(days=1, hours=6)
    figures: dict = {"lines_per_hour": lines, "load_s": load_s}

    def run_folder(engine) -> tuple[float, list[tuple]]:
        started = time.perf_counter()
        summary = update_reports(folder, engine, graphite=False, now=now.replace(tzinfo=None))
        seconds = time.perf_counter() - started
        if not summary.ok:
            sys.exit("report: " + "; ".join(summary.lines()))
        got = engine.query(
            "SELECT domain_code, page_title, views, rank FROM metrics.top_articles_daily WHERE dt = DATE '2026-11-03' ORDER BY domain_code, rank"
        ).to_pylist()
        return seconds, [tuple(r.values()) for r in got]

    with open_engine(warehouse) as engine:
        figures["duckdb_s"], on_duckdb = run_folder(engine)
    from tests.metrics.toppages.test_report_folder import blacklist_of

    blacklist = tmp / "blacklist.txt"
    blacklist.write_text("".join(f"{d or chr(34) * 2} {t}\n" for d, t in sorted(blacklist_of((folder / "daily.sql").read_text()).pairs)), "utf-8")
    for source, args in (("table", ["--from", "2026-11-03", "--to", "2026-11-04"]), ("files", [str(paths[0].parent)])):
        target = warehouse if source == "table" else tmp / "wh-report-files"
        seconds, _ = timed_command([sys.executable, "-m", "metrics", "--warehouse", str(target), "toppages", "--daily", "--blacklist", str(blacklist), *args])
        figures[f"command_{source}_s"] = seconds
        import pyarrow.parquet as pq

        table = pq.read_table(target / "metrics" / "top_pages_daily" / "dt=2026-11-03").to_pylist()
        if [(r["domain_code"], r["page_title"], r["count_views"], r["rank"]) for r in table] != on_duckdb:
            sys.exit(f"report: metrics toppages --daily from the {source} differs from the query folder on DuckDB: no figure counts")
    if trino:
        from tests.services.trino import running_trino

        on_its_own = tmp / "wh-report-trino"  # the same dumps loaded again: the folder runs there from scratch
        pageviews.load(on_its_own, paths)
        started = time.perf_counter()
        with running_trino(on_its_own) as uri:
            figures["trino_start_s"] = time.perf_counter() - started
            with open_engine(on_its_own, "trino", uri) as engine:
                figures["trino_s"], on_trino = run_folder(engine)
        if on_trino != on_duckdb:
            sys.exit("report: the query folder gives other rows on Trino than on DuckDB: no figure counts")
    say(f"report: the query folder and metrics toppages --daily (table and files) give the same {len(on_duckdb):,} rows")
    return figures


def machine() -> dict:
    info = {"cpus": os.cpu_count(), "load_average": os.getloadavg()[0]}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gb"] = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return info


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=5_000_000, help="lines per generated hour")
    parser.add_argument("--runs", type=int, default=3, help="runs of the fast implementations and floors (best kept)")
    parser.add_argument("--day-hours", type=int, default=24, help="hours in benchmark 2 (0 skips it)")
    parser.add_argument("--report-lines", type=int, default=200_000, help="lines per hour in benchmark 3 (0 skips it)")
    parser.add_argument("--no-spark", action="store_true", help="leave PySpark out")
    parser.add_argument("--trino", action="store_true", help="also run benchmark 3 on a Trino started by tests/services/trino.py")
    parser.add_argument("--json", type=Path, help="write the figures to this file too")
    args = parser.parse_args()
    spark = not args.no_spark and (os.path.isdir(JAVA_HOME) or "JAVA_HOME" in os.environ or shutil.which("java") is not None)
    figures: dict = {"machine": machine(), "lines": args.lines, "top": TOP}
    paths = dumps(ROOT / "build" / "bench" / f"day-{args.lines}", args.lines, max(args.day_hours, 8))
    hour = paths[7]
    say(f"{figures['machine'].get('cpus')} CPU(s), load average {figures['machine']['load_average']:.1f}; one hour: {hour.stat().st_size / 1e6:.1f} MB gzip")
    with tempfile.TemporaryDirectory(prefix="bench_toppages.") as tmp_name:
        tmp = Path(tmp_name)
        h = figures["hour"] = bench_hour(hour, args.runs, spark, tmp)
        ours = h["implementations"]["this project"]
        say(f"{'hour, top 25 per domain':<34} {'wall s':>8} {'cpu s':>8} {'peak MB':>8} {'x ours':>8}")
        for name, f in h["implementations"].items():
            extra = f" (+ {f['start_seconds']:.1f} s session start)" if f.get("start_seconds") else ""
            say(f"{name:<34} {f['seconds']:8.3f} {f['cpu']:8.3f} {f['rss_mb']:8.0f} {f['seconds'] / ours['seconds']:8.1f}{extra}  best of {f['runs']}")
        say(f"{'gzip -dc > /dev/null':<34} {h['gzip_s']:8.3f}")
        say(f"{'python -m isal.igzip -dc (ISA-L)':<34} {h['igzip_s']:8.3f}")
        say(f"{'metrics toppages FILE (command)':<34} {h['command_s']:8.3f} {'':>8} {h['command_rss_mb']:8.0f}   start-up, table and CSV included")
        impl = h["implementations"]
        targets = [
            ("this project / gzip -dc <= 1.5", ours["seconds"] / h["gzip_s"], ours["seconds"] / h["gzip_s"] <= 1.5),
            ("peak memory < 1024 MB", ours["rss_mb"], ours["rss_mb"] < 1024),
            ("pandas / this project >= 4", impl["pandas"]["seconds"] / ours["seconds"], impl["pandas"]["seconds"] / ours["seconds"] >= 4),
            (
                "DuckDB obvious / this project > 1",
                impl["DuckDB, the obvious SQL"]["seconds"] / ours["seconds"],
                impl["DuckDB, the obvious SQL"]["seconds"] > ours["seconds"],
            ),
        ]
        if "PySpark local[2]" in impl:
            ratio = impl["PySpark local[2]"]["seconds"] / ours["seconds"]
            targets.append(("PySpark / this project >= 10", ratio, ratio >= 10))
        if args.day_hours:
            d = figures["day"] = bench_day(paths[: args.day_hours], tmp)
            say(
                f"day ({d['hours']} hours): metrics toppages --daily {d['command_s']:.1f} s, peak {d['command_rss_mb']:.0f} MB; DuckDB's SQL {d['duckdb_s']:.1f} s"
            )
            targets += [("day <= 20 s", d["command_s"], d["command_s"] <= 20), ("day peak <= 2048 MB", d["command_rss_mb"], d["command_rss_mb"] <= 2048)]
        if args.report_lines:
            r = figures["report"] = bench_report(args.report_lines, tmp, args.trino)
            say(
                f"report ({r['lines_per_hour']:,} lines an hour, 24 hours): query folder on DuckDB {r['duckdb_s']:.2f} s;"
                f" metrics toppages --daily from the table {r['command_table_s']:.2f} s, from the files {r['command_files_s']:.2f} s (commands, start-up included)"
                + (f"; on Trino {r['trino_s']:.2f} s (+ {r['trino_start_s']:.0f} s to start Trino)" if "trino_s" in r else "")
            )
        figures["targets"] = [{"target": t, "value": v, "met": ok} for t, v, ok in targets]
        for target, value, ok in targets:
            say(f"target {target:<36} {value:10.2f}  {verdict(ok)}")
    figures["machine"]["load_average_end"] = os.getloadavg()[0]
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1), "utf-8")


if __name__ == "__main__":
    main()
