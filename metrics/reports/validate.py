"""Checks of query folders before anything runs: config, SQL that the engine cannot run, catalogue links.

A query that cannot be transpiled, or calls a function the engine lacks, is refused here with
the reason, not at 3 a.m. A catalogue metric whose report or column does not exist is refused too.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
from pathlib import Path
from typing import Iterable

import sqlglot
from sqlglot import exp

from metrics import yamlfile
from metrics.engines import Engine, QueryError, engine_class, hive_semantics, sql as engine_sql
from metrics.engines.hive_semantics import SemanticsError
from metrics.problems import InputError, Problem
from metrics.reports.config import QueryFolder, Report, read_folder
from metrics.reports.execute import column_name
from metrics.reports.intervals import Interval
from metrics.reports.references import MISSPELT, SqlSchema, check_references, hiveql_in_script
from metrics.reports.templates import TemplateError, functions_used, output_columns, render, sample_values, transpile


def query_folders(root: Path) -> list[Path]:
    """The folders under `root` that hold a config.yaml."""
    return sorted(p.parent for p in Path(root).glob("*/config.yaml")) if Path(root).is_dir() else []


def config_files(folder: Path) -> list[Path]:
    """Every Reportupdater config of a query folder: `config.yaml`, and others such as
    `config-hive.yaml` beside it (Reportupdater's `--config-path`), as YAML mappings with `reports:`."""
    found = []
    for path in sorted(Path(folder).glob("config*.y*ml")):
        if path.name == "config.yaml" or _has_reports(path):
            found.append(path)
    return found


def is_query_config(path: Path) -> bool:
    """Whether a YAML file is a query folder's config (a mapping with `reports:`), not a catalogue spec."""
    return path.is_file() and path.suffix in (".yaml", ".yml") and _has_reports(path)


def _has_reports(path: Path) -> bool:
    try:
        data = yamlfile.load(path).data
    except Exception:  # noqa: BLE001 - whoever reads it for real reports why
        return False
    return isinstance(data, dict) and "reports" in data and "metrics" not in data


def check_folder(
    folder: Path, engine: Engine | type[Engine] | None = None, *, config_path: Path | None = None, tables: SqlSchema | None = None
) -> tuple[QueryFolder | None, list[Problem]]:
    """Every problem of one query folder: its config (`config_path`, default config.yaml), each SQL
    report's query on `engine` (default: the default engine), and, given the warehouse's `tables`,
    every table, column and struct field the queries (and the scripts' HiveQL) read."""
    try:
        config = read_folder(folder, config_path)
    except InputError as exc:
        return None, list(exc.problems)
    engine = engine or engine_class()
    problems = list(config.problems)
    for report in config.reports:
        if report.on_database:
            if report.database_problem is None:  # else its placeholders may be what the config lacks
                problems.extend(_check_mysql_query(report))
        elif report.type != "script":
            problems.extend(_check_query(report, engine, tables))
        elif tables is not None and report.query_file.is_file():
            problems.extend(_check_script(report, tables))
    if tables is not None:
        problems.extend(_check_depends_on(config, tables))
    return config, list(dict.fromkeys(problems))


def _check_depends_on(config: QueryFolder, tables: SqlSchema) -> list[Problem]:
    """Each `depends_on` table that the warehouse lacks: an error when a loaded one is nearly its name, else a warning."""
    reports = [r for r in config.reports if r.depends_on]
    if not reports:
        return []
    located = yamlfile.load(config.config_file)
    raw = located.data.get("reports", {}) if isinstance(located.data, dict) else {}
    everything = [f"{s}.{t}" for s, known in tables.items() for t in known]
    problems = []
    for report in reports:
        base = ("reports", report.key) if "depends_on" in (raw.get(report.key) or {}) else ("defaults",)
        for index, table in enumerate(report.depends_on):
            schema, name = table.split(".", 1)
            if name in tables.get(schema, {}):
                continue
            path = (*base, "depends_on", index)
            near = difflib.get_close_matches(table, everything, n=1, cutoff=MISSPELT)
            if near:
                problems.append(located.problem(path, f"report '{report.key}': depends_on table {table} is not in the warehouse", f"did you mean {near[0]}?"))
            else:
                hint = "its intervals wait until it is loaded (metrics ingest ...)"
                problems.append(located.problem(path, f"report '{report.key}': depends_on table {table} is not loaded yet", hint, severity="warning"))
    return problems  # a database's problem once, however many reports use it


def _check_script(report: Report, tables: SqlSchema) -> list[Problem]:
    """The tables and columns of the HiveQL a script hands to `hive`/`beeline`, checked like a query's."""
    try:
        text = report.query_file.read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return []  # a binary: nothing to read
    start = report.starts
    folder = report.query_file.parent.absolute()
    # the script's arguments, as the runner passes them: dates, one value per explode_by name (sorted), its folder
    args = [start.isoformat(), (start + dt.timedelta(days=1)).isoformat(), *(values[0] for _, values in sorted(report.explode_by.items()) if values)]
    values = {str(i): a for i, a in enumerate([*args, str(folder)], 1)}
    problems = []
    for found in hiveql_in_script(text, values, folder):
        file = str(found.file or report.query_file)
        problems.extend(check_references(found.sql, "hive", tables, file, first_line=found.line, database=found.database))
    return problems


def _check_mysql_query(report: Report) -> list[Problem]:
    """A query for MariaDB/MySQL: placeholders, and MySQL syntax as sqlglot reads it (a warning only:
    the query runs as written, and the server, not sqlglot, has the last word); its creds file."""
    file = str(report.query_file)
    sample = Interval(report.starts, report.starts + dt.timedelta(days=1))
    problems = []
    try:
        text = render(report.query_file.read_text("utf-8"), sample_values(sample, report.explode_by))
    except (TemplateError, OSError) as exc:
        return [Problem(file, 1, 1, str(exc), "placeholders are {from_timestamp}, {to_timestamp} and the explode_by names")]
    try:
        sqlglot.parse(text, read="mysql")
    except sqlglot.errors.ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        problems.append(
            Problem(
                file,
                int(first.get("line") or 1),
                int(first.get("col") or 1),
                f"cannot parse the query as MySQL: {first.get('description') or exc}",
                f"it runs as written on database '{report.db}'; check it there",
                "warning",
            )
        )
    creds = report.database.creds_file if report.database else None
    if creds is not None and not os.access(creds, os.R_OK):
        problems.append(
            Problem(
                report.database.file if report.database else file,
                report.database.line if report.database else 1,
                report.database.column if report.database else 1,
                f"database '{report.db}': creds_file {creds} cannot be read here",
                "runs fail where it cannot be read: check the path, or run this where the file is",
                "warning",
            )
        )
    return problems


def _check_query(report: Report, engine: Engine | type[Engine], tables: SqlSchema | None = None) -> list[Problem]:
    file = str(report.query_file)
    sample = Interval(report.starts, report.starts + dt.timedelta(days=1))
    try:
        text = render(report.query_file.read_text("utf-8"), sample_values(sample, report.explode_by))
        try:
            sqlglot.parse(text, read=report.dialect)
        except sqlglot.errors.ParseError as exc:
            first = exc.errors[0] if exc.errors else {}
            what = first.get("description") or str(exc).splitlines()[0]
            hint = f"the report is written in {report.dialect} SQL (set `dialect:` in config.yaml if not)"
            return [Problem(file, int(first.get("line") or 1), int(first.get("col") or 1), f"cannot parse the query as {report.dialect} SQL: {what}", hint)]
        refused = _refusals(text, report.dialect, engine.dialect, tables)
        if refused:
            return [Problem(file, e.line, e.column, e.message, e.hint) for e in refused]
        sql = transpile(text, report.dialect, engine.dialect)
    except TemplateError as exc:
        return [Problem(file, 1, 1, str(exc), f"the report is written in {report.dialect} SQL (set `dialect:` in config.yaml if not)")]
    problems = check_references(text, report.dialect, tables, file) if tables is not None else []
    known = engine.functions()
    for name in sorted(functions_used(sql, engine.dialect) - known):
        problems.append(Problem(file, 1, 1, f"function {name}() has no {engine.name} equivalent", "rewrite it with functions both engines have"))
    for node in sqlglot.parse_one(text, read=report.dialect).find_all(exp.Func):
        name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
        if name in engine.different_results:
            problems.append(Problem(file, 1, 1, f"{name}() {engine.different_results[name]}", "check the numbers on both engines", "warning"))
    return problems


def _refusals(text: str, read: str, write: str, tables: SqlSchema | None = None) -> list[SemanticsError]:
    """Every construct of a Hive query whose meaning the engine would change and no rewrite keeps (see `hive_semantics`),
    typed by the warehouse's columns when given (a DOUBLE column made text is refused here, not at 3 a.m.)."""
    if read != "hive":
        return []
    try:
        tree = engine_sql.parse(text, read)
    except QueryError:
        return []  # transpiling reports why
    if tables:
        tree = engine_sql.typed(tree, read, tables)
    return hive_semantics.refusals(tree, write)


def check_links(spec_files: Iterable[Path], queries: Path, folders: dict[str, QueryFolder | None]) -> list[Problem]:
    """Each catalogue metric computed by a report names an existing folder, report and column."""
    from metrics.spec import ReportSource, Spec

    problems = []
    for path in spec_files:
        try:
            located = yamlfile.load(path)
            spec = Spec.model_validate(located.data)
        except Exception:  # noqa: BLE001 - schema problems are reported by the catalogue check
            continue
        for i, metric in enumerate(spec.metrics):
            if not isinstance(metric.source, ReportSource):
                continue
            where = ("metrics", i, "source", "report")
            folder_name, report_key = metric.source.report.split("/", 1)
            if folder_name not in folders:
                folder_path = queries / folder_name
                folders[folder_name] = check_folder(folder_path)[0] if (folder_path / "config.yaml").is_file() else None
            config = folders[folder_name]
            if config is None:
                problems.append(
                    located.problem(
                        where, f"query folder '{folder_name}' not found in {queries}", f"create {queries / folder_name}/config.yaml, or run `metrics new`"
                    )
                )
                continue
            try:
                report = config.report(report_key)
            except KeyError:
                known = ", ".join(r.key for r in config.reports) or "(none valid)"
                problems.append(located.problem(where, f"report '{report_key}' is not in {config.config_file}", f"reports there: {known}"))
                continue
            columns = _result_columns(report)
            if columns is not None and metric.source.column not in columns:
                problems.append(
                    located.problem(
                        ("metrics", i, "source", "column"),
                        f"report '{metric.source.report}' has no result column '{metric.source.column}'",
                        f"its columns: {', '.join(columns)}",
                    )
                )
    return problems


def _result_columns(report: Report) -> list[str] | None:
    """The table column names of a SQL report's result (None when unknown, e.g. a script)."""
    if report.type == "script":
        return None
    try:
        text = render(report.query_file.read_text("utf-8"), sample_values(Interval(report.starts, report.starts), report.explode_by))
        names = output_columns(text, report.dialect)
    except Exception:  # noqa: BLE001 - the query check reports why
        return None
    if not names:
        return None
    return [column_name(n) for n in names[1:]] + sorted(report.explode_by)
