"""What a metric's number is, in words: the title, axis unit and number format of a quantity.

One rule for every surface that draws a metric: notebooks and plots (`metrics.notebook`,
`metrics.figures`), the Superset charts (`superset_assets.charts`) and the Grafana panels
(`grafana.builder`). Only the catalogue model and `metrics.aggregation` are needed here (no
pandas), so the CLI starts without loading a data library.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any, Iterable, Literal

from metrics import aggregation
from metrics.spec import Graph, Metric, Spec

Format = Literal["integer", "percent", "number"]

GRAINS_FINEST_FIRST = ("day", "week", "month", "year")
"""The calendar grains from the finest; `period` (as stored) and `all` (one bucket) are not calendar grains."""
_ADJECTIVE = {"day": "daily", "week": "weekly", "month": "monthly", "year": "yearly", "period": "per stored period", "all": "over the whole range"}
_NOUN = {"day": "day", "week": "week", "month": "month", "year": "year", "period": "period"}


def plotted_grain(grain: str, period: str | None) -> str:
    """The grain a reader sees: the coarser of the grain asked and the data's own `period` (`data_grain`).

    Yearly data asked `per day` is still one point a year, so it is named yearly; `all` stays `all`.
    """
    if grain == "all" or period not in GRAINS_FINEST_FIRST:
        return grain
    if grain not in GRAINS_FINEST_FIRST:
        return str(period)
    return max(grain, str(period), key=GRAINS_FINEST_FIRST.index)


def data_grain(dates: Iterable[dt.date]) -> str | None:
    """The calendar grain of a series from its dates: `year` when every date is a 1 January, `month` when
    every date is a first of a month, else by the smallest gap between dates (364 days or more: `year`,
    28 or more: `month`), `week` when the dates are 7 days (or multiples) apart, else `day`.

    None for fewer than two distinct dates (one point says nothing of its spacing). Pure Python, no pandas.
    """
    days = sorted({d.date() if isinstance(d, dt.datetime) else d for d in dates})
    if len(days) < 2:
        return None
    if all(d.month == 1 and d.day == 1 for d in days):
        return "year"
    if all(d.day == 1 for d in days):
        return "month"
    # Buckets of a finer grain asked of coarser data (weeks of yearly values): the spacing tells.
    gap = min((b - a).days for a, b in zip(days, days[1:]))
    if gap >= 364:
        return "year"
    if gap >= 28:
        return "month"
    if all((b - a).days % 7 == 0 for a, b in zip(days, days[1:])):
        return "week"
    return "day"


def zero_based(m: Metric, show: str, low: float, high: float) -> bool:
    """Whether a value axis starts at zero, for values from `low` to `high`.

    Counts and amounts (a counter, a gauge, a timer; any total, share or mean of them) start at zero,
    so that a line's height is its size: a population of 7.2 billion is not drawn as a tenth of 8.
    A ratio or a normalized rate starts at zero too unless its values are far from zero (the smallest
    above half the largest, or all below zero), where a zero baseline would flatten the change a
    reader looks for; then the axis fits the values. The rule of thumb is the one of most
    charting guides (e.g. the Financial Times' and Datawrapper's).
    """
    rate = show == "normalized" or (m.type == "ratio" and show != "percentage")
    if not rate:
        return True
    if high <= 0:
        return low >= 0  # all zero: zero is the data; all negative: fit
    return not (low > 0 and low > high / 2)


def compact(value: float, fmt: Format = "number") -> str:
    """A number as an axis or a table shows it: 7.2B, 350M, 12,500, 150, 0.125, 92.5%; never 7.2e+09.

    Thousands are grouped up to 999,999; from a million on the value is written with M (million),
    B (billion) or T (trillion) and at most three significant digits; an integer format never shows
    decimals below a million; a percent format (values 0-100) ends in %. Trailing zeros are trimmed.
    """
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    size = abs(value)
    for step, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M")):
        if size >= step:
            text = f"{value / step:.3g}"
            return (text if "e" not in text else f"{value / step:,.0f}") + suffix
    if fmt == "integer" or size >= 1000:
        text = f"{value:,.0f}"
    elif size >= 1 or size == 0:
        text = f"{value:,.2f}".rstrip("0").rstrip(".")
    else:
        text = f"{value:.3g}"
        if "e" in text:
            text = f"{value:.6f}".rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text + ("%" if fmt == "percent" else "")


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
    plotted: str = ""
    """The grain the title names (`plotted_grain` of `grain` and the data's own grain)."""


def describe(spec: Spec, m: Metric, show: str, by: list[str], grain: str, value: str, call: dict[str, Any]) -> Described:
    """The title, axis unit and number format of what `query` returns (from the metric's aggregation).

    `show` is one of SHOWN or `mean` (the mean per period, which the dashboards' charts also show);
    the Superset charts take their titles, units and formats from here too. The stored data's own
    grain is not known here: `describe_plotted` takes it.
    """
    return describe_plotted(spec, m, show, by, grain, value, call, period=None)


def describe_plotted(spec: Spec, m: Metric, show: str, by: list[str], grain: str, value: str, call: dict[str, Any], *, period: str | None) -> Described:
    """`describe`, knowing the calendar grain of the stored data (`period`, from `data_grain`; None: unknown).

    Titles are plain words, the grain the reader sees (`plotted_grain`) and the split:
    "Toggles per day, by wiki", "Population, yearly", "Population, mean of yearly values, by country",
    "Active editors per million people, yearly, by country", "Toggles, by enabled: share of each day's total".
    How a value is computed (sums, ratios of sums) is the metric's description, not the title.
    """
    label = m.name.replace("_", " ").capitalize()
    shown = plotted_grain(grain, period)
    known = period in GRAINS_FINEST_FIRST
    stored = _ADJECTIVE[str(period)] if known else "reported"
    adjective = _ADJECTIVE[shown]
    at_stored = shown == period or (not known and shown in ("day", "period"))
    split = f", by {', '.join(by)}" if by else ""
    q = aggregation.quantity(spec, m, "normalized" if show == "normalized" else "total")
    additive = q.kind == "value" and m.aggregation == "additive"
    fmt: Format = "number"
    if show == "percentage":
        whole = "the total" if shown == "all" else f"each {_NOUN[shown]}'s total"
        title, unit, fmt = f"{label}{split}: share of {whole}", "% of total", "percent"
        additive = True
    elif show == "normalized":
        assert m.normalization is not None and q.denominator is not None
        title = f"{label} {m.normalization.label}, {adjective}{split}"
        unit, fmt = f"{m.unit} {m.normalization.label}", "number"
    elif show == "mean" and q.kind == "value" and m.aggregation == "additive":
        per = _NOUN[str(period)] if known else "stored period"
        title = f"{label}, mean per {per}{split}" if shown == "all" or at_stored else f"{label}, {adjective} mean per {per}{split}"
        unit, fmt = m.unit, "number"
        additive = False
    elif q.kind == "ratio":
        percent = m.unit.lower() in ("percent", "%")
        title = f"{label}, {'as reported' if at_stored and not known else adjective}{split}"
        unit, fmt = ("%" if percent else m.unit), ("percent" if percent else "number")
    elif m.aggregation == "semi_additive":
        # A level (people, editors in a year): each period's value, or the mean of the periods' values.
        if shown == "all":
            title = f"{label}, mean of {stored} values{split}"
        elif at_stored:
            title = f"{label}, {adjective if known else 'as reported'}{split}"
        else:
            title = f"{label}, {adjective} mean of {stored} values{split}"
        unit, fmt = m.unit, "number"  # a mean of levels may have decimals
    elif m.aggregation == "non_additive":
        title, unit, fmt = f"{label}, {'as reported' if not known else adjective}{split}", m.unit, "number"
    else:
        every = "in total" if shown == "all" else f"per {_NOUN[shown]}"
        title, unit = f"{label} {every}{split}", m.unit
        fmt = "integer" if m.type == "counter" else "number"
    described = Described(m.name, value, m.name if show in ("normalized", "percentage") else value, tuple(by), grain, show, title, unit, fmt, additive, call)
    return replace(described, plotted=shown)


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


def column_label(spec: Spec, m: Metric, show: str) -> str:
    """A metric's number as a table column or a legend names it, over a range of time (a table, a big number).

    The unit is added in brackets unless the name already says it ("Toggles", not "Toggles (toggles)";
    "Population (people)") or the numbers carry it (a percent, written 92.5%). What a number over a
    range is follows the aggregation: a count is the total ("Toggles"), a level the mean of the stored
    values in the range ("Population (people), mean over the time range"), a ratio the ratio of the
    range's sums ("Internet users pct, over the time range"), a mean of counts the mean per stored
    period, a normalized metric its rate ("Active editors per million people").
    """
    label = m.name.replace("_", " ").capitalize()
    words = {w.rstrip("s") for w in label.lower().split()}
    percent = m.unit.lower() in ("percent", "%")
    unit_said = percent or all(w.rstrip("s") in words for w in m.unit.lower().split())
    base = label if unit_said else f"{label} ({m.unit})"
    if show == "normalized":
        assert m.normalization is not None
        return f"{label} {m.normalization.label}"
    q = aggregation.quantity(spec, m, "total")
    if q.kind == "ratio":
        return f"{base}, over the time range"
    if m.aggregation == "semi_additive":
        return f"{base}, mean over the time range"
    if show == "mean" and m.aggregation == "additive":
        return f"{base}, mean per period"
    return base
