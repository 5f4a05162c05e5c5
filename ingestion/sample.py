"""`metrics ingest sample`: generate every raw source for a date range and load it all (what the demo runs)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Callable

from ingestion import events, generate, pageviews, tabular
from ingestion.serve import serve_world_bank
from ingestion.summary import LoadSummary
from metrics.warehouse import Warehouse

Say = Callable[[str], None]


def generate_files(
    out: Path,
    seed: int,
    start: dt.date,
    days: int,
    *,
    pageview_lines: int = 1500,
    sessions_per_day: int = 12000,
    pageviews_per_day: int = 3000,
    say: Say = lambda _: None,
) -> dict[str, list[Path]]:
    """Write the sample files under `out`: events/, pageviews/ and external/ (same files for the same seed)."""
    files: dict[str, list[Path]] = {"events": [], "pageviews": [], "csv": []}
    for index, day in enumerate(generate.days(start, days)):
        rollout = min(0.95, 0.2 + 0.75 * index / max(1, days - 1))  # schema 1.1.0 rolls out over the range
        files["events"].append(
            generate.write_events(
                out / "events" / f"codemirrorusage.{day}.json", generate.codemirror_events(seed, day, sessions_per_day=sessions_per_day, rollout=rollout)
            )
        )
        files["events"].append(
            generate.write_events(
                out / "events" / f"referencepreviewsbaseline.{day}.json", generate.reference_previews_events(seed, day, pageviews_per_day=pageviews_per_day)
            )
        )
    say(f"wrote {len(files['events'])} event files to {out / 'events'}")
    first = dt.datetime.combine(start, dt.time(), dt.timezone.utc)
    files["pageviews"] = generate.pageview_dumps(seed, out / "pageviews", first, 24 * days, pageview_lines)
    say(f"wrote {len(files['pageviews'])} hourly pageview dumps to {out / 'pageviews'}")
    files["csv"] = [generate.editors_csv(seed, out / "external" / "editors_by_country.csv")]
    say(f"wrote {files['csv'][0]}")
    return files


def generate_and_load(
    warehouse: Warehouse | Path | str,
    out: Path,
    seed: int,
    start: dt.date,
    days: int,
    *,
    pageview_lines: int = 1500,
    say: Say = lambda _: None,
    now: dt.datetime | None = None,
) -> list[LoadSummary]:
    """Generate the sample files, load them, and load the indicators from a local World Bank style API."""
    warehouse = warehouse if isinstance(warehouse, Warehouse) else Warehouse(warehouse)
    files = generate_files(Path(out), seed, start, days, pageview_lines=pageview_lines, say=say)
    summaries = [
        events.load(warehouse, files["events"], now=now),
        pageviews.load(warehouse, files["pageviews"]),
        tabular.load_csv(warehouse, files["csv"][0], "external.editors_by_country", "country:varchar,year:bigint,active_editors:bigint", ["year"]),
    ]
    with serve_world_bank(generate.world_bank_records(seed)) as url:
        say(f"serving World Bank style indicators at {url}")
        summaries.append(tabular.load_world_bank(warehouse, url, list(generate.INDICATORS), per_page=500))
    return summaries
