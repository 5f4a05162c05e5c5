"""`metrics site`: the catalogue as a static HTML site a reader can browse from disk.

from metrics.site import build
build("build/site", settings=load_settings())      # -> Site(out, pages, written, charts, notes)

Every spec gets a page (description, research questions, owner, ticket, status, version and
history, sunset, dimensions, metrics with their Graphite path, aggregation, normalization,
report and query, the graphs, links to its Superset and Grafana dashboards, "data as of" from
the run log, a small chart per metric); the index lists them with a search box. See docs/site.md.
"""

from metrics.site.writer import MARKER, Site, build

__all__ = ["MARKER", "Site", "build"]
