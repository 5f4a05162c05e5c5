"""Selector: which intervals of each report and explode combination are due, and in what order they run.

Due periods follow Reportupdater (`metrics.reports.intervals`); an interval is done when the
run log says its latest run was `ok`, and dates of a pending rerun are never done. Unlike
Reportupdater, the state is the run log, not the TSV file.

A report that declares `depends_on: [schema.table, ...]` computes an interval only once each of
those tables has its partitions for every day of it (`Sources`); until then the interval is
waiting: recorded as such, not done, and looked at again by the next run. Without `depends_on`,
Reportupdater's rule alone decides (a complete period, after `lag`).
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Mapping, Sequence

from sqlglot import exp

from metrics.engines import Engine
from metrics.reports import reruns as reruns_mod
from metrics.reports.config import Report
from metrics.reports.intervals import Interval, contiguous_runs, due_intervals
from metrics.reports.store import Store, explode_key
from metrics.warehouse import Warehouse

Planned = list[tuple[dict[str, str], list[Interval]]]
"""Per explode combination (placeholders in name order), its missing intervals in date order."""


@dataclass
class Unit:
    """One execution: a report over one interval, or one contiguous range (`backfill: range`), of one combination."""

    report: Report
    explode: dict[str, str]
    intervals: list[Interval]
    key: str = ""
    """The combination's `explode_key` (made from `explode` when not given)."""

    def __post_init__(self) -> None:
        self.key = self.key or explode_key(self.explode)


def explode_combinations(explode_by: Mapping[str, list[str]]) -> list[dict[str, str]]:
    """The cartesian product of explode values, placeholders in name order."""
    keys = sorted(explode_by)
    return [dict(zip(keys, values)) for values in itertools.product(*(explode_by[k] for k in keys))]


@dataclass
class Selection:
    """One report's missing intervals: those to compute, and those whose sources are not there yet."""

    todo: Planned
    waiting: Planned
    logged_waiting: dict[str, set[dt.date]]
    """Per explode key, the waiting intervals whose latest run-log entry already says so (not logged again)."""


class Sources:
    """Which days the tables that reports depend on have, read from their partition folders once per run.

    A day is there when the table has its partition: `dt=DAY`, or `year/month/day=DAY`, and with
    an `hour` key its last hour, `hour=23` (data lands in order: the day is complete). A table
    missing from the warehouse has no day; one with another layout (or none) counts as complete.
    In `write_mode: sql` a table the engine manages (a report's, written through it) has the days
    of its `dt` column.
    """

    def __init__(self, warehouse: Warehouse, engine: Engine | None = None):
        self.warehouse = warehouse
        self.engine = engine
        self._days: dict[str, set[dt.date] | None] = {}

    def days(self, table: str) -> set[dt.date] | None:
        """The days `table` has (None: every day, as far as can be told)."""
        if table not in self._days:
            self._days[table] = self._read(table)
        return self._days[table]

    def _read(self, table: str) -> set[dt.date] | None:
        schema, name = table.split(".", 1)
        info = self.warehouse.info(schema, name)
        if info is None:
            return self._managed(schema, name)
        keys = list(info.partition_by)
        if keys == ["dt"]:
            return {dt.date.fromisoformat(p["dt"]) for p in self.warehouse.partitions(info)}
        if keys[:3] != ["year", "month", "day"]:
            return None
        days = set()
        for p in self.warehouse.partitions(info):
            if "hour" in keys and p["hour"] != "23":
                continue
            try:
                days.add(dt.date(int(p["year"]), int(p["month"]), int(p["day"])))
            except ValueError:
                continue  # not a date: not a day of the table
        return days

    def _managed(self, schema: str, name: str) -> set[dt.date] | None:
        """The days of a table the engine itself writes (`write_mode: sql`), from its `dt` column; none when it has no such table."""
        if self.engine is None or self.engine.write_mode != "sql":
            return set()
        columns = self.engine.columns(schema, name)
        if not columns:
            return set()
        if "dt" not in columns:
            return None
        query = exp.select(exp.column("dt", quoted=True)).distinct().from_(exp.table_(name, db=schema, quoted=True))
        return set(self.engine.query(query.sql(self.engine.dialect), dialect=self.engine.dialect).column(0).to_pylist())

    def lacking(self, tables: Sequence[str], intervals: Sequence[Interval]) -> set[str]:
        """The tables that hold back some of `intervals`, each with why (`not in the warehouse`, or how many days it lacks)."""
        out = set()
        for table in tables:
            days = self.days(table)
            if days is None:
                continue
            missing = {i.start + dt.timedelta(days=n) for i in intervals for n in range((i.end - i.start).days)} - days
            if not days:
                out.add(f"{table}: not in the warehouse")
            elif missing:
                out.add(f"{table}: {len(missing)} day(s) missing")
        return out

    def ready(self, tables: Sequence[str], interval: Interval) -> bool:
        """Whether every table has every day of the interval."""
        span = [interval.start + dt.timedelta(days=n) for n in range((interval.end - interval.start).days)]
        for table in tables:
            days = self.days(table)
            if days is not None and not all(day in days for day in span):
                return False
        return True


