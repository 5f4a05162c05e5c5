"""`metrics verify`: one metric's daily total read from four surfaces, which must agree.

For each catalogue metric stored in a table, and a few of its dates (first, middle and last day of
its table by default), the metric's daily total, unsplit and by its own aggregation rule
(`metrics.aggregation`'s table), is read from:

1. `table`: the metric table itself, with plain SQL written here from the spec (a sum of the
   column, the single stored value of a non-additive metric, a ratio of two sums);
2. `metrics.query`: the notebook function at grain day;
3. `Superset`: the chart data API (`GET /api/v1/chart/<id>/data/`) of the bundle's line chart that
   plots the metric's total by day; split lines of an additive or semi-additive metric are added up
   (one stored day: the level of a gauge is its sum too). A metric that no line chart plots by day
   (shown only in a table or a big number) is asked for through `POST /api/v1/chart/data`: its saved
   total measure by day on the dataset of one of its charts;
4. `Graphite`: the render API of the metric's Graphite path, summed over every dimension as the
   Grafana panel's target does (`grafana.targets`).

Rounding rule: the values agree when `math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)`: the surfaces
add up the same stored numbers in different orders and in double precision (Graphite's whisper
files, Superset's JSON), so only floating point rounding may differ; no display rounding is applied.
A day without a value (NULL, no row, no point) agrees only with another day without a value.

    from metrics.verify import verify
    report = verify(settings, superset_url=..., superset_user="admin", superset_password=..., graphite_url=...)
    report.ok, report.lines()
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import uuid as uuid_mod
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import httpx

from metrics import aggregation, catalogue as catalogue_mod
from metrics.config import Settings
from metrics.engines import open_configured
from metrics.engines.base import Engine
from metrics.errors import MetricsError
from metrics.graphite_paths import prefixed
from metrics.spec import Graph, Metric, Spec
from metrics.tables import SCHEMA, TIME_COLUMN
from metrics.warehouse import check_name

SURFACES = ("table", "metrics.query", "Superset", "Graphite")
REL_TOL = 1e-9
ABS_TOL = 1e-9
DAY_SECONDS = 86400

Totals = dict[dt.date, float | None]


class VerifyError(MetricsError):
    """A surface could not be read at all (not a mismatch: an unreachable or broken service)."""


@dataclass(frozen=True)
class Mismatch:
    """One disagreement: `surface` gave `got` where the metric table gives `want`."""

    metric: str
    day: dt.date
    surface: str
    got: float | None
    want: float | None

    def line(self) -> str:
        return f"MISMATCH {self.metric} {self.day}: {self.surface} says {_shown(self.got)}, the metric table says {_shown(self.want)}"


@dataclass
class Report:
    """What `verify` found: every mismatch, what could not be checked and why, and what agreed."""

    dates: int
    agreed: dict[str, int] = field(default_factory=dict)
    """metric -> the number of surfaces it was checked on (all agreeing)."""
    mismatches: list[Mismatch] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """One line per metric or surface not checked, with the reason."""

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def lines(self) -> list[str]:
        out = [m.line() for m in self.mismatches] + self.skipped
        full = [name for name, n in self.agreed.items() if n == len(SURFACES)]
        fewer = len(self.agreed) - len(full)
        if self.ok:
            out.append(f"{len(full)} metrics x {self.dates} dates agree on {len(SURFACES)} surfaces" + (f"; {fewer} more on fewer surfaces" if fewer else ""))
        else:
            out.append(f"{len(self.mismatches)} mismatch(es); {len(self.agreed)} metrics agree")
        return out


def agree(a: float | None, b: float | None) -> bool:
    """The rounding rule of the module docstring."""
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def sample_dates(days: Iterable[dt.date], n: int) -> list[dt.date]:
    """`n` dates spread over `days`, deterministic: first, last and evenly between (n=3: first, middle, last)."""
    ordered = sorted(set(days))
    if n <= 0 or not ordered:
        return []
    if n == 1 or len(ordered) == 1:
        return ordered[:1]
    picks = {round(i * (len(ordered) - 1) / (n - 1)) for i in range(n)}
    return [ordered[i] for i in sorted(picks)]


# -- surface 1: the metric table --------------------------------------------------------------


def _table(metric: Metric) -> str:
    assert metric.table is not None
    return f"{SCHEMA}.{check_name(metric.table, 'table')}"


def _column(metric: Metric) -> str:
    return check_name(metric.column or metric.name, "column")


def table_days(engine: Engine, metric: Metric) -> list[dt.date]:
    """The days the metric's table has rows for."""
    rows = engine.query(f"SELECT DISTINCT {TIME_COLUMN} AS d FROM {_table(metric)}").to_pylist()
    return sorted(_as_date(r["d"]) for r in rows if r["d"] is not None)


