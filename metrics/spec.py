"""The metrics-spec model: what a product team writes in one catalogue YAML file.

The JSON Schema printed by `metrics schema` is generated from these classes, and the validator
checks files against them: the format is described once, here.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, StringConstraints, ValidationError, model_validator
from pydantic_core import SchemaError, SchemaValidator, core_schema

from metrics.bounds import MAX_SCALE, Day
from metrics.graphite_paths import STATSD_PREFIX, placeholders
from metrics.tables import report_table

IDENTIFIER_PATTERN = r"^[a-z][a-z0-9_]*$"
SEMVER_PATTERN = (
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
GRAPHITE_PATH_PATTERN = r"^[A-Za-z0-9_\-]+(\.([A-Za-z0-9_\-]+|[A-Za-z0-9_\-]*\{[a-z][a-z0-9_]*\}[A-Za-z0-9_\-]*))*$"

MARKER = re.compile(r"\(metrics spec (?P<spec>[a-z0-9_]+) (?P<version>\S+), content (?P<hash>[0-9a-f]+)\)")
"""Finds `Spec.marker()` in a built object's description."""

DEFAULT_SERIES_LIMIT = 10
MAX_SERIES_LIMIT = 50
"""A graph's `series_limit`: more lines than this make a legend nobody reads (a table lists every value)."""

SUNSET_WARNING_DAYS = 90
"""Dashboards warn this many days before a spec's sunset date."""

Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN, max_length=64)]
SemVer = Annotated[str, StringConstraints(pattern=SEMVER_PATTERN, max_length=64)]
Text = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
GraphitePath = Annotated[str, StringConstraints(pattern=GRAPHITE_PATH_PATTERN)]
ReportRef = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_\-]+/[A-Za-z0-9_\-]+$")]


class _Strict(BaseModel):
    # No NaN or infinity: a scale or sample rate is a finite number (YAML reads `.inf` and `.nan`).
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, allow_inf_nan=False)


class Owner(_Strict):
    """Who answers for the spec."""

    team: Text = Field(description="The owning team, e.g. 'WMDE Technical Wishes'.")
    responsible: Text = Field(description="The person responsible for the instrumentation and its data.")
    contact: str | None = Field(None, description="An e-mail address or chat channel.")


class Sunset(_Strict):
    """When the instrumentation and its dashboards go away, and how."""

    date: Day = Field(description="The day the metric stops being collected (YYYY-MM-DD, from 1970-01-01 to 2099-12-31).")
    plan: Text = Field(description="The deprecation plan: what is removed, what replaces it, who is told.")


class HistoryEntry(_Strict):
    version: SemVer
    date: Day
    change: Text


class Dimension(_Strict):
    """A way to split a metric; each value becomes a series, a filter value, a Graphite path segment."""

    name: Identifier
    description: Text
    values: list[Annotated[str, StringConstraints(min_length=0)]] | Literal["open"] = Field(
        description="The allowed values, or 'open' for a set too large to list (then give a `pattern`)."
    )
    pattern: str | None = Field(None, description="A regular expression every value must match in full, e.g. '[a-z0-9_]+' for wiki database names.")
    examples: list[str] = Field(default_factory=list, description="Typical values of an open dimension, used for sample data and scaffolds.")
    default: str | None = Field(None, description="The value a dashboard variable starts with (all values when absent).")
    variable: bool = Field(False, description="Whether dashboards offer this dimension as a variable / native filter.")

    def allowed_values(self) -> list[str]:
        """The listed values, or the examples of an open dimension."""
        return list(self.values) if self.values != "open" else list(self.examples)

    def country_codes(self) -> Literal["alpha-2", "alpha-3"] | None:
        """Which ISO 3166-1 codes the dimension's values are (from its pattern, else its listed values), None when not country codes.

        `[A-Z]{3}` (or values such as DEU, IND) is alpha-3, `[A-Z]{2}` alpha-2: what a world map needs to place a value.
        """
        if self.pattern is not None:
            return {"[A-Z]{3}": "alpha-3", "[A-Z]{2}": "alpha-2"}.get(self.pattern.strip("^$"))  # type: ignore[return-value]
        values = self.allowed_values()
        for size, kind in ((3, "alpha-3"), (2, "alpha-2")):
            if values and all(len(v) == size and v.isascii() and v.isalpha() and v.isupper() for v in values):
                return kind  # type: ignore[return-value]
        return None

    def accepts(self, value: str) -> bool:
        """Whether `value` is allowed for this dimension (its pattern matched in linear time, `full_match`)."""
        if self.values != "open" and value not in self.values:
            return False
        return self.pattern is None or full_match(self.pattern, value)


