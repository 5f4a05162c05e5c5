"""Metric values as pandas DataFrames, for notebooks: no need to know the storage layout.

    from metrics import frames
    frames.metric("toggles", start="2026-11-01")        # dt, editor, enabled, wiki, toggles
    frames.metric("toggles", normalized=True)           # ... plus toggles_per_editing_sessions
    frames.query("SELECT * FROM metrics.codemirror_toggles LIMIT 5")
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from metrics import catalogue as catalogue_mod
from metrics.config import load_settings
from metrics.engines import open_engine
from metrics.problems import InputError
from metrics.reports.config import table_name
from metrics.spec import Metric, Spec


def query(sql: str, params: dict | None = None, *, warehouse: Path | str | None = None) -> pd.DataFrame:
    """Run SQL (DuckDB dialect, `$name` binds) over the warehouse tables."""
    with open_engine(warehouse or load_settings().warehouse) as engine:
        return engine.dataframe(sql, params)


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
    start: str | dt.date | None = None,
    end: str | dt.date | None = None,
    normalized: bool = False,
    catalogue: Path | str | None = None,
    warehouse: Path | str | None = None,
) -> pd.DataFrame:
    """One catalogue metric by day and dimension: columns `dt`, its dimensions, its value.

    `start` is inclusive, `end` exclusive. With `normalized`, adds the metric divided by its
    normalization's denominator (times its scale), matched on the denominator's dimensions.
    """
    settings = load_settings()
    cat = catalogue_mod.load(catalogue or settings.catalogue)
    spec, m = _find(cat, name)
    if m.source.type != "report":
        raise InputError.at(cat.files[spec.name], f"metric {name!r} is collected by StatsD: its values are in Graphite, not in a table", "read it from Graphite's /render API")
    frame = _read(m, start, end, warehouse or settings.warehouse)
    if normalized:
        if m.normalization is None:
            raise InputError.at(cat.files[spec.name], f"metric {name!r} has no normalization", "add `normalization:` to the spec, or drop normalized=True")
        den = spec.metric(m.normalization.by)
        other = _read(den, start, end, warehouse or settings.warehouse)
        keys = ["dt", *den.dimensions]
        frame = frame.merge(other, on=keys, how="left")
        label = f"{m.name}_per_{den.name}"
        frame[label] = frame[m.name] / frame[den.name].where(frame[den.name] != 0) * m.normalization.scale
        frame = frame.drop(columns=[den.name])
    return frame


def _read(m: Metric, start, end, warehouse) -> pd.DataFrame:
    folder, report = m.source.report.split("/", 1)  # type: ignore[union-attr]
    table = table_name(folder, report)
    columns = ", ".join(f'"{c}"' for c in ["dt", *m.dimensions])
    where, params = [], {}
    if start is not None:
        where.append("dt >= $start")
        params["start"] = dt.date.fromisoformat(str(start))
    if end is not None:
        where.append("dt < $end")
        params["end"] = dt.date.fromisoformat(str(end))
    sql = f'SELECT {columns}, sum("{m.source.column}") AS "{m.name}" FROM metrics."{table}"'  # type: ignore[union-attr]
    sql += (" WHERE " + " AND ".join(where) if where else "") + f" GROUP BY ALL ORDER BY ALL"
    return query(sql, params, warehouse=warehouse)
