"""Graphite target expressions for a spec's graphs, and where each metric lands in Graphite.

Report metrics are written by the runner at exactly their `graphite_path`; StatsD metrics are
written by StatsD's graphite backend (legacy namespace) under a prefix that depends on the type.
Every expression here is built from the spec, so a panel can never query a path that the runner
or StatsD does not write.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from metrics import aggregation
from metrics.describe import describe
from metrics.graphite_paths import node_index, pattern, placeholders, sanitize_segment
from metrics.spec import Dimension, Graph, Metric, Spec

SHOW_SUFFIX = {"total": "", "mean": " mean", "percentage": " %"}
LIMITED_KINDS = ("line", "table", "pie", "world_map")
"""Graph kinds drawn as one series per split value, so limited to the graph's `series_limit` (in Grafana a table is
a time series panel too: hundreds of lines on one axis cannot be read)."""
OTHERS_KINDS = ("line", "pie")
"""Graph kinds whose limited series are followed by one "Others" series of the rest, as Superset draws them
(`superset_assets.charts.OTHERS`); a table's panels show its largest rows only, as Superset's table does."""
OTHERS = "Others"


@dataclass(frozen=True)
class Target:
    """One Graphite query of a panel: what it shows (`total`, `normalized`, ...) for which metric."""

    expr: str
    metric: str
    show: str
    others: bool = False
    """Whether the series end with one "Others" series of the split values beyond the limit (`others`)."""


def series_template(metric: Metric, leaf: str | None = None) -> str:
    """The full Graphite path template of a metric's stored series (`Metric.graphite_series`)."""
    return metric.graphite_series(leaf)


def variable_query(spec: Spec, dim: Dimension) -> tuple[str, str]:
    """The `/metrics/find` query listing a dimension's values, and a regex for partial segments.

    The path template of the first metric with the dimension, cut after its placeholder, with `*`
    for every earlier placeholder (`MediaWiki.CodeMirror.toggles.*`).
    """
    for metric in spec.metrics:
        if metric.graphite_path and dim.name in placeholders(metric.graphite_path):
            template = series_template(metric)
            segments = template.split(".")
            index = node_index(template, dim.name)
            cut = ".".join(segments[: index + 1])
            before, _, after = segments[index].partition("{" + dim.name + "}")
            regex = "" if not (before or after) else f"/^{re.escape(before)}(.*){re.escape(after)}$/"
            return pattern(cut), regex
    raise KeyError(f"no metric of spec {spec.name!r} has dimension {dim.name!r} in its Graphite path")


def metric_pattern(spec: Spec, metric: Metric, filters: dict[str, str], leaf: str | None = None) -> str:
    """The metric's series in a graph: filter values, `$dimension` for variables, `*` for the rest."""
    values: dict[str, str] = {}
    for name in placeholders(metric.graphite_path or ""):
        if name in filters:
            values[name] = sanitize_segment(filters[name])
        elif spec.dimension(name).variable:
            values[name] = "$" + name
    return pattern(series_template(metric, leaf), values)


def in_graphite(spec: Spec, metric: Metric) -> bool:
    """Whether the metric's series are in Graphite (a ratio's: both of its parts')."""
    return all(m.graphite_path for m in aggregation.quantity(spec, metric).parts)


def graph_targets(spec: Spec, graph: Graph) -> list[Target]:
    """The Graphite targets of one graph: per metric with a Graphite path, one per `show` item."""
    metrics = [spec.metric(name) for name in graph.metrics if in_graphite(spec, spec.metric(name))]
    out: list[Target] = []
    for metric in metrics:
        for show in graph.show:
            built = _expression(spec, graph, metric, show, named=len(metrics) > 1)
            if built and all(t.expr != built[0] for t in out):
                out.append(Target(built[0], metric.name, show, built[1]))
    return out


def _expression(spec: Spec, graph: Graph, metric: Metric, show: str, *, named: bool) -> tuple[str, bool] | None:
    """The target of `show` of `metric` in `graph`, and whether it ends with an "Others" series."""
    stat = graph.kind == "big_number"
    if show == "normalized":
        if metric.normalization is None:
            return None
        expr = _ratio(spec, graph, aggregation.quantity(spec, metric, "normalized"), stat)
        suffix = " " + metric.normalization.label
    else:
        if show == "mean" and metric.type != "timer" and not stat:
            show = "total"  # a line's mean per period is the legend's mean of the total series
        expr = _plain(spec, graph, metric, show, stat)
        suffix = SHOW_SUFFIX[show]
    if stat:
        # Grafana asks for at most maxDataPoints points; a running value must keep its last one.
        expr = _fn("consolidateBy", expr, _q("last"))
    rest = None
    if graph.split_by and graph.kind in LIMITED_KINDS:
        if graph.kind in OTHERS_KINDS and describe(spec, metric, show, [graph.split_by], "day", metric.name, {}).additive:
            rest = others(expr, graph.series_limit)
        expr = limited(expr, graph.series_limit)
    if graph.split_by:
        expr = _fn("aliasByNode", expr, 1)
        if named:
            expr = _fn("aliasSub", expr, _q("^"), _q(metric.name + " "))
        if suffix:
            expr = _fn("aliasSub", expr, _q("$"), _q(suffix))
        if rest:
            expr = _fn("group", expr, _fn("alias", rest, _q((metric.name + " " if named else "") + OTHERS + suffix)))
    else:
        expr = _fn("alias", expr, _q(metric.name + suffix))
    return expr, rest is not None


