"""The `metrics` command: a thin layer over the library functions of the same names."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from grafana import cli as grafana_cli
from ingestion import cli as ingestion_cli
from metrics import backfill_cli, plan_cli, plot_cli, runner_cli, site_cli, statsd_cli, toppages_cli, verify_cli
from metrics.cli_kit import CONTEXT, WAREHOUSE_CHOICE, RootGroup, existing_warehouse, settings
from metrics.config import Settings, load_settings
from metrics.operations_cli import down_command, run_command, status_command, up_command
from metrics.problems import InputError
from superset_assets import cli as superset_cli

if TYPE_CHECKING:
    from metrics.catalogue import Catalogue


@click.group(cls=RootGroup, context_settings=CONTEXT)
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Project config file (default: ./metrics.toml if present).")
@click.option(
    "--env",
    "env_name",
    metavar="NAME",
    help="Environment: the [env.NAME] table of the config file (its warehouse, database URI, Superset and Grafana URLs). Default: METRICS_ENV, else none.",
)
@click.option("--catalogue", type=click.Path(file_okay=False), help="Catalogue folder of spec YAML files (default: metrics/catalogue).")
@click.option("--queries", type=click.Path(file_okay=False), help="Folder of Reportupdater-style query folders (default: reportupdater_queries).")
@click.option("--warehouse", type=click.Path(file_okay=False), help="Warehouse root of Parquet tables (default: ./warehouse).")
@click.option("--engine", type=click.Choice(["duckdb", "trino"]), help="The engine that runs SQL (default: duckdb, embedded).")
@click.option("--engine-uri", help="For --engine trino: trino://user@host:port/catalog (secrets from METRICS_TRINO_PASSWORD or _JWT).")
@click.option(
    "--write-mode",
    type=click.Choice(["files", "sql"]),
    help="How update-reports writes tables: files (Parquet into --warehouse, the default) or sql (INSERT through --engine trino).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks of unexpected errors.")
@click.version_option(package_name="metrics-service", prog_name="metrics")
@click.pass_context
def main(
    ctx: click.Context,
    config_file: str | None,
    env_name: str | None,
    catalogue: str | None,
    queries: str | None,
    warehouse: str | None,
    engine: str | None,
    engine_uri: str | None,
    write_mode: str | None,
    debug: bool,
) -> None:
    """Metrics service: a catalogue of metric specs turned into scheduled queries, tables and dashboards.

    \b
    Start with:
      metrics list                 what the catalogue holds
      metrics validate             check every spec (all problems at once)
      metrics new NAME             scaffold a spec and its query folder
      metrics schema > spec.json   the JSON Schema of a spec, for editors
    """
    ctx.obj = load_settings(
        config_file, env_name, catalogue=catalogue, queries=queries, warehouse=warehouse, engine=engine, engine_uri=engine_uri, write_mode=write_mode
    )


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
# The choices are metrics.engines.ENGINES and DIALECTS, spelled out so that `--help` loads no engine.
@click.option(
    "--engine",
    "engine_kind",
    type=click.Choice(["duckdb", "trino"]),
    help="The engine whose functions and dialect the queries are checked against (default: the configured engine).",
)
@click.option(
    "--config-path",
    type=click.Path(dir_okay=False, exists=True),
    help="The config of the query folder(s) in PATHS, when not their config.yaml (as update-reports --config-path).",
)
@click.pass_context
def validate(ctx: click.Context, paths: tuple[str, ...], strict: bool, engine_kind: str | None, config_path: str | None) -> None:
    """Check spec files and query folders (default: the whole catalogue and every query folder).

    PATHS may name spec files, catalogue folders, query folders and query configs (a YAML file with
    `reports:`, such as config-hive.yaml). Specs are checked against their schema and each other;
    query folders for config errors, SQL the engine cannot run, tables, columns and struct fields
    the warehouse lacks (a table not loaded yet is a warning), and the reports and columns the
    catalogue names. A folder is checked with each of its configs (config.yaml, config-*.yaml).
    Each problem is one line `file:line:column: what is wrong (what to do)`. Exit code 2 when
    there is an error (or a warning, with --strict), 0 otherwise.
    """
    from metrics.engines import engine_class
    from metrics.reports import validate as queries_check
    from metrics.warehouse import Warehouse

    s = settings(ctx)
    engine = engine_class(engine_kind or s.engine)
    configs: list[tuple[Path, Path]] = []  # (query folder, its config file)
    targets: list[Path | str] = []
    for given in paths:
        path = Path(given)
        if path.is_dir() and (queries_check.config_files(path) or config_path):
            configs += [(path, Path(config_path))] if config_path else [(path, c) for c in queries_check.config_files(path)]
        elif queries_check.is_query_config(path):
            configs.append((path.parent, path))
        else:
            targets.append(given)
    if config_path and not configs:
        raise click.UsageError("--config-path needs a query folder in PATHS")
    if not paths:
        targets = [s.catalogue]
        root = Path(s.queries)
        folders = sorted({c.parent for c in root.glob("*/config*.y*ml")}) if root.is_dir() else []
        configs = [(folder, c) for folder in folders for c in queries_check.config_files(folder)]
    from metrics import catalogue as catalogue_mod

    files = catalogue_mod.spec_files(targets)
    problems = catalogue_mod.validate(targets)
    tables = Warehouse(s.warehouse).sql_schema() or None
    if tables is None and configs:
        click.echo(f"note: the warehouse {s.warehouse} holds no tables: tables and columns are not checked (load data, or pass --warehouse)", err=True)
    checked: dict[str, Any] = {}
    for folder, config_file in configs:
        config, folder_problems = queries_check.check_folder(folder, engine, config_path=config_file, tables=tables)
        if config is not None:
            checked.setdefault(folder.name, config)
        problems += folder_problems
    problems += queries_check.check_links(files, Path(s.queries), checked)
    problems = sorted(dict.fromkeys(problems))  # two configs of one folder share their queries' problems
    for problem in problems:
        click.echo(str(problem))
    errors = sum(p.is_error for p in problems)
    warnings = len(problems) - errors
    folders_checked = len({folder for folder, _ in configs})
    click.echo(f"{len(files)} spec file(s) and {folders_checked} query folder(s) checked: {errors} error(s), {warnings} warning(s)", err=True)
    if errors or (strict and warnings):
        sys.exit(InputError.exit_code)


@main.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def list_(ctx: click.Context, fmt: str) -> None:
    """Show the specs of the catalogue: name, owner, status, version, number of metrics."""
    from metrics import catalogue as catalogue_mod

    rows = catalogue_summary(catalogue_mod.load(settings(ctx).catalogue))
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    headers = ["name", "owner", "status", "version", "metrics", "sunset"]
    table = [headers] + [[str(r[h] if r[h] is not None else "-") for h in headers] for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(headers))]
    for row in table:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


def catalogue_summary(cat: Catalogue) -> list[dict[str, Any]]:
    """One plain dict per spec, as `metrics list` shows it."""
    return [
        {
            "name": s.name,
            "owner": f"{s.owner.team} ({s.owner.responsible})",
            "status": s.status,
            "version": s.version,
            "metrics": len(s.metrics),
            "sunset": s.sunset.date.isoformat() if s.sunset else None,
        }
        for s in cat
    ]


@main.command()
def schema() -> None:
    """Print the JSON Schema of a spec file (generated from the validator's own model)."""
    from metrics.spec import Spec

    document = {"$schema": "https://json-schema.org/draft/2020-12/schema", **Spec.model_json_schema()}
    click.echo(json.dumps(document, indent=2, sort_keys=False))


@main.command()
@click.argument("name")
@click.option("--team", default="Your team", show_default=True, help="Owning team written into the spec.")
@click.option("--responsible", default="Your name", show_default=True, help="Responsible person written into the spec.")
@click.pass_context
def new(ctx: click.Context, name: str, team: str, responsible: str) -> None:
    """Scaffold the spec NAME and its query folder; both validate as written."""
    from metrics.scaffold import new_spec

    s = settings(ctx)
    for path in new_spec(name, s.catalogue, s.queries, team=team, responsible=responsible):
        click.echo(f"wrote {path}")
    click.echo(f"next: edit {s.catalogue / (name + '.yaml')}, then run `metrics validate`", err=True)


@main.command()
@click.argument("sql")
@click.option(
    "--dialect",
    type=click.Choice(["trino", "hive", "duckdb"]),
    default="trino",
    show_default=True,
    help="The dialect SQL is written in; it is transpiled to the engine's.",
)
@click.option(
    "-p",
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="A value for the placeholder :NAME, bound as text (cast it in the SQL: CAST(:day AS DATE)); repeatable.",
)
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.pass_context
def query(ctx: click.Context, sql: str, dialect: str, params: tuple[str, ...], fmt: str) -> None:
    """Run SQL (Trino dialect unless --dialect) over the warehouse tables and print the result.

    \b
    Tables are named schema.table: metrics.<folder>_<report> for report results,
    metrics.report_runs for the run log, event.<stream>, wmf.pageview_hourly, ...
    Values are bound, never pasted: -p wiki=enwiki for WHERE wiki = :wiki.
    The Python equivalent: open_engine(warehouse).dataframe(sql, {"wiki": "enwiki"}, dialect=...).
    """
    from metrics.engines import QueryError, open_configured

    values = {}
    for item in params:
        name, equals, value = item.partition("=")
        if not equals or not name.isidentifier():
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="--param")
        values[name] = value
    _read_only(sql, dialect)
    s = settings(ctx)
    existing_warehouse(s)
    try:
        with open_configured(s) as engine:
            from metrics.warehouse import normalize

            table = normalize(engine.query(sql, values, dialect=dialect))
    except QueryError as exc:
        raise _query_problem(s, sql, dialect, str(exc)) from None
    # Values as the engine gave them: integers stay integers beside NULLs (no float round trip).
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(table.column_names)
        writer.writerows([["" if v is None else _text(v) for v in row.values()] for row in table.to_pylist()])
        click.echo(out.getvalue(), nl=False)
    elif fmt == "json":
        click.echo(json.dumps(table.to_pylist(), indent=2, default=_text))
    else:
        import pandas as pd

        click.echo(table.to_pandas(types_mapper=pd.ArrowDtype).to_string(index=False))


