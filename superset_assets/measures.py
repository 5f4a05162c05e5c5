"""Superset metrics (called measures here, to keep them apart from catalogue metrics).

Each catalogue metric read from a report becomes up to three saved metrics of a dataset:

| measure | counter | gauge | ratio |
| --- | --- | --- | --- |
| `<m>_total` | `SUM(x)` | `SUM(x) / COUNT(DISTINCT dt)` | `AVG(x)` |
| `<m>_mean` (per period) | `SUM(x) / COUNT(DISTINCT dt)` | same as total | `AVG(x)` |
| `<m>_per_<by>` (normalized) | `SUM(x) / NULLIF(SUM(y), 0) * scale` | | |

A gauge (e.g. population) is a level, not a flow: summing it over days counts the same people
again, so its total adds the values of one period (all countries of a year) and averages over
periods; on a per-period chart that is exactly the period's sum. A ratio (e.g. percent of
people online) cannot be added at all: the unweighted mean of the values is what it can show.
Divisions cast to DOUBLE first, because Trino divides integers as integers.
"""

from __future__ import annotations

from dataclasses import dataclass

from metrics.spec import Metric

TIME_COLUMN = "dt"


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


def _per_period(column: str) -> str:
    return f"CAST(SUM({column}) AS DOUBLE) / NULLIF(COUNT(DISTINCT {TIME_COLUMN}), 0)"


def total(metric: Metric, column: str) -> Measure:
    """The metric's total over the rows of a query (see the module table for gauges and ratios)."""
    if metric.type == "counter":
        expression, fmt, how = f"SUM({column})", ",d", "sum"
    elif metric.type == "gauge":
        expression, fmt, how = _per_period(column), ",.0f", "sum over the values of a period, mean over periods"
    else:
        expression, fmt, how = f"AVG({column})", ",.2f", "mean of the values (a ratio cannot be added)"
    return Measure(total_name(metric), f"{title(metric)} ({metric.unit})", expression, fmt, f"{metric.description} Aggregation: {how}.")


def mean(metric: Metric, column: str) -> Measure:
    """The metric's mean per reporting period (day, week or month of its report)."""
    expression = f"AVG({column})" if metric.type == "ratio" else _per_period(column)
    return Measure(mean_name(metric), f"{title(metric)} ({metric.unit}, mean per period)", expression, ",.1f",
                   f"{metric.description} Aggregation: mean per reporting period (periods with rows).")


def normalized(metric: Metric, column: str, denominator: Metric, denominator_column: str) -> Measure:
    """The metric divided by its normalization metric, times the scale."""
    norm = metric.normalization
    assert norm is not None
    scale = f" * {norm.scale:g}" if norm.scale != 1 else ""
    expression = f"CAST(SUM({column}) AS DOUBLE) / NULLIF(SUM({denominator_column}), 0){scale}"
    fmt = ",.2f" if norm.scale >= 100 else ",.3f"
    return Measure(normalized_name(metric), f"{title(metric)} {norm.label}", expression, fmt,
                   f"{metric.description} Divided by {denominator.name} ({denominator.description.rstrip('.')}){scale.replace('*', 'times')}.")


PERCENT_FORMAT = ".1%"
