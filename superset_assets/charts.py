"""Charts from the spec's graphs, each with the `query_context` that /api/v1/chart/<id>/data/ runs.

A graph becomes one chart per quantity it shows (a total and a rate on one axis would flatten one
of them), except a table, which shows every quantity as columns:

| graph kind | total / mean / normalized | percentage |
| --- | --- | --- |
| line | echarts_timeseries_line, one line per `split_by` value, not stacked | same, each line's share of the day (contribution by row) |
| big_number | big_number_total over the dashboard's time range | (needs split_by: not offered) |
| table | one row per `split_by` value, a column per metric and quantity | a `%` column: the row's share of the metric's total |
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from metrics.spec import Graph, Metric, Show, Spec
from metrics.tables import TIME_COLUMN
from superset_assets import measures as ms
from superset_assets.datasets import Dataset, PlanError, Planner, stored_parts
from superset_assets.naming import object_uuid

ROW_LIMIT = 10000
TIME_GRAIN = "P1D"
NO_FILTER = "No filter"


@dataclass(frozen=True)
class ChartPlan:
    """One chart: which graph and quantity it shows, from which dataset, with which saved metrics."""

    uuid: str
    title: str
    spec: str
    graph: Graph
    show: tuple[str, ...]
    viz_type: str
    dataset: Dataset
    metrics: tuple[str, ...]
    percent_metrics: tuple[str, ...] = ()
    contribution: bool = False

    @property
    def groupby(self) -> list[str]:
        return [self.graph.split_by] if self.graph.split_by else []

    def number_format(self, metric: str) -> str:
        if self.contribution:
            return ms.PERCENT_FORMAT
        return next(m.d3format for m in self.dataset.measures if m.name == metric)


SHOW_LABELS = {"total": "total", "mean": "mean per period", "percentage": "share"}


def _label(graph: Graph, metrics: list[Metric], show: str) -> str:
    if show == "normalized":
        labels = sorted({m.normalization.label for m in metrics if m.normalization})
        return ", ".join(labels)
    return SHOW_LABELS[show]


def _measure(metric: Metric, show: str) -> str | None:
    if show == "normalized":
        return ms.normalized_name(metric) if metric.normalization else None
    if show == "mean":
        return ms.mean_name(metric)
    return ms.total_name(metric)


def plan_charts(spec: Spec, planner: Planner) -> list[ChartPlan]:
    """The charts of a spec, in graph order; graphs of StatsD metrics only are left to Grafana."""
    plans: list[ChartPlan] = []
    for graph in spec.graphs:
        metrics = [spec.metric(name) for name in graph.metrics if stored_parts(spec, spec.metric(name))]
        if not metrics:
            continue
        show = list(graph.show)
        if graph.kind == "table":
            plans.append(_table(spec, graph, metrics, show, planner))
            continue
        if graph.kind == "big_number" and "percentage" in show:
            raise PlanError(f"graph {graph.title!r}: a big number cannot show a percentage (it has no split_by); use a line or a table")
        for item in show:
            names = [n for n in (_measure(m, item) for m in metrics) if n]
            if not names:
                raise PlanError(f"graph {graph.title!r} shows 'normalized', but none of its metrics has a normalization")
            dataset = _dataset(graph, metrics, item == "normalized", planner)
            label = _label(graph, metrics, item)
            label = item if label.lower() in graph.title.lower() else label  # "X per session (per session)" reads badly
            title = graph.title if len(show) == 1 else f"{graph.title} ({label})"
            viz = "echarts_timeseries_line" if graph.kind == "line" else "big_number_total"
            plans.append(
                ChartPlan(
                    object_uuid("chart", spec.name, graph.title, item),
                    title,
                    spec.name,
                    graph,
                    (item,),
                    viz,
                    dataset,
                    tuple(names),
                    contribution=item == "percentage",
                )
            )
    return plans


def _table(spec: Spec, graph: Graph, metrics: list[Metric], show: list[Show], planner: Planner) -> ChartPlan:
    names: list[str] = []
    for item in show:
        if item != "percentage":
            names += [n for n in (_measure(m, item) for m in metrics) if n and n not in names]
    percent = tuple(ms.total_name(m) for m in metrics) if "percentage" in show else ()
    if not names:  # only a percentage asked for: the totals it is a share of come along
        names = list(percent)
    dataset = _dataset(graph, metrics, "normalized" in show, planner)
    return ChartPlan(object_uuid("chart", spec.name, graph.title, "table"), graph.title, spec.name, graph, tuple(show), "table", dataset, tuple(names), percent)


def _dataset(graph: Graph, metrics: list[Metric], normalized: bool, planner: Planner) -> Dataset:
    dataset = planner.virtual(planner.tables_for(metrics, normalized))
    for column in [graph.split_by, *graph.filters]:
        if column and not dataset.has_column(column):
            raise PlanError(
                f"graph {graph.title!r} splits or filters by {column!r}, which dataset {dataset.name} does not have "
                f"(its dimensions: {', '.join(c.name for c in dataset.columns if c.groupby and not c.is_dttm)})"
            )
    return dataset


# -- the chart file ---------------------------------------------------------------------------


def _adhoc_filters(plan: ChartPlan) -> list[dict[str, Any]]:
    filters = [{"clause": "WHERE", "subject": TIME_COLUMN, "operator": "TEMPORAL_RANGE", "comparator": NO_FILTER, "expressionType": "SIMPLE"}]
    for column, value in sorted(plan.graph.filters.items()):
        filters.append({"clause": "WHERE", "subject": column, "operator": "==", "comparator": value, "expressionType": "SIMPLE"})
    return filters


def _query_filters(plan: ChartPlan) -> list[dict[str, Any]]:
    filters = [{"col": TIME_COLUMN, "op": "TEMPORAL_RANGE", "val": NO_FILTER}]
    filters += [{"col": column, "op": "==", "val": value} for column, value in sorted(plan.graph.filters.items())]
    return filters


def params(plan: ChartPlan) -> dict[str, Any]:
    """The chart's form data (what Explore shows and saves)."""
    common = {"datasource": "0__table", "viz_type": plan.viz_type, "adhoc_filters": _adhoc_filters(plan), "extra_form_data": {}, "dashboards": []}
    first = plan.metrics[0]
    if plan.viz_type == "echarts_timeseries_line":
        return {
            **common,
            "x_axis": TIME_COLUMN,
            "time_grain_sqla": TIME_GRAIN,
            "x_axis_sort_asc": True,
            "metrics": list(plan.metrics),
            "groupby": plan.groupby,
            "contributionMode": "row" if plan.contribution else None,
            "stack": None,
            "seriesType": "line",
            "order_desc": True,
            "row_limit": ROW_LIMIT,
            "truncate_metric": True,
            "show_legend": True,
            "rich_tooltip": True,
            "y_axis_format": plan.number_format(first),
            "x_axis_time_format": "%Y-%m-%d",
        }
    if plan.viz_type == "big_number_total":
        return {
            **common,
            "metric": first,
            "header_font_size": 0.4,
            "subheader_font_size": 0.15,
            "y_axis_format": plan.number_format(first),
            "time_format": "%Y-%m-%d",
        }
    column_config = {m: {"d3NumberFormat": plan.number_format(m)} for m in plan.metrics}
    column_config.update({f"%{m}": {"d3NumberFormat": ms.PERCENT_FORMAT} for m in plan.percent_metrics})
    return {
        **common,
        "query_mode": "aggregate",
        "groupby": plan.groupby,
        "metrics": list(plan.metrics),
        "percent_metrics": list(plan.percent_metrics),
        "all_columns": [],
        "order_desc": True,
        "row_limit": ROW_LIMIT,
        "server_pagination": False,
        "show_cell_bars": True,
        "table_timestamp_format": "%Y-%m-%d",
        "column_config": column_config,
    }


