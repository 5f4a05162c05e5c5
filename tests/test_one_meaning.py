"""One meaning per metric: every surface gives the same number for every metric, grain and dimension.

On the same generated rows, each catalogue metric is computed at three time grains (day, week, the
whole range), unsplit and by each of its dimensions, four ways:

- `metrics.frames.metric` (notebooks);
- the SQL Superset runs for a chart: the dataset's table or virtual SQL with the saved metric's
  expression, grouped by the chart's time grain (DATE_TRUNC, as Superset's DuckDB engine spec);
- the Grafana panel's Graphite target, evaluated in Python (`tests.graphite_eval`) over the points the
  runner sends to Graphite (day and whole range: a line panel shows days, a stat panel the range);
- the catalogue's documented meaning written out in plain Python on the rows (the oracle).

All four must agree. StatsD metrics (no table) are checked on Grafana against the oracle only.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import defaultdict
from typing import Any, Iterable

import pyarrow as pa
import pytest

from grafana.targets import OTHERS, graph_targets, in_graphite
from metrics import aggregation, catalogue as catalogue_mod, frames
from metrics.engines import open_engine
from metrics.graphite_paths import expand
from metrics.spec import Graph, Metric, Spec
from metrics.warehouse import Warehouse
from superset_assets.datasets import Planner, stored_parts
from tests.conftest import SHIPPED_CATALOGUE as CATALOGUE  # every shipped spec, including one just added
from tests.graphite_eval import evaluate, last_not_null

START = dt.date(2026, 11, 1)  # a Sunday: weeks (Monday to Sunday) are cut on both sides
DAYS = [START + dt.timedelta(days=i) for i in range(17)]
GRAINS = ("day", "week", "all")

Row = dict[str, Any]


# --- the data --------------------------------------------------------------------------------


def _values(spec: Spec, dim: str) -> list[str]:
    values = spec.dimension(dim).allowed_values()
    return values[:4]


def _make_rows(cat: catalogue_mod.Catalogue) -> dict[str, list[Row]]:
    """Rows per table (and per StatsD metric): some keys missing on some days, some zeros, some NULLs."""
    rng = random.Random(20261129)
    tables: dict[str, list[Metric]] = defaultdict(list)
    specs: dict[str, Spec] = {}
    for spec in cat:
        for m in spec.metrics:
            key = m.table or f"statsd:{m.name}" if m.ratio is None else None
            if key:
                tables[key].append(m)
                specs[key] = spec
    out: dict[str, list[Row]] = {}
    for key, metrics in tables.items():
        spec = specs[key]
        dims: list[str] = []
        for m in metrics:
            dims += [d for d in m.dimensions if d not in dims]
        combos: list[dict[str, str]] = [{}]
        for d in dims:
            combos = [{**c, d: v} for c in combos for v in _values(spec, d)]
        rows = []
        for day in DAYS:
            for combo in combos:
                if rng.random() < 0.2:
                    continue  # no row: nothing happened there that day
                row: Row = {"dt": day, **combo}
                for m in metrics:
                    big = 10**6 if m.type == "gauge" else 50
                    row[m.column or m.name] = None if rng.random() < 0.05 else rng.choice([0, rng.randint(1, big)])
                rows.append(row)
        out[key] = rows
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    cat = catalogue_mod.load(CATALOGUE)
    rows = _make_rows(cat)
    root = tmp_path_factory.mktemp("warehouse")
    warehouse = Warehouse(root)
    for key, table_rows in rows.items():
        if key.startswith("statsd:"):
            continue
        columns = [c for c in table_rows[0] if c != "dt"]
        for day in DAYS:
            day_rows = [r for r in table_rows if r["dt"] == day]
            types = {c: pa.string() if isinstance(table_rows[0][c], str) else pa.int64() for c in columns}
            data = pa.table({c: pa.array([r.get(c) for r in day_rows], type=types[c]) for c in columns})
            warehouse.replace_partition("metrics", key, {"dt": day}, data)
    return {"cat": cat, "rows": rows, "warehouse": root}


# --- the oracle: the documented meaning on plain rows ----------------------------------------


def _bucket(day: dt.date, grain: str) -> dt.date | None:
    if grain == "day":
        return day
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    return None


def _stored_rows(world: dict[str, Any], m: Metric) -> list[Row]:
    return world["rows"][m.table or f"statsd:{m.name}"]


def oracle(world: dict[str, Any], q: aggregation.Quantity, by: list[str], grain: str) -> dict[tuple, float | None]:
    """(bucket, *by values) -> the quantity, from the catalogue's rules in aggregation's docstring."""

    def groups(m: Metric) -> dict[tuple, list[Row]]:
        out: dict[tuple, list[Row]] = defaultdict(list)
        for r in _stored_rows(world, m):
            out[(_bucket(r["dt"], grain), *(r[d] for d in by))].append(r)
        return out

    def col(m: Metric) -> str:
        return m.column or m.name

    result: dict[tuple, float | None] = {}
    if q.metric.type == "timer":
        # StatsD keeps a timer's count and sum per flush; here each row is `value` measurements of 2 ms
        for key, rs in groups(q.metric).items():
            counts = [r[col(q.metric)] for r in rs if r[col(q.metric)] is not None]
            result[key] = (2.0 if sum(counts) else None) if q.name.endswith("_mean") else sum(counts) / q.metric.sample_rate if counts else None
        return result
    if q.kind == "ratio":
        assert q.denominator is not None
        num, den = groups(q.metric), groups(q.denominator)
        if aggregation.paired(q):  # one row holds both parts: a row missing either counts in neither sum
            for key, rs in num.items():
                both = [(r[col(q.metric)], r[col(q.denominator)]) for r in rs if r[col(q.metric)] is not None and r[col(q.denominator)] is not None]
                d = sum(b for _, b in both)
                result[key] = sum(a for a, _ in both) / d * q.scale if both and d else None
            return result
        for key, rs in num.items():
            n = [r[col(q.metric)] for r in rs if r[col(q.metric)] is not None]
            d = [r[col(q.denominator)] for r in den.get(key, []) if r[col(q.denominator)] is not None]
            result[key] = sum(n) / sum(d) * q.scale if n and d and sum(d) else None
        return result
    m = q.metric
    for key, rs in groups(m).items():
        values = [(r["dt"], r[col(m)]) for r in rs if r[col(m)] is not None]
        if not values:
            result[key] = None
        elif m.aggregation == "non_additive":
            result[key] = values[0][1] if len(values) == 1 else None
        elif q.kind == "mean" or m.aggregation == "semi_additive":
            result[key] = sum(v for _, v in values) / len({d for d, _ in values})
        else:
            result[key] = sum(v for _, v in values)
    return result


# --- the cases -------------------------------------------------------------------------------


def cases() -> Iterable[tuple[str, str, str, tuple[str, ...]]]:
    """(spec, metric, show, by) for every metric, its quantities and each grain of dimensions."""
    cat = catalogue_mod.load(CATALOGUE)
    for spec in cat:
        for m in spec.metrics:
            shows = ["total", "mean"] + (["normalized"] if m.normalization else [])
            for show in shows:
                q = aggregation.quantity(spec, m, show)  # type: ignore[arg-type]
                dims = [d for d in m.dimensions if all(d in p.dimensions for p in q.parts)]
                for by in [(), *((d,) for d in dims)]:
                    yield spec.name, m.name, show, by


CASES = list(cases())


def test_every_metric_of_the_catalogue_is_covered() -> None:
    cat = catalogue_mod.load(CATALOGUE)
    assert {name for _, name, _, _ in CASES} == {m.name for s in cat for m in s.metrics}


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)) or (isinstance(b, float) and math.isnan(b)):
        return (a is None or math.isnan(a)) and (b is None or math.isnan(b))
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def _agree(surface: str, got: dict[tuple, float | None], want: dict[tuple, float | None]) -> None:
    keys = set(got) | set(want)
    wrong = {k: (got.get(k), want.get(k)) for k in keys if not _close(got.get(k), want.get(k))}
    assert not wrong, f"{surface} differs from the catalogue's meaning at {len(wrong)} of {len(keys)} keys, e.g. {sorted(wrong.items(), key=str)[:3]}"


# --- the surfaces ----------------------------------------------------------------------------


def via_frames(world: dict[str, Any], spec: Spec, m: Metric, show: str, by: list[str], grain: str) -> dict[tuple, float | None]:
    q = aggregation.quantity(spec, m, show)  # type: ignore[arg-type]
    frame = frames.metric(
        m.name, by=by, grain={"day": "period"}.get(grain, grain), normalized=show == "normalized", catalogue=CATALOGUE, warehouse=world["warehouse"]
    )
    column = q.name if show == "normalized" else m.name
    out = {}
    for r in frame.to_dict("records"):
        bucket = _as_date(r["dt"]) if grain != "all" else None
        v = r[column]
        out[(bucket, *(r[d] for d in by))] = None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
    return out


def _as_date(value: Any) -> dt.date:
    return value.date() if hasattr(value, "date") and callable(value.date) else value


SUPERSET_TIME_GRAIN = {"day": "DATE_TRUNC('day', dt)", "week": "DATE_TRUNC('week', dt)"}
"""Superset's DuckDB engine spec (`superset/db_engine_specs/duckdb.py`, P1D and P1W)."""