def plan(
    report: Report,
    store: Store,
    now: dt.datetime,
    pending: Sequence[reruns_mod.Rerun],
    sources: Sources | None = None,
    only: Mapping[str, set[dt.date]] | None = None,
) -> Selection:
    """The missing intervals per explode combination (done = latest run-log status ok), split into
    those to compute and those waiting for the tables of `depends_on` (given `sources`).

    With `only` (explode key -> interval starts: a backfill, `metrics.reports.stale`), exactly
    those due intervals are selected, done or not, and no other.
    """
    intervals = due_intervals(report.starts, report.granularity, now, lag=report.lag, max_data_points=report.max_data_points, ends=report.ends)
    done = store.done(report.folder_name, report.key) if only is None else {}
    if report.snapshot:
        # A snapshot measures the present only: never compute a past interval.
        intervals = intervals[-1:]
    ready = {i: sources.ready(report.depends_on, i) for i in intervals} if report.depends_on and sources is not None else None
    selection = Selection([], [], {})
    for combo in explode_combinations(report.explode_by):
        key = explode_key(combo)
        status = done.get(key, {})
        if only is not None:
            missing = [i for i in intervals if i.start in only.get(key, ())]
        else:
            missing = [i for i in intervals if status.get(i.start) != "ok" or any(r.covers(report.key, i.start) for r in pending)]
        todo = [i for i in missing if ready is None or ready[i]]
        waiting = [i for i in missing if ready is not None and not ready[i]]
        if todo:
            selection.todo.append((combo, todo))
        if waiting:
            selection.waiting.append((combo, waiting))
            selection.logged_waiting[key] = {i.start for i in waiting if status.get(i.start) == "waiting"}
    return selection


def units(report: Report, planned: Planned) -> list[Unit]:
    """The executions of one report, in the order they run and are written.

    A `backfill: range` report runs one query per contiguous gap and combination. Otherwise each
    combination's intervals stay in date order, and the longer of the two dimensions is the
    outer loop: with more combinations than dates, combination by combination; else date by
    date across combinations. Then a batch of the writer touches few `dt` partitions and few
    TSV files, whichever the shape (300 wikis x 28 days, or 30 wikis x 332 days).
    """
    keys = [explode_key(combo) for combo, _ in planned]
    if report.backfill == "range":
        return [Unit(report, combo, batch, key) for (combo, todo), key in zip(planned, keys) for batch in contiguous_runs(todo)]
    dates = {i.start for _, todo in planned for i in todo}
    if len(planned) >= len(dates):
        return [Unit(report, combo, [interval], key) for (combo, todo), key in zip(planned, keys) for interval in todo]
    by_date: dict[dt.date, list[Unit]] = {}
    for (combo, todo), key in zip(planned, keys):
        for interval in todo:
            by_date.setdefault(interval.start, []).append(Unit(report, combo, [interval], key))
    return [unit for day in sorted(by_date) for unit in by_date[day]]
