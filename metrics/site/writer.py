"""Write the catalogue site: `index.html`, one page per spec under `specs/`, and `assets/`.

Pages are rendered by Jinja2 with autoescaping on: every text that comes from a spec, a query file
or a dimension value is escaped, so a description holding `<script>` shows as text. Links are
relative and the CSS and JavaScript are local files: the site opens from disk (file://), with no
server and no network. Each file is replaced atomically; a spec page of a spec no longer in the
catalogue is removed, but only in a folder this writer made (it holds `MARKER`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import jinja2

from metrics import atomic
from metrics.config import Settings
from metrics.errors import Location, UsageError
from metrics.site import charts as charts_mod
from metrics.site.pages import MARKS, SpecPage, checked_url, spec_pages

MARKER = ".metrics-site"
"""The file that says a folder holds a site written here (so its stale pages may be removed)."""

ASSETS = ("site.css", "search.js")


@dataclass
class Site:
    """What `build` wrote."""

    out: Path
    pages: list[SpecPage]
    written: list[Path] = field(default_factory=list)
    charts: int = 0
    """Metrics drawn."""
    notes: dict[str, str] = field(default_factory=dict)
    """Metric -> why it has no chart (no data yet, StatsD, an error)."""

    @property
    def index(self) -> Path:
        return self.out / "index.html"


def environment() -> jinja2.Environment:
    """The templates of `metrics/site/templates`, autoescaped, failing on an undefined name."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("metrics.site", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def build(
    out: Path | str,
    *,
    settings: Settings,
    today: dt.date | None = None,
    superset_url: str | None = None,
    grafana_url: str | None = None,
    draw: bool = True,
) -> Site:
    """Write the site for the catalogue of `settings` into `out`; returns what was written.

    `today` (default: the current UTC day) decides the sunset marks; "data as of" comes from the
    run log (`metrics.status.dashboard_freshness`), the charts from the metric tables of the
    configured engine (`draw=False` leaves them out). The same catalogue, run log and tables give a
    byte-identical site. Raises InputError for a bad catalogue; UsageError (exit 2 too) for a
    dashboard URL that is not plain http(s) (`pages.checked_url`) or an `out` folder that holds
    other files than a site.
    """
    from metrics import catalogue as catalogue_mod
    from metrics.status import dashboard_freshness

    out = Path(out)
    today = today or dt.datetime.now(dt.timezone.utc).date()
    superset = checked_url(superset_url, "--superset-url / superset_url")
    grafana = checked_url(grafana_url, "--grafana-url / grafana_url")
    _check_out(out)
    cat = catalogue_mod.load(settings.catalogue, today=today)
    pages = spec_pages(
        cat, queries=Path(settings.queries), today=today, freshness=dashboard_freshness(settings, cat), superset_url=superset, grafana_url=grafana
    )
    site = Site(out, pages)
    tables = charts_mod.existing_tables(settings) if draw else set()
    for page in pages:
        for entry in page.metrics:
            chart = charts_mod.metric_chart(page.spec, entry.metric, settings, tables) if draw else charts_mod.Chart(entry.metric.name, note="charts left out")
            page.charts[entry.metric.name] = chart
            if chart.svg:
                site.charts += 1
            else:
                site.notes[entry.metric.name] = chart.note

    env = environment()
    common = {"marks": MARKS, "today": today, "superset_url": superset, "grafana_url": grafana, "specs": pages}
    out.mkdir(parents=True, exist_ok=True)
    (out / "specs").mkdir(exist_ok=True)
    (out / "assets").mkdir(exist_ok=True)
    for name in ASSETS:
        site.written.append(_write(out / "assets" / name, resources.files("metrics.site").joinpath("static", name).read_text(encoding="utf-8")))
    site.written.append(_write(site.index, env.get_template("index.html").render(root="", **common)))
    for page in pages:
        site.written.append(_write(out / page.file, env.get_template("spec.html").render(root="../", page=page, **common)))
    keep = {out / p.file for p in pages}
    for stale in sorted((out / "specs").glob("*.html")):
        if stale not in keep:
            stale.unlink()
    _write(out / MARKER, "A site written by `metrics site`: its pages are replaced on the next build.\n")
    return site


def _check_out(out: Path) -> None:
    """Refuse to write into a folder that holds other files than a site (they would be mixed or replaced)."""
    if out.exists() and not out.is_dir():
        raise UsageError("is a file, not a folder", "give a folder for the site with -o", Location(str(out)))
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise UsageError("the folder holds other files and no site written by `metrics site`", "give an empty or new folder with -o", Location(str(out)))


def _write(path: Path, text: str) -> Path:
    atomic.write_text(path, text)
    return path
