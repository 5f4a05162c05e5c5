"""Charts from the spec's graphs, each with the `query_context` that /api/v1/chart/<id>/data/ runs.

A graph becomes one chart per quantity it shows (a total and a rate on one axis would flatten one
of them), except a table, which shows every quantity as columns:

| graph kind | total / mean / normalized | percentage |
| --- | --- | --- |
| line | echarts_timeseries_line, one line per `split_by` value (the graph's `series_limit` largest by total, the rest as "Others"), not stacked | same, each line's share of the day (contribution by row) |
| big_number | big_number_total over the dashboard's time range | (needs split_by: not offered) |
| table | one row per `split_by` value (per `within` and `split_by` pair, `within` the first column), a column per metric and quantity (a quantity equal to one already shown is left out; a percent metric as a fraction written 92.5%), largest first | a `%` column: the row's share of the metric's total |
| pie | pie, one slice per `split_by` value (the `series_limit` largest, the rest as "Others", in the chart data API; on a dashboard, which fetches every slice, those under 100 / (2 x series_limit) % as "Other") | same, labelled with shares |
| world_map | world_map, countries coloured by the value (ISO 3166-1 codes), beside a table of the values by country (the map has no colour legend), with a Year filter on the dashboard | (not offered) |

Titles, axis units and number formats come from what is plotted (`metrics.describe.describe`, the
rule notebooks use): a chart of several quantities of one graph is titled by its quantity, counts
have no decimals, ratios three significant digits without trailing zeros, shares are percentages,
the y axis names the unit; table headers are `metrics.describe.column_label`'s words.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from metrics.describe import Described, chart_title, describe
from metrics.spec import Graph, Metric, Show, Spec
from metrics.tables import TIME_COLUMN
from superset_assets import measures as ms
from superset_assets.datasets import Dataset, PlanError, Planner, name_column, stored_parts
from superset_assets.naming import object_uuid

ROW_LIMIT = 10000
TIME_GRAIN = "P1D"
NO_FILTER = "No filter"
OTHERS = "Others"
"""The series Superset adds up the split values beyond a chart's series limit into (`group_others_when_limit_reached`)."""
COUNTRY_FIELDTYPE = {"alpha-3": "cca3", "alpha-2": "cca2"}
"""Superset's world map names of ISO 3166-1 code sets (its `country_fieldtype`)."""
D3_FORMATS = {"integer": ",d", "percent": ",.1f"}
"""d3 formats of `Described.format` (percent: values 0-100, the axis title says %); `number` keeps the measure's own."""
PERCENT_OF_100 = ",.1~%"
"""A table's percent column: its values are divided by 100 in the query (`_fraction`), so d3 writes 92.5%."""


LEGEND = {"show_legend": True, "legendType": "plain", "legendOrientation": "right"}
"""Every name in view, one a line right of the plot. Superset 6.1 keeps a plain legend when all its names fit
(at the top or bottom: two lines, which a half-width chart's eleven wiki names overflow; at the side: LEGEND_ITEM_PX
a name, see `legend_height`) and otherwise pages it ("1/4") by itself; a scroll legend always pages."""
LEGEND_ITEM_PX = 34
"""The height Superset 6.1 gives a name in a side legend; it adds 16 + 34 pixels (the All/Inv buttons) and takes 10 back."""


def legend_height(names: int) -> int:
    """Pixels of chart (canvas) height a side legend of `names` names needs to show all of them."""
    return LEGEND_ITEM_PX * names + 16 + LEGEND_ITEM_PX - 10


TICK_CHAR_PX = 7
"""The width of a y axis tick label's character in Superset 6.1's 12 px font (digits 7 px, commas 3 px: an upper bound)."""


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
    unit: str = ""
    """The y axis title: the unit of what is plotted (`Described.unit`)."""
    formats: tuple[tuple[str, str], ...] = ()
    """measure -> d3 format, from the metric's unit and type (`Described.format`)."""
    series_limit: int = 0
    """At most this many split values drawn (0: all); the rest are one "Others" series."""
    rank_by: str | None = None
    """The measure the split values are ranked by for the series limit: the plotted one (a share: its total)."""
    country_codes: str | None = None
    """A world map's ISO 3166-1 code set of its split dimension (`Dimension.country_codes`)."""

    @property
    def groupby(self) -> list[str]:
        """The chart's group-by columns: a table's `within` dimension first (its rows are kept apart by it), then
        split_by, then in a table the country names of a split_by of country codes (`datasets.name_column`)."""
        within = [self.graph.within] if self.graph.within and self.viz_type == "table" else []
        split = [self.graph.split_by] if self.graph.split_by else []
        # a table of country codes also names the countries (a line's legend and a map keep the codes)
        names = [name_column(c) for c in split if self.viz_type == "table" and self.dataset.has_column(name_column(c))]
        return within + split + names

    def number_format(self, metric: str) -> str:
        if self.contribution:
            return ms.PERCENT_FORMAT
        own = dict(self.formats)
        return own.get(metric) or next(m.d3format for m in self.dataset.measures if m.name == metric)


