"""Datasets: one physical dataset per metric table, one virtual (SQL) dataset per set of tables a chart
or a normalization needs together.

A virtual dataset adds up each table's rows per (dt, shared dimensions) and puts them side by side:
a full outer join on those keys, written as UNION ALL + GROUP BY so that any number of tables join
the same way, in SQL that DuckDB and Trino both run. E.g. toggles per editing session joins
metrics.codemirror_toggles (by dt, editor, enabled, wiki) and metrics.codemirror_sessions (by dt,
editor, wiki) on dt, editor, wiki: toggles are first added up over `enabled`, so each session count
is used once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from metrics.catalogue import Catalogue
from metrics.reports.config import table_name
from metrics.spec import Metric, ReportSource, Spec
from superset_assets import measures as ms
from superset_assets.naming import SCHEMA, marker, object_uuid


class PlanError(ValueError):
    """The catalogue asks for something no dataset can answer (the message says what and why)."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str | None
    is_dttm: bool = False
    groupby: bool = True
    description: str | None = None


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

    def has_measure(self, name: str) -> bool:
        return any(m.name == name for m in self.measures)


def metric_table(metric: Metric) -> str | None:
    """`<folder>_<report>` of a report metric, None for a StatsD metric."""
    if not isinstance(metric.source, ReportSource):
        return None
    folder, report = metric.source.report.split("/", 1)
    return table_name(folder, report)


def report_metrics(spec: Spec) -> list[Metric]:
    """The spec's metrics that live in a metric table (StatsD metrics are in Grafana only)."""
    return [m for m in spec.metrics if metric_table(m) is not None]


def _dimension_type(spec: Spec, name: str) -> str:
    dimension = next((d for d in spec.dimensions if d.name == name), None)
    # A dimension whose listed values are all integers (e.g. `rank`) is an integer column.
    if dimension is not None and dimension.values != "open" and dimension.values and all(v.isdigit() for v in dimension.values):
        return "BIGINT"
    return "VARCHAR"


def _value_type(metric: Metric) -> str | None:
    """Counters are BIGINT, ratios DOUBLE; a gauge may be either (population is BIGINT): left untyped."""
    return {"counter": "BIGINT", "ratio": "DOUBLE"}.get(metric.type)


