"""`metrics site`: a thin command over `metrics.site.build` (the function a script calls)."""

from __future__ import annotations

import datetime as dt

import click

from metrics.cli_kit import settings


@click.command("site")
@click.option("-o", "--out", required=True, type=click.Path(file_okay=False), help="Folder to write the site into (new, empty, or a site written before).")
@click.option("--superset-url", metavar="URL", help="Superset's base URL, to link each spec's dashboard (default: superset_url in metrics.toml).")
@click.option("--grafana-url", metavar="URL", help="Grafana's base URL, to link each spec's board (default: grafana_url in metrics.toml).")
@click.option("--today", metavar="YYYY-MM-DD", help="The day the sunset marks are computed for (default: today, UTC).")
@click.option("--no-charts", is_flag=True, help="Leave out the small chart of each metric (no query of the metric tables).")
@click.pass_context
def site_command(ctx: click.Context, out: str, superset_url: str | None, grafana_url: str | None, today: str | None, no_charts: bool) -> None:
    """Write the catalogue as a static HTML site that opens from disk: OUT/index.html.

    \b
    Every spec with its metrics, queries, dashboards links, "data as of" and a small chart per metric;
    a search box; deprecated and past-sunset specs marked. See docs/site.md.
    Example: metrics site -o build/site --superset-url http://localhost:8088
    """
    from metrics.site import build

    s = settings(ctx)
    day = None
    if today is not None:
        try:
            day = dt.date.fromisoformat(today)
        except ValueError:
            raise click.BadParameter(f"{today!r} is not a date: write it YYYY-MM-DD", param_hint="--today") from None
    site = build(
        out,
        settings=s,
        today=day,
        superset_url=superset_url if superset_url is not None else s.superset_url,
        grafana_url=grafana_url if grafana_url is not None else s.grafana_url,
        draw=not no_charts,
    )
    metrics = sum(len(p.metrics) for p in site.pages)
    for name, note in sorted(site.notes.items()):
        if note.startswith("no chart:"):
            click.echo(f"warning: {name}: {note}", err=True)
    click.echo(f"wrote {site.index} ({len(site.pages)} specs, {metrics} metrics, {site.charts} charts, {metrics - site.charts} without)")
