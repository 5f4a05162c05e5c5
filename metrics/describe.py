"""What a metric's number is, in words: the title, axis unit and number format of a quantity.

One rule for every surface that draws a metric: notebooks and plots (`metrics.notebook`,
`metrics.figures`), the Superset charts (`superset_assets.charts`) and the Grafana panels
(`grafana.builder`). Only the catalogue model and `metrics.aggregation` are needed here (no
pandas), so the CLI starts without loading a data library.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from metrics import aggregation
from metrics.spec import Graph, Metric, Spec

Format = Literal["integer", "percent", "number"]

_GRAIN_WORDS = {"period": "per period", "day": "per day", "week": "per week", "month": "per month", "year": "per year", "all": "over the whole range"}


@dataclass(frozen=True)
class Described:
    """What a frame of `query` holds, for titles, axes and the "other" series of a plot."""

    metric: str
    value: str
    """The column plotted."""
    weight: str
    """The column groups are ranked by: the metric's own total (for a normalized metric, its numerator)."""
    by: tuple[str, ...]
    grain: str
    show: str
    title: str
    unit: str
    """The y axis label: the metric's unit, `<unit> <normalization label>`, or `%`."""
    format: Format
    """integer (counts added up), percent (values 0-100) or number."""
    additive: bool
    """Whether the value of several groups is the sum of their values (so "other" is a sum)."""
    call: dict[str, Any]
    """The keyword arguments of `query` that made the frame (to compute "other" by the same rule)."""


def describe(spec: Spec, m: Metric, show: str, by: list[str], grain: str, value: str, call: dict[str, Any]) -> Described:
    """The title, axis unit and number format of what `query` returns (from the metric's aggregation).

    `show` is one of SHOWN or `mean` (the mean per period, which the dashboards' charts also show);
    the Superset charts take their titles, units and formats from here too.
    """
    label = m.name.replace("_", " ").capitalize()
    per = _GRAIN_WORDS[grain]
    split = f" by {', '.join(by)}" if by else ""
    q = aggregation.quantity(spec, m, "normalized" if show == "normalized" else "total")
    additive = q.kind == "value" and m.aggregation == "additive"
    fmt: Format = "number"
    if show == "percentage":
        title, unit, fmt = f"{label}: share of the total {per}{split}", "% of total", "percent"
        additive = True
    elif show == "normalized":
        assert m.normalization is not None and q.denominator is not None
        title = f"{label} {m.normalization.label} (sum of {m.name} / sum of {q.denominator.name}) {per}{split}"
        unit, fmt = f"{m.unit} {m.normalization.label}", "number"
    elif show == "mean" and q.kind == "value" and m.aggregation == "additive":
        title, unit, fmt = f"{label}: mean per stored period {per}{split}", m.unit, "number"
        additive = False
    elif q.kind == "ratio":
        assert q.denominator is not None
        percent = m.unit.lower() in ("percent", "%")
        times = "" if q.scale == 1 or percent else f" × {q.scale:g}"
        title = f"{label}: sum of {q.metric.name} / sum of {q.denominator.name}{times}{', in %' if percent else ''} {per}{split}"
        unit, fmt = ("%" if percent else m.unit), ("percent" if percent else "number")
    elif m.aggregation == "semi_additive":
        title, unit, fmt = f"{label}: level (sum per stored period, averaged over the periods) {per}{split}", m.unit, "number"
    elif m.aggregation == "non_additive":
        title, unit, fmt = f"{label} as stored (not added up), {per}{split}", m.unit, "number"
    else:
        title, unit = f"{label}: total {per}{split}", m.unit
        fmt = "integer" if m.type == "counter" else "number"
    return Described(m.name, value, m.name if show in ("normalized", "percentage") else value, tuple(by), grain, show, title, unit, fmt, additive, call)


CHART_GRAINS = {"line": "day", "big_number": "all", "table": "all", "pie": "all", "world_map": "all"}
"""The grain a graph kind shows its numbers at, in `describe`'s words: a line one point per day, the others one
number over the range shown."""


def chart_title(spec: Spec, graph: Graph, show: str, metric: Metric | None = None) -> str:
    """The title of the chart (Superset) or panel (Grafana) that shows one quantity `show` of `graph`.

    One rule for both surfaces, so the same graph has the same title in both: a graph that shows one
    quantity, and a table (every quantity a column), keep the spec's title; a graph that shows several
    quantities gets a chart each, titled by `describe` for what that chart plots (of `metric`, default
    the graph's first metric), so a rate's total is never titled as the rate.
    """
    if graph.kind == "table" or len(graph.show) == 1:
        return graph.title
    m = metric or spec.metric(graph.metrics[0])
    by = [graph.split_by] if graph.split_by else []
    return describe(spec, m, show, by, CHART_GRAINS[graph.kind], "", {}).title
