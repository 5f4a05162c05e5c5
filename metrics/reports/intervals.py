"""Selector: which periods of a report are due, following Reportupdater's rules.

The last due period is `truncate(now_utc - lag - 1 period)`; weeks start on Sunday, months on the
1st; `starts` is truncated to its period. Intervals are half-open: `[start, start + 1 period)`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Interval:
    start: dt.date
    end: dt.date


def truncate(day: dt.date, granularity: str) -> dt.date:
    """The first day of the period holding `day`."""
    if granularity == "days":
        return day
    if granularity == "weeks":
        return day - dt.timedelta(days=day.isoweekday() % 7)  # Sunday-start weeks
    if granularity == "months":
        return day.replace(day=1)
    raise ValueError(f"unknown granularity {granularity!r}")


def shift(day: dt.date, granularity: str, periods: int = 1) -> dt.date:
    """`day` moved by whole periods (for months, `day` must be a 1st)."""
    if granularity == "days":
        return day + dt.timedelta(days=periods)
    if granularity == "weeks":
        return day + dt.timedelta(weeks=periods)
    if granularity == "months":
        index = day.year * 12 + day.month - 1 + periods
        return dt.date(index // 12, index % 12 + 1, 1)
    raise ValueError(f"unknown granularity {granularity!r}")


def last_due(now: dt.datetime, lag_seconds: int, granularity: str) -> dt.date:
    """The start of the last complete period, Reportupdater's `truncate(now - lag - 1 period)`."""
    moment = (now - dt.timedelta(seconds=lag_seconds)).date()
    return shift(truncate(moment, granularity), granularity, -1)


def due_intervals(
    starts: dt.date,
    granularity: str,
    now: dt.datetime,
    *,
    lag: int = 0,
    max_data_points: int | None = None,
    ends: dt.date | None = None,
) -> list[Interval]:
    """Every period from `starts` through the last due one (empty when `starts` is in the future)."""
    first = truncate(starts, granularity)
    last = last_due(now, lag, granularity)
    if max_data_points:
        first = max(first, shift(last, granularity, -(max_data_points - 1)))
    out = []
    day = first
    while day <= last and (ends is None or day < ends):
        out.append(Interval(day, shift(day, granularity)))
        day = shift(day, granularity)
    return out


def contiguous_runs(intervals: list[Interval]) -> list[list[Interval]]:
    """Split sorted intervals into runs without gaps (one range query per run)."""
    runs: list[list[Interval]] = []
    for interval in intervals:
        if runs and runs[-1][-1].end == interval.start:
            runs[-1].append(interval)
        else:
            runs.append([interval])
    return runs