def via_superset(world: dict[str, Any], spec: Spec, m: Metric, show: str, by: list[str], grain: str) -> dict[tuple, float | None]:
    planner = Planner(world["cat"], spec, "db")
    planner.plan_spec()
    dataset = planner.virtual(planner.tables_for([m], normalized=show == "normalized"))
    measure = {"total": f"{m.name}_total", "mean": f"{m.name}_mean", "normalized": f"{m.name}_per_{m.normalization.by if m.normalization else ''}"}[show]
    expression = next(x.expression for x in dataset.measures if x.name == measure)
    source = f"metrics.{dataset.name}" if dataset.sql is None else f"({dataset.sql}) AS virtual_table"
    keys = ([SUPERSET_TIME_GRAIN[grain] + " AS __timestamp"] if grain != "all" else []) + by
    group = ", ".join(str(i + 1) for i in range(len(keys)))
    sql = f"SELECT {', '.join(keys + [expression + ' AS value'])} FROM {source}" + (f" GROUP BY {group}" if keys else "")
    with open_engine(world["warehouse"]) as engine:
        rows = engine.query(sql, dialect="duckdb").to_pylist()
    out = {}
    for r in rows:
        bucket = _as_date(r["__timestamp"]) if grain != "all" else None
        out[(bucket, *(r[d] for d in by))] = None if r["value"] is None else float(r["value"])
    return out