def _per_day(engine: Engine, metric: Metric, expression: str, dates: list[dt.date]) -> Totals:
    names = [f"d{i}" for i in range(len(dates))]
    where = f"{TIME_COLUMN} IN ({', '.join(':' + n for n in names)})"
    sql = f"SELECT {TIME_COLUMN} AS d, {expression} AS v FROM {_table(metric)} WHERE {where} GROUP BY {TIME_COLUMN}"
    rows = engine.query(sql, dict(zip(names, dates))).to_pylist()
    found = {_as_date(r["d"]): None if r["v"] is None else float(r["v"]) for r in rows}
    return {day: found.get(day) for day in dates}


def table_totals(engine: Engine, spec: Spec, metric: Metric, dates: list[dt.date]) -> Totals:
    """The daily totals from the metric table, by the rule of `metrics.aggregation` written out here.

    additive and semi-additive: the sum of the day's values (one stored day: a level is its sum);
    non-additive: the day's value when exactly one row has one, else NULL; a ratio: the sum of the
    numerator over the sum of the denominator, times its scale (paired parts: only rows with both).
    """
    q = aggregation.quantity(spec, metric)
    if q.kind == "ratio":
        assert q.denominator is not None
        n, d = _column(q.metric), _column(q.denominator)
        if aggregation.paired(q):
            both = f"{n} IS NOT NULL AND {d} IS NOT NULL"
            expression = f"SUM(CASE WHEN {both} THEN CAST({n} AS DOUBLE) END) / NULLIF(SUM(CASE WHEN {both} THEN CAST({d} AS DOUBLE) END), 0) * {q.scale!r}"
            return _per_day(engine, q.metric, expression, dates)
        num = _per_day(engine, q.metric, f"SUM(CAST({n} AS DOUBLE))", dates)
        den = _per_day(engine, q.denominator, f"SUM(CAST({d} AS DOUBLE))", dates)
        return {day: num[day] / den[day] * q.scale if num[day] is not None and den[day] else None for day in dates}  # type: ignore[operator]
    column = _column(metric)
    if metric.aggregation == "non_additive":
        return _per_day(engine, metric, f"CASE WHEN COUNT({column}) = 1 THEN MAX(CAST({column} AS DOUBLE)) END", dates)
    return _per_day(engine, metric, f"SUM(CAST({column} AS DOUBLE))", dates)


# -- surface 2: metrics.query -----------------------------------------------------------------


def query_totals(settings: Settings, metric: Metric, dates: list[dt.date]) -> Totals:
    """The daily totals `metrics.query(metric, grain="day")` gives."""
    from metrics.notebook import query

    frame = query(metric.name, grain="day", since=dates[0], until=dates[-1], settings=settings)
    value = frame.columns[-1]
    found = {_as_date(r[TIME_COLUMN]): _number(r[value]) for r in frame.to_dict("records")}
    return {day: found.get(day) for day in dates}


# -- surface 3: Superset ----------------------------------------------------------------------


def superset_chart(cat: catalogue_mod.Catalogue, spec: Spec, metric: Metric) -> tuple[Any, str]:
    """Where Superset shows the metric's daily total: (a ChartPlan, "chart") for the bundle's line chart
    that plots it by day, else (a ChartPlan, "dataset") for a chart whose dataset has its saved total
    measure (asked by day through the chart data API), else (None, why not)."""
    from superset_assets import measures
    from superset_assets.bundle import DATABASE_NAME
    from superset_assets.charts import plan_charts
    from superset_assets.datasets import Planner, stored_parts

    if not stored_parts(spec, metric):
        return None, "a part of it is collected by StatsD: it has no Superset chart"
    planner = Planner(cat, spec, DATABASE_NAME)
    planner.plan_spec()
    measure = measures.total_name(metric)
    plans = plan_charts(spec, planner)
    lines = [p for p in plans if p.viz_type == "echarts_timeseries_line" and measure in p.metrics and "total" in p.show]
    unfiltered = [p for p in lines if not p.graph.filters and not p.contribution]
    unsplit = [p for p in unfiltered if not p.groupby]
    q = aggregation.quantity(spec, metric)
    if unsplit:
        return unsplit[0], "chart"
    if unfiltered and q.kind == "value" and metric.aggregation != "non_additive":
        return unfiltered[0], "chart"  # split lines of an additive metric add up to the total
    with_measure = [p for p in plans if any(x.name == measure for x in p.dataset.measures)]
    if with_measure:
        return with_measure[0], "dataset"
    return None, f"no chart of the bundle plots its total by day and no chart's dataset has the measure {measure}"


