"""Metric values as pandas DataFrames, for notebooks: no need to know the storage layout.

from metrics import frames
frames.metric("toggles", start="2026-11-01")        # dt, editor, enabled, wiki, toggles
frames.metric("toggles", normalized=True)           # dt, editor, wiki, toggles, toggles_per_editing_sessions
frames.metric("population", by=[], grain="all")     # one number: the mean yearly population
frames.query("SELECT * FROM metrics.codemirror_toggles WHERE wiki = :wiki LIMIT 5", {"wiki": "enwiki"})
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from metrics import aggregation, catalogue as catalogue_mod
from metrics.config import load_settings
from metrics.engines import open_configured
from metrics.problems import InputError
from metrics.spec import Metric, Spec
from metrics.tables import TIME_COLUMN


def query(sql: str, params: dict | None = None, *, dialect: str = "trino", warehouse: Path | str | None = None) -> pd.DataFrame:
    """Run SQL written in `dialect` (Trino's by default; `:name` placeholders bound from `params`)
    over the warehouse tables, transpiled to the engine's dialect."""
    with open_configured(load_settings(), warehouse) as engine:
        return engine.dataframe(sql, params, dialect=dialect)


def _find(cat: catalogue_mod.Catalogue, name: str) -> tuple[Spec, Metric]:
    for spec in cat:
        for metric in spec.metrics:
            if metric.name == name:
                return spec, metric
    known = ", ".join(m.name for s in cat for m in s.metrics)
    raise InputError.at(cat.root, f"no metric named {name!r}", f"known metrics: {known}")


def metric(
    name: str,
    *,
    by: list[str] | None = None,
    grain: str = "period",
    start: str | dt.date | None = None,
    end: str | dt.date | None = None,
    normalized: bool = False,
    catalogue: Path | str | None = None,
    warehouse: Path | str | None = None,
) -> pd.DataFrame:
    """One catalogue metric by time bucket and dimension: columns `dt`, the dimensions `by`, its value.

    The value at each grain follows the metric's aggregation (`metrics.aggregation`): counts are
    summed, gauges summed per period and averaged over periods, a ratio is sum(numerator) /
    sum(denominator) of the rows of the grain. `by` defaults to every dimension of the metric (of
    the metric and its denominator, with `normalized`); `grain` is `period` (as stored), `week`,
    `month` or `all` (no `dt` column). `start` is inclusive, `end` exclusive. With `normalized`,
    adds the metric divided by its normalization's denominator, times its scale.

    Raises InputError for an unknown or StatsD metric, or a grain the metric has no value at.
    """
    settings = load_settings()
    cat = catalogue_mod.load(catalogue or settings.catalogue)
    spec, m = _find(cat, name)
    file = cat.files[spec.name]
    if m.table is None and m.ratio is None:
        raise InputError.at(file, f"metric {name!r} is collected by StatsD: its values are in Graphite, not in a table", "read it from Graphite's /render API")
    quantities = [aggregation.quantity(spec, m)]
    if normalized:
        if m.normalization is None:
            raise InputError.at(file, f"metric {name!r} has no normalization", "add `normalization:` to the spec, or drop normalized=True")
        quantities.append(aggregation.quantity(spec, m, "normalized"))
    allowed = [d for d in m.dimensions if all(d in part.dimensions for q in quantities for part in q.parts)]
    if by is None:
        by = allowed
    elif isinstance(by, str) or not all(isinstance(d, str) for d in by) or len(set(by)) != len(by):
        raise InputError.at(file, f"by={by!r} is not a list of distinct dimension names", f"e.g. by={allowed[:1]!r}, or by=[] for no split")
    where, params = [], {}
    if start is not None:
        where.append(f"{TIME_COLUMN} >= :start")
        params["start"] = dt.date.fromisoformat(str(start))
    if end is not None:
        where.append(f"{TIME_COLUMN} < :end")
        params["end"] = dt.date.fromisoformat(str(end))
    try:
        sql = aggregation.select(quantities, list(by), grain, where=" AND ".join(where))
    except aggregation.GrainError as exc:
        hint = (
            f"grain is one of {', '.join(aggregation.TIME_GRAINS)}"
            if grain not in aggregation.TIME_GRAINS
            else f"by takes dimensions of {name!r}{' and its denominator' if len(quantities[-1].parts) > 1 else ''}: {', '.join(allowed) or '(none)'}"
        )
        raise InputError.at(file, str(exc), hint) from None
    return query(sql, params, warehouse=warehouse or settings.warehouse)
