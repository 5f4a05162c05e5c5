"""`metrics.query`: one catalogue metric as a pandas DataFrame, by its own aggregation rule, for notebooks.

from metrics import query
query("toggles", by="wiki", since="2026-11-01", grain="week")      # dt, wiki, toggles
query("toggles", by="editor", show="normalized")                   # dt, editor, toggles, toggles_per_editing_sessions
query("toggles", by="enabled", show="percentage", grain="week")    # dt, enabled, toggles, toggles_share (percent)
query("footnote_clicks", where={"wiki": ["enwiki", "dewiki"]})     # dt, footnote_clicks

The numbers are `metrics.frames.metric`'s (the SQL of `metrics.aggregation`, run on the configured
engine): this module only reads the arguments a person types and says what the result is
(`metrics.describe.Described`, kept in `DataFrame.attrs`) so that `metrics.figures.plot` can title and format it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from pathlib import Path
from typing import Literal, Mapping, Sequence

import pandas as pd

from metrics import aggregation, catalogue as catalogue_mod, frames
from metrics.config import Settings, load_settings
from metrics.describe import data_grain, describe_plotted, zero_based
from metrics.problems import InputError
from metrics.spec import Metric
from metrics.tables import TIME_COLUMN

Shown = Literal["total", "normalized", "percentage"]
SHOWN: tuple[Shown, ...] = ("total", "normalized", "percentage")
"""`total`: the metric by its aggregation (a sum, a mean per period of a level, a ratio of sums);
`normalized`: divided by its normalization's denominator (sum / sum, times the scale);
`percentage`: each group's share of the total of its time bucket, in percent."""


def query(
    metric: str | Metric,
    by: str | Sequence[str] | None = None,
    *,
    since: str | dt.date | None = None,
    until: str | dt.date | None = None,
    grain: str = "day",
    where: frames.Filters | None = None,
    show: str = "total",
    exclude: Sequence[Mapping[str, str]] = (),
    catalogue: Path | str | None = None,
    warehouse: Path | str | None = None,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """A catalogue metric by time bucket and dimensions, computed by its aggregation rule on the configured engine.

    Columns: `dt` (the first day of the bucket; absent for grain `all`), the dimensions `by` in
    order, then the value column named after the metric (`<m>_per_<denominator>` for `normalized`,
    preceded by the metric's total; `<m>_share` in percent for `percentage`, preceded by the total).
    `by` is a dimension or a list (default: none, one row per bucket). `since` and `until` are dates
    (YYYY-MM-DD), both included, compared with the stored rows' `dt`. `grain` is one of
    day, week (from Monday), month, year, period (as stored), all. `where` maps a dimension to a value
    or a list of values; every value is checked against the spec and bound as a parameter.
    Settings (catalogue, warehouse, engine) are `settings`, else metrics.toml / METRICS_* / defaults
    as the CLI reads them; `catalogue` and `warehouse` override theirs. `exclude` leaves out the rows
    matching any of its {dimension: value} combinations (how `plot` reads the groups it does not draw).

    `DataFrame.attrs["described"]` holds a `Described` as a dict (title, unit, number format; the title
    names the data's own grain when it is coarser than `grain`, e.g. yearly values asked by day), and
    `zero`: whether a value axis starts at zero (`metrics.describe.zero_based`).
    Raises InputError (one line each: file, what is wrong, what to do) for an unknown metric or
    dimension (naming the nearest), a bad grain, date or filter value, a StatsD metric.
    """
    settings = settings or load_settings()
    cat = catalogue_mod.load(catalogue or settings.catalogue)
    name = metric.name if isinstance(metric, Metric) else metric
    spec, m = frames.find(cat, name)
    file = cat.files[spec.name]
    dims = [by] if isinstance(by, str) else list(by or [])
    if grain not in aggregation.TIME_GRAINS:
        close = [g for g in aggregation.TIME_GRAINS if g.startswith(str(grain)[:2])]
        maybe = f" (did you mean {close[0]!r}?)" if close else ""
        raise InputError.at(file, f"unknown grain {grain!r}{maybe}", f"grain is one of {', '.join(aggregation.TIME_GRAINS)}")
    if show not in SHOWN:
        raise InputError.at(file, f"unknown show {show!r}", f"show is one of {', '.join(SHOWN)}")
    if show == "percentage" and (m.aggregation == "non_additive" or not dims):
        why = "it is not added up over groups" if dims else "no `by` to split the total"
        raise InputError.at(file, f"a share of {name!r} has no meaning: {why}", "show total or normalized, or split an additive metric with `by`")
    start = since if since is None or isinstance(since, dt.date) else frames.parse_date(file, "since", since)
    last = until if until is None or isinstance(until, dt.date) else frames.parse_date(file, "until", until)
    end = last + dt.timedelta(days=1) if last is not None else None
    frame = frames.metric(
        name,
        by=dims,
        grain=grain,
        start=start,
        end=end,
        normalized=show == "normalized",
        where=where,
        exclude=exclude,
        catalogue=catalogue or settings.catalogue,
        warehouse=warehouse,
        settings=settings,
    )
    value = frame.columns[-1]
    if show == "percentage":
        value = f"{name}_share"
        buckets = frame[TIME_COLUMN] if TIME_COLUMN in frame else pd.Series(0, index=frame.index)
        frame[value] = 100 * frame[name] / frame.groupby(buckets)[name].transform("sum")
    call = {
        "metric": name,
        "by": dims,
        "since": str(since) if since is not None else None,
        "until": str(until) if until is not None else None,
        "grain": grain,
        "where": {k: v if isinstance(v, str) else list(v) for k, v in (where or {}).items()},
        "show": show,
        "catalogue": str(catalogue or settings.catalogue),
        "warehouse": str(warehouse) if warehouse is not None else None,
    }
    period = data_grain(pd.to_datetime(frame[TIME_COLUMN]).dt.date) if TIME_COLUMN in frame and not frame.empty else None
    described = asdict(describe_plotted(spec, m, show, dims, grain, value, call, period=period))
    values = frame[value].dropna() if not frame.empty else frame[value]
    described["zero"] = zero_based(m, show, float(values.min()), float(values.max())) if len(values) else True
    described["call"]["settings"] = settings  # the engine a plot's "other" series is then read with
    frame.attrs["described"] = described
    return frame
