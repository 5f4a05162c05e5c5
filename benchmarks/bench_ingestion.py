"""Ingestion speed and memory: one hour of pageviews, and event validation + storage.

Pageviews: one generated hour of 5 million lines (gzip, the real dump format). `gzip -dc FILE >
/dev/null` is timed, then `ingestion.pageviews.load` in a fresh subprocess (as the CLI runs it: cold
memory pool, imports done before the clock starts); both best of --runs. Peak memory is the
subprocess's own `ru_maxrss` (RUSAGE_SELF at its end; the file is generated in another subprocess,
as Linux keeps a peak RSS across fork and exec). Targets: load <= 2x gzip, peak < 1 GB.

Events: typical codemirrorusage events, the process pinned to one core (sched_setaffinity). The
full load (parse, validate, flatten, write Parquet, quarantine bookkeeping) in events per second;
then parsing + validation alone three ways: the fast path (msgspec Structs built from the
schemas), `json` + the compiled validators (fastjsonschema, the slow path), and `json` + plain
`jsonschema` (a Draft 7 validator's `iter_errors` per event, validator built once), with the
ratios against the last. Target: >= 100,000 events/s for the full load.

    .venv/bin/python benchmarks/bench_ingestion.py [--lines 5000000] [--events 200000] [--runs 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingestion import events, generate  # noqa: E402

HOUR = dt.datetime(2026, 11, 3, 7, tzinfo=dt.timezone.utc)
GENERATE = """
import sys, datetime as dt
from ingestion import generate
hour = dt.datetime(2026, 11, 3, 7, tzinfo=dt.timezone.utc)
generate.write_dump(__import__("pathlib").Path(sys.argv[1]), generate.pageview_lines(1, hour, int(sys.argv[2])))
"""
LOAD = """
import sys, time
from ingestion import pageviews
from metrics.warehouse import Warehouse
import pyarrow.compute  # imported by the loader anyway; not part of the load
started = time.perf_counter()
summary = pageviews.load(Warehouse(sys.argv[1]), [sys.argv[2]])
seconds = time.perf_counter() - started
import resource
print(seconds, summary.stored, summary.quarantined, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def bench_pageviews(folder: Path, lines: int, runs: int) -> None:
    path = folder / generate.dump_name(HOUR)
    started = time.perf_counter()
    # In a subprocess: Linux keeps a process's peak RSS across fork and exec, so the load
    # subprocesses would inherit the peak of a parent that had held the generated lines.
    subprocess.run([sys.executable, "-c", GENERATE, str(path), str(lines)], cwd=ROOT, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    print(f"generated {lines:,} lines, {path.stat().st_size / 1e6:.1f} MB gzip, in {time.perf_counter() - started:.1f} s")
    gzip_times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(f"gzip -dc '{path}' > /dev/null", shell=True, check=True)
        gzip_times.append(time.perf_counter() - started)
    load_times, peaks = [], []
    for run in range(runs):
        result = subprocess.run(
            [sys.executable, "-c", LOAD, str(folder / f"warehouse{run}"), str(path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        seconds, stored, quarantined, max_rss_kb = result.stdout.split()
        assert int(stored) == lines and int(quarantined) == 0, result.stdout
        load_times.append(float(seconds))
        peaks.append(int(max_rss_kb) / 1024)
    peak_mb = max(peaks)
    gz, load = min(gzip_times), min(load_times)
    print(f"gzip -dc > /dev/null : {gz:.3f} s (best of {runs}: {', '.join(f'{t:.3f}' for t in gzip_times)})")
    print(f"pageviews load       : {load:.3f} s (best of {runs}: {', '.join(f'{t:.3f}' for t in load_times)})")
    print(f"ratio load / gzip    : {load / gz:.2f} (target <= 2.0)  median ratio {sorted(load_times)[runs // 2] / sorted(gzip_times)[runs // 2]:.2f}")
    print(f"peak memory (load)   : {peak_mb:.0f} MB (target < 1024 MB)")


def bench_events(folder: Path, count: int, runs: int) -> None:
    import jsonschema
    import pandas  # noqa: F401 - pyarrow imports it at its first list conversion: start-up, not load

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, threads included
    day = dt.date(2026, 11, 3)
    evs: list[dict] = []
    seed = 0
    while len(evs) < count:
        evs += generate.codemirror_events(seed, day, sessions_per_day=200_000, rollout=0.5)
        seed += 1
    lines = [json.dumps(e, separators=(",", ":")).encode() for e in evs[:count]]
    del evs
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    print(f"\n{len(lines):,} codemirrorusage events, {sum(map(len, lines)) / len(lines):.0f} bytes on average, on {cores} core(s)")
    from metrics.warehouse import Warehouse

    rates = []
    for run in range(runs):
        warehouse = Warehouse(folder / f"events{run}")
        started = time.perf_counter()
        summary = events.load_lines(warehouse, "bench", "bench", lines, now=dt.datetime(2026, 11, 10, tzinfo=dt.timezone.utc))
        rates.append(len(lines) / (time.perf_counter() - started))
        assert summary.stored == len(lines), summary.line()
    print(
        f"full load (parse, validate, flatten, store): {max(rates):,.0f} events/s (best of {runs}: {', '.join(f'{r:,.0f}' for r in rates)}; target >= 100,000)"
    )

    registry = events.default_registry()

    def rate(check, sample: list[bytes]) -> float:
        started = time.perf_counter()
        for line in sample:
            check(line)
        return len(sample) / (time.perf_counter() - started)

    def compiled(line: bytes) -> None:
        event = json.loads(line)
        registry.get(event["$schema"]).validate(event)

    plain = {
        uri: jsonschema.Draft7Validator(json.loads((registry.root / (uri.lstrip("/") + ".json")).read_text()), format_checker=jsonschema.FormatChecker())
        for uri in registry.versions
    }

    def reference(line: bytes) -> None:
        event = json.loads(line)
        assert not any(True for _ in plain[event["$schema"]].iter_errors(event))

    sample = lines[: max(1, len(lines) // 5)]
    fast = rate(registry.decode, lines)
    fastjson = rate(compiled, lines)
    slow = rate(reference, sample)
    print(f"parse + validate, msgspec Structs (the fast path): {fast:,.0f} events/s")
    print(f"parse + validate, json + fastjsonschema (the slow path): {fastjson:,.0f} events/s")
    print(f"parse + validate, json + jsonschema Draft7 iter_errors: {slow:,.0f} events/s (on {len(sample):,} events)")
    print(f"ratio against plain jsonschema: full load {max(rates) / slow:.1f}x, fast path validation {fast / slow:.1f}x, fastjsonschema {fastjson / slow:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=5_000_000)
    parser.add_argument("--events", type=int, default=200_000, help="0 skips the events part")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_ingestion.") as tmp:
        bench_pageviews(Path(tmp), args.lines, args.runs)
        if args.events:
            bench_events(Path(tmp), args.events, args.runs)


if __name__ == "__main__":
    main()
