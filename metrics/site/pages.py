"""What the catalogue site says about each spec: plain data read from the catalogue and the query folders.

Nothing here renders HTML or draws: `metrics.site.writer` turns these dataclasses into pages
(every text escaped by the templates), `metrics.site.charts` draws the small charts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence
from urllib.parse import urlsplit

from metrics.errors import Location, UsageError
from metrics.freshness import Freshness
from metrics.problems import InputError
from metrics.spec import SUNSET_WARNING_DAYS, Metric, ReportSource, Spec

if TYPE_CHECKING:
    from metrics.reports.config import QueryFolder

MARKS = {
    "deprecated": "deprecated: the spec's status; its data may stop or change",
    "past-sunset": "past its sunset date: collection has stopped or is stopping",
    "sunset-soon": f"sunset within {SUNSET_WARNING_DAYS} days",
}
"""The marks a spec (and so each of its metrics) can carry: CSS class suffix -> what it means."""


@dataclass(frozen=True)
class ReportText:
    """The Reportupdater-style report a metric's values come from, and the text of its query."""

    ref: str
    """`<query folder>/<report key>`, as the metric's `source.report` names it."""
    column: str
    kind: str = ""
    """The report's `type` (sql, hive, script); empty when the report could not be read."""
    granularity: str = ""
    dialect: str = ""
    file: str = ""
    """The query file, relative to the query folders' root."""
    text: str = ""
    problem: str = ""
    """Why the query could not be shown (folder or report missing, config with errors)."""


@dataclass(frozen=True)
class MetricEntry:
    """One metric as the site shows it."""

    metric: Metric
    anchor: str
    graphite: str | None
    """The stored Graphite series (path template), None when the metric is not sent to Graphite."""
    how: str
    """How values combine, in words, from the metric's aggregation and ratio parts."""
    report: ReportText | None
    marks: tuple[str, ...]


@dataclass
class SpecPage:
    """One spec's page."""

    spec: Spec
    file: str
    """The page's path inside the site, e.g. `specs/codemirror.html`."""
    marks: tuple[str, ...]
    metrics: list[MetricEntry]
    freshness: list[Freshness]
    superset: str | None
    """The URL of the spec's Superset dashboard (None when no Superset URL is configured)."""
    grafana: str | None
    superset_slug: str = ""
    grafana_uid: str = ""
    search: str = ""
    """Lower-case text the search box matches: names, titles, descriptions, owner, metrics, dimensions."""
    warnings: list[str] = field(default_factory=list)
    """Sentences shown at the top of the page: deprecated, sunset past or near (as the dashboards say)."""
    charts: dict[str, object] = field(default_factory=dict)

    @property
    def through(self) -> dt.date | None:
        """The oldest day all of the spec's reports have data through (None: none done yet)."""
        days = [f.through for f in self.freshness if f.through is not None]
        return min(days) if len(days) == len(self.freshness) and days else None


def marks(spec: Spec, today: dt.date) -> tuple[str, ...]:
    """The marks of a spec on `today`: deprecated, past-sunset, sunset-soon (see MARKS)."""
    out = []
    if spec.status == "deprecated":
        out.append("deprecated")
    if spec.sunset is not None:
        days = (spec.sunset.date - today).days
        if days < 0:
            out.append("past-sunset")
        elif days <= SUNSET_WARNING_DAYS:
            out.append("sunset-soon")
    return tuple(out)


def checked_url(value: str | None, setting: str) -> str | None:
    """A dashboard base URL to link to: http(s), no credentials, no trailing slash.

    Raises UsageError (exit 2) naming the setting: a `javascript:` URL or a password must not reach a page.
    """
    if value is None or not value.strip():
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{value[:80]!r} is not an http(s) URL", "give the base URL, e.g. https://superset.example.org", Location(setting))
    if parts.username or parts.password:
        raise UsageError("the URL holds a user name or password", "give the URL without credentials: it is written into every page", Location(setting))
    return value.strip().rstrip("/")


