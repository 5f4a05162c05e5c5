"""The dashboard of a spec: a markdown header, one row per graph, native filters per variable dimension."""

from __future__ import annotations

import datetime as dt
from typing import Any, Sequence

from metrics.freshness import Freshness, markdown as freshness_markdown
from metrics.spec import Spec
from superset_assets.charts import ChartPlan, legend_height
from superset_assets.datasets import YEAR_COLUMN, Dataset, report_metrics
from superset_assets.naming import object_uuid, slug

GRID_WIDTH = 12
CHART_HEIGHT = 50
MAP_WIDTH = 8
GRID_UNIT_PX = 8
CHART_HEADER_PX = 100


def dashboard_title(spec: Spec) -> str:
    """The title shows the spec version: `<title> (v1.2.0)`."""
    return f"{spec.title} (v{spec.version})"


def header_markdown(spec: Spec, today: dt.date, data_as_of: Sequence[Freshness] = ()) -> str:
    """The spec's title and version, then `Spec.about`, then where its live metrics are, then how fresh its reports' data is."""
    lines = [f"## {spec.title} (v{spec.version})", "", spec.about(today)]
    live = [m.name for m in spec.metrics if m not in report_metrics(spec)]
    if live:
        lines += [f"Live StatsD metrics ({', '.join(live)}) are on the spec's Grafana dashboard.", ""]
    if data_as_of:
        lines += [freshness_markdown(data_as_of)]
    return "\n".join(lines)


def _native_filters(spec: Spec, charts: list[ChartPlan], chart_ids: dict[str, int], datasets: list[Dataset]) -> list[dict[str, Any]]:
    filters = []
    for dimension in spec.dimensions:
        if not dimension.variable:
            continue
        target = next((d for d in datasets if d.sql is None and d.has_column(dimension.name)), None)
        if target is None:
            continue  # a dimension of StatsD metrics only: nothing here to filter
        excluded = [chart_ids[c.uuid] for c in charts if not c.dataset.has_column(dimension.name)]
        default = dimension.default
        mask = (
            {"extraFormData": {"filters": [{"col": dimension.name, "op": "IN", "val": [default]}]}, "filterState": {"value": [default]}, "ownState": {}}
            if default is not None
            else {"extraFormData": {}, "filterState": {}, "ownState": {}}
        )
        filters.append(
            {
                "id": f"NATIVE_FILTER-{dimension.name}",
                "name": dimension.name.replace("_", " ").capitalize(),
                "filterType": "filter_select",
                "type": "NATIVE_FILTER",
                "targets": [{"column": {"name": dimension.name}, "datasetUuid": target.uuid}],
                "controlValues": {
                    "enableEmptyFilter": False,
                    "defaultToFirstItem": False,
                    "multiSelect": True,
                    "searchAllOptions": False,
                    "inverseSelection": False,
                },
                "defaultDataMask": mask,
                "cascadeParentIds": [],
                "scope": {"rootPath": ["ROOT_ID"], "excluded": excluded},
                "chartsInScope": [],
                "tabsInScope": [],
                "description": dimension.description,
            }
        )
    filters += _year_filters(charts, chart_ids)
    filters.append(
        {
            "id": "NATIVE_FILTER-time_range",
            "name": "Time range",
            "filterType": "filter_time",
            "type": "NATIVE_FILTER",
            "targets": [{}],
            "controlValues": {"enableEmptyFilter": False},
            "defaultDataMask": {"extraFormData": {}, "filterState": {}, "ownState": {}},
            "cascadeParentIds": [],
            "scope": {"rootPath": ["ROOT_ID"], "excluded": []},
            "chartsInScope": [],
            "tabsInScope": [],
            "description": "The days shown (the `dt` column of every chart).",
        }
    )
    return filters


def _year_filters(charts: list[ChartPlan], chart_ids: dict[str, int]) -> list[dict[str, Any]]:
    """A dashboard with a world map gets one "Year" filter (one value of the datasets' `year` column, newest
    first; no default: every year until one is picked).

    It applies to the charts that are not over time (maps, tables, big numbers): a line keeps its time axis.
    """
    maps = [c for c in charts if c.viz_type == "world_map"]
    if not maps:
        return []
    excluded = [chart_ids[c.uuid] for c in charts if c.viz_type == "echarts_timeseries_line" or not c.dataset.has_column(YEAR_COLUMN)]
    return [
        {
            "id": "NATIVE_FILTER-year",
            "name": "Year",
            "filterType": "filter_select",
            "type": "NATIVE_FILTER",
            "targets": [{"column": {"name": YEAR_COLUMN}, "datasetUuid": maps[0].dataset.uuid}],
            "controlValues": {
                "enableEmptyFilter": False,
                "defaultToFirstItem": False,
                "multiSelect": False,
                "searchAllOptions": False,
                "inverseSelection": False,
                "sortAscending": False,
            },
            "defaultDataMask": {"extraFormData": {}, "filterState": {}, "ownState": {}},
            "cascadeParentIds": [],
            "scope": {"rootPath": ["ROOT_ID"], "excluded": excluded},
            "chartsInScope": [],
            "tabsInScope": [],
            "description": "One reporting year for the map and the tables; none picked: every year, combined by each metric's rule.",
        }
    ]


