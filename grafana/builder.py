"""Grafana dashboard JSON (the classic model of `POST /api/dashboards/db`) from one spec.

Plain dicts, written with sorted keys and no timestamps: the same spec gives the same bytes.
Layout: a text panel with what the spec says about itself (and, when given, how fresh its reports'
data is), then one panel per graph of the spec (`line` and `table` as time series, `big_number` as
stat), then one time series per metric with a Graphite path that no graph shows. Each query folder
the spec's reports belong to gets an annotation query: the Graphite events its runs post
(`metrics run --graphite-web`) mark the time of each run on every panel.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Sequence

from grafana.targets import Target, graph_targets, in_graphite, variable_query
from metrics.describe import chart_title, describe
from metrics.freshness import Freshness, markdown as freshness_markdown, query_folders, run_tag
from metrics.spec import DEFAULT_SERIES_LIMIT, Graph, Metric, Show, Spec, md_line

SCHEMA_VERSION = 42  # the default of the shared dashboard schema (Grafana 12)
DEFAULT_DATASOURCE_UID = "graphite"
TAG = "metrics-catalogue"
DATASOURCE = {"type": "graphite", "uid": "${datasource}"}
LEGEND_CALCS = {"total": "sum", "mean": "mean"}
WIDTH, HEIGHT, TEXT_HEIGHT = 12, 9, 10


def dashboard_uid(spec_name: str) -> str:
    """A stable uid from the spec name (Grafana allows at most 40 characters)."""
    uid = f"metrics-{spec_name}".replace("_", "-")
    if len(uid) <= 40:
        return uid
    return uid[:27] + "-" + hashlib.sha1(spec_name.encode()).hexdigest()[:12]


def build_dashboard(spec: Spec, *, datasource_uid: str = DEFAULT_DATASOURCE_UID, today: dt.date | None = None, data_as_of: Sequence[Freshness] = ()) -> dict:
    """The dashboard of one spec, as a JSON-ready dict; `data_as_of` (from the run log) goes into its text panel."""
    today = today or dt.date.today()
    panels: list[dict] = [_text_panel(spec, today, data_as_of)]
    shown: set[str] = set()
    for graph in spec.graphs:
        targets = graph_targets(spec, graph)
        if targets:
            panels.extend(_graph_panels(spec, graph, targets))
            shown.update(t.metric for t in targets)
    for metric in spec.metrics:
        if in_graphite(spec, metric) and metric.name not in shown:
            graph = _default_graph(metric)
            panels.extend(_graph_panels(spec, graph, graph_targets(spec, graph)))
    _lay_out(panels)
    return {
        "annotations": {"list": [_builtin_annotations()] + [_run_annotations(folder) for folder in query_folders(spec)]},
        "description": f"{spec.title}: generated from metrics spec {spec.name} {spec.version} (content {spec.content_hash()}); do not edit by hand.",
        "editable": True,
        "graphTooltip": 1,
        "id": None,
        "links": [
            {
                "title": "Ticket",
                "type": "link",
                "url": str(spec.ticket),
                "icon": "external link",
                "targetBlank": True,
                "asDropdown": False,
                "includeVars": False,
                "keepTime": False,
                "tags": [],
                "tooltip": "The task tracking this instrumentation",
            }
        ],
        "panels": panels,
        "refresh": "",
        "schemaVersion": SCHEMA_VERSION,
        "tags": [TAG, f"spec:{spec.name}", f"version:{spec.version}", f"status:{spec.status}"],
        "templating": {"list": [_datasource_variable(datasource_uid)] + _dimension_variables(spec)},
        "time": {"from": "now-90d", "to": "now"},
        "timepicker": {},
        "timezone": "utc",
        "title": f"{spec.title} (v{spec.version})",
        "uid": dashboard_uid(spec.name),
        "weekStart": "",
    }


def dumps(dashboard: dict) -> str:
    """The dashboard as written to disk: sorted keys, two-space indent, final newline."""
    return json.dumps(dashboard, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# --- panels ---------------------------------------------------------------------------------


def _text_panel(spec: Spec, today: dt.date, data_as_of: Sequence[Freshness]) -> dict:
    return {
        "type": "text",
        "title": "About this dashboard",
        "gridPos": {"h": TEXT_HEIGHT, "w": 24, "x": 0, "y": 0},
        "options": {
            "mode": "markdown",
            "content": about_markdown(spec, today, data_as_of),
            "code": {"language": "plaintext", "showLineNumbers": False, "showMiniMap": False},
        },
    }


def about_markdown(spec: Spec, today: dt.date, data_as_of: Sequence[Freshness] = ()) -> str:
    """The text panel: `Spec.about`, then which metrics are not in Graphite and which are live, then how fresh the reports' data is."""
    lines = [spec.about(today).rstrip("\n")]
    missing = [m for m in spec.metrics if not in_graphite(spec, m)]
    if missing:
        lines += ["", "**Not in Graphite** (no panel here; see the Superset dashboard):", ""]
        lines += [f"- `{m.name}`: {md_line(m.description)}" for m in missing]
    statsd = [m.name for m in spec.metrics if m.graphite_path and m.via_statsd]
    if statsd:
        lines += ["", f"Live through StatsD: {', '.join(f'`{n}`' for n in statsd)}. Other metrics are daily report values."]
    if data_as_of:
        lines += ["", freshness_markdown(data_as_of).rstrip("\n")]
    return "\n".join(lines) + "\n"


