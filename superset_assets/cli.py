"""`metrics build superset` and `metrics import superset`: thin commands over writer and importer."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from metrics import redact
from metrics.cli_kit import echo_plan, import_plan_options, service_url, settings
from metrics.problems import InputError
from superset_assets import versions


@click.command("superset")
@click.option(
    "--engine-uri",
    help="SQLAlchemy URI of the warehouse for Superset, written into the bundles. Default: none, the bundles are environment-neutral and "
    "`metrics import superset` fills in the environment's (with --env: that environment's database_uri, else duckdb:///<warehouse>/catalog.duckdb). "
    "No password: give it at import (SUPERSET_DB_PASSWORD).",
)
@click.option(
    "--superset-version",
    type=click.Choice(versions.SUPERSET_VERSIONS),
    default=versions.DEFAULT_VERSION,
    show_default=True,
    help="Emit only the keys this Superset release accepts.",
)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Bundle folder (default: superset_assets/bundles).")
@click.option("--strict", is_flag=True, help="A spec changed without a version bump is an error, not a warning.")
@click.option(
    "--data-as-of/--no-data-as-of",
    default=True,
    show_default=True,
    help="Show in each dashboard's header how fresh its reports' data is, from the run log (when the warehouse has one).",
)
@click.pass_context
def build_superset(ctx: click.Context, engine_uri: str | None, superset_version: str, out: Path | None, strict: bool, data_as_of: bool) -> None:
    """Write a Superset import bundle per spec (<out>/<spec>/<spec>-<version>.zip) and <out>/index.json.

    Without --engine-uri or --env the bundles are environment-neutral (what is committed): their
    database URI is a placeholder that `metrics import superset` replaces with the selected
    environment's. With --env NAME (and --out, a folder of that environment's own) they are built
    for that environment's database.

    Older versions are kept, so an earlier one can be imported again to roll back. Rebuilding an
    unchanged spec changes no file; a spec changed without a version bump keeps its released
    bundle and is reported (exit 1 with --strict). The "data as of" text changes only with the
    run log: rebuild (and import) after runs to refresh it.
    """
    from metrics import catalogue as catalogue_mod
    from metrics.status import dashboard_freshness
    from superset_assets.bundle import BundleError
    from superset_assets.database import ENVIRONMENT_URI, default_uri, mask_password
    from superset_assets.datasets import PlanError
    from superset_assets.writer import DEFAULT_OUT, build_all

    s = settings(ctx)
    cat = catalogue_mod.load(s.catalogue)
    if s.env is not None and engine_uri is None and out is None:
        raise InputError.at(
            "--out",
            f"a build for environment {s.env} would write its database into the committed, environment-neutral bundles",
            f"pass --out FOLDER for environment {s.env}'s bundles, or build without --env (the import fills in the environment)",
        )
    uri = engine_uri or ((s.database_uri or default_uri(s.warehouse)) if s.env is not None else ENVIRONMENT_URI)
    if mask_password(uri)[1]:
        click.echo("warning: the password in --engine-uri is not written into the bundles; give it at import time in SUPERSET_DB_PASSWORD", err=True)
    try:
        freshness = dashboard_freshness(s, cat) if data_as_of else {}
        report = build_all(cat, out or DEFAULT_OUT, engine_uri=uri, superset_version=superset_version, today=dt.date.today(), data_as_of=freshness)
    except (PlanError, BundleError) as exc:
        raise InputError.at(s.catalogue, str(exc), "fix the spec's graphs, or report a builder bug") from None
    for line in report.lines():
        click.echo(line)
    for problem in report.problems:
        click.echo(str(problem), err=True)
    if strict and report.problems:
        raise InputError(report.problems)


@click.command("superset")
@click.argument("bundles", nargs=-1)
@click.option("--url", help="Superset base URL, e.g. http://127.0.0.1:8088 (password from SUPERSET_PASSWORD). Default: the environment's superset_url.")
@click.option("--user", default="admin", show_default=True, help="Superset user (needs the Admin role to import).")
@click.option(
    "--bundles-dir", type=click.Path(file_okay=False, path_type=Path), help="Where built bundles and index.json are (default: superset_assets/bundles)."
)
@click.option("--dry-run", is_flag=True, help="Show the plan (what would change against what is live); import nothing.")
@click.option("--force", is_flag=True, help="Overwrite assets changed in Superset since our last import, and dashboards we never imported.")
@import_plan_options("Superset", "the assets")
@click.pass_context
def import_superset(
    ctx: click.Context,
    bundles: tuple[str, ...],
    url: str | None,
    user: str,
    bundles_dir: Path | None,
    dry_run: bool,
    force: bool,
    prune: bool,
    plan_file: Path | None,
) -> None:
    """Import bundles (ZIP files, spec names or SPEC@VERSION; default: the latest version of every spec).

    Prints the plan first (as `metrics plan` does), then applies exactly it. An asset changed in
    Superset since this tool last imported it, or a dashboard it never imported, is not
    overwritten (nothing is imported) unless --force; the record is
    $METRICS_STATE_DIR/superset-imports.json (default ~/.local/state/metrics-service/). To roll
    back, import an older version: SPEC@VERSION.

    An environment-neutral bundle (built without --engine-uri) gets the database of the selected
    environment (--env: its database_uri, else duckdb:///<its warehouse>/catalog.duckdb; without
    --env, the configured warehouse's catalog.duckdb). A password in that URI comes from
    SUPERSET_DB_PASSWORD at import, never from a file.
    """
    from metrics import plan as plan_mod
    from superset_assets.database import default_uri, mask_password
    from superset_assets.importer import import_bundles
    from superset_assets.writer import DEFAULT_OUT

    s = settings(ctx)
    url = service_url(s, url, "superset_url", "Superset")
    folder = bundles_dir or DEFAULT_OUT
    paths = resolve_bundles(bundles, folder, None if bundles else catalogue_specs(ctx))
    expected = plan_mod.load(plan_file, "superset") if plan_file else None
    if expected is not None:
        prune = prune or expected.prune

    database_uri = checked_database(s.database_uri or default_uri(s.warehouse), paths)
    result = import_bundles(
        url,
        paths,
        user=user,
        dry_run=dry_run,
        force=force,
        prune=prune,
        complete=not bundles,
        expected=expected,
        on_plan=echo_plan,
        database_uri=database_uri,
        environment=s.env,
    )
    click.echo(
        f"database {redact.mask_url(mask_password(database_uri)[0])} for environment-neutral bundles ({'environment ' + s.env if s.env else 'no environment selected'})"
    )
    for bundle in result.bundles:
        click.echo(f"{'would import' if dry_run else 'imported'} {bundle.path} ({bundle.label})")
    for asset in result.deleted:
        click.echo(f"deleted {asset.kind} {asset.name} ({asset.key})")
    for uuid, number in sorted(result.dashboards.items()):
        click.echo(f"dashboard {uuid}: {redact.mask_url(url.rstrip('/'))}/superset/dashboard/{number}/")


def checked_database(uri: str, bundles: list[Path]) -> str:
    """`uri`, the database environment-neutral `bundles` get at import, if Superset can open it: `InputError` (exit 2)
    naming the missing file of a DuckDB catalog on this machine (`database.missing_catalog`). Bundles built for
    a database of their own do not use it: not checked then."""
    from superset_assets.bundle import database_uri_of
    from superset_assets.database import is_neutral, missing_catalog
    from superset_assets.importer import read_bundle

    path = missing_catalog(uri)
    if path is not None and any(is_neutral(database_uri_of(read_bundle(bundle).data) or "") for bundle in bundles):
        raise InputError.at(
            path,
            "no DuckDB catalog file: Superset's database would point at it and every chart would fail 'Cannot open database'",
            "write it with `metrics export-duckdb`, or choose the warehouse that has one with --warehouse (or the environment's warehouse or database_uri)",
        )
    return uri


def catalogue_specs(ctx: click.Context) -> set[str] | None:
    """The names of the specs in the configured catalogue; None where there is no catalogue (an import from built bundles alone)."""
    from metrics import catalogue as catalogue_mod

    folder = settings(ctx).catalogue
    return {spec.name for spec in catalogue_mod.load(folder)} if Path(folder).is_dir() else None


def resolve_bundles(names: tuple[str, ...], folder: Path, specs: set[str] | None = None) -> list[Path]:
    """ZIP paths for the arguments: a path, a spec name (its latest version) or SPEC@VERSION; none: every spec's
    latest, of the `specs` still in the catalogue when given (a removed spec's bundles stay for rollbacks, its assets become orphans)."""
    from superset_assets.importer import ImportProblem
    from superset_assets.writer import latest, read_index

    entries = read_index(folder)
    newest = latest(entries)
    if not names and specs is not None:
        newest = {spec: entry for spec, entry in newest.items() if spec in specs}
    if not names:
        if not newest:
            raise ImportProblem(f"no bundles in {folder}/index.json: run `metrics build superset` first")
        return [folder / e["file"] for _, e in sorted(newest.items())]
    paths = []
    for name in names:
        if name.endswith(".zip") or Path(name).exists():
            paths.append(Path(name))
            continue
        spec, _, version = name.partition("@")
        entry = next((e for e in entries if e["spec"] == spec and e["version"] == version), None) if version else newest.get(spec)
        if entry is None:
            known = ", ".join(sorted(f"{e['spec']}@{e['version']}" for e in entries)) or "none"
            raise ImportProblem(f"no bundle {name!r} in {folder}/index.json (built: {known})")
        paths.append(folder / entry["file"])
    return paths