def chart_ids(charts: list[ChartPlan]) -> dict[str, int]:
    """Bundle-local chart ids (1, 2, ...): the importer maps them to the server's ids."""
    return {c.uuid: number for number, c in enumerate(charts, 1)}


def position(spec: Spec, charts: list[ChartPlan], today: dt.date, data_as_of: Sequence[Freshness] = ()) -> dict[str, Any]:
    """The v2 layout: the header markdown (with `data_as_of`, see `header_markdown`), then one row per graph with its charts side by side."""
    ids = chart_ids(charts)
    nodes: dict[str, Any] = {"DASHBOARD_VERSION_KEY": "v2"}
    rows: list[str] = ["ROW-header"]
    nodes["ROOT_ID"] = {"id": "ROOT_ID", "type": "ROOT", "children": ["GRID_ID"]}
    nodes["HEADER_ID"] = {"id": "HEADER_ID", "type": "HEADER", "meta": {"text": dashboard_title(spec)}}
    nodes["ROW-header"] = {
        "id": "ROW-header",
        "type": "ROW",
        "parents": ["ROOT_ID", "GRID_ID"],
        "children": ["MARKDOWN-header"],
        "meta": {"background": "BACKGROUND_TRANSPARENT"},
    }
    nodes["MARKDOWN-header"] = {
        "id": "MARKDOWN-header",
        "type": "MARKDOWN",
        "parents": ["ROOT_ID", "GRID_ID", "ROW-header"],
        "children": [],
        "meta": {"width": GRID_WIDTH, "height": 60, "code": header_markdown(spec, today, data_as_of)},
    }
    groups: list[list[ChartPlan]] = []
    for chart in charts:
        if groups and groups[-1][0].graph is chart.graph:
            groups[-1].append(chart)
        else:
            groups.append([chart])
    for number, group in enumerate(groups, 1):
        row = f"ROW-{number}"
        rows.append(row)
        children = []
        for chart, width in zip(group, _widths(group)):
            node = f"CHART-{ids[chart.uuid]}"
            children.append(node)
            nodes[node] = {
                "id": node,
                "type": "CHART",
                "parents": ["ROOT_ID", "GRID_ID", row],
                "children": [],
                "meta": {"chartId": ids[chart.uuid], "uuid": chart.uuid, "sliceName": chart.title, "width": width, "height": _height(group)},
            }
        nodes[row] = {"id": row, "type": "ROW", "parents": ["ROOT_ID", "GRID_ID"], "children": children, "meta": {"background": "BACKGROUND_TRANSPARENT"}}
    nodes["GRID_ID"] = {"id": "GRID_ID", "type": "GRID", "parents": ["ROOT_ID"], "children": rows}
    return nodes


def _height(group: list[ChartPlan]) -> int:
    """Grid units of one row: CHART_HEIGHT, or taller when a limited chart's side legend (its `series_limit` names
    and Others) needs more to show every name (a grid unit is GRID_UNIT_PX pixels; a chart's title, on up to two lines, takes CHART_HEADER_PX)."""
    names = max((c.series_limit + 1 for c in group if c.series_limit), default=0)
    needed = -(-(legend_height(names) + CHART_HEADER_PX) // GRID_UNIT_PX) if names else 0
    return max(CHART_HEIGHT, needed)


def _widths(group: list[ChartPlan]) -> list[int]:
    """Grid columns of the charts of one row: equal, except that a world map takes MAP_WIDTH (a map is unreadable at half width)."""
    if len(group) > 1 and any(c.viz_type == "world_map" for c in group):
        rest = (GRID_WIDTH - MAP_WIDTH) // (len(group) - 1)
        return [MAP_WIDTH if c.viz_type == "world_map" else rest for c in group]
    return [GRID_WIDTH // len(group)] * len(group)


def dashboard_uuid(spec: Spec) -> str:
    return object_uuid("dashboard", spec.name)


def dashboard_yaml(spec: Spec, charts: list[ChartPlan], datasets: list[Dataset], today: dt.date, data_as_of: Sequence[Freshness] = ()) -> dict[str, Any]:
    """The dashboard file (metadata keys limited to what a later PUT of the dashboard accepts); `data_as_of` goes into the header."""
    return {
        "dashboard_title": dashboard_title(spec),
        "description": f"{spec.title}: generated from the metrics catalogue; do not edit by hand. {spec.marker()}",
        "css": "",
        "slug": slug(spec.name),
        "certified_by": None,
        "certification_details": None,
        "published": True,
        "uuid": dashboard_uuid(spec),
        "position": position(spec, charts, today, data_as_of),
        "metadata": {
            "color_scheme": "",
            "refresh_frequency": 0,
            "expanded_slices": {},
            "label_colors": {},
            "shared_label_colors": [],
            "timed_refresh_immune_slices": [],
            "cross_filters_enabled": False,
            "native_filter_configuration": _native_filters(spec, charts, chart_ids(charts), datasets),
            "chart_configuration": {},
            "global_chart_configuration": {},
        },
        "theme_uuid": None,
        "version": "1.0.0",
    }
