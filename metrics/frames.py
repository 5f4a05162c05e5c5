"""Metric values as pandas DataFrames, for notebooks: no need to know the storage layout.

from metrics import frames
frames.metric("toggles", start="2026-11-01")        # dt, editor, enabled, wiki, toggles
frames.metric("toggles", normalized=True)           # dt, editor, wiki, toggles, toggles_per_editing_sessions
frames.metric("population", by=[], grain="all")     # one number: the mean yearly population
frames.query("SELECT * FROM metrics.codemirror_toggles WHERE wiki = :wiki LIMIT 5", {"wiki": "enwiki"})
"""

from __future__ import annotations

import datetime as dt
import difflib
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from metrics import aggregation, catalogue as catalogue_mod
from metrics.config import Settings, load_settings
from metrics.engines import open_configured
from metrics.problems import InputError
from metrics.spec import Metric, Spec
from metrics.tables import TIME_COLUMN


def query(
    sql: str, params: dict | None = None, *, dialect: str = "trino", warehouse: Path | str | None = None, settings: Settings | None = None
) -> pd.DataFrame:
    """Run SQL written in `dialect` (Trino's by default; `:name` placeholders bound from `params`)
    over the warehouse tables, transpiled to the engine's dialect, on the engine of `settings`
    (default: `load_settings()`, as the CLI reads metrics.toml and METRICS_* variables)."""
    with open_configured(settings or load_settings(), warehouse) as engine:
        return engine.dataframe(sql, params, dialect=dialect)


def find(cat: catalogue_mod.Catalogue, name: str) -> tuple[Spec, Metric]:
    """The spec and metric named `name`; InputError naming the nearest names and every known one."""
    for spec in cat:
        for metric in spec.metrics:
            if metric.name == name:
                return spec, metric
    known = [m.name for s in cat for m in s.metrics]
    raise InputError.at(cat.root, f"no metric named {name!r}{_nearest(name, known)}", f"known metrics: {', '.join(known)}")


def parse_date(file: Path, key: str, value: object) -> dt.date:
    """`value` (YYYY-MM-DD) as a date; InputError naming `key` otherwise."""
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InputError.at(file, f"{key}={value!r} is not a date", "write it YYYY-MM-DD, e.g. 2026-11-01") from None


