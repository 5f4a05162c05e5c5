"""Periods: the hours (or days) of a range, each ranked on its own.

A range is half-open, `[start, end)`, in UTC hours: `--from 2026-01-01T00 --to 2026-01-02T00` is
the 24 hours of 1 January. A day is the 24 hours from its midnight (UTC, as the dumps are named).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from metrics.errors import Location, UsageError

UTC = dt.timezone.utc
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
Grain = Literal["hour", "day"]
_TEXT = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2})(?::00(?::00)?)?Z?)?")


@dataclass(frozen=True, order=True)
class Period:
    """One hour or one day to rank, from `start` (UTC)."""

    start: dt.datetime
    grain: Grain

    @property
    def end(self) -> dt.datetime:
        return self.start + (HOUR if self.grain == "hour" else DAY)

    @property
    def label(self) -> str:
        """`2026-01-01T05` for an hour, `2026-01-01` for a day."""
        return f"{self.start:%Y-%m-%dT%H}" if self.grain == "hour" else f"{self.start:%Y-%m-%d}"

    def hours(self) -> list[dt.datetime]:
        """The hours the period covers: itself, or the 24 of its day."""
        return [self.start] if self.grain == "hour" else [self.start + i * HOUR for i in range(24)]


def parse_hour(text: str, option: str) -> dt.datetime:
    """`2026-01-01T05` (or `2026-01-01T05:00`, or a day `2026-01-01` = its midnight) as a UTC hour."""
    match = _TEXT.fullmatch(text.strip())
    if not match:
        raise UsageError(f"{text!r} is not an hour", "write YYYY-MM-DDTHH (UTC), e.g. 2026-01-01T00, or a day YYYY-MM-DD", Location(option))
    year, month, day, hour = (int(g) if g else 0 for g in match.groups())
    try:
        return dt.datetime(year, month, day, hour, tzinfo=UTC)
    except ValueError as exc:
        raise UsageError(f"{text!r} is not an hour: {exc}", "write YYYY-MM-DDTHH (UTC), e.g. 2026-01-01T00", Location(option)) from None


def periods(start: dt.datetime, end: dt.datetime, grain: Grain) -> list[Period]:
    """Every hour, or every day, of `[start, end)`; both ends on the hour, and for days at midnight.

    Raises `UsageError` for an empty range, an end not on the hour, or a day not at midnight.
    """
    for moment, option in ((start, "--from"), (end, "--to")):
        if moment.minute or moment.second or moment.microsecond:
            raise UsageError(f"{option} is {moment.isoformat()}, not on the hour", "give a whole hour (minutes, seconds at 0)", Location(option))
    if end <= start:
        raise UsageError(
            f"the range {start:%Y-%m-%dT%H} to {end:%Y-%m-%dT%H} is empty", "--to is the first hour after the range: give a later one", Location("--to")
        )
    if grain == "hour":
        return [Period(start + i * HOUR, "hour") for i in range((end - start) // HOUR)]
    for moment, option in ((start, "--from"), (end, "--to")):
        if moment.hour:
            raise UsageError(
                f"--daily ranks whole days, but {option} is {moment:%Y-%m-%dT%H}",
                f"give {option} as a day (YYYY-MM-DD) or its midnight (THH = T00)",
                Location(option),
            )
    return [Period(start + i * DAY, "day") for i in range((end - start) // DAY)]


def covering(hours: list[dt.datetime], grain: Grain) -> tuple[dt.datetime, dt.datetime]:
    """The smallest range of whole periods holding every hour given (for files given without --from/--to)."""
    first, last = min(hours), max(hours)
    if grain == "day":
        first = first.replace(hour=0)
        return first, last.replace(hour=0) + DAY
    return first, last + HOUR
