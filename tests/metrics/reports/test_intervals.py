"""Reportupdater's interval rules."""

from __future__ import annotations

import datetime as dt

from metrics.reports.intervals import Interval, contiguous_runs, due_intervals, last_due, shift, truncate

D = dt.date
NOW = dt.datetime(2026, 11, 23, 10, 0)  # a Monday


def test_truncate_weeks_start_on_sunday_and_months_on_the_first() -> None:
    assert truncate(D(2026, 11, 23), "weeks") == D(2026, 11, 22)  # Monday -> Sunday before
    assert truncate(D(2026, 11, 22), "weeks") == D(2026, 11, 22)  # Sunday stays
    assert truncate(D(2026, 11, 28), "weeks") == D(2026, 11, 22)  # Saturday
    assert truncate(D(2026, 11, 23), "months") == D(2026, 11, 1)
    assert shift(D(2026, 12, 1), "months") == D(2027, 1, 1)
    assert shift(D(2026, 1, 1), "months", -2) == D(2025, 11, 1)


def test_last_due_is_the_last_complete_period() -> None:
    assert last_due(NOW, 0, "days") == D(2026, 11, 22)
    assert last_due(NOW, 0, "weeks") == D(2026, 11, 15)  # the week of Nov 22 is not complete
    assert last_due(NOW, 0, "months") == D(2026, 10, 1)
    assert last_due(NOW, 11 * 3600, "days") == D(2026, 11, 21)  # lag pushes back over midnight
    assert last_due(dt.datetime(2026, 11, 22, 0, 30), 3600, "weeks") == D(2026, 11, 8)


def test_due_intervals_from_truncated_starts() -> None:
    weeks = due_intervals(D(2026, 10, 28), "weeks", NOW)  # a Wednesday: truncated to Sunday Oct 25
    assert weeks == [
        Interval(D(2026, 10, 25), D(2026, 11, 1)),
        Interval(D(2026, 11, 1), D(2026, 11, 8)),
        Interval(D(2026, 11, 8), D(2026, 11, 15)),
        Interval(D(2026, 11, 15), D(2026, 11, 22)),
    ]
    months = due_intervals(D(2026, 8, 17), "months", NOW)
    assert [i.start for i in months] == [D(2026, 8, 1), D(2026, 9, 1), D(2026, 10, 1)]
    assert months[-1].end == D(2026, 11, 1)


def test_max_data_points_ends_and_future_starts() -> None:
    days = due_intervals(D(2020, 1, 1), "days", NOW, max_data_points=3)
    assert [i.start for i in days] == [D(2026, 11, 20), D(2026, 11, 21), D(2026, 11, 22)]
    assert [i.start for i in due_intervals(D(2026, 11, 18), "days", NOW, ends=D(2026, 11, 20))] == [D(2026, 11, 18), D(2026, 11, 19)]
    assert due_intervals(D(2026, 12, 1), "days", NOW) == []


def test_contiguous_runs() -> None:
    days = due_intervals(D(2026, 11, 1), "days", NOW)
    runs = contiguous_runs(days[:3] + days[5:7] + days[9:10])
    assert [[i.start.day for i in run] for run in runs] == [[1, 2, 3], [6, 7], [10]]