GRAINS = {"echarts_timeseries_line": "day", "big_number_total": "all", "table": "all", "pie": "all", "world_map": "all"}
"""The grain each chart type shows its numbers at (TIME_GRAIN for lines), in `describe`'s words."""
VIZ = {"line": "echarts_timeseries_line", "big_number": "big_number_total", "pie": "pie", "world_map": "world_map"}


def _measure(metric: Metric, show: str) -> str | None:
    if show == "normalized":
        return ms.normalized_name(metric) if metric.normalization else None
    if show == "mean":
        return ms.mean_name(metric)
    return ms.total_name(metric)


def described(spec: Spec, graph: Graph, metric: Metric, show: str, viz_type: str) -> Described:
    """What a chart of `show` of `metric` plots: its title, unit and number format, by the notebooks' rule."""
    by = [graph.split_by] if graph.split_by else []
    return describe(spec, metric, show, by, GRAINS[viz_type], _measure(metric, show) or "", {})


def _formats(spec: Spec, graph: Graph, metrics: list[Metric], show: list[Show], viz_type: str) -> tuple[tuple[str, str], ...]:
    out = []
    for metric in metrics:
        for item in show:
            name = _measure(metric, item)
            fmt = D3_FORMATS.get(described(spec, graph, metric, item, viz_type).format)
            if name and fmt and item != "percentage":
                out.append((name, fmt))
    return tuple(out)


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
        viz = VIZ[graph.kind]
        for item in show:
            names = [n for n in (_measure(m, item) for m in metrics) if n]
            if not names:
                raise PlanError(f"graph {graph.title!r} shows 'normalized', but none of its metrics has a normalization")
            dataset = _dataset(graph, metrics, item == "normalized", planner)
            about = described(spec, graph, metrics[0], item, viz)
            # One chart: the spec's title. Several charts of one graph: each says what it plots (Grafana's rule too).
            title = chart_title(spec, graph, item, metrics[0])
            limited = viz in ("echarts_timeseries_line", "pie") and graph.split_by is not None
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
                    contribution=item == "percentage" and viz == "echarts_timeseries_line",  # a pie labels its shares itself
                    unit=about.unit,
                    formats=_formats(spec, graph, metrics, [item], viz),
                    series_limit=graph.series_limit if limited else 0,
                    # ranked by what is drawn (a rate by the rate); a share by the totals it is a share of
                    rank_by=names[0] if limited else None,
                    country_codes=spec.dimension(graph.split_by).country_codes() if graph.split_by else None,
                )
            )
            if viz == "world_map":
                plans.append(_map_values(spec, graph, plans[-1]))
    return plans


def _map_values(spec: Spec, graph: Graph, map_plan: ChartPlan) -> ChartPlan:
    """The table beside a world map: Superset's world map has no colour legend, so its values are listed by country, largest first."""
    about = described(spec, graph, spec.metric(graph.metrics[0]), map_plan.show[0], "table")
    return ChartPlan(
        object_uuid("chart", spec.name, graph.title, "values"),
        f"{about.unit} by {graph.split_by}".capitalize(),  # narrow: the map beside it has the full title
        spec.name,
        graph,
        map_plan.show,
        "table",
        map_plan.dataset,
        map_plan.metrics,
        formats=map_plan.formats,
    )


