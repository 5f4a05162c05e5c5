"""The small chart of each metric on the catalogue site: `metrics.figures.plot`, shrunk, as SVG.

A chart is the metric by its own aggregation rule over every stored period (`metrics.notebook.query`,
grain `period`): the total when the metric has one, else one line per value of its dimensions (the
top few, the rest as "other", as `plot` draws them). A metric whose table is not in the warehouse
yet gets the note "no data yet" instead of a chart; a StatsD metric, whose values are only in
Graphite, a note saying so.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import matplotlib
from matplotlib.figure import Figure

from metrics.config import Settings
from metrics.errors import MetricsError
from metrics.problems import InputError
from metrics.spec import Metric, Spec

TOP = 5
"""Lines in a small chart; the other groups are one "other" line."""

SIZE = (6.4, 2.6)
"""Inches (at 100 dpi in the browser): small enough for two per row on a wide screen."""

NO_DATA = "no data yet"


@dataclass(frozen=True)
class Chart:
    """A metric's small chart, or why there is none."""

    metric: str
    title: str = ""
    """What is plotted (from `metrics.notebook.describe`), shown under the chart."""
    svg: bytes = b""
    note: str = ""
    """Why there is no chart: `NO_DATA`, a StatsD metric, or the error of its query."""

    @property
    def data_uri(self) -> str:
        """The SVG as a `data:` URI for an `<img>`: inline in the page, and never run as a document."""
        return "data:image/svg+xml;base64," + base64.b64encode(self.svg).decode("ascii")


def existing_tables(settings: Settings) -> set[str]:
    """The report tables the configured engine has (schema `metrics`); empty when it has none."""
    from metrics.engines import open_configured
    from metrics.tables import SCHEMA

    with open_configured(settings) as engine:
        return set(engine.tables(SCHEMA)) if SCHEMA in engine.schemas() else set()


def metric_chart(spec: Spec, metric: Metric, settings: Settings, tables: set[str]) -> Chart:
    """The small chart of `metric`; a Chart with a note instead of an SVG when it cannot be drawn.

    `tables` are the report tables that exist (`existing_tables`): a metric reading another one has
    no data yet. Errors of the query (a table with other columns than the spec says) become the note.
    """
    from metrics import aggregation

    if metric.via_statsd:
        return Chart(metric.name, note="collected by StatsD: its values are in Graphite only (see the Grafana board)")
    needed = {m.table for m in aggregation.quantity(spec, metric).parts}
    if not needed <= tables:
        return Chart(metric.name, note=NO_DATA)
    try:
        return _draw(metric, settings)
    except (MetricsError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        return Chart(metric.name, note=f"no chart: {first[:300]}")


def _draw(metric: Metric, settings: Settings) -> Chart:
    # hashsalt: the SVG's ids are the same for the same data, so the site is byte-identical when built twice.
    with matplotlib.rc_context({"svg.hashsalt": metric.name, "svg.fonttype": "path", "font.size": 8}):
        figure = small_figure(metric, settings)
        if figure is None:
            return Chart(metric.name, note=NO_DATA)
        ax = figure.axes[0]
        title = ax.get_title(loc="left")
        ax.set_title("", loc="left")
        out = io.BytesIO()
        figure.savefig(out, format="svg", metadata={"Date": None, "Creator": None})
    return Chart(metric.name, title, out.getvalue())


def small_figure(metric: Metric, settings: Settings) -> Figure | None:
    """The small chart as a matplotlib figure (None without rows): `metrics.figures.plot` of every
    stored period, so its title names the data's own grain ("Population, yearly"), its axis reads
    7.2B (never 7.2e+09) and amounts start at zero (`metrics.describe.compact`, `zero_based`)."""
    from metrics import notebook
    from metrics.figures import plot

    try:
        frame = notebook.query(metric, grain="period", settings=settings)
    except InputError:
        # A metric that has a value only with all its dimensions (not added up): one line per group.
        frame = notebook.query(metric, by=list(metric.dimensions), grain="period", settings=settings)
    if frame.empty:
        return None
    figure = plot(frame, top=TOP)
    figure.set_size_inches(*SIZE)
    return figure