def _rows_totals(rows: list[dict[str, Any]], values: Callable[[dict[str, Any]], list[Any]], dates: list[dt.date]) -> Totals:
    found: dict[dt.date, float | None] = {}
    for row in rows:
        day = dt.datetime.fromtimestamp(row[TIME_COLUMN] / 1000, dt.timezone.utc).date()
        known = [float(v) for v in values(row) if v is not None]
        found[day] = sum(known) if known else None
    return {day: found.get(day) for day in dates}


def superset_totals(payload: dict[str, Any], plan: Any, metric: Metric, dates: list[dt.date]) -> Totals:
    """The daily totals in a line chart's data: its measure's column, or the sum of its split series."""
    from superset_assets import measures

    measure = measures.total_name(metric)

    def values(row: dict[str, Any]) -> list[Any]:
        if not plan.groupby:
            return [row.get(measure)]
        if len(plan.metrics) == 1:
            return [v for k, v in row.items() if k != TIME_COLUMN]
        return [v for k, v in row.items() if k.startswith(measure + ", ")]

    return _rows_totals(payload.get("data", []), values, dates)


def dataset_id(client: Any, uuid: str, name: str) -> int:
    """The numeric id of the Superset dataset with this UUID; VerifyError when there is none."""
    checked = str(uuid_mod.UUID(uuid))  # it goes into a query string
    found = client.get_json("/api/v1/dataset/", params={"q": f"(columns:!(id),filters:!((col:uuid,opr:eq,value:'{checked}')))"})
    if not found.get("result"):
        raise VerifyError(f"Superset has no dataset {name} ({checked}): import the bundles first")
    return int(found["result"][0]["id"])


def superset_dataset_totals(client: Any, plan: Any, metric: Metric, dates: list[dt.date]) -> Totals:
    """The daily totals of the metric's saved measure on the chart's dataset: POST /api/v1/chart/data, grain P1D.

    The dataset is found by its UUID (the bundle's); the query is the one a line chart of the
    measure by day, unsplit and unfiltered, would run.
    """
    from superset_assets import measures

    measure = measures.total_name(metric)
    axis = {"timeGrain": "P1D", "columnType": "BASE_AXIS", "sqlExpression": TIME_COLUMN, "label": TIME_COLUMN, "expressionType": "SQL"}
    context = {
        "datasource": {"id": dataset_id(client, plan.dataset.uuid, plan.dataset.name), "type": "table"},
        "force": True,
        "queries": [
            {
                "columns": [axis],
                "metrics": [measure],
                "filters": [{"col": TIME_COLUMN, "op": "TEMPORAL_RANGE", "val": "No filter"}],
                "orderby": [[measure, False]],
                "row_limit": 100000,
            }
        ],
        "result_format": "json",
        "result_type": "full",
    }
    payload = client.request("POST", "/api/v1/chart/data", json=context).json()["result"][0]
    if payload.get("error"):
        raise VerifyError(f"Superset's chart data API answered an error for {measure} on {plan.dataset.name}: {payload['error']}")
    return _rows_totals(payload.get("data", []), lambda row: [row.get(measure)], dates)


# -- surface 4: Graphite ----------------------------------------------------------------------


def graphite_target(spec: Spec, metric: Metric, prefix: str | None = None) -> str | None:
    """The Grafana panel target of the metric's unsplit total, with every dimension variable at All (`*`).

    `prefix`: the environment's `graphite_prefix`, before every path (`metrics.graphite_paths.prefixed`).
    """
    from grafana.targets import graph_targets, in_graphite

    spec = prefixed(spec, prefix)
    metric = spec.metric(metric.name)

    if not in_graphite(spec, metric):
        return None
    targets = graph_targets(spec, Graph.model_validate({"title": metric.name, "kind": "line", "metrics": [metric.name], "show": ["total"]}))
    if not targets:
        return None
    expr = targets[0].expr
    for dim in sorted((d.name for d in spec.dimensions), key=len, reverse=True):
        expr = expr.replace("$" + dim, "*")
    return expr