def _table(spec: Spec, graph: Graph, metrics: list[Metric], show: list[Show], planner: Planner) -> ChartPlan:
    dataset = _dataset(graph, metrics, "normalized" in show, planner)
    expressions = {m.name: m.expression for m in dataset.measures}
    names: list[str] = []
    for item in show:
        if item != "percentage":
            for name in (_measure(m, item) for m in metrics):
                # A level's or a ratio's mean per period is its total: one column, not two equal ones.
                if name and all(expressions.get(name) != expressions.get(n) for n in names):
                    names.append(name)
    percent = tuple(ms.total_name(m) for m in metrics) if "percentage" in show else ()
    if not names:  # only a percentage asked for: the totals it is a share of come along
        names = list(percent)
    formats = _formats(spec, graph, metrics, show, "table")
    return ChartPlan(
        object_uuid("chart", spec.name, graph.title, "table"),
        graph.title,
        spec.name,
        graph,
        tuple(show),
        "table",
        dataset,
        tuple(names),
        percent,
        formats=formats,
    )


def _dataset(graph: Graph, metrics: list[Metric], normalized: bool, planner: Planner) -> Dataset:
    dataset = planner.virtual(planner.tables_for(metrics, normalized))
    for column in [graph.split_by, graph.within, *graph.filters]:
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
            **_limit_params(plan),
            **LEGEND,
            "rich_tooltip": True,
            "y_axis_format": plan.number_format(first),
            **_y_axis_title(plan),
            # Superset picks a label format to fit the span and interval; rotated, dates never run into each other.
            "x_axis_time_format": "smart_date",
            "xAxisLabelRotation": 45,
        }
    if plan.viz_type == "pie":
        return {
            **common,
            "groupby": plan.groupby,
            "metric": first,
            **_limit_params(plan),
            "sort_by_metric": True,
            "row_limit": ROW_LIMIT,
            "show_labels": True,
            "label_type": "key_percent",
            "number_format": plan.number_format(first),
            **LEGEND,
            # Superset 6.1's pie ignores the series limit on a dashboard (it fetches every slice): slices under
            # this share are drawn as one "Other", last, so at most 2 x series_limit slices have names.
            "threshold_for_other": round(100 / (2 * plan.series_limit), 1) if plan.series_limit else 0,
            "donut": False,
            "show_total": True,
        }
    if plan.viz_type == "world_map":
        split = plan.graph.split_by
        assert split is not None
        return {
            **common,
            "entity": split,
            "country_fieldtype": COUNTRY_FIELDTYPE[_country_codes(plan)],
            "metric": first,
            "secondary_metric": None,
            "row_limit": ROW_LIMIT,
            "sort_by_metric": True,
            "show_bubbles": False,
            "color_by": "metric",
            "linear_color_scheme": "superset_seq_1",
            "color_picker": {"r": 0, "g": 122, "b": 135, "a": 1},
            "max_bubble_size": "25",
            "y_axis_format": plan.number_format(first),
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
    column_config: dict[str, dict[str, str]] = {m: {"d3NumberFormat": plan.number_format(m)} for m in plan.metrics}
    for m in plan.metrics:
        if _fraction(plan, m) is not None:  # the header the saved metric would have given
            column_config[m] = {"d3NumberFormat": PERCENT_OF_100, "customColumnName": _measure_of(plan, m).verbose_name}
    column_config.update({f"%{m}": {"d3NumberFormat": ms.PERCENT_FORMAT} for m in plan.percent_metrics})
    return {
        **common,
        "query_mode": "aggregate",
        "groupby": plan.groupby,
        "metrics": [_table_metric(plan, m) for m in plan.metrics],
        "percent_metrics": list(plan.percent_metrics),
        "all_columns": [],
        "order_desc": True,
        "row_limit": ROW_LIMIT,
        "server_pagination": False,
        "show_cell_bars": True,
        "table_timestamp_format": "%Y-%m-%d",
        "column_config": column_config,
    }


def _measure_of(plan: ChartPlan, name: str) -> ms.Measure:
    return next(m for m in plan.dataset.measures if m.name == name)


def _fraction(plan: ChartPlan, name: str) -> dict[str, Any] | None:
    """A table's percent column (values 0-100) as a fraction, so that d3's `%` writes 92.5%: an ad hoc
    metric of the saved metric's own SQL divided by 100, labelled with the saved metric's name (the
    data API's column keeps that name); None for any other column."""
    if dict(plan.formats).get(name) != D3_FORMATS["percent"]:
        return None
    return {"expressionType": "SQL", "sqlExpression": f"({_measure_of(plan, name).expression}) / 100", "label": name, "hasCustomLabel": True}


def _table_metric(plan: ChartPlan, name: str) -> str | dict[str, Any]:
    return _fraction(plan, name) or name


def _y_axis_title(plan: ChartPlan) -> dict[str, Any]:
    """The unit beside the y axis, far enough out to clear its tick labels (`y_axis_title_margin`, pixels).

    ECharts puts the title `margin` pixels from the axis line, and the tick labels end 8 pixels from it: a
    50 pixel margin runs into `150,000`. Above the axis ("Top"), a long unit is cut off at the chart's edge.
    """
    return {"y_axis_title": plan.unit, "y_axis_title_margin": y_title_margin(plan.number_format(plan.metrics[0]), plan.unit), "y_axis_title_position": "Left"}


def y_title_margin(d3format: str, unit: str) -> int:
    """Pixels from the y axis to its title: the widest tick label expected under `d3format` (shares up to 100%,
    counts up to 9,999,999, rates and means up to 99,999), at TICK_CHAR_PX a character, plus the labels' 8 pixel
    gap and half the title's line. A wider tick label still overlaps: the data is not known when the chart is built."""
    spec = d3format.replace("~", "")
    try:  # Python's format mini-language reads these d3 formats alike
        if spec.endswith("%"):
            label = format(1.0, spec)
        elif spec.endswith("d") or spec.endswith(".0f"):
            label = format(9_999_999, spec.replace(".0f", "d"))
        else:
            label = format(100.0 if "%" in unit else 99_999.0, spec)
    except ValueError:  # a d3-only format (`.3s`, `$,.2f`): as wide as `9,999,999.99`
        label = "9,999,999.99"
    return 8 + TICK_CHAR_PX * len(label) + 8


def _limit_params(plan: ChartPlan) -> dict[str, Any]:
    """The series limit as Explore saves it (Superset 6.1's `limit`, `timeseries_limit_metric`, `group_others_when_limit_reached`)."""
    if not plan.series_limit:
        return {"limit": None, "timeseries_limit_metric": None, "group_others_when_limit_reached": False}
    return {"limit": plan.series_limit, "timeseries_limit_metric": plan.rank_by, "group_others_when_limit_reached": True}


def _limit_query(plan: ChartPlan) -> dict[str, Any]:
    """The same in the query object: the top `series_limit` split values by `rank_by` over the range, the rest summed as Others."""
    if not plan.series_limit:
        return {"series_limit": 0}
    return {"series_limit": plan.series_limit, "series_limit_metric": plan.rank_by, "group_others_when_limit_reached": True}


def _country_codes(plan: ChartPlan) -> str:
    if plan.country_codes is None:
        raise PlanError(f"graph {plan.graph.title!r}: a world map needs split_by to be a dimension of ISO 3166-1 country codes")
    return plan.country_codes


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
                **_limit_query(plan),
                "metrics": metrics,
                "orderby": [[metrics[0], False]],
                "row_limit": ROW_LIMIT,
                "order_desc": True,
                "post_processing": post,
            }
        )
    elif plan.viz_type == "big_number_total":
        query.update({"columns": [], "metrics": metrics, "row_limit": ROW_LIMIT, "post_processing": []})
    elif plan.viz_type == "pie":
        query.update(
            {
                "columns": plan.groupby,
                "series_columns": plan.groupby,
                **_limit_query(plan),
                "metrics": metrics,
                "orderby": [[metrics[0], False]],
                "row_limit": ROW_LIMIT,
                "order_desc": True,
                "post_processing": [],
            }
        )
    elif plan.viz_type == "world_map":
        query.update({"columns": plan.groupby, "metrics": metrics, "orderby": [[metrics[0], False]], "row_limit": ROW_LIMIT, "post_processing": []})
    else:
        every = metrics + [m for m in plan.percent_metrics if m not in metrics]
        post = []
        if plan.percent_metrics:
            post.append(
                {"operation": "contribution", "options": {"columns": list(plan.percent_metrics), "rename_columns": [f"%{m}" for m in plan.percent_metrics]}}
            )
        refs = [_table_metric(plan, m) for m in every]
        query.update(
            {"columns": plan.groupby, "metrics": refs, "orderby": [[refs[0], False]], "row_limit": ROW_LIMIT, "order_desc": True, "post_processing": post}
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