def _query_problem(s: Settings, sql: str, dialect: str, message: str) -> InputError:
    """The error of a refused query: the tables it names that the warehouse lacks, else the engine's message, with where it looked."""
    import sqlglot
    from sqlglot import exp

    from metrics.warehouse import Warehouse

    where = f"the warehouse at {Path(s.warehouse).absolute()}" if s.write_mode != "sql" else f"the {s.engine} catalog of engine_uri"
    if s.write_mode != "sql" and "does not exist" in message:
        try:
            named = {f"{t.db}.{t.name}" for statement in sqlglot.parse(sql, read=dialect) if statement for t in statement.find_all(exp.Table) if t.db}
        except sqlglot.errors.SqlglotError:
            named = set()
        tables = {f"{info.schema}.{info.name}" for info in Warehouse(s.warehouse).tables()}
        missing = sorted(named - tables)
        if missing:
            shown = ", ".join(sorted(tables)[:8]) + (", ..." if len(tables) > 8 else "") if tables else "none"
            return InputError.at("<query>", f"no table {', '.join(missing)} in {where}", f"its tables: {shown}; {WAREHOUSE_CHOICE}")
    return InputError.at("<query>", message, f"check the SQL: tables are schema.table, e.g. metrics.codemirror_toggles; it ran on {where}, {WAREHOUSE_CHOICE}")