class ReportSource(_Strict):
    """Computed by a Reportupdater-style report: one column of its result."""

    type: Literal["report"]
    report: ReportRef = Field(description="'<query folder>/<report key>' under reportupdater_queries/.")
    column: Identifier = Field(description="The result column that holds the value.")


class StatsdSource(_Strict):
    """Pushed by product code to StatsD, which flushes it to Graphite."""

    type: Literal["statsd"]


Source = Annotated[Union[ReportSource, StatsdSource], Field(discriminator="type")]


Aggregation = Literal["additive", "semi_additive", "non_additive"]
Show = Literal["total", "normalized", "mean", "percentage"]
"""How a metric's values combine into a value at a coarser grain (fewer dimensions, longer periods).

- additive: a flow (counts, sums): the value of a group is the sum of its rows, over dimensions and time.
- semi_additive: a level (gauges: population, open previews): summed over dimensions within one
  period, never over time; over several periods it is the mean of the per-period sums.
- non_additive: ratios, distinct counts, percentiles, timer means: never summed or averaged. A ratio
  (and a timer's mean) is recomputed from its parts; a metric without parts has a value only at the
  grain it is stored at.
"""

DEFAULT_AGGREGATION: dict[str, Aggregation] = {"counter": "additive", "gauge": "semi_additive", "timer": "non_additive", "ratio": "non_additive"}
ALLOWED_AGGREGATIONS: dict[str, tuple[Aggregation, ...]] = {
    # A distinct count per period (active editors of a year) adds up over dimensions whose values
    # are disjoint but not over time: semi_additive; across overlapping groups it is non_additive.
    "counter": ("additive", "semi_additive", "non_additive"),
    "gauge": ("semi_additive", "non_additive"),  # a percentile or a maximum is a level that cannot be added
    "timer": ("non_additive",),  # its mean is sum / count of its measurements
    "ratio": ("non_additive",),  # recomputed as sum(numerator) / sum(denominator)
}


class RatioParts(_Strict):
    """A ratio metric's definition: sum(numerator) / sum(denominator) * scale at any grain."""

    numerator: Identifier = Field(description="The metric summed above the line (a metric of the same spec).")
    denominator: Identifier = Field(description="The metric summed below the line (a metric of the same spec).")
    scale: float = Field(1.0, gt=0, le=MAX_SCALE, description="Multiply the ratio by this, e.g. 100 for percent.")


class Normalization(_Strict):
    """Show the metric divided by another metric of the same spec, e.g. toggles per session."""

    by: Identifier = Field(description="The name of the metric to divide by (the denominator).")
    label: Text = Field(description="How the ratio reads, e.g. 'per session', 'per 1,000 pageviews'.")
    scale: float = Field(1.0, gt=0, le=MAX_SCALE, description="Multiply the ratio by this, e.g. 1000 for 'per 1,000 pageviews', 100 for percent.")


