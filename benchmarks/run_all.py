"""`make bench`: every benchmark of benchmarks/ in one run, written side by side into benchmarks/RESULTS.md.

Each script runs as a subprocess, one after the other (the machine has 2 cores: two benchmarks at
once would measure each other), at the sizes given below: the top pages benchmark at its full size
(5 million lines an hour, 24 hours), the others at their quick sizes. What each prints is kept
verbatim; the top pages figures are also laid out as tables with their ratios and targets.
RESULTS.md starts with the machine (CPU, cores, memory, load average before and after), the
date and the commit, since every figure depends on them.

    .venv/bin/python benchmarks/run_all.py [--trino] [--no-spark] [--out benchmarks/RESULTS.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

QUICK = [
    (
        "Runner: script reports against the serial floor, a SQL report per interval, by range and grouped",
        ["bench_runner.py", "--scripts", "10x60,60x10", "--sql", "20x30"],
    ),
    ("Ingestion: one pageview hour against gzip -dc, events per second", ["bench_ingestion.py", "--runs", "2", "--events", "50000"]),
    ("The hive command of script reports: cost of one call", ["bench_hive_cli.py", "--calls", "5", "--tables", "10", "--partitions", "20"]),
]


def run(argv: list[str]) -> tuple[str, float, int]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    seconds = time.perf_counter() - started
    output = done.stdout + (f"\n(stderr)\n{done.stderr[-3000:]}" if done.returncode else "")
    print(done.stdout, end="", flush=True)
    if done.returncode:
        print(done.stderr[-3000:], file=sys.stderr)
    return output.rstrip(), seconds, done.returncode


def machine_lines(load_before: float) -> list[str]:
    cpu, memory = "?", "?"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name"))
        kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
        memory = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration):
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip() or "?"
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return [
        f"- date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- commit: {commit}" + (" (with uncommitted changes)" if dirty else ""),
        f"- machine: {cpu}, {os.cpu_count()} CPU(s), {memory}, {platform.system()} {platform.release()}, Python {platform.python_version()}",
        f"- load average at the start: {load_before:.2f}, at the end: {os.getloadavg()[0]:.2f} (the machine is shared: other work ran beside this one)",
    ]


def toppages_tables(figures: dict) -> list[str]:
    hour = figures["hour"]
    ours = hour["implementations"]["this project"]
    out = [
        f"### 1. One hour: {figures['lines']:,} lines, top {figures['top']} per domain ({hour['rows']:,} rows, equal for every implementation)",
        "",
        "| implementation | wall s | CPU s | peak MB | wall / this project | runs (best kept) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, f in hour["implementations"].items():
        start = f" (+ {f['start_seconds']:.1f} s session start; CPU with the JVM's, start included)" if f.get("start_seconds") else ""
        out.append(f"| {name}{start} | {f['seconds']:.3f} | {f['cpu']:.3f} | {f['rss_mb']:.0f} | {f['seconds'] / ours['seconds']:.1f} | {f['runs']} |")
    out += [
        f"| `gzip -dc > /dev/null` (the floor) | {hour['gzip_s']:.3f} | | | {hour['gzip_s'] / ours['seconds']:.2f} | best |",
        f"| `python -m isal.igzip -dc` (ISA-L, the decompressor used) | {hour['igzip_s']:.3f} | | | {hour['igzip_s'] / ours['seconds']:.2f} | best |",
        f"| `metrics toppages FILE --csv-dir` (the command: start-up, table, CSV) | {hour['command_s']:.3f} | | {hour['command_rss_mb']:.0f} | {hour['command_s'] / ours['seconds']:.1f} | 1 |",
        "",
    ]
    if "day" in figures:
        day = figures["day"]
        out += [
            f"### 2. One day: {day['hours']} such hours ({day['rows']:,} rows, equal to DuckDB's SQL over the same files)",
            "",
            "| implementation | wall s | peak MB |",
            "| --- | ---: | ---: |",
            f"| `metrics toppages --daily DIR` (the command) | {day['command_s']:.1f} | {day['command_rss_mb']:.0f} |",
            f"| DuckDB SQL over the 24 files (read_csv, GROUP BY, row_number) | {day['duckdb_s']:.1f} | |",
            "",
        ]
    if "report" in figures:
        r = figures["report"]
        out += [
            f"### 3. The daily report as a query folder (`top_articles`), 24 hours of {r['lines_per_hour']:,} lines loaded into `wmf.pageview_hourly` (rows equal everywhere)",
            "",
            "| run | wall s |",
            "| --- | ---: |",
            f"| loading the 24 dumps (`metrics ingest pageviews`, in process) | {r['load_s']:.2f} |",
            f"| `metrics update-reports reportupdater_queries/top_articles` on DuckDB (in process) | {r['duckdb_s']:.2f} |",
            f"| `metrics toppages --daily` from the table (the command) | {r['command_table_s']:.2f} |",
            f"| `metrics toppages --daily` from the files (the command) | {r['command_files_s']:.2f} |",
        ]
        if "trino_s" in r:
            out.append(f"| the query folder on Trino (start-up {r['trino_start_s']:.0f} s not included) | {r['trino_s']:.2f} |")
        else:
            out.append("| the query folder on Trino | not run (`make bench BENCH_ARGS=--trino`) |")
        out.append("")
    out += ["### Targets", "", "| target | measured | |", "| --- | ---: | --- |"]
    out += [f"| {t['target']} | {t['value']:.2f} | {'met' if t['met'] else '**not met**'} |" for t in figures["targets"]]
    return out + [""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trino", action="store_true", help="also run the top_articles report on a Trino (started by tests/services/trino.py)")
    parser.add_argument("--no-spark", action="store_true", help="leave PySpark out of the top pages benchmark")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    sections: list[str] = []
    failed = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "toppages.json"
        argv = ["benchmarks/bench_toppages.py", "--json", str(data)] + (["--trino"] if args.trino else []) + (["--no-spark"] if args.no_spark else [])
        output, seconds, code = run(argv)
        sections += ["## Top pages per wiki (`benchmarks/bench_toppages.py`)", ""]
        if code == 0 and data.is_file():
            sections += toppages_tables(json.loads(data.read_text()))
        else:
            failed.append("bench_toppages.py")
        sections += [
            f"What it printed ({seconds:.0f} s, `{' '.join(argv[:1] + [a for a in argv[1:] if a != str(data) and a != '--json'])}`):",
            "",
            "```",
            output,
            "```",
            "",
        ]
        for title, script in QUICK:
            output, seconds, code = run(["benchmarks/" + script[0], *script[1:]])
            if code:
                failed.append(script[0])
            sections += [f"## {title} (`benchmarks/{script[0]}`)", "", f"`{' '.join(script)}`, {seconds:.0f} s:", "", "```", output, "```", ""]
    head = ["# Benchmark results", "", "Written by `make bench` (`benchmarks/run_all.py`); every figure below comes from the same run.", ""]
    text = "\n".join(head + machine_lines(load_before) + [""] + sections)
    args.out.write_text(text, "utf-8")
    print(f"wrote {args.out}" + (f"; failed: {', '.join(failed)}" if failed else ""))
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