def _read_only(sql: str, dialect: str) -> None:
    """Refuse a statement that changes the warehouse (`DROP`, `INSERT`, `COPY ... TO`, ...): `metrics query` reads."""
    import logging

    import sqlglot
    from sqlglot import exp

    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # "falling back to parsing as a Command" is not the user's business
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except sqlglot.errors.SqlglotError:
        return  # the engine says what is wrong with it
    for statement in statements:
        reads = isinstance(statement, (exp.Query, exp.Values, exp.Describe, exp.Summarize, exp.Show))
        if isinstance(statement, exp.Command):
            reads = str(statement.this).upper() in ("SHOW", "EXPLAIN", "DESCRIBE", "DESC")
        if not reads:
            kind = statement.key.upper()
            raise InputError.at(
                "<query>",
                f"metrics query only reads: a {kind} statement would change the warehouse",
                "tables are written by update-reports and ingest; run other statements in the engine's own client",
            )


def _text(value: Any) -> str:
    """A value as text in query output: dates and times in ISO 8601, everything else as str()."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


@main.command("export-duckdb")
@click.argument("path", required=False, type=click.Path(dir_okay=False))
@click.pass_context
def export_duckdb(ctx: click.Context, path: str | None) -> None:
    """Write a DuckDB file of views over every warehouse table (default: WAREHOUSE/catalog.duckdb).

    Superset and other readers open it read-only. The file is written beside and swapped in
    with a rename, so readers never see a half-written file or meet a lock.
    """
    from metrics.engines.duckdb import write_catalog
    from metrics.warehouse import Warehouse

    warehouse = Warehouse(existing_warehouse(settings(ctx)))
    target = write_catalog(warehouse, path or warehouse.root / "catalog.duckdb")
    click.echo(f"wrote {target} ({len(warehouse.tables())} views)")


@main.group()
def build() -> None:
    """Build dashboard assets from the catalogue (Superset bundles, Grafana dashboards)."""


@main.group("import")
def import_() -> None:
    """Import built dashboard assets into a running Superset or Grafana."""


# The parts' commands, each named here: a part that fails to import stops the command.
# Part modules import only light libraries at the top, so `metrics --help` stays fast.
main.add_command(runner_cli.update_reports_command)
main.add_command(runner_cli.rerun_reports_command)
main.add_command(run_command)
main.add_command(status_command)
main.add_command(up_command)
main.add_command(down_command)
main.add_command(plan_cli.plan_command)
main.add_command(backfill_cli.backfill_command)
main.add_command(ingestion_cli.ingest)
main.add_command(statsd_cli.statsd)
main.add_command(plot_cli.plot_command)
main.add_command(site_cli.site_command)
main.add_command(toppages_cli.toppages_command)
main.add_command(verify_cli.verify_command)
build.add_command(superset_cli.build_superset)
build.add_command(grafana_cli.build_grafana)
import_.add_command(superset_cli.import_superset)
import_.add_command(grafana_cli.import_grafana)