class Metric(_Strict):
    """One measured quantity."""

    name: Identifier = Field(description="Unique across the catalogue; names columns, Superset metrics and panels.")
    description: Text
    unit: Text = Field(description="What one unit counts, e.g. 'toggles', 'ms', 'people'.")
    type: Literal["counter", "gauge", "timer", "ratio"]
    aggregation: Aggregation = Field(
        None,  # type: ignore[call-overload]  # filled from `type` before validation (_default_aggregation)
        validate_default=False,
        description="additive (counts: summed), semi_additive (gauges: summed over dimensions, averaged over "
        "periods) or non_additive (ratios, distinct counts, percentiles: never summed or averaged). "
        "Defaults from `type`: counter additive, gauge semi_additive, timer and ratio non_additive.",
    )
    source: Source | None = Field(None, description="Where the values come from; absent for a ratio, which is computed from its parts.")
    ratio: RatioParts | None = Field(None, description="For `type: ratio`: the numerator and denominator metrics it is computed from.")
    graphite_path: GraphitePath | None = Field(
        description="Graphite path template; `{dimension}` placeholders are filled with dimension values. "
        "null when the metric is not sent to Graphite (e.g. one series per page title would flood it)."
    )
    dimensions: list[Identifier] = Field(default_factory=list, description="The spec's dimensions this metric is split by.")
    normalization: Normalization | None = None
    sample_rate: float = Field(1.0, gt=0, le=1, description="The fraction of events recorded, e.g. 0.0625 for 1 in 16 sessions.")

    @model_validator(mode="before")
    @classmethod
    def _default_aggregation(cls, data: object) -> object:
        """`aggregation` defaults from `type`, so every loaded metric states it explicitly."""
        if isinstance(data, dict) and "aggregation" not in data and isinstance(data.get("type"), str) and data["type"] in DEFAULT_AGGREGATION:
            return {**data, "aggregation": DEFAULT_AGGREGATION[data["type"]]}
        return data

    def path_placeholders(self) -> list[str]:
        """The `{names}` used in the Graphite path template, in order."""
        return placeholders(self.graphite_path) if self.graphite_path else []

    @property
    def table(self) -> str | None:
        """`<folder>_<report>`, the table of schema `SCHEMA` holding the values; None when not stored in a table."""
        if not isinstance(self.source, ReportSource):
            return None
        folder, report = self.source.report.split("/", 1)
        return report_table(folder, report)

    @property
    def column(self) -> str | None:
        """The column of `table` holding the values; None when not stored in a table."""
        return self.source.column if isinstance(self.source, ReportSource) else None

    @property
    def via_statsd(self) -> bool:
        """Whether product code pushes the metric to StatsD (its values are in Graphite only)."""
        return isinstance(self.source, StatsdSource)

    @property
    def native_only(self) -> bool:
        """Whether the metric has a value only at the grain it is stored at (non-additive, no parts)."""
        return self.aggregation == "non_additive" and self.type not in ("ratio", "timer")

    def graphite_series(self, leaf: str | None = None) -> str:
        """The path template of the metric's stored Graphite series.

        Report metrics are written by the runner at exactly `graphite_path`; StatsD metrics by
        StatsD's graphite backend (legacy namespace) under a prefix per type, timers with a leaf
        per statistic (`count`, `sum`, `mean`...). Raises ValueError for a metric not in Graphite.
        """
        if self.graphite_path is None:
            raise ValueError(f"metric {self.name!r} has no graphite_path")
        if not isinstance(self.source, StatsdSource):
            return self.graphite_path
        path = f"{STATSD_PREFIX[self.type]}.{self.graphite_path}"
        return f"{path}.{leaf or 'count'}" if self.type == "timer" else path


class Graph(_Strict):
    """A chart or panel the team wants on its dashboard."""

    title: Text
    description: str | None = None
    kind: Literal["line", "big_number", "table", "pie", "world_map"] = Field(
        description="A line over time, one big number, a table, a pie (each split value's share of a whole: one additive metric) "
        "or a world map (one value per country: split by a dimension of ISO 3166-1 country codes)."
    )
    metrics: Annotated[list[Identifier], Field(min_length=1)]
    split_by: Identifier | None = Field(None, description="A dimension: one line (or row) per value.")
    within: Identifier | None = Field(
        default=None,
        description="A table only: a second dimension the rows are kept apart by, shown as the first column "
        "(e.g. `within: domain_code` with `split_by: page_title`: one row per page of each wiki, not pages summed across wikis).",
    )
    filters: dict[Identifier, str] = Field(default_factory=dict, description="Dimension -> value this graph is restricted to.")
    series_limit: int = Field(
        DEFAULT_SERIES_LIMIT,
        ge=1,
        le=MAX_SERIES_LIMIT,
        description=f"A line or pie draws at most this many split values, those with the largest total over the range shown; "
        f"the rest are added up into one 'Others' series (from 1 to {MAX_SERIES_LIMIT}, default {DEFAULT_SERIES_LIMIT}).",
    )
    show: Annotated[list[Show], Field(min_length=1)] = Field(
        default_factory=lambda: list[Show](["total"]),
        description="What is shown: `total` (the sum), `normalized` (the metric's normalization ratio), "
        "`mean` (the average per period), `percentage` (each split value's share of the total).",
    )


