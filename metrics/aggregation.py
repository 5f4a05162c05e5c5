"""What a metric's number is at any grain, and the SQL that computes it: one answer for every surface.

A grain is a time bucket (the stored period, a week, a month, or the whole range) and a set of
the metric's dimensions. How values combine is the metric's `aggregation` (`metrics.spec`):

| quantity | additive (counts) | semi_additive (gauges) | non_additive without parts |
| --- | --- | --- | --- |
| total | `SUM(x)` | mean over periods of the per-period sums | the stored value when the grain is the stored grain, else NULL |
| mean per period | mean over periods of the per-period sums | same as total | same as total |

A ratio (a `type: ratio` metric, or a metric shown normalized) is `SUM(numerator) / SUM(denominator)
* scale` over the rows of the grain: never a sum or a mean of ratios. When both parts are columns of
the same rows (`paired`), a row missing either part counts in neither sum. Its mean per period is the
ratio itself. A denominator of 0 gives NULL, not infinity.

The SQL here is written once, in the subset DuckDB and Trino both run (CAST AS DOUBLE because Trino
divides integers as integers, NULLIF, COUNT(DISTINCT CASE ...)): Superset datasets and charts,
`metrics.frames` and the tests all use it. Grafana's targets (`grafana.targets`) follow the same
table with Graphite functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Literal

from metrics.spec import Metric, Show, Spec
from metrics.tables import SCHEMA, TIME_COLUMN

Kind = Literal["value", "mean", "ratio"]


class GrainError(ValueError):
    """A metric was asked for at a grain where it has no value (the message says why)."""


@dataclass(frozen=True)
class Quantity:
    """One number a surface shows for a metric: its value, its mean per period, or a ratio of two sums."""

    name: str
    """The column or measure name: the metric's name, `<m>_mean`, or `<m>_per_<denominator>`."""
    kind: Kind
    metric: Metric
    """The metric shown; for a ratio, its numerator."""
    denominator: Metric | None = None
    scale: float = 1.0

    @property
    def parts(self) -> tuple[Metric, ...]:
        """The stored metrics the quantity is computed from."""
        return (self.metric,) if self.denominator is None else (self.metric, self.denominator)


def quantity(spec: Spec, metric: Metric, show: Show = "total") -> Quantity:
    """What `show` of `metric` means (a graph's `show` item; `percentage` is a share of `total`).

    Raises GrainError for `normalized` of a metric without a normalization.
    """
    parts = spec.parts(metric)
    if show == "normalized":
        if metric.normalization is None:
            raise GrainError(f"metric {metric.name!r} has no normalization")
        by = spec.metric(metric.normalization.by)
        return Quantity(f"{metric.name}_per_{by.name}", "ratio", metric, by, metric.normalization.scale)
    if parts is not None:
        numerator, denominator, scale = parts
        name = metric.name if show != "mean" else f"{metric.name}_mean"
        return Quantity(name, "ratio", numerator, denominator, scale)
    if show == "mean" and metric.aggregation == "additive":
        return Quantity(f"{metric.name}_mean", "mean", metric)
    return Quantity(metric.name if show != "mean" else f"{metric.name}_mean", "value", metric)


def expression(q: Quantity, column: Callable[[Metric], str], time_column: str = TIME_COLUMN) -> str:
    """The SQL aggregate of `q` over the rows of one group; `column(m)` names m's value column."""
    if q.kind == "ratio":
        assert q.denominator is not None
        scale = f" * {_number(q.scale)}" if q.scale != 1 else ""
        n, d = column(q.metric), column(q.denominator)
        if paired(q):
            n, d = f"CASE WHEN {d} IS NOT NULL THEN {n} END", f"CASE WHEN {n} IS NOT NULL THEN {d} END"
        return f"CAST(SUM({n}) AS DOUBLE) / NULLIF(SUM({d}), 0){scale}"
    x = column(q.metric)
    if q.metric.aggregation == "non_additive":
        # Only a group of one stored row has a value: a distinct count or a percentile cannot be combined.
        return f"CASE WHEN COUNT({x}) = 1 THEN MAX({x}) END"
    if q.kind == "mean" or q.metric.aggregation == "semi_additive":
        return _per_period(x, time_column)
    return f"SUM({x})"


