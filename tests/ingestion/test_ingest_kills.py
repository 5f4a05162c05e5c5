"""A SIGKILL loop over `metrics ingest`: loads of pageview dumps and event files killed at seeded
random moments, then run to completion, leave every table (data and quarantine) as an
uninterrupted load does, and no staging folder or temporary file."""

from __future__ import annotations

import datetime as dt
import random
import shutil
from pathlib import Path

import pytest

from ingestion import generate
from tests.kills import difference, environment, leftovers, metrics_command, run_and_kill, table_rows
from tests.reliability import record, scale

pytestmark = pytest.mark.reliability

HOURS = [dt.datetime(2026, 11, 3, h, tzinfo=dt.timezone.utc) for h in range(3)]
TABLES = [
    ("wmf", "pageview_hourly", ()),
    ("event", "codemirrorusage", ()),
    ("quarantine", "pageviews", ("loaded_at", "dt")),
    ("quarantine", "events", ("loaded_at", "dt")),
]


def inputs(folder: Path) -> list[list[str]]:
    """The files of the two loads: three hourly dumps (one with a bad line: read again line by line), two days of events (with bad lines)."""
    dumps = []
    for i, hour in enumerate(HOURS):
        lines = generate.pageview_lines(i, hour, 20_000) + (["en Broken_line x 1"] if i == 1 else [])
        dumps.append(str(generate.write_dump(folder / generate.dump_name(hour), lines)))
    events = []
    for i, day in enumerate([dt.date(2026, 11, 3), dt.date(2026, 11, 4)]):
        path = generate.write_events(folder / f"codemirror-{day}.json", generate.codemirror_events(i, day, sessions_per_day=15_000))
        if i == 0:
            with path.open("a") as out:
                out.write("\n".join(generate.bad_event_lines().values()) + "\n")
        events.append(str(path))
    return [["ingest", "pageviews", *dumps], ["ingest", "events", *events]]


def tables(warehouse: Path) -> dict[str, object]:
    return {f"{schema}.{table}": table_rows(warehouse, schema, table, drop) for schema, table, drop in TABLES}


def test_ingest_killed_again_and_again_ends_as_an_uninterrupted_load(tmp_path: Path) -> None:
    kills = scale(3, 25)
    loads = inputs(tmp_path / "raw")
    env = environment(tmp_path)

    def run(warehouse: Path, load: list[str], delay: float | None):
        return run_and_kill(metrics_command(warehouse, *load), delay=delay, env=env, log=tmp_path / "err.txt")

    seconds = []
    for load in loads:
        whole = run(tmp_path / "whole", load, None)
        assert whole.returncode == 0, whole.stderr
        seconds.append(whole.seconds)
    reference = tables(tmp_path / "whole")
    assert all(reference.values())
    rng = random.Random(19)
    killed = chains = losses = duplicates = tracebacks = 0
    notes = []
    while killed < kills:
        chains += 1
        warehouse = tmp_path / f"chain-{chains}"
        for _ in range(5 if kills > 3 else kills):
            which = rng.randrange(len(loads))
            outcome = run(warehouse, loads[which], rng.uniform(0, seconds[which]))
            tracebacks += outcome.traceback
            killed += outcome.killed
        for load in loads:
            final = run(warehouse, load, None)
            tracebacks += final.traceback
            assert final.returncode == 0, final.stderr
        got = tables(warehouse)
        for name, rows in reference.items():
            lost, extra = difference(rows, got[name])  # type: ignore[arg-type]
            losses, duplicates = losses + lost, duplicates + extra
            if lost or extra:
                notes.append(f"chain {chains}: {name}: {lost} row(s) lost, {extra} extra")
        stale = leftovers(warehouse)
        duplicates += len(stale)
        notes += [f"chain {chains}: left behind {p.relative_to(warehouse)}" for p in stale[:3]]
        shutil.rmtree(warehouse)
    rows = sum(sum(t.values()) for t in reference.values())  # type: ignore[attr-defined]
    record(
        "kills",
        "ingest",
        trials=killed,
        losses=losses,
        duplicates=duplicates,
        tracebacks=tracebacks,
        detail=f"SIGKILL at random moments of `metrics ingest pageviews` (3 dumps of 20,000 lines, one read again line by line) and `ingest events` "
        f"(2 days, with bad lines), {chains} chain(s) each ended by loads to completion; {rows} rows of 4 tables compared with an uninterrupted "
        "load (a staging folder or temporary file left behind counts as a duplicate)",
    )
    assert notes == [] and (losses, duplicates, tracebacks) == (0, 0, 0)