class Spec(_Strict):
    """One metrics spec: one YAML file of the catalogue."""

    name: Identifier = Field(description="Equal to the file name without .yaml; names the dashboards.")
    title: Text
    description: Text
    owner: Owner
    ticket: HttpUrl = Field(description="The task tracking this instrumentation, e.g. a Phabricator URL.")
    research_questions: Annotated[list[Text], Field(min_length=1)]
    status: Literal["active", "deprecated"]
    version: SemVer = Field(description="Semantic version of the spec; bump it with every change.")
    sunset: Sunset | None = None
    history: list[HistoryEntry] = Field(default_factory=list)
    dimensions: list[Dimension] = Field(default_factory=list)
    metrics: Annotated[list[Metric], Field(min_length=1)]
    graphs: list[Graph] = Field(default_factory=list)

    def sunset_warning(self, today: dt.date) -> str | None:
        """A warning for dashboards when the sunset date is past or within SUNSET_WARNING_DAYS.

        It names no day count, so a built dashboard changes only on the day the warning falls due.
        """
        if self.sunset is None:
            return None
        days = (self.sunset.date - today).days
        if days < 0:
            return f"this spec's sunset date {self.sunset.date.isoformat()} is past: its data may have stopped."
        if days <= SUNSET_WARNING_DAYS:
            return f"this spec is sunset on {self.sunset.date.isoformat()}, within {SUNSET_WARNING_DAYS} days: collection then stops."
        return None

    def content_hash(self) -> str:
        """12 hex digits of SHA-256 over the spec's declared content; recorded in every built asset.

        Keys left at their defaults are not hashed, so a new optional key does not change the hash
        of specs that do not use it.
        """
        return hashlib.sha256(self.model_dump_json(exclude_defaults=True).encode()).hexdigest()[:12]

    def marker(self) -> str:
        """The line every built object's description ends with: which spec, version and content."""
        return f"(metrics spec {self.name} {self.version}, content {self.content_hash()})"

    def about(self, today: dt.date) -> str:
        """Markdown about the spec for a dashboard's text: sunset warning, description, research
        questions, owner, responsible, ticket, status, version and content hash, sunset plan."""
        lines = []
        warning = self.sunset_warning(today)
        if warning:
            lines += [f"> **Warning:** {warning}", ""]
        lines += [md_line(self.description), "", "**Research questions**", ""]
        lines += [f"- {md_line(q)}" for q in self.research_questions]
        contact = f" ({md_line(self.owner.contact)})" if self.owner.contact else ""
        lines += [
            "",
            "| | |",
            "| --- | --- |",
            f"| Owner | {md_line(self.owner.team)}{contact} |",
            f"| Responsible | {md_line(self.owner.responsible)} |",
            f"| Ticket | [{self.ticket}]({self.ticket}) |",
            f"| Status | {self.status} |",
            f"| Version | {self.version} (spec `{self.name}`, content {self.content_hash()}) |",
        ]
        if self.sunset:
            lines.append(f"| Sunset | {self.sunset.date.isoformat()}: {md_line(self.sunset.plan)} |")
        return "\n".join(lines) + "\n"

    def dimension(self, name: str) -> Dimension:
        return next(d for d in self.dimensions if d.name == name)

    def metric(self, name: str) -> Metric:
        return next(m for m in self.metrics if m.name == name)

    def parts(self, metric: Metric) -> tuple[Metric, Metric, float] | None:
        """(numerator, denominator, scale) of a ratio metric, None for any other metric."""
        if metric.ratio is None:
            return None
        return self.metric(metric.ratio.numerator), self.metric(metric.ratio.denominator), metric.ratio.scale


@functools.lru_cache(maxsize=256)
def _matcher(pattern: str) -> SchemaValidator:
    return SchemaValidator(core_schema.str_schema(pattern=f"^(?:{pattern})$", regex_engine="rust-regex"))


def full_match(pattern: str, value: str) -> bool:
    """Whether `pattern` (a dimension's, from a spec) matches all of `value`.

    Matched by the Rust `regex` engine that pydantic-core ships, which runs in time linear in the
    value: Python's `re` backtracks, and a spec's `(a+)+$` against a long value would hang
    `metrics validate`. Raises ValueError for a pattern that engine cannot read (backreferences,
    lookaround): `pattern_problem` says why.
    """
    try:
        _matcher(pattern).validate_python(value)
        return True
    except ValidationError:
        return False
    except SchemaError as exc:
        raise ValueError(str(exc)) from None


def pattern_problem(pattern: str) -> str | None:
    """Why `pattern` cannot be a dimension's pattern, or None: the first line of the engine's error."""
    try:
        _matcher(pattern)
    except SchemaError as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip().startswith("error:")]
        return lines[0].removeprefix("error: ") if lines else " ".join(str(exc).split())[:120]
    return None


def md_line(text: str) -> str:
    """Text for one Markdown table cell or list item: one line, `|` escaped."""
    return " ".join(text.split()).replace("|", "\\|")