def graphite_totals(url: str, target: str, dates: list[dt.date], timeout: float = 60.0) -> Totals:
    """The daily points of `target` from `/render?format=json` (points at midnight UTC, as the runner sends them).

    Raises VerifyError when graphite-web does not answer a JSON list.
    """
    first, last = _timestamp(dates[0]), _timestamp(dates[-1])
    # whisper's `from` is exclusive and `until` inclusive up to the step: one second around both days
    params = {"target": target, "format": "json", "from": str(first - 1), "until": str(last + 1)}
    try:
        answer = httpx.get(url.rstrip("/") + "/render", params=params, timeout=timeout, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise VerifyError(f"Graphite at {url} did not answer: {exc}") from None
    if answer.status_code != 200:
        raise VerifyError(f"Graphite /render answered HTTP {answer.status_code}: {answer.text[:300]}")
    try:
        body = answer.json()
    except ValueError:
        raise VerifyError(f"Graphite /render answered no JSON: {answer.text[:300]}") from None
    if not isinstance(body, list):
        raise VerifyError(f"Graphite /render answered {str(body)[:300]}, not a list of series")
    found: dict[dt.date, float | None] = {}
    for series in body:
        for value, ts in series.get("datapoints", []):
            if value is not None:
                day = dt.datetime.fromtimestamp(int(ts), dt.timezone.utc).date()
                found[day] = (found.get(day) or 0.0) + float(value)
    return {day: found.get(day) for day in dates}


# -- all of it --------------------------------------------------------------------------------


def verify(
    settings: Settings,
    *,
    superset_url: str,
    superset_user: str,
    superset_password: str,
    graphite_url: str,
    dates: int = 3,
    spec_names: Iterable[str] = (),
    log: Callable[[str], None] = lambda line: None,
) -> Report:
    """Check every table-backed metric (of `spec_names`, default all) on `dates` sampled days across the four surfaces.

    Graphite is read under the environment's `graphite_prefix` (`settings.graphite_prefix`), where its runs send.

    Returns a Report (mismatches, lines for what was not checked). Raises VerifyError or
    superset_assets.client.SupersetError when a service cannot be read at all, InputError for an
    unknown spec name.
    """
    from metrics.problems import InputError
    from superset_assets.client import SupersetClient

    cat = catalogue_mod.load(settings.catalogue)
    wanted = list(spec_names)
    known = [s.name for s in cat]
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise InputError.at(settings.catalogue, f"no spec {unknown[0]!r} in the catalogue", f"--spec takes one of {', '.join(known)}")
    report = Report(dates)
    try:
        _check(settings, cat, wanted, report, SupersetClient(superset_url, superset_user, superset_password), graphite_url, dates, log)
    except httpx.HTTPError as exc:  # graphite_totals wraps its own: this one is Superset's
        raise VerifyError(f"Superset at {superset_url} did not answer: {exc}") from None
    return report


def _check(
    settings: Settings,
    cat: catalogue_mod.Catalogue,
    wanted: list[str],
    report: Report,
    superset: Any,
    graphite_url: str,
    dates: int,
    log: Callable[[str], None],
) -> None:
    with open_configured(settings) as engine, superset as client:
        for spec in cat:
            if wanted and spec.name not in wanted:
                continue
            for metric in spec.metrics:
                q = aggregation.quantity(spec, metric)
                if not all(part.table for part in q.parts):
                    report.skipped.append(f"skipped {metric.name}: collected by StatsD, no table (Graphite only)")
                    continue
                days = sample_dates(table_days(engine, q.metric), dates)
                if not days:
                    report.skipped.append(f"skipped {metric.name}: its table {q.metric.table} has no rows yet")
                    continue
                want = table_totals(engine, spec, metric, days)
                surfaces: dict[str, Totals] = {"metrics.query": query_totals(settings, metric, days)}
                plan, how = superset_chart(cat, spec, metric)
                if plan is None:
                    report.skipped.append(f"not checked on Superset: {metric.name}: {how}")
                elif how == "chart":
                    payload = client.chart_data(client.chart_id(plan.uuid))["result"][0]
                    if payload.get("error"):
                        raise VerifyError(f"Superset chart {plan.title!r} ({plan.uuid}) answered an error: {payload['error']}")
                    surfaces[f"Superset (chart {plan.title!r})"] = superset_totals(payload, plan, metric, days)
                else:
                    surfaces[f"Superset (dataset {plan.dataset.name}, by day)"] = superset_dataset_totals(client, plan, metric, days)
                target = graphite_target(spec, metric, settings.graphite_prefix)
                if target is None:
                    report.skipped.append(f"not checked on Graphite: {metric.name}: it (or a part of it) has no Graphite path")
                else:
                    surfaces["Graphite"] = graphite_totals(graphite_url, target, days)
                bad = [
                    Mismatch(metric.name, day, name, got[day], want[day]) for name, got in surfaces.items() for day in days if not agree(got[day], want[day])
                ]
                report.mismatches += bad
                if not bad:
                    report.agreed[metric.name] = 1 + len(surfaces)
                log(f"{metric.name}: {len(days)} dates on {1 + len(surfaces)} surfaces, {len(bad)} mismatch(es)")


def _timestamp(day: dt.date) -> int:
    return calendar.timegm(day.timetuple())


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if hasattr(value, "date") and callable(value.date):
        return value.date()
    return dt.date.fromisoformat(str(value)[:10])


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _shown(value: float | None) -> str:
    return "no value" if value is None else f"{value:.12g}"