def limited(expr: str, n: int) -> str:
    """The `n` series of `expr` with the largest sum over the range shown: `limit(sortByTotal(expr), n)`."""
    return _fn("limit", _fn("sortByTotal", expr), n)


def others(expr: str, n: int) -> str:
    """One series of what the series of `expr` beyond `limited(expr, n)` add up to, per point.

    `diffSeries(sumSeries(expr), sumSeries(limited(expr, n)))`: graphite-web 1.1's diffSeries skips
    None (safeDiff), so a point where no drawn series has a value is the whole sum; 0 where every series
    is drawn. Only for quantities whose value for several series is the sum of theirs (`Described.additive`:
    totals of additive metrics, shares); a ratio's or a level's rest is not a difference.
    """
    return _fn("diffSeries", _fn("sumSeries", expr), _fn("sumSeries", limited(expr, n)))


def _plain(spec: Spec, graph: Graph, metric: Metric, show: str, stat: bool) -> str:
    """total, mean or percentage of one metric, by `metrics.aggregation`'s rules, per split value.

    Per point (one reporting period): the sum over the rows of the period (a ratio: sum of the
    numerator over sum of the denominator; a timer's mean: sum of its `sum` over sum of its `count`).
    A big number covers the whole range: running sums for counts and ratio parts, the mean of the
    per-period sums for gauges and for `mean`.
    """
    if metric.type == "timer":
        if show == "mean":
            # StatsD scales a timer's `count` by 1 / sample rate but not its `sum`: undo it.
            return _ratio_of(spec, graph, metric, metric, 1.0 / metric.sample_rate, stat, ("sum", "count"))
        metric_leaf: str | None = "count"  # the number of measurements, a count
    else:
        metric_leaf = None
        q = aggregation.quantity(spec, metric, "total")
        if q.kind == "ratio":
            return _ratio(spec, graph, q, stat)
    series = _grouped(spec, graph, metric, metric_leaf)
    additive = metric.type == "timer" or metric.aggregation == "additive"
    if show == "percentage":
        return _fn("asPercent", _fn("integral", series) if stat else series)
    if stat and (show == "mean" or not additive):
        # Mean per period over the range: running sum / running number of periods with data.
        periods = _fn("offset", _fn("scale", series, 0), 1)
        return _divide(_fn("integral", series), _fn("integral", periods), graph.split_by is not None, 1.0)
    return _fn("integral", series) if stat else series


def _ratio(spec: Spec, graph: Graph, q: aggregation.Quantity, stat: bool) -> str:
    assert q.denominator is not None
    return _ratio_of(spec, graph, q.metric, q.denominator, q.scale, stat, (None, None), paired=aggregation.paired(q))


def _ratio_of(
    spec: Spec, graph: Graph, num: Metric, den: Metric, scale: float, stat: bool, leaves: tuple[str | None, str | None], *, paired: bool = False
) -> str:
    """sum(num) / sum(den) * scale, matched by the split value; over the whole range for a big number.

    `paired` (`metrics.aggregation.paired`): each part's series counts only at the points where the
    other part's series with the same dimension values has one.
    """
    numerator = _grouped(spec, graph, num, leaves[0], den if paired else None)
    split_in_both = graph.split_by is not None and graph.split_by in den.dimensions
    denominator = _grouped(spec, graph if split_in_both else _unsplit(graph), den, leaves[1], num if paired else None)
    if stat:
        numerator, denominator = _fn("integral", numerator), _fn("integral", denominator)
    return _divide(numerator, denominator, split_in_both, scale)


def _divide(numerator: str, denominator: str, matched: bool, scale: float) -> str:
    """numerator / denominator * scale; `matched`: both are split, series divided by split value.

    asPercent matches numerator and denominator series by the split value (node 1 of groupByNodes'
    names) instead of by list position, and multiplies by 100; divideSeries takes one divisor only.
    """
    if matched:
        return _fn("scale", _fn("asPercent", numerator, denominator, 1), _num(scale / 100))
    ratio = _fn("divideSeries", numerator, denominator)
    return ratio if scale == 1 else _fn("scale", ratio, _num(scale))


def _grouped(spec: Spec, graph: Graph, metric: Metric, leaf: str | None, present_with: Metric | None = None) -> str:
    """The metric's series summed over everything but the split dimension.

    Split: `groupByNodes(path, 'sum', 0, n)` names each series `<first node>.<split value>`, a name
    that aliasByNode and asPercent can read even when the value is `true` or a number.
    `present_with`: keep each series' points only where that metric's series of the same dimension
    values has a point (both templates have their placeholders at the same nodes).
    """
    path = metric_pattern(spec, metric, graph.filters, leaf)
    if present_with is not None:
        # asPercent by the placeholder nodes divides each series by the partner's 1-where-present
        # series (None where absent, and for a partner series that does not exist at all); Graphite
        # then reads the first path expression of the result, so later node numbers still hold.
        template = series_template(metric, leaf)
        nodes = [node_index(template, name) for name in placeholders(template)]
        present = _fn("offset", _fn("scale", metric_pattern(spec, present_with, graph.filters), 0), 1)
        path = _fn("scale", _fn("asPercent", path, present, *nodes), 0.01)
    if graph.split_by:
        node = node_index(series_template(metric, leaf), graph.split_by)
        return _fn("groupByNodes", path, _q("sum"), 0, node)
    return _fn("sumSeries", path)


def _unsplit(graph: Graph) -> Graph:
    return graph.model_copy(update={"split_by": None})


def _fn(name: str, *args: object) -> str:
    return f"{name}({', '.join(str(a) for a in args)})"


def _q(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)