def _graph_panels(spec: Spec, graph: Graph, targets: list[Target]) -> list[dict]:
    """The panels of one graph, titled as the Superset charts of the same graph (`metrics.describe.chart_title`).

    A line, pie or big number gets a panel per quantity it shows, as Superset gets a chart each; a
    table's quantities (Superset's columns) get a panel each but the first keeps the spec's title. A
    line or table's quantities of another unit get their own panel beside it, named by their metrics
    (one unit an axis: population beside a percent is a flat line).

    (Grafana puts series on a second axis only through field overrides, whose scalar values the
    shared dashboard schema rejects; a ratio on the axis of its totals would be a flat line.)
    """
    families: dict[tuple[str, str], list[Target]] = {}
    for target in targets:
        unit = _axis_label(spec, [target]) if graph.kind in ("line", "table") else ""
        families.setdefault(({"mean": "total"}.get(target.show, target.show) if graph.kind in ("line", "table") else target.show, unit), []).append(target)
    panels = []
    seen: set[str] = set()
    for index, ((family, _), members) in enumerate(families.items()):
        title = chart_title(spec, graph, family, spec.metric(members[0].metric))
        names = ", ".join(dict.fromkeys(t.metric.replace("_", " ") for t in members))
        if graph.kind == "table":
            if family in seen and family == "percentage":  # the same quantity in another unit: named by its metrics
                title += ": share of all " + names
            elif family in seen and family != "normalized":
                title += ": " + names
            elif index > 0 and family == "normalized":
                title += ": " + " / ".join(sorted({spec.metric(t.metric).normalization.label for t in members}))  # type: ignore[union-attr]
            elif index > 0:
                title += {"total": ": totals", "percentage": ": share of the total"}[family]
        elif family in seen:
            title += ": " + names
        seen.add(family)
        panels.append(_graph_panel(spec, graph, members, title))
    return panels


