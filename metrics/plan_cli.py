"""`metrics plan`: one report, before any import, of what would change in Superset, Grafana and the data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from metrics.cli_kit import settings

if TYPE_CHECKING:
    from metrics.reports.stale import ReportStale


@click.command("plan")
@click.option(
    "--superset-url",
    help="Plan the Superset import against this server (user --superset-user, password from SUPERSET_PASSWORD). Default: the environment's superset_url.",
)
@click.option("--superset-user", default="admin", show_default=True, help="Superset user.")
@click.option(
    "--bundles-dir", type=click.Path(file_okay=False, path_type=Path), help="Where built bundles and index.json are (default: superset_assets/bundles)."
)
@click.option("--grafana-url", help="Plan the Grafana import against this server (token from GRAFANA_TOKEN). Default: the environment's grafana_url.")
@click.option(
    "--dashboards-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where built Grafana dashboards are (default: grafana/dashboards).",
)
@click.option("--prune", is_flag=True, help="Plan to delete the assets we imported that the catalogue no longer builds (as import --prune does).")
@click.option(
    "--since",
    "rev",
    help="The git revision the catalogue and query folders are compared with (default: HEAD, when they are in a git work tree).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON (for machines).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Also save the plan here, for `metrics import ... --plan FILE`.")
@click.pass_context
def plan_command(
    ctx: click.Context,
    superset_url: str | None,
    superset_user: str,
    bundles_dir: Path | None,
    grafana_url: str | None,
    dashboards_dir: Path | None,
    prune: bool,
    rev: str | None,
    as_json: bool,
    output: Path | None,
) -> None:
    """Show what importing the built assets would change, and what the catalogue change does to data.

    \b
    Per asset of Superset (databases, datasets, charts, dashboards) and Grafana (dashboards):
      new, changed (which fields), unchanged, EDITED IN THE UI since our last import,
      not imported by us / unknown, and orphans: assets we imported that the catalogue no
      longer builds (deleted by `metrics import ... --prune`; never someone else's).
    From the catalogue and the query folders compared with git (--since REV, default HEAD):
    the reports whose results would change, the tables whose columns change, the Graphite paths that would be renamed.
    From the run log: per report, the intervals computed by an old definition of it (another
    query hash: docs/runner.md), with the old and new hash and spec versions; `metrics backfill`
    recomputes them.
    Reads only. Save it with -o FILE and import with --plan FILE to refuse (exit 2) an import
    whose live state moved since the plan was shown.
    """
    from metrics import catalogue_diff, plan as plan_mod
    from metrics.reports import stale as stale_mod

    s = settings(ctx)
    superset_url = superset_url or s.superset_url
    grafana_url = grafana_url or s.grafana_url
    plans: list[plan_mod.SystemPlan] = []
    if superset_url:
        from superset_assets.cli import catalogue_specs, checked_database, resolve_bundles
        from superset_assets.database import default_uri
        from superset_assets.importer import import_bundles
        from superset_assets.writer import DEFAULT_OUT

        paths = resolve_bundles((), bundles_dir or DEFAULT_OUT, catalogue_specs(ctx))
        database_uri = checked_database(s.database_uri or default_uri(s.warehouse), paths)  # as `metrics import superset` fills neutral bundles
        result = import_bundles(superset_url, paths, user=superset_user, dry_run=True, prune=prune, complete=True, database_uri=database_uri, environment=s.env)
        plans.append(result.plan)
    if grafana_url:
        from grafana.importer import plan_dashboards
        from grafana.writer import DEFAULT_OUT as GRAFANA_OUT

        folder = dashboards_dir or GRAFANA_OUT / "dashboards"
        files = sorted(folder.glob("*.json"))
        if not files:
            raise click.ClickException(f"no dashboards in {folder}: run `metrics build grafana` first")
        plans.append(plan_dashboards(grafana_url, files, complete=True, prune=prune, graphite_prefix=s.graphite_prefix))
    diff, no_diff = None, f"the catalogue {s.catalogue} is not in a git work tree: no diff of reports, tables and Graphite paths"
    if rev or catalogue_diff.in_git(s.catalogue):
        try:
            diff = catalogue_diff.since(rev or "HEAD", s.catalogue, s.queries, s.graphite_prefix)
        except catalogue_diff.OutsideWorkTree as exc:
            if rev:
                raise  # asked for by name: a diff it cannot give is an error
            no_diff = f"{exc.problems[0].file}: the query folders are {exc.problems[0].message}: no diff of reports, tables and Graphite paths"
    stale = _stale(ctx)
    extra = {"catalogue": diff.as_dict() if diff else None, "stale": [item.as_dict() for item in stale] if stale is not None else None}
    document = {"format": plan_mod.PLAN_FORMAT, "plans": [p.as_dict() for p in plans], **extra}
    if output is not None:
        plan_mod.save(output, plans, extra)
    if as_json:
        click.echo(json.dumps(document, indent=2))
        return
    for plan in plans:
        for line in plan.lines():
            click.echo(line)
    if not plans:
        click.echo("no --superset-url or --grafana-url: the catalogue diff only")
    for line in diff.lines() if diff else [no_diff]:
        click.echo(line)
    for line in stale_mod.lines(stale) if stale is not None else [f"no run log in the warehouse {s.warehouse}: no data computed by an old definition"]:
        click.echo(line)
    if output is not None:
        click.echo(f"saved the plan to {output}: import with --plan {output} to apply exactly it", err=True)


def _stale(ctx: click.Context) -> list[ReportStale] | None:
    """Every report's stale intervals (`metrics.reports.stale`); None when there is no run log to read."""
    from metrics import catalogue as catalogue_mod
    from metrics.engines import open_configured
    from metrics.reports.stale import find_all
    from metrics.reports.store import RUN_LOG, SCHEMA
    from metrics.reports.validate import query_folders

    s = settings(ctx)
    if s.write_mode != "sql" and not (Path(s.warehouse) / SCHEMA / RUN_LOG).is_dir():
        return None  # nothing ran here yet (and opening the engine would make a warehouse folder)
    folders = query_folders(s.queries) if Path(s.queries).is_dir() else []
    cat = catalogue_mod.load(s.catalogue) if Path(s.catalogue).is_dir() else None
    with open_configured(s, lazy=True) as engine:
        return find_all(folders, engine, cat)
