"""Two loads of the same pageview hour at once (two `metrics ingest pageviews` processes): both
finish, and the hour holds the dump's rows once, with no staging folder left."""

from __future__ import annotations

import datetime as dt
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from ingestion import generate
from tests.kills import environment, leftovers, metrics_command, table_rows
from tests.reliability import record, scale

pytestmark = pytest.mark.reliability

HOUR = dt.datetime(2026, 11, 3, 7, tzinfo=dt.timezone.utc)


def test_two_loads_of_one_hour_at_once_both_finish_and_store_it_once(tmp_path: Path) -> None:
    trials = scale(3, 10)
    lines = generate.pageview_lines(3, HOUR, 30_000)
    dump = generate.write_dump(tmp_path / generate.dump_name(HOUR), lines)
    # the same hour under another name and folder: a copy made by another job
    (tmp_path / "copy").mkdir()
    copy = Path(generate.write_dump(tmp_path / "copy" / generate.dump_name(HOUR), lines))
    warehouse = tmp_path / "wh"
    env = environment(tmp_path)
    failed = tracebacks = losses = duplicates = 0
    notes = []
    for trial in range(trials):
        procs = [
            subprocess.Popen(
                metrics_command(warehouse, "ingest", "pageviews", str(path)), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
            )
            for path in (dump, copy)
        ]
        for proc in procs:
            _, err = proc.communicate(timeout=300)
            failed += proc.returncode != 0
            tracebacks += "Traceback" in err or "FileNotFoundError" in err or "error:" in err
            if proc.returncode:
                notes.append(f"trial {trial}: exit {proc.returncode}: {err.strip()[-300:]}")
        rows = table_rows(warehouse, "wmf", "pageview_hourly")
        expected = Counter(
            (
                ("count_views", int(v)),
                ("day", "3"),
                ("domain_code", d),
                ("hour", "7"),
                ("month", "11"),
                ("page_title", t),
                ("total_response_size", int(s)),
                ("year", "2026"),
            )
            for d, t, v, s in (_fields(line) for line in lines)
        )
        losses += sum((expected - rows).values())
        duplicates += sum((rows - expected).values()) + len(leftovers(warehouse))
    record(
        "concurrency",
        "one-pageview-hour-twice",
        trials=trials,
        losses=losses + failed,
        duplicates=duplicates,
        tracebacks=tracebacks,
        detail=f"two `metrics ingest pageviews` of the same hour ({len(lines)} lines) started together, {trials} time(s) (the first into an empty "
        "warehouse); both exit 0 and the hour holds each line once (a failed load counts as a loss, a leftover staging folder as a duplicate)",
    )
    assert notes == [] and (failed, tracebacks, losses, duplicates) == (0, 0, 0, 0)


def _fields(line: str) -> tuple[str, str, str, str]:
    from ingestion.pageviews import parse_line

    domain, title, views, size = parse_line(line)
    return domain, title, str(views), str(size)
