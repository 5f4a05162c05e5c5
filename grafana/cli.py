"""`metrics build grafana` and `metrics import grafana`: thin commands over writer and importer."""

from __future__ import annotations

import json
from pathlib import Path

import click

from grafana.builder import DEFAULT_DATASOURCE_UID
from grafana.writer import DEFAULT_DASHBOARDS_PATH, DEFAULT_GRAPHITE_URL, DEFAULT_OUT, FOLDER, build_all
from metrics import redact
from metrics.cli_kit import echo_plan, import_plan_options, service_url, settings


@click.command("grafana")
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_OUT, show_default="grafana/", help="Folder for dashboards/ and provisioning/."
)
@click.option(
    "--datasource-uid",
    default=DEFAULT_DATASOURCE_UID,
    show_default=True,
    help="uid of the Graphite datasource (default of the $datasource variable and of the provisioned datasource).",
)
@click.option(
    "--graphite-url",
    help="graphite-web URL written into the datasource provisioning file (user:password@host: basic auth, the password from GRAPHITE_PASSWORD "
    f"where Grafana runs). Default: the environment's graphite_url, else {DEFAULT_GRAPHITE_URL}.",
)
@click.option(
    "--dashboards-path",
    default=DEFAULT_DASHBOARDS_PATH,
    show_default=True,
    help="Where the Grafana host reads the dashboard files (provider provisioning file).",
)
@click.option(
    "--data-as-of/--no-data-as-of",
    default=True,
    show_default=True,
    help="Show in each dashboard's text panel how fresh its reports' data is, from the run log (when the warehouse has one).",
)
@click.pass_context
def build_grafana(ctx: click.Context, out: Path, datasource_uid: str, graphite_url: str | None, dashboards_path: str, data_as_of: bool) -> None:
    """Write one Grafana dashboard JSON per spec, and file-provisioning config.

    The dashboards are the same for every environment (the catalogue's Graphite paths; `metrics
    import grafana` puts the environment's graphite_prefix in); the datasource provisioning file
    points at the selected environment's graphite_url (`metrics --env prod build grafana`).

    Each dashboard has an annotation query per query folder of its reports, showing the Graphite
    events that `metrics run --graphite-web URL` posts after each run.
    """
    from metrics import catalogue as catalogue_mod
    from metrics.status import dashboard_freshness

    s = settings(ctx)
    cat = catalogue_mod.load(s.catalogue)
    freshness = dashboard_freshness(s, cat) if data_as_of else {}
    graphite_url = graphite_url or s.graphite_url or DEFAULT_GRAPHITE_URL
    for path in build_all(cat, out, datasource_uid=datasource_uid, graphite_url=graphite_url, dashboards_path=dashboards_path, data_as_of=freshness):
        click.echo(f"wrote {path}")


@click.command("grafana")
@click.argument("dashboards", nargs=-1)
@click.option("--url", help="Grafana base URL, e.g. https://grafana.example.org (token from GRAFANA_TOKEN). Default: the environment's grafana_url.")
@click.option("--folder", default=FOLDER, show_default=True, help="Folder title; created when missing.")
@click.option(
    "--dashboards-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_OUT / "dashboards",
    show_default="grafana/dashboards",
    help="Where built dashboards are found by spec name.",
)
@click.option("--dry-run", is_flag=True, help="Print what would be posted; contact no server.")
@click.option("--force", is_flag=True, help="Overwrite dashboards changed in Grafana since the last import.")
@import_plan_options("Grafana", "the dashboards")
@click.pass_context
def import_grafana(
    ctx: click.Context,
    dashboards: tuple[str, ...],
    url: str | None,
    folder: str,
    dashboards_dir: Path,
    dry_run: bool,
    force: bool,
    prune: bool,
    plan_file: Path | None,
) -> None:
    """Import built dashboards (files or spec names; default: all) into Grafana.

    Prints the plan first (as `metrics plan` does), then applies exactly it. A dashboard saved in
    Grafana since this tool last imported it is not overwritten (nothing is posted) unless
    --force; the versions of our imports are kept in $METRICS_STATE_DIR/grafana-imports.json
    (default ~/.local/state/metrics-service/).
    """
    from grafana.importer import import_dashboards  # httpx: only for this command
    from metrics import plan as plan_mod

    s = settings(ctx)
    url = service_url(s, url, "grafana_url", "Grafana")
    paths = [_resolve(d, dashboards_dir) for d in dashboards] or sorted(dashboards_dir.glob("*.json"))
    if not paths:
        raise click.ClickException(f"no dashboards in {dashboards_dir}: run `metrics build grafana` first")
    expected = plan_mod.load(plan_file, "grafana") if plan_file else None
    if expected is not None:
        prune = prune or expected.prune

    results = import_dashboards(
        url,
        paths,
        folder=folder,
        dry_run=dry_run,
        force=force,
        prune=prune,
        complete=not dashboards,
        expected=expected,
        on_plan=echo_plan,
        graphite_prefix=s.graphite_prefix,
    )
    for result in results:
        if dry_run:
            click.echo(f"would POST {redact.mask_url(url.rstrip('/'))}/api/dashboards/db ({result.path}):")
            click.echo(json.dumps(result.body, indent=2, sort_keys=True))
        elif result.deleted:
            click.echo(f"deleted {result.uid}")
        else:
            click.echo(f"imported {result.uid} version {result.version}: {redact.mask_url(url.rstrip('/'))}{result.url or ''}")
    if dry_run and folder:
        click.echo(f"folder {folder!r} is looked up by title (created with that uid when missing) on a real import", err=True)


def _resolve(name: str, folder: Path) -> Path:
    path = Path(name)
    if path.exists() or path.suffix == ".json":
        return path
    return folder / f"{name}.json"
