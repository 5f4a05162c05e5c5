"""Datasets: one physical dataset per metric table, one virtual (SQL) dataset per set of tables a chart
or a normalization needs together.

A virtual dataset is `metrics.aggregation.source`: each table's rows added up per (dt, shared
dimensions) and put side by side. E.g. toggles per editing session joins
metrics.codemirror_toggles (by dt, editor, enabled, wiki) and metrics.codemirror_sessions (by dt,
editor, wiki) on dt, editor, wiki: toggles are first added up over `enabled`, so each session count
is used once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Literal

import pycountry

from metrics import aggregation
from metrics.catalogue import Catalogue
from metrics.errors import MetricsError
from metrics.spec import Metric, Spec
from metrics.tables import SCHEMA, TIME_COLUMN
from superset_assets import measures as ms
from superset_assets.naming import object_uuid

YEAR_COLUMN = "year"
"""A calculated column on every dataset: what a Year filter lists (2024, not 2024-01-01T00:00:00)."""
YEAR_EXPRESSION = f"CAST(EXTRACT(YEAR FROM {TIME_COLUMN}) AS INTEGER)"
"""The same SQL on DuckDB and Trino."""


def name_column(dimension: str) -> str:
    """The calculated column holding the country names of a dimension of ISO 3166-1 codes."""
    return f"{dimension}_name"


def country_name_sql(column: str, codes: Literal["alpha-2", "alpha-3"]) -> str:
    """`CASE <column> WHEN 'DEU' THEN 'Germany' ... ELSE <column> END` over every ISO 3166-1 country (pycountry's
    common name where it has one: "Bolivia", not "Bolivia, Plurinational State of"); quotes doubled, as SQL
    string literals need on DuckDB and Trino. `column` is a dimension name (a validated identifier)."""

    def literal(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    pairs = sorted((getattr(c, "alpha_3" if codes == "alpha-3" else "alpha_2"), getattr(c, "common_name", c.name)) for c in pycountry.countries)
    whens = " ".join(f"WHEN {literal(code)} THEN {literal(name)}" for code, name in pairs)
    return f"CASE {column} {whens} ELSE {column} END"


class PlanError(MetricsError, ValueError):
    """The catalogue asks for something no dataset can answer (the message says what and why)."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str | None
    is_dttm: bool = False
    groupby: bool = True
    description: str | None = None
    expression: str | None = None
    """SQL over the dataset's own columns (a calculated column, e.g. `YEAR_COLUMN`); None: a column of the table."""


@dataclass(frozen=True)
class Dataset:
    """A dataset to emit: its columns and saved metrics, and which warehouse tables it reads."""

    name: str
    uuid: str
    tables: tuple[str, ...]
    columns: tuple[Column, ...]
    measures: tuple[ms.Measure, ...]
    description: str
    sql: str | None = None
    value_columns: dict[str, str] = field(default_factory=dict)
    """catalogue metric name -> the column holding its value in this dataset."""

    def has_column(self, name: str) -> bool:
        return any(c.name == name for c in self.columns)


def stored_parts(spec: Spec, metric: Metric) -> list[Metric]:
    """The stored metrics `metric` is read from (itself, or a ratio's parts); empty when one of them is
    collected by StatsD, whose values are in Graphite only."""
    parts = aggregation.quantity(spec, metric).parts
    return list(parts) if all(m.table for m in parts) else []


def report_metrics(spec: Spec) -> list[Metric]:
    """The spec's metrics read from metric tables (StatsD metrics are in Grafana only)."""
    return [m for m in spec.metrics if stored_parts(spec, m)]


def _dimension_type(spec: Spec, name: str) -> str:
    dimension = next((d for d in spec.dimensions if d.name == name), None)
    # A dimension whose listed values are all integers (e.g. `rank`) is an integer column.
    if dimension is not None and dimension.values != "open" and dimension.values and all(v.isdigit() for v in dimension.values):
        return "BIGINT"
    return "VARCHAR"


def _value_type(metric: Metric) -> str | None:
    """Additive counters are BIGINT; a gauge may be either (population is BIGINT): left untyped."""
    return "BIGINT" if metric.type == "counter" and metric.aggregation == "additive" else None