def _graphite_points(world: dict[str, Any], spec: Spec) -> dict[str, list[float | None]]:
    """What the runner (report metrics) and StatsD (live metrics) leave in Graphite: one point a day."""
    series: dict[str, list[float | None]] = {}
    index = {day: i for i, day in enumerate(DAYS)}
    for m in spec.metrics:
        if not m.graphite_path:
            continue
        leaves = ["count", "sum"] if m.type == "timer" else [None]
        for r in _stored_rows(world, m):
            value = r[m.column or m.name]
            if value is None:
                continue
            for leaf in leaves:
                # a timer: each row is `value` sampled measurements of 2 ms each; StatsD scales the
                # count by 1 / sample rate, not the sum
                point = value * 2.0 if leaf == "sum" else value / m.sample_rate if leaf == "count" else float(value)
                path = expand(m.graphite_series(leaf), {d: r[d] for d in m.dimensions})
                values = series.setdefault(path, [None] * len(DAYS))
                values[index[r["dt"]]] = (values[index[r["dt"]]] or 0) + point
    return series


def via_grafana(world: dict[str, Any], spec: Spec, m: Metric, show: str, by: list[str], grain: str) -> dict[tuple, float | None]:
    graph = Graph(title="t", kind="line" if grain == "day" else "big_number", metrics=[m.name], split_by=by[0] if by else None, show=[show])
    targets = graph_targets(spec, graph)
    assert len(targets) == 1, targets
    result = evaluate(targets[0].expr, _graphite_points(world, spec))
    out: dict[tuple, float | None] = {}
    for s in result:
        if targets[0].others and s.name.split(" ")[0] == OTHERS:
            # every split value of this world is drawn (fewer than the series limit): the rest adds up to 0
            assert len(result) - 1 <= graph.series_limit and all(v in (0, None) for v in s.values), s
            continue
        split = (s.name.split(" ")[0],) if by else ()
        if grain == "day":
            for day, v in zip(DAYS, s.values):
                if v is not None:
                    out[(day, *split)] = v
        else:
            out[(None, *split)] = last_not_null(s.values)
    return out


def _graphite_view(want: dict[tuple, float | None]) -> dict[tuple, float | None]:
    """The oracle as Graphite can show it: split values sanitized as path segments, no empty keys."""
    from metrics.graphite_paths import sanitize_segment

    return {(k[0], *(sanitize_segment(v) for v in k[1:])): v for k, v in want.items() if v is not None}


@pytest.mark.parametrize("grain", GRAINS)
@pytest.mark.parametrize("spec_name,metric_name,show,by", CASES, ids=[f"{s}.{m}.{w}.by-{'-'.join(b) or 'all'}" for s, m, w, b in CASES])
def test_same_number_everywhere(world: dict[str, Any], spec_name: str, metric_name: str, show: str, by: tuple[str, ...], grain: str) -> None:
    spec = world["cat"].spec(spec_name)
    m = spec.metric(metric_name)
    q = aggregation.quantity(spec, m, show)  # type: ignore[arg-type]
    want = oracle(world, q, list(by), grain)
    assert sum(v is not None for v in want.values()) >= 1, "the generated rows give this quantity no value: the test would compare nothing"
    stored = bool(stored_parts(spec, m))
    if stored:
        if show != "mean":  # frames gives totals and normalized values; a mean per period is a chart's choice
            _agree("frames", via_frames(world, spec, m, show, list(by), grain), want)
        _agree("Superset", via_superset(world, spec, m, show, list(by), grain), want)
    if grain == "week" or not in_graphite(spec, m) or (show == "mean" and grain == "day" and m.type != "timer"):
        # a line's mean per period is its legend's mean: the points are the totals
        return
    got = via_grafana(world, spec, m, show, list(by), grain)
    assert got, f"the Grafana target of {m.name} ({show}) gives no series"
    _agree("Grafana", {k: v for k, v in got.items() if v is not None}, _graphite_view(want))