def how(spec: Spec, metric: Metric) -> str:
    """How the metric's values combine over dimensions and time, in words."""
    parts = spec.parts(metric)
    if parts is not None:
        numerator, denominator, scale = parts
        times = f" × {scale:g}" if scale != 1 else ""
        return f"a ratio, recomputed at every grain: sum of {numerator.name} / sum of {denominator.name}{times}"
    return {
        "additive": "additive: summed over dimensions and time",
        "semi_additive": "semi-additive: summed over dimensions within a period, averaged over periods",
        "non_additive": "non-additive: shown only as stored, never summed or averaged",
    }[metric.aggregation]


def report_text(queries: Path, source: ReportSource, cache: dict[str, QueryFolder | str]) -> ReportText:
    """The report a metric reads and its query's text, from the query folder (read once per folder)."""
    from metrics.reports.reader import read_folder

    folder_key, key = source.report.split("/", 1)
    folder = queries / folder_key
    if folder_key not in cache:
        try:
            cache[folder_key] = read_folder(folder)
        except InputError as exc:
            cache[folder_key] = exc.lines()[0] if exc.lines() else str(exc)
    read = cache[folder_key]
    if isinstance(read, str):
        return ReportText(source.report, source.column, problem=read)
    try:
        report = read.report(key)
    except KeyError:
        return ReportText(source.report, source.column, problem=f"{folder / 'config.yaml'}: no report {key!r} without errors (metrics validate says why)")
    path = report.query_file
    try:
        text = path.read_text(encoding="utf-8")
        problem = ""
    except (OSError, UnicodeDecodeError) as exc:
        text, problem = "", f"{path}: cannot be read ({exc.__class__.__name__})"
    shown = path.relative_to(queries) if path.is_relative_to(queries) else path
    return ReportText(source.report, source.column, report.type, report.granularity, report.dialect, str(shown), text, problem)


def spec_pages(
    catalogue: Iterable[Spec],
    *,
    queries: Path,
    today: dt.date,
    freshness: dict[str, list[Freshness]],
    superset_url: str | None = None,
    grafana_url: str | None = None,
) -> list[SpecPage]:
    """One page per spec, in catalogue order, with everything but the charts."""
    from grafana.builder import dashboard_uid
    from superset_assets.naming import slug

    cache: dict[str, QueryFolder | str] = {}
    pages = []
    for spec in catalogue:
        spec_marks = marks(spec, today)
        entries = [
            MetricEntry(
                m,
                f"metric-{m.name}",
                m.graphite_series() if m.graphite_path else None,
                how(spec, m),
                report_text(queries, m.source, cache) if isinstance(m.source, ReportSource) else None,
                spec_marks,
            )
            for m in spec.metrics
        ]
        uid, name = dashboard_uid(spec.name), slug(spec.name)
        page = SpecPage(
            spec,
            f"specs/{spec.name}.html",
            spec_marks,
            entries,
            list(freshness.get(spec.name, [])),
            f"{superset_url}/superset/dashboard/{name}/" if superset_url else None,
            f"{grafana_url}/d/{uid}" if grafana_url else None,
            name,
            uid,
        )
        page.search = search_text(spec, spec_marks)
        if spec.status == "deprecated":
            page.warnings.append("This spec is deprecated: its data may stop or change; see its sunset plan.")
        sunset = spec.sunset_warning(today)
        if sunset:
            page.warnings.append(sunset[0].upper() + sunset[1:])
        pages.append(page)
    return pages


def search_text(spec: Spec, spec_marks: Sequence[str]) -> str:
    """What the search box matches for a spec, lower case, one line."""
    words = [spec.name, spec.title, spec.description, spec.owner.team, spec.owner.responsible, spec.status, *spec_marks]
    words += [d.name for d in spec.dimensions]
    words += [w for m in spec.metrics for w in (m.name, m.description, m.graphite_path or "")]
    words += [g.title for g in spec.graphs]
    return " ".join(" ".join(words).split()).lower()
