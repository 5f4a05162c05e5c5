"""The ranges that dates and numbers in specs, configs and options must fall in.

A value outside them is refused where it is written (`metrics validate`, and the same reader at
run time), because past them the runner fails or misbehaves far from the cause: a `starts` in
year 999 writes a TSV date `999-12-30` that no later run can read back; `0001-01-01` plans two
thousand years of intervals without a word; `lag: 10**30` overflows the date arithmetic.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

FIRST_DAY = dt.date(1970, 1, 1)
"""The earliest date a spec or config may name: the Unix epoch, before any data this service reads."""
END_DAY = dt.date(2100, 1, 1)
"""The first date a spec or config may not name (exclusive bound): far past any sunset or backfill."""
MAX_LAG_SECONDS = 100_000_000
"""A report's `lag` at most: about 3 years in seconds (Reportupdater's lags are hours or days)."""
MAX_DATA_POINTS = 50_000
"""A report's `max_data_points` at most: more days than lie between FIRST_DAY and END_DAY."""
MAX_EXPLODE_COMBINATIONS = 100_000
"""A report's explode combinations at most (the product of its placeholders' value counts): every
wiki times a few editors is a few thousand; a product of three long lists would plan billions."""
MAX_SCALE = 1_000_000_000
"""A ratio's or normalization's `scale` at most (per billion is the finest rate anyone writes)."""

OUT_OF_BOUNDS = "out_of_bounds"
"""The pydantic error type of a value outside its range; its context holds `hint`."""


def day_problem(day: dt.date) -> str | None:
    """Why `day` is outside [FIRST_DAY, END_DAY), or None when it is inside."""
    if day < FIRST_DAY:
        return f"{day.isoformat()} is before {FIRST_DAY.isoformat()}"
    if day >= END_DAY:
        return f"{day.isoformat()} is not before {END_DAY.isoformat()}"
    return None


def _check_day(day: dt.date) -> dt.date:
    problem = day_problem(day)
    if problem is not None:
        raise PydanticCustomError(
            OUT_OF_BOUNDS,
            "{problem}",
            {"problem": problem, "hint": f"write a date from {FIRST_DAY.isoformat()} to {(END_DAY - dt.timedelta(days=1)).isoformat()}"},
        )
    return day


BoundedDay = AfterValidator(_check_day)
"""Add to a date field's `Annotated[...]` to refuse dates outside [FIRST_DAY, END_DAY)."""

Day = Annotated[dt.date, BoundedDay]