def paired(q: Quantity) -> bool:
    """Whether a ratio's parts are read from the same rows: one table, the same dimensions.

    Then a row where one part is NULL (unknown, e.g. a country without an internet figure) counts
    in neither sum. Parts of different tables are not paired: there a missing row means nothing
    happened, so the other part's row still counts (sessions without a toggle).
    """
    return q.denominator is not None and same_rows(q.metric, q.denominator)


def same_rows(a: Metric, b: Metric) -> bool:
    """Whether two metrics are columns of the same rows: one table, the same dimensions."""
    return a.table is not None and a.table == b.table and set(a.dimensions) == set(b.dimensions)


def describe(q: Quantity) -> str:
    """One sentence saying how the number is made, for chart and panel descriptions."""
    if q.kind == "ratio":
        assert q.denominator is not None
        scale = f", times {_number(q.scale)}" if q.scale != 1 else ""
        rows = "the rows shown that have both" if paired(q) else "the rows shown"
        return f"Computed as sum of {q.metric.name} / sum of {q.denominator.name}{scale} over {rows} (never an average of ratios)."
    if q.metric.aggregation == "non_additive":
        return "Non-additive: shown only where one stored value is shown, never summed or averaged."
    if q.kind == "mean" or q.metric.aggregation == "semi_additive":
        level = " (a level, not added over time)" if q.metric.aggregation == "semi_additive" else ""
        return f"Sum per period{level}, averaged over the periods that have values."
    return "Sum of the values shown."


def _per_period(x: str, time_column: str) -> str:
    """The sum of x divided by the number of periods that have a value of x."""
    return f"CAST(SUM({x}) AS DOUBLE) / NULLIF(COUNT(DISTINCT CASE WHEN {x} IS NOT NULL THEN {time_column} END), 0)"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


# --- where the values are -------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """The rows a set of metrics is read from: one table, or several put side by side on shared keys."""

    sql: str
    """A table name (`metrics.<table>`) or a parenthesised subquery, usable after FROM."""
    dimensions: tuple[str, ...]
    """The dimension columns the rows have (besides `dt`)."""
    columns: dict[str, str]
    """metric name -> the column holding its values."""
    tables: tuple[str, ...]
    query: str | None = None
    """The SELECT of a joined source (for a virtual dataset); None for one table."""

    def column(self, metric: Metric) -> str:
        return self.columns[metric.name]


def source(metrics: Iterable[Metric], table_metrics: Iterable[Metric] = ()) -> Source:
    """Where `metrics` (stored ones; ratios are read through their parts) are read together.

    Metrics of one table are read from it. Metrics of several tables are joined on `dt` and the
    dimensions all of them share: each table's rows are first added up per key (a full outer join
    written as UNION ALL + GROUP BY, so any number of tables join the same way). `table_metrics` adds
    other metrics stored in the same tables (they become columns of the joined rows too).

    Raises GrainError when a non-additive metric would be added up over a dimension to join.
    """
    wanted = _unique(metrics)
    if any(m.table is None for m in wanted):
        raise GrainError("a metric collected by StatsD has no table: read it from Graphite")
    tables = tuple(sorted({m.table for m in wanted if m.table}))
    everyone = _unique([*wanted, *(m for m in table_metrics if m.table in tables)])
    if len(tables) == 1:
        dims = _union(m.dimensions for m in everyone)
        return Source(f"{SCHEMA}.{tables[0]}", tuple(dims), {m.name: m.column for m in everyone}, tables)  # type: ignore[misc]
    by_table = {t: [m for m in everyone if m.table == t] for t in tables}
    table_dims = {t: _union(m.dimensions for m in ms) for t, ms in by_table.items()}
    shared = [d for d in table_dims[tables[0]] if all(d in table_dims[t] for t in tables[1:])]
    for m in everyone:
        dropped = [d for d in m.dimensions if d not in shared]
        if m.aggregation == "non_additive" and dropped:
            raise GrainError(f"metric {m.name!r} is non-additive and cannot be added up over {', '.join(dropped)} to join {', '.join(tables)}")
    keys = [TIME_COLUMN, *shared]
    selects = []
    for table in tables:
        parts = list(keys)
        for m in everyone:
            parts.append(f"{m.column} AS {m.name}" if m.table == table else f"CAST(NULL AS {_null_type(m)}) AS {m.name}")
        selects.append(f"  SELECT {', '.join(parts)} FROM {SCHEMA}.{table}")
    outer = ", ".join(keys + [f"SUM({m.name}) AS {m.name}" for m in everyone])
    query = f"SELECT {outer}\nFROM (\n" + "\n  UNION ALL\n".join(selects) + f"\n) AS rows_of_each_table\nGROUP BY {', '.join(keys)}"
    return Source(f"(\n{query}\n) AS joined", tuple(shared), {m.name: m.name for m in everyone}, tables, query)