def _nearest(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


Filters = Mapping[str, "str | Sequence[str]"]
"""dimension -> a value, or a list of values (any of them)."""


def _conditions(spec: Spec, file: Path, allowed: list[str], where: Filters, exclude: Sequence[Mapping[str, str]]) -> tuple[list[str], dict[str, object]]:
    """SQL conditions over dimension columns (names checked against the spec) with every value bound as a parameter."""
    conditions: list[str] = []
    params: dict[str, object] = {}

    def placeholder(dimension: str, value: object) -> str:
        if dimension not in allowed:
            known = [d.name for d in spec.dimensions]
            what = "an unknown dimension" if dimension not in known else "not a dimension of the metric"
            raise InputError.at(file, f"filter on {dimension!r}: {what}{_nearest(dimension, allowed)}", f"filter on one of: {', '.join(allowed) or '(none)'}")
        if not isinstance(value, str) or not spec.dimension(dimension).accepts(value):
            d = spec.dimension(dimension)
            rule = f"values: {', '.join(d.allowed_values())}" if d.values != "open" else f"values match {d.pattern}" if d.pattern else "values are text"
            raise InputError.at(file, f"filter {dimension}={value!r} is not a value of {dimension!r}", rule)
        key = f"filter_{len(params)}"
        params[key] = value
        return f":{key}"

    for dimension, values in where.items():
        listed = list(values) if isinstance(values, (list, tuple, set, frozenset)) else [values]
        if not listed:
            raise InputError.at(file, f"filter on {dimension!r} has no values", f"give a value, or leave {dimension!r} out")
        marks = [placeholder(dimension, v) for v in listed]
        conditions.append(f"{dimension} = {marks[0]}" if len(marks) == 1 else f"{dimension} IN ({', '.join(marks)})")
    if exclude:
        rows = [" AND ".join(f"{d} = {placeholder(d, v)}" for d, v in row.items()) for row in exclude if row]
        conditions.append(f"NOT ({' OR '.join(f'({r})' for r in rows)})")
    return conditions, params


def metric(
    name: str,
    *,
    by: list[str] | None = None,
    grain: str = "period",
    start: str | dt.date | None = None,
    end: str | dt.date | None = None,
    normalized: bool = False,
    where: Filters | None = None,
    exclude: Sequence[Mapping[str, str]] = (),
    catalogue: Path | str | None = None,
    warehouse: Path | str | None = None,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """One catalogue metric by time bucket and dimension: columns `dt`, the dimensions `by`, its value.

    The value at each grain follows the metric's aggregation (`metrics.aggregation`): counts are
    summed, gauges summed per period and averaged over periods, a ratio is sum(numerator) /
    sum(denominator) of the rows of the grain. `by` defaults to every dimension of the metric (of
    the metric and its denominator, with `normalized`); `grain` is `period` (as stored), `day`,
    `week`, `month`, `year` or `all` (no `dt` column). `start` is inclusive, `end` exclusive. With `normalized`,
    adds the metric divided by its normalization's denominator, times its scale. `where` keeps the
    rows whose dimension has the value (or one of the values) given; `exclude` leaves out the rows
    matching any of its {dimension: value} combinations (how a plot's "other" series is made).
    Values are checked against the spec's dimension and bound as parameters.

    Raises InputError for an unknown or StatsD metric, a dimension or filter value the metric does
    not have, a grain the metric has no value at, or a warehouse without the metric's table (naming
    the warehouse and how to pass another).
    """
    settings = settings or load_settings()
    cat = catalogue_mod.load(catalogue or settings.catalogue)
    spec, m = find(cat, name)
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
    for d in by:
        if d not in [x.name for x in spec.dimensions]:
            raise InputError.at(file, f"unknown dimension {d!r}{_nearest(d, allowed)}", f"by takes dimensions of {name!r}: {', '.join(allowed) or '(none)'}")
    conditions, params = _conditions(spec, file, allowed, where or {}, exclude)
    for key, day, operator in (("start", start, ">="), ("end", end, "<")):
        if day is not None:
            conditions.append(f"{TIME_COLUMN} {operator} :{key}")
            params[key] = day if isinstance(day, dt.date) else parse_date(file, key, day)
    try:
        sql = aggregation.select(quantities, list(by), grain, where=" AND ".join(conditions))
    except aggregation.GrainError as exc:
        hint = (
            f"grain is one of {', '.join(aggregation.TIME_GRAINS)}"
            if grain not in aggregation.TIME_GRAINS
            else f"by takes dimensions of {name!r}{' and its denominator' if len(quantities[-1].parts) > 1 else ''}: {', '.join(allowed) or '(none)'}"
        )
        raise InputError.at(file, str(exc), hint) from None
    with open_configured(settings, warehouse or settings.warehouse) as engine:
        _require_tables(engine, {part.table for q in quantities for part in q.parts if part.table}, settings, warehouse)
        return engine.dataframe(sql, params, dialect="trino")


def _require_tables(engine: Any, tables: set[str], settings: Settings, warehouse: Path | str | None) -> None:
    """InputError naming the warehouse and what to pass when a table the metric reads is not there
    (run outside the project folder, the default `warehouse` is a folder that does not exist)."""
    from metrics.tables import SCHEMA

    have = set(engine.tables(SCHEMA)) if SCHEMA in engine.schemas() else set()
    missing = sorted(tables - have)
    if not missing:
        return
    where: Path | str = Path(warehouse or settings.warehouse).absolute() if settings.engine == "duckdb" else f"engine {settings.engine}"
    raise InputError.at(
        where,
        f"no table {SCHEMA}.{missing[0]} in this warehouse{'' if have else ' (it has no metric tables at all)'}",
        "pass --warehouse DIR (or set warehouse in metrics.toml, or METRICS_WAREHOUSE), or compute it first with `metrics update-reports`",
    )