def _graph_panel(spec: Spec, graph: Graph, targets: list[Target], title: str) -> dict:
    panel = {
        "title": title,
        "description": graph.description or _describe(spec, graph),
        "datasource": DATASOURCE,
        "targets": [{"refId": _ref_id(i), "target": t.expr, "datasource": DATASOURCE, "textEditor": True} for i, t in enumerate(targets)],
        "gridPos": {"h": HEIGHT, "w": WIDTH, "x": 0, "y": 0},
    }
    if graph.kind == "big_number":
        panel.update(type="stat", options=_stat_options(), fieldConfig={"defaults": _number_defaults(spec, graph, targets), "overrides": []})
        return panel
    shows = {t.show for t in targets}
    calcs = [LEGEND_CALCS[s] for s in graph.show if s in LEGEND_CALCS and shows & {"total", "mean"}]
    defaults = _number_defaults(spec, graph, targets)
    if graph.kind == "pie":
        panel.update(
            type="piechart",
            options={
                "pieType": "pie",
                "displayLabels": ["name", "percent"],
                "legend": {"displayMode": "table", "placement": "right", "showLegend": True, "values": ["value", "percent"]},
                "reduceOptions": {"calcs": ["sum"], "fields": "", "values": False},
                "tooltip": {"mode": "single", "sort": "none"},
            },
            fieldConfig={"defaults": defaults, "overrides": []},
        )
        return panel
    panel.update(
        type="timeseries",
        options={
            # A table legend: one row per series with its figures, sortable, never pages of names.
            # Series with "Others" keep their order (largest total first, Others last), as Superset lists them.
            "legend": {
                "displayMode": "table",
                "placement": "bottom",
                "showLegend": True,
                "calcs": calcs + ["lastNotNull"],
                **({} if any(t.others for t in targets) else {"sortBy": "Last *", "sortDesc": True}),
            },
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
        fieldConfig={"defaults": {**defaults, "custom": _line_style(_axis_label(spec, targets))}, "overrides": []},
    )
    return panel


def _number_defaults(spec: Spec, graph: Graph, targets: list[Target]) -> dict:
    """Grafana's unit and decimals from what is plotted (`metrics.describe.describe`, the rule of every surface).

    Shares and percent ratios are `percent`; counts added up have no decimals; anything else is `short`.
    """
    by = [graph.split_by] if graph.split_by else []
    formats = {describe(spec, spec.metric(t.metric), t.show, by, "day", t.metric, {}).format for t in targets}
    if formats == {"percent"}:
        return {"unit": "percent"}
    if formats == {"integer"}:
        return {"unit": "short", "decimals": 0}
    return {"unit": "short"}


def _axis_label(spec: Spec, targets: list[Target]) -> str:
    labels = []
    for t in targets:
        metric = spec.metric(t.metric)
        if t.show == "normalized" and metric.normalization:
            label = f"{metric.unit} {metric.normalization.label}"
        elif t.show == "percentage":
            label = f"% of all {metric.unit}"
        else:
            label = metric.unit
        if label not in labels:
            labels.append(label)
    return ", ".join(labels)


def _line_style(axis_label: str) -> dict:
    """Lines only, never stacked or filled."""
    return {
        "drawStyle": "line",
        "lineWidth": 1,
        "lineInterpolation": "linear",
        "fillOpacity": 0,
        "gradientMode": "none",
        "showPoints": "auto",
        "pointSize": 4,
        "spanNulls": False,
        "stacking": {"mode": "none", "group": "A"},
        "axisPlacement": "auto",
        "axisLabel": axis_label,
        "scaleDistribution": {"type": "linear"},
        "thresholdsStyle": {"mode": "off"},
    }


def _stat_options() -> dict:
    # Stat targets are computed over the whole range in Graphite (running sums), so the last value is the answer.
    return {
        "graphMode": "none",
        "colorMode": "none",
        "justifyMode": "auto",
        "textMode": "value_and_name",
        "wideLayout": True,
        "showPercentChange": False,
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "percentChangeColorMode": "standard",
        "orientation": "auto",
    }


def _default_graph(metric: Metric) -> Graph:
    split = metric.dimensions[0] if metric.dimensions else None
    show: list[Show] = ["mean"] if metric.type == "timer" else ["total"]
    return Graph(
        title=metric.name.replace("_", " ").capitalize(),
        description=metric.description,
        kind="line",
        metrics=[metric.name],
        split_by=split,
        show=show,
        series_limit=DEFAULT_SERIES_LIMIT,
    )


def _describe(spec: Spec, graph: Graph) -> str:
    parts = [spec.metric(m).description for m in graph.metrics]
    if graph.split_by:
        parts.append(f"One series per {graph.split_by}.")
    if graph.filters:
        parts.append("Only " + ", ".join(f"{k} = {v}" for k, v in graph.filters.items()) + ".")
    missing = [m for m in graph.metrics if not in_graphite(spec, spec.metric(m))]
    if missing:
        parts.append(f"Not in Graphite: {', '.join(missing)}.")
    return " ".join(parts)


def _lay_out(panels: list[dict]) -> None:
    """Panel ids in order; the text panel on top, then two panels a row."""
    y = TEXT_HEIGHT
    for index, panel in enumerate(panels):
        panel["id"] = index + 1
        if index == 0:
            continue
        column = (index - 1) % 2
        panel["gridPos"] = {"h": HEIGHT, "w": WIDTH, "x": column * WIDTH, "y": y}
        if column == 1:
            y += HEIGHT


# --- variables ------------------------------------------------------------------------------


def _datasource_variable(uid: str) -> dict:
    return {
        "type": "datasource",
        "name": "datasource",
        "label": "Graphite",
        "query": "graphite",
        "current": {"text": uid, "value": uid},
        "hide": 0,
        "refresh": 1,
        "regex": "",
        "includeAll": False,
        "multi": False,
        "options": [],
        "skipUrlSync": False,
    }


def _dimension_variables(spec: Spec) -> list[dict]:
    out = []
    for dim in spec.dimensions:
        if not dim.variable or not any(m.graphite_path and dim.name in m.dimensions for m in spec.metrics):
            continue
        query, regex = variable_query(spec, dim)
        current = {"text": [dim.default], "value": [dim.default]} if dim.default else {"text": ["All"], "value": ["$__all"]}
        out.append(
            {
                "type": "query",
                "name": dim.name,
                "label": dim.name.replace("_", " "),
                "description": dim.description,
                "datasource": DATASOURCE,
                "query": query,
                "definition": query,
                "regex": regex,
                "multi": True,
                "includeAll": True,
                "allValue": "*",
                "current": current,
                "options": [],
                "refresh": 1,
                "sort": 1,
                "hide": 0,
                "skipUrlSync": False,
            }
        )
    return out


def _builtin_annotations() -> dict:
    return {
        "builtIn": 1,
        "datasource": {"type": "grafana", "uid": "-- Grafana --"},
        "enable": True,
        "hide": True,
        "iconColor": "rgba(0, 211, 255, 1)",
        "name": "Annotations & Alerts",
        "type": "dashboard",
    }


def _run_annotations(folder: str) -> dict:
    """The runs of one query folder: the Graphite events tagged `run_tag(folder)` (graphite-web's /events/get_data)."""
    return {
        "name": f"Runs of {folder}",
        "datasource": DATASOURCE,
        "enable": True,
        "hide": False,
        "iconColor": "rgba(255, 152, 48, 1)",
        "target": {"fromAnnotations": True, "queryType": "tags", "tags": [run_tag(folder)], "refId": "Anno"},
    }


def _ref_id(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters
