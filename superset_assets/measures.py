"""Superset metrics (called measures here, to keep them apart from catalogue metrics).

Each catalogue metric readable from a dataset becomes up to three saved metrics of it: `<m>_total`,
`<m>_mean` (per period) and `<m>_per_<by>` (normalized), named for readers by
`metrics.describe.column_label` (the words tables and legends show). Their SQL is `metrics.aggregation`'s, the
one every surface uses: counts are summed, gauges summed per period and averaged over periods,
ratios recomputed as sum(numerator) / sum(denominator).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from metrics import aggregation
from metrics.describe import column_label
from metrics.spec import Metric, Spec

PERCENT_FORMAT = ".1%"


@dataclass(frozen=True)
class Measure:
    """One Superset saved metric."""

    name: str
    verbose_name: str
    expression: str
    d3format: str
    description: str


def title(metric: Metric) -> str:
    """A metric's name as words: `editing_sessions` -> `Editing sessions`."""
    return metric.name.replace("_", " ").capitalize()


def total_name(metric: Metric) -> str:
    return f"{metric.name}_total"


def mean_name(metric: Metric) -> str:
    return f"{metric.name}_mean"


def normalized_name(metric: Metric) -> str:
    assert metric.normalization is not None
    return f"{metric.name}_per_{metric.normalization.by}"


def for_metric(spec: Spec, metric: Metric, column: Callable[[Metric], str], available: Callable[[Metric], bool]) -> list[Measure]:
    """The saved metrics of `metric` on a dataset whose `column(m)` holds m, for each stored metric m
    that `available(m)`: total and mean when its parts are there, normalized when its denominator is too."""
    out = []
    total = aggregation.quantity(spec, metric, "total")
    if all(available(m) for m in total.parts):
        out.append(_measure(total_name(metric), column_label(spec, metric, "total"), aggregation.quantity(spec, metric, "total"), column, metric))
        out.append(_measure(mean_name(metric), column_label(spec, metric, "mean"), aggregation.quantity(spec, metric, "mean"), column, metric))
    if metric.normalization is not None:
        q = aggregation.quantity(spec, metric, "normalized")
        if all(available(m) for m in q.parts):
            out.append(_measure(normalized_name(metric), column_label(spec, metric, "normalized"), q, column, metric))
    return out


def _measure(name: str, verbose: str, q: aggregation.Quantity, column: Callable[[Metric], str], metric: Metric) -> Measure:
    return Measure(name, verbose, aggregation.expression(q, column), _format(q), f"{metric.description} {aggregation.describe(q)}")


RATIO_FORMAT = ",.3~r"
"""Three significant digits, trailing zeros trimmed, never an exponent: 150 (not 150.00), 3.47, 0.0123, 1,230."""


def _format(q: aggregation.Quantity) -> str:
    if q.kind == "ratio":
        return RATIO_FORMAT
    if q.kind == "mean":
        return ",.1~f"  # a mean of counts: one decimal where it has one (646,261, not 646,261.0)
    return {"additive": ",d", "semi_additive": ",.0f"}.get(q.metric.aggregation, ",.2f")