def _null_type(metric: Metric) -> str:
    return "BIGINT" if metric.type == "counter" and metric.aggregation == "additive" else "DOUBLE"


def _unique(metrics: Iterable[Metric]) -> list[Metric]:
    out: list[Metric] = []
    for m in metrics:
        if all(m.name != o.name for o in out):
            out.append(m)
    return out


def _union(groups: Iterable[Iterable[str]]) -> list[str]:
    out: list[str] = []
    for group in groups:
        out += [d for d in group if d not in out]
    return out


# --- one query ------------------------------------------------------------------------------

TIME_GRAINS = ("period", "day", "week", "month", "year", "all")
"""`period`: as stored (the report's day, week or month); `day` (the stored day: a report's `dt`
is a DATE, so a monthly report has one value a month at this grain too); `week` (starting Monday,
as Superset's and Trino's `date_trunc`), `month`, `year`; `all`: one value over the whole range."""


def time_bucket(grain: str, time_column: str = TIME_COLUMN) -> str | None:
    """The SQL of a row's time bucket, None for the whole range."""
    if grain in ("period", "day"):
        return time_column
    if grain in ("week", "month", "year"):
        return f"CAST(date_trunc('{grain}', {time_column}) AS DATE)"
    if grain == "all":
        return None
    raise GrainError(f"unknown time grain {grain!r} (use one of {', '.join(TIME_GRAINS)})")


def select(quantities: list[Quantity], by: list[str], grain: str = "period", *, where: str = "") -> str:
    """A SELECT (DuckDB and Trino alike) of `quantities` by time bucket and the dimensions `by`.

    Columns: `dt` (absent for grain `all`), `by` in order, one per quantity. Raises GrainError when
    a quantity has no value at that grain (a dimension its parts lack).
    """
    metrics = [m for q in quantities for m in q.parts]
    src = source(metrics)
    for q in quantities:
        for m in q.parts:
            lacking = [d for d in by if d not in m.dimensions]
            if lacking:
                raise GrainError(
                    f"{q.name}: metric {m.name!r} is not split by {', '.join(lacking)}"
                    if q.name != m.name
                    else f"metric {m.name!r} is not split by {', '.join(lacking)}"
                )
    bucket = time_bucket(grain)
    keys = ([f"{bucket} AS {TIME_COLUMN}"] if bucket else []) + list(by)
    group = ([bucket] if bucket else []) + list(by)
    values = [f"{expression(q, src.column)} AS {q.name}" for q in quantities]
    sql = f"SELECT {', '.join(keys + values)}\nFROM {src.sql}"
    if where:
        sql += f"\nWHERE {where}"
    if group:
        positions = ", ".join(str(i) for i in range(1, len(group) + 1))
        sql += f"\nGROUP BY {', '.join(group)}\nORDER BY {positions}"
    return sql
