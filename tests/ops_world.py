"""A small world for the operations commands (run, status, freshness): events, query folders, runs.

The query folders are copies of the tests' own (tests/fixtures/queries/) starting on Nov 18, 2026;
the events are Reference Previews baseline events, written as the ingestion stores them (struct
columns, year/month/day/hour partitions). What each report should compute is known from them.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pyarrow as pa

from metrics.warehouse import Warehouse
from tests.conftest import QUERIES

STARTS = dt.date(2026, 11, 18)
DAYS = [STARTS + dt.timedelta(days=n) for n in range(3)]
WIKIS = ["enwiki", "dewiki"]
NOW = dt.datetime(2026, 11, 21, 12)
"""The runs' `now`: with its 3 h lag, the baseline report's last due day is Nov 20."""


def baseline_events(day: dt.date, wiki: str, clicks: int, views: int, hour: int = 5) -> pa.Table:
    """`clicks` footnote clicks and `views` pageviews of readers on `wiki`, at `hour` UTC of `day`."""
    stamp = dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.timezone.utc)
    actions = ["clickedFootnote"] * clicks + ["pageview"] * views
    n = len(actions)
    return pa.table(
        {
            "_schema": ["/analytics/legacy/referencepreviewsbaseline/1.0.0"] * n,
            "meta": [{"stream": "referencepreviewsbaseline", "id": f"{wiki}{day}{i}", "domain": "x", "dt": stamp.isoformat()} for i in range(n)],
            "wiki": [wiki] * n,
            "useragent": [{"is_bot": False}] * n,
            "event": [{"action": action, "session_token": "s"} for action in actions],
        }
    )


def load_baseline(warehouse: Warehouse, days: list[dt.date] = DAYS) -> dict[tuple[dt.date, str], int]:
    """Events of every day and wiki, at hour 5 only (so a day is never complete for `depends_on`); clicks per (day, wiki)."""
    clicks = {}
    for i, day in enumerate(days):
        for j, wiki in enumerate(WIKIS):
            clicks[(day, wiki)] = 2 + i + 3 * j
            warehouse.put_file(
                "event",
                "referencepreviewsbaseline",
                {"year": day.year, "month": day.month, "day": day.day, "hour": 5},
                wiki,
                baseline_events(day, wiki, clicks[(day, wiki)], 40),
            )
    return clicks


def copy_folder(name: str, root: Path, *, as_name: str | None = None, add: str = "") -> Path:
    """A copy of the fixture query folder `name` under `root`, starting on STARTS; `add` is appended to each report's keys."""
    folder = shutil.copytree(QUERIES / name, root / (as_name or name))
    config = folder / "config.yaml"
    text = config.read_text("utf-8").replace("2026-09-01", STARTS.isoformat()).replace("2026-11-01", STARTS.isoformat())
    if add:
        text = text.replace("    backfill: range\n", f"    backfill: range\n    {add}\n")
        assert add in text, f"{name}: no place for {add!r}"
    config.write_text(text, "utf-8")
    return folder


def wikis_of(folder: Path) -> list[str]:
    """The explode values of a folder's wikis.txt."""
    return [line.strip() for line in (folder / "wikis.txt").read_text("utf-8").splitlines() if line.strip()]
