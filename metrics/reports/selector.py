"""Selector: which intervals of each report and explode combination are due, and in what order they run.

Due periods follow Reportupdater (`metrics.reports.intervals`); an interval is done when the
run log says its latest run was `ok`, and dates of a pending rerun are never done. Unlike
Reportupdater, the state is the run log, not the TSV file.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Mapping, Sequence

from metrics.reports import reruns as reruns_mod
from metrics.reports.config import Report
from metrics.reports.intervals import Interval, contiguous_runs, due_intervals
from metrics.reports.store import Store, explode_key

Planned = list[tuple[dict[str, str], list[Interval]]]
"""Per explode combination (placeholders in name order), its missing intervals in date order."""


@dataclass
class Unit:
    """One execution: a report over one interval, or one contiguous range (`backfill: range`), of one combination."""

    report: Report
    explode: dict[str, str]
    intervals: list[Interval]


def explode_combinations(explode_by: Mapping[str, list[str]]) -> list[dict[str, str]]:
    """The cartesian product of explode values, placeholders in name order."""
    keys = sorted(explode_by)
    return [dict(zip(keys, values)) for values in itertools.product(*(explode_by[k] for k in keys))]


def plan(report: Report, store: Store, now: dt.datetime, pending: Sequence[reruns_mod.Rerun]) -> Planned:
    """The missing intervals per explode combination (done = latest run-log status ok)."""
    intervals = due_intervals(report.starts, report.granularity, now, lag=report.lag, max_data_points=report.max_data_points, ends=report.ends)
    done = store.done(report.folder.name, report.key)
    out = []
    for combo in explode_combinations(report.explode_by):
        status = done.get(explode_key(combo), {})
        todo = [i for i in intervals if status.get(i.start) != "ok" or any(r.covers(report.key, i.start) for r in pending)]
        if report.snapshot:
            # A snapshot measures the present only: never compute a past interval.
            todo = [i for i in todo if intervals and i == intervals[-1]]
        if todo:
            out.append((combo, todo))
    return out


def units(report: Report, planned: Planned) -> list[Unit]:
    """The executions of one report, in the order they run and are written.

    A `backfill: range` report runs one query per contiguous gap and combination. Otherwise each
    combination's intervals stay in date order, and the longer of the two dimensions is the
    outer loop: with more combinations than dates, combination by combination; else date by
    date across combinations. Then a batch of the writer touches few `dt` partitions and few
    TSV files, whichever the shape (300 wikis x 28 days, or 30 wikis x 332 days).
    """
    if report.backfill == "range":
        return [Unit(report, combo, batch) for combo, todo in planned for batch in contiguous_runs(todo)]
    dates = {i.start for _, todo in planned for i in todo}
    if len(planned) >= len(dates):
        return [Unit(report, combo, [interval]) for combo, todo in planned for interval in todo]
    by_date: dict[dt.date, list[Unit]] = {}
    for combo, todo in planned:
        for interval in todo:
            by_date.setdefault(interval.start, []).append(Unit(report, combo, [interval]))
    return [unit for day in sorted(by_date) for unit in by_date[day]]