class Planner:
    """Decides the datasets of one spec (metrics of other specs that read the same table are kept
    on it, because Superset allows one physical dataset per table and an import replaces its metrics)."""

    def __init__(self, catalogue: Catalogue | Iterable[Spec], spec: Spec, database: str):
        self.spec = spec
        self.database = database
        self.by_table: dict[str, list[tuple[Spec, Metric]]] = {}
        for other in catalogue:
            for metric in report_metrics(other):
                self.by_table.setdefault(metric_table(metric), []).append((other, metric))  # type: ignore[arg-type]
        self.datasets: dict[tuple[str, ...], Dataset] = {}

    # -- physical -----------------------------------------------------------------------------

    def table_dimensions(self, table: str) -> list[str]:
        names: list[str] = []
        for _, metric in self.by_table[table]:
            names += [d for d in metric.dimensions if d not in names]
        return names

    def _spec_of_dimension(self, table: str) -> Spec:
        return next((s for s, _ in self.by_table[table] if s.name == self.spec.name), self.by_table[table][0][0])

    def physical(self, table: str) -> Dataset:
        key = (table,)
        if key in self.datasets:
            return self.datasets[key]
        owner = self._spec_of_dimension(table)
        entries = self.by_table[table]
        columns = [Column(ms.TIME_COLUMN, "DATE", is_dttm=True, description="The first day of the reporting period.")]
        columns += [Column(d, _dimension_type(owner, d), description=_dimension_description(owner, d)) for d in self.table_dimensions(table)]
        values: dict[str, str] = {}
        for _, metric in entries:
            column = metric.source.column  # type: ignore[union-attr]
            values[metric.name] = column
            if not any(c.name == column for c in columns):
                columns.append(Column(column, _value_type(metric), groupby=False, description=metric.description))
        measures = self._measures(entries, values)
        described = ", ".join(m.name for _, m in entries)
        dataset = Dataset(
            table, object_uuid("dataset", self.database, SCHEMA, table), key, tuple(columns), tuple(measures),
            f"Metric table {SCHEMA}.{table}: {described}. {marker(self.spec)}", None, values,
        )
        self.datasets[key] = dataset
        return dataset

    # -- virtual ------------------------------------------------------------------------------

    def virtual(self, tables: Iterable[str]) -> Dataset:
        key = tuple(sorted(set(tables)))
        if len(key) == 1:
            return self.physical(key[0])
        if key in self.datasets:
            return self.datasets[key]
        shared = [d for d in self.table_dimensions(key[0]) if all(d in self.table_dimensions(t) for t in key[1:])]
        entries = [entry for table in key for entry in self.by_table[table]]
        for _, metric in entries:
            dropped = [d for d in metric.dimensions if d not in shared]
            if metric.type == "ratio" and dropped:
                raise PlanError(f"metric {metric.name!r} is a ratio and cannot be added up over {', '.join(dropped)} to join it with {', '.join(key)}")
        name = "__".join(key)
        keys = [ms.TIME_COLUMN, *shared]
        selects = []
        for table in key:
            parts = list(keys)
            for _, metric in entries:
                if metric_table(metric) == table:
                    parts.append(f"{metric.source.column} AS {metric.name}")  # type: ignore[union-attr]
                else:
                    parts.append(f"CAST(NULL AS {_value_type(metric) or 'DOUBLE'}) AS {metric.name}")
            selects.append(f"  SELECT {', '.join(parts)} FROM {SCHEMA}.{table}")
        outer = ", ".join(keys + [f"{'MAX' if m.type == 'ratio' else 'SUM'}({m.name}) AS {m.name}" for _, m in entries])
        sql = f"SELECT {outer}\nFROM (\n" + "\n  UNION ALL\n".join(selects) + f"\n) AS rows_of_each_table\nGROUP BY {', '.join(keys)}"
        owner = self.spec
        columns = [Column(ms.TIME_COLUMN, "DATE", is_dttm=True, description="The first day of the reporting period.")]
        columns += [Column(d, _dimension_type(owner, d), description=_dimension_description(owner, d)) for d in shared]
        columns += [Column(m.name, _value_type(m), groupby=False, description=m.description) for _, m in entries]
        values = {m.name: m.name for _, m in entries}
        dataset = Dataset(
            name, object_uuid("dataset", self.database, SCHEMA, name), key, tuple(columns), tuple(self._measures(entries, values)),
            f"{' joined with '.join(f'{SCHEMA}.{t}' for t in key)} on {', '.join(keys)} (each added up per key first). {marker(self.spec)}",
            sql, values,
        )
        self.datasets[key] = dataset
        return dataset

    # -- which dataset ------------------------------------------------------------------------

    def denominator(self, metric: Metric) -> Metric:
        assert metric.normalization is not None
        return self.spec.metric(metric.normalization.by)

    def tables_for(self, metrics: Iterable[Metric], normalized: bool) -> tuple[str, ...]:
        tables = []
        for metric in metrics:
            tables.append(metric_table(metric))
            if normalized and metric.normalization is not None:
                tables.append(metric_table(self.denominator(metric)))
        if None in tables:
            raise PlanError("a normalization divides by a StatsD metric, which has no metric table")
        return tuple(sorted(set(tables)))  # type: ignore[arg-type]

    def plan_spec(self) -> None:
        """Every physical dataset of the spec, and a virtual one per cross-table normalization."""
        for metric in report_metrics(self.spec):
            self.physical(metric_table(metric))  # type: ignore[arg-type]
        for metric in report_metrics(self.spec):
            if metric.normalization is not None:
                self.virtual(self.tables_for([metric], normalized=True))

    def _measures(self, entries: list[tuple[Spec, Metric]], values: dict[str, str]) -> list[ms.Measure]:
        out: list[ms.Measure] = []
        for spec, metric in entries:
            column = values[metric.name]
            out += [ms.total(metric, column), ms.mean(metric, column)]
            if metric.normalization is not None:
                denominator = spec.metric(metric.normalization.by)
                if denominator.name in values:
                    out.append(ms.normalized(metric, column, denominator, values[denominator.name]))
        return out


def _dimension_description(spec: Spec, name: str) -> str | None:
    return next((d.description for d in spec.dimensions if d.name == name), None)


def dataset_yaml(dataset: Dataset, database_uuid: str) -> dict[str, Any]:
    """The dataset file (every key Superset 6.1 knows; `versions.restrict` drops the newer ones for older targets)."""
    return {
        "table_name": dataset.name,
        "main_dttm_col": ms.TIME_COLUMN,
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
                "expression": None,
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