class Planner:
    """Decides the datasets of one spec (metrics of other specs that read the same table are kept
    on it, because Superset allows one physical dataset per table and an import replaces its metrics)."""

    def __init__(self, catalogue: Catalogue | Iterable[Spec], spec: Spec, database: str):
        self.spec = spec
        self.database = database
        self.by_table: dict[str, list[tuple[Spec, Metric]]] = {}
        self.readers: list[tuple[Spec, Metric]] = []
        """Every catalogue metric read from tables (stored ones and ratios of stored parts)."""
        for other in catalogue:
            for metric in report_metrics(other):
                self.readers.append((other, metric))
                if metric.table:
                    self.by_table.setdefault(metric.table, []).append((other, metric))
        self.datasets: dict[tuple[str, ...], Dataset] = {}

    def _stored(self, tables: tuple[str, ...]) -> list[Metric]:
        return [m for t in tables for _, m in self.by_table[t]]

    def _owner(self, table: str) -> Spec:
        """The spec that describes the table's dimensions: this one when it has metrics there."""
        return next((s for s, _ in self.by_table[table] if s.name == self.spec.name), self.by_table[table][0][0])

    def _dataset(self, key: tuple[str, ...]) -> Dataset:
        if key in self.datasets:
            return self.datasets[key]
        stored = self._stored(key)
        try:
            src = aggregation.source(stored)
        except aggregation.GrainError as exc:
            raise PlanError(str(exc)) from None
        owner = self._owner(key[0]) if len(key) == 1 else self.spec
        columns = [Column(TIME_COLUMN, "DATE", is_dttm=True, description="The first day of the reporting period.")]
        columns += [Column(d, _dimension_type(owner, d), description=_dimension_description(owner, d)) for d in src.dimensions]
        if YEAR_COLUMN not in src.dimensions:
            columns.append(Column(YEAR_COLUMN, "INTEGER", description=f"The year of `{TIME_COLUMN}`.", expression=YEAR_EXPRESSION))
        for d in src.dimensions:
            codes = owner.dimension(d).country_codes() if any(x.name == d for x in owner.dimensions) else None
            if codes is not None and not any(c.name == name_column(d) for c in columns):
                description = f"The country's English short name (ISO 3166-1, from pycountry) for the {codes} code in `{d}`; the code where it has none."
                columns.append(Column(name_column(d), "VARCHAR", description=description, expression=country_name_sql(d, codes)))
        for metric in stored:
            name = src.column(metric)
            if not any(c.name == name for c in columns):
                columns.append(Column(name, _value_type(metric), groupby=False, description=metric.description))
        measures = [x for spec, metric in self.readers for x in ms.for_metric(spec, metric, src.column, lambda m: m.name in src.columns)]
        if len(key) == 1:
            described = ", ".join(m.name for m in stored)
            description = f"Metric table {SCHEMA}.{key[0]}: {described}. {self.spec.marker()}"
            name = key[0]
        else:
            keys = [TIME_COLUMN, *src.dimensions]
            description = f"{' joined with '.join(f'{SCHEMA}.{t}' for t in key)} on {', '.join(keys)} (each added up per key first). {self.spec.marker()}"
            name = "__".join(key)
        dataset = Dataset(
            name, object_uuid("dataset", self.database, SCHEMA, name), key, tuple(columns), tuple(measures), description, src.query, dict(src.columns)
        )
        self.datasets[key] = dataset
        return dataset

    def physical(self, table: str) -> Dataset:
        return self._dataset((table,))

    def virtual(self, tables: Iterable[str]) -> Dataset:
        """The dataset of one table, or a virtual one joining several on `dt` and their shared dimensions."""
        return self._dataset(tuple(sorted(set(tables))))

    # -- which dataset ------------------------------------------------------------------------

    def tables_for(self, metrics: Iterable[Metric], normalized: bool) -> tuple[str, ...]:
        tables: set[str] = set()
        for metric in metrics:
            quantities = [aggregation.quantity(self.spec, metric)]
            if normalized and metric.normalization is not None:
                quantities.append(aggregation.quantity(self.spec, metric, "normalized"))
            for part in (p for q in quantities for p in q.parts):
                if part.table is None:
                    raise PlanError(f"metric {metric.name!r} is computed from {part.name!r}, which StatsD collects and no table holds")
                tables.add(part.table)
        return tuple(sorted(tables))

    def plan_spec(self) -> None:
        """Every physical dataset of the spec, and a virtual one per cross-table ratio or normalization."""
        for metric in report_metrics(self.spec):
            for part in stored_parts(self.spec, metric):
                self.physical(part.table)  # type: ignore[arg-type]
        for metric in report_metrics(self.spec):
            self.virtual(self.tables_for([metric], normalized=True))


def _dimension_description(spec: Spec, name: str) -> str | None:
    return next((d.description for d in spec.dimensions if d.name == name), None)


def dataset_yaml(dataset: Dataset, database_uuid: str) -> dict[str, Any]:
    """The dataset file (every key Superset 6.1 knows; `versions.restrict` drops the newer ones for older targets)."""
    return {
        "table_name": dataset.name,
        "main_dttm_col": TIME_COLUMN,
        "description": dataset.description,
        "default_endpoint": None,
        "offset": 0,
        "cache_timeout": None,
        "catalog": None,
        "schema": SCHEMA,
        "sql": dataset.sql,
        "params": None,
        "template_params": None,
        "filter_select_enabled": True,
        "fetch_values_predicate": None,
        "extra": None,
        "normalize_columns": False,
        "always_filter_main_dttm": False,
        "currency_code_column": None,
        "uuid": dataset.uuid,
        "metrics": [
            {
                "metric_name": m.name,
                "verbose_name": m.verbose_name,
                "metric_type": None,
                "expression": m.expression,
                "description": m.description,
                "d3format": m.d3format,
                "currency": None,
                "extra": None,
                "warning_text": None,
            }
            for m in dataset.measures
        ],
        "columns": [
            {
                "column_name": c.name,
                "verbose_name": None,
                "is_dttm": c.is_dttm,
                "is_active": True,
                "type": c.type,
                "advanced_data_type": None,
                "groupby": c.groupby,
                "filterable": True,
                "expression": c.expression,
                "description": c.description,
                "python_date_format": None,
                "datetime_format": None,
                "extra": None,
            }
            for c in dataset.columns
        ],
        "version": "1.0.0",
        "database_uuid": database_uuid,
    }
