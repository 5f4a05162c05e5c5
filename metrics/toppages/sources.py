"""Reader: where each period's pageviews come from, dump files or the `wmf.pageview_hourly` table.

Dumps are found by name (`pageviews-YYYYMMDD-HH0000.gz`) among the files given and inside the
folders given (at any depth, as the dump site nests them by year and month). A period whose hour
has no dump, or two, fails on its own; the others still run.
"""

from __future__ import annotations

import datetime as dt
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

import pyarrow as pa

from ingestion import pageviews
from metrics.errors import MetricsError
from metrics.problems import InputError
from metrics.toppages.periods import Period
from metrics.warehouse import Warehouse

if TYPE_CHECKING:
    from metrics.engines import Engine

TABLE = f"{pageviews.SCHEMA}.{pageviews.TABLE}"
DUMP_NAME = re.compile(pageviews.NAME.pattern + r"(\.gz)?")
PAGE_SUMS = """
SELECT domain_code, page_title,
  CAST(CASE WHEN sum(CAST(count_views AS DECIMAL(38, 0))) > 9223372036854775807 THEN -1
       ELSE sum(CAST(count_views AS DECIMAL(38, 0))) END AS BIGINT) AS count_views
FROM wmf.pageview_hourly
WHERE year = :year AND month = :month AND day = :day{hour}
GROUP BY domain_code, page_title
"""


def find_dumps(paths: Iterable[Path | str]) -> dict[dt.datetime, list[Path]]:
    """The dumps among `paths` (files, and folders searched at any depth), by the hour their names give.

    A file reached twice (the same file given twice, or a folder and a file or folder inside it) counts once.
    """
    found: dict[dt.datetime, list[Path]] = {}
    seen: set[Path] = set()
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files = sorted(p for p in path.rglob("pageviews-*") if DUMP_NAME.fullmatch(p.name) and p.is_file())
        elif path.is_file():
            files = [path]
        else:
            raise InputError.at(path, "no such file or folder", "give dump files (pageviews-YYYYMMDD-HH0000.gz) or folders holding them")
        for file in files:
            real = file.resolve()
            if real not in seen:
                seen.add(real)
                found.setdefault(pageviews.hour_of(file), []).append(file)
    return found


def dumps_of(period: Period, dumps: dict[dt.datetime, list[Path]], given: str) -> list[Path]:
    """The dump of each hour of the period; `MetricsError` naming the hours without exactly one."""
    missing = [h for h in period.hours() if not dumps.get(h)]
    if missing:
        hours = ", ".join(f"{h:%H}" for h in missing) if period.grain == "day" else f"{missing[0]:%Y-%m-%dT%H}"
        raise MetricsError(
            f"no dump for {period.label}" + (f" hour(s) {hours}" if period.grain == "day" else ""),
            f"expected pageviews-{missing[0]:%Y%m%d-%H}0000.gz in {given}",
        )
    doubled = [paths for h in period.hours() if len(paths := dumps[h]) > 1]
    if doubled:
        raise InputError.at(
            doubled[0][1], f"a second dump of hour {pageviews.hour_of(doubled[0][0]):%Y-%m-%dT%H}, beside {doubled[0][0]}", "give each hour once"
        )
    return [dumps[h][0] for h in period.hours()]


class HoursFailed(MetricsError):
    """The hours of a day that cannot be ranked: a first line that counts them, then one line an hour (`YYYY-MM-DDTHH: reason`)."""

    def __init__(self, hours: list[str]):
        super().__init__(f"{len(hours)} of its 24 hours cannot be ranked\n" + "\n".join(hours))
        self.hours = hours


def failed_hours(period: Period, dumps: dict[dt.datetime, list[Path]], given: str, check: Callable[[Path], None], workers: int) -> list[str]:
    """Why each hour of the period that cannot be ranked cannot, one line an hour in order (empty when every hour can).

    An hour fails without a dump, with two, or when `check` (reading a dump to its end) raises
    `MetricsError`; the dumps are checked `workers` at a time. Called once a day has failed, so that
    it names every failed hour with its reason, not only the first one met.
    """

    def why(hour: dt.datetime) -> str:
        paths = dumps.get(hour, [])
        if not paths:
            return f"no dump (expected pageviews-{hour:%Y%m%d-%H}0000.gz in {given})"
        if len(paths) > 1:
            return f"two dumps of the hour, {paths[0]} and {paths[1]} (give each hour once)"
        try:
            check(paths[0])
        except MetricsError as exc:
            return str(exc)
        return ""

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="toppages-check") as pool:
        reasons = list(pool.map(why, period.hours()))
    return [f"{hour:%Y-%m-%dT%H}: {reason}" for hour, reason in zip(period.hours(), reasons) if reason]


def table_sums(engine: Engine, warehouse: Warehouse, period: Period) -> pa.Table:
    """Views per (domain, page) in the period from `wmf.pageview_hourly`; `MetricsError` when an hour is not loaded
    (for a day, `HoursFailed`: one line per missing hour).

    An hour whose partition is there but empty is an hour without pageviews, not a missing one. A
    page whose views sum past 2^63-1 has views `ranking.SUMMED_PAST` (-1), which the ranker refuses.
    """
    info = warehouse.info(pageviews.SCHEMA, pageviews.TABLE)
    loaded = set()
    if info is not None:
        loaded = {tuple(int(p[k]) for k in ("year", "month", "day", "hour")) for p in warehouse.partitions(info)}
    missing = [h for h in period.hours() if (h.year, h.month, h.day, h.hour) not in loaded]
    hint = "load the dumps first (metrics ingest pageviews FILE...), or give them to toppages"
    if missing and period.grain == "day":
        raise HoursFailed([f"{h:%Y-%m-%dT%H}: no partition in {TABLE} ({hint})" for h in missing])
    if missing:
        raise MetricsError(f"{TABLE} has no partition for {missing[0]:%Y-%m-%dT%H}", hint)
    start = period.start
    params = {"year": start.year, "month": start.month, "day": start.day}
    if period.grain == "hour":
        params["hour"] = start.hour
    return engine.query(PAGE_SUMS.format(hour=" AND hour = :hour" if period.grain == "hour" else ""), params)