def query_context(plan: ChartPlan) -> dict[str, Any]:
    """What Explore would save for the chart: one query, post-processed as the chart plugin does."""
    query: dict[str, Any] = {
        "filters": _query_filters(plan),
        "extras": {"having": "", "where": ""},
        "applied_time_extras": {},
        "annotation_layers": [],
        "url_params": {},
        "custom_params": {},
        "custom_form_data": {},
        "time_offsets": [],
    }
    metrics = list(plan.metrics)
    if plan.viz_type == "echarts_timeseries_line":
        axis = {"timeGrain": TIME_GRAIN, "columnType": "BASE_AXIS", "sqlExpression": TIME_COLUMN, "label": TIME_COLUMN, "expressionType": "SQL"}
        post: list[dict[str, Any]] = [
            {
                "operation": "pivot",
                "options": {
                    "index": [TIME_COLUMN],
                    "columns": plan.groupby,
                    "aggregates": {m: {"operator": "mean"} for m in metrics},
                    "drop_missing_columns": False,
                },
            }
        ]
        if len(metrics) == 1 and plan.groupby:
            post.append({"operation": "rename", "options": {"columns": {metrics[0]: None}, "level": 0, "inplace": True}})
        if plan.contribution:
            post.append({"operation": "contribution", "options": {"orientation": "row"}})
        post.append({"operation": "flatten"})
        query.update(
            {
                "columns": [axis, *plan.groupby],
                "series_columns": plan.groupby,
                "series_limit": 0,
                "metrics": metrics,
                "orderby": [[metrics[0], False]],
                "row_limit": ROW_LIMIT,
                "order_desc": True,
                "post_processing": post,
            }
        )
    elif plan.viz_type == "big_number_total":
        query.update({"columns": [], "metrics": metrics, "row_limit": ROW_LIMIT, "post_processing": []})
    else:
        every = metrics + [m for m in plan.percent_metrics if m not in metrics]
        post = []
        if plan.percent_metrics:
            post.append(
                {"operation": "contribution", "options": {"columns": list(plan.percent_metrics), "rename_columns": [f"%{m}" for m in plan.percent_metrics]}}
            )
        query.update(
            {"columns": plan.groupby, "metrics": every, "orderby": [[metrics[0], False]], "row_limit": ROW_LIMIT, "order_desc": True, "post_processing": post}
        )
    form_data = {**params(plan), "force": False, "result_format": "json", "result_type": "full"}
    return {
        "datasource": {"id": 0, "type": "table"},
        "force": False,
        "queries": [query],
        "form_data": form_data,
        "result_format": "json",
        "result_type": "full",
    }


def chart_yaml(plan: ChartPlan, spec: Spec) -> dict[str, Any]:
    """The chart file; `query_context` is a JSON string, as Superset stores it."""
    description = " ".join(p for p in (plan.graph.description, spec.marker()) if p)
    return {
        "slice_name": plan.title,
        "description": description,
        "certified_by": None,
        "certification_details": None,
        "viz_type": plan.viz_type,
        "params": params(plan),
        "query_context": json.dumps(query_context(plan), sort_keys=True),
        "cache_timeout": None,
        "uuid": plan.uuid,
        "version": "1.0.0",
        "dataset_uuid": plan.dataset.uuid,
    }
