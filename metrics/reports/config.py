"""Reader: a Reportupdater query folder's `config.yaml`, read with Reportupdater's keys and defaults.

The keys are pydantic models (`FolderConfig`, `ReportConfig`); per-report values are looked up
report -> `defaults` -> built-in default, as Reportupdater does. Unlike Reportupdater, unknown keys
get a warning with a suggestion, retired keys a deprecation warning, and every problem of the file
is reported at once, at the line and column of the key or value concerned.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import math
import os
import re
import string
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Callable, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, StrictBool, StrictInt, ValidationError
from pydantic_core import ErrorDetails

from metrics import bounds, yamlfile
from metrics.problems import InputError, Problem, shown
from metrics.tables import report_table

Type = Literal["sql", "hive", "script"]
Granularity = Literal["days", "weeks", "months"]
Dialect = Literal["trino", "hive", "duckdb"]
Backfill = Literal["interval", "range"]
TYPES = typing.get_args(Type)
GRANULARITIES = typing.get_args(Granularity)
DIALECTS = typing.get_args(Dialect)
BACKFILL = typing.get_args(Backfill)
RETIRED_KEYS = {
    "funnel": "every report runs as a funnel since 2021",
    "frequency": "reports run every time the runner runs",
    "timeboxed": "every interval is computed on its own",
    "by_wiki": "use explode_by",
}
EXPLODE_VALUE = re.compile(r"^[A-Za-z0-9_\-][A-Za-z0-9_.\-]*$")
"""Explode values reach SQL text and file paths: plain words only (wiki names, versions), never
`.`, `..` or a name starting with a dot, which would name a folder of the output instead."""
REPORT_KEY = EXPLODE_VALUE
"""A report key names its TSV file and folder in the output (`<key>.tsv`, `<key>/<value>.tsv`): a plain word too."""


def _date(value: Any) -> Any:
    """A YAML date, or text `YYYY-MM-DD`, as Reportupdater reads `starts`."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str):
        return dt.datetime.strptime(value.strip(), "%Y-%m-%d").date()
    return value  # a date passes, anything else fails as not a date


def _stem(value: Any) -> Any:
    if isinstance(value, str) and (not value or ".." in Path(value).parts or Path(value).is_absolute()):
        raise ValueError("not a file stem inside the folder")
    return value


OUTSIDE_HINT = "keep the files a config names inside its query folder (no `..`, absolute paths or links out)"


def inside(folder: Path, path: Path) -> bool:
    """Whether `path`, with symbolic links and `..` resolved, is inside `folder` (resolved too)."""
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(folder))


def _absent_if_empty(value: Any) -> Any:
    """Reportupdater treats an empty value (`graphite: {}`, `explode_by:`) as an absent one."""
    return value if value or value == 0 or value is False else None


def _path_template(value: Any) -> Any:
    """A `graphite: path:` format string: `{name}` placeholders only, no conversion, format spec,
    attribute or index (`{wiki:>9999999}` would pad to any size, `{wiki.__class__}` reach past the value)."""
    if isinstance(value, str):
        try:
            fields = [(name, spec, conversion) for _, name, spec, conversion in string.Formatter().parse(value) if name is not None]
        except ValueError as exc:
            raise ValueError(f"malformed placeholder ({exc})") from None
        for name, spec, conversion in fields:
            if not name or "." in name or "[" in name or spec or conversion:
                raise ValueError(f"placeholder {{{shown(name)[:40]}}} is not a plain name")
    return value


def _table(value: Any) -> Any:
    """A `depends_on` entry: `schema.table`, as the warehouse names tables."""
    if isinstance(value, str) and not TABLE.fullmatch(value):
        raise ValueError("not schema.table")
    return value


TABLE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
Date = Annotated[dt.date, Strict(), BeforeValidator(_date), bounds.BoundedDay]
TableName = Annotated[str, Strict(), BeforeValidator(_table)]
Stem = Annotated[str, BeforeValidator(_stem)]


class _Keys(BaseModel):
    # Reportupdater ignores unknown keys; `read_folder` warns about them, with a suggestion.
    model_config = ConfigDict(extra="ignore", frozen=True)


class GraphiteTarget(_Keys):
    """A report's `graphite:`: a path format string, and metric name -> result column."""

    path: Annotated[str, Strict(), BeforeValidator(_path_template)]
    metrics: dict[str, str]


class ReportConfig(_Keys):
    """One report's keys as written, each from the report or else from `defaults:`."""

    type: Type = "sql"
    granularity: Granularity
    starts: Date
    lag: Annotated[StrictInt, Field(ge=0, le=bounds.MAX_LAG_SECONDS)] = 0
    db: str | None = None
    execute: Stem | None = None
    explode_by: Annotated[Any, BeforeValidator(_absent_if_empty)] = None
    """Checked by `_explode`, which reads the files it names."""
    max_data_points: Annotated[StrictInt, Field(ge=1, le=bounds.MAX_DATA_POINTS)] | None = None
    group: str | None = None
    graphite: Annotated[GraphiteTarget | None, BeforeValidator(_absent_if_empty)] = None
    dialect: Dialect | None = None
    backfill: Backfill = "interval"
    snapshot: StrictBool = False
    ends: Date | None = None
    depends_on: list[TableName] = []


class GraphiteServer(_Keys):
    """The top-level `graphite:`: where report points go, and lookup files for explode values."""

    host: str | None = None
    port: Annotated[StrictInt, Field(gt=0, lt=65536)] | None = None
    lookups: dict[str, str] = {}


class Database(_Keys):
    """A `databases:` entry: the MariaDB/MySQL where a `type: sql` report with `db:` runs.

    Either `host`/`port`, or `auto_find_db_shard` (the host of the database's section, from a
    section map file: `section_map`, else $METRICS_SECTION_MAP; see docs/runner.md). The database is
    `db`, or with `wiki_db_placeholder` the report's value of that explode placeholder.
    """

    host: str | None = None
    port: Annotated[StrictInt, Field(gt=0, lt=65536)] | None = None
    creds_file: str | None = None
    db: str | None = None
    auto_find_db_shard: StrictBool | None = None
    wiki_db_placeholder: str | None = None
    use_x1: StrictBool | None = None
    mw_config_path: Any = None
    """Reportupdater read the dblists there; the section map replaces them (accepted, ignored)."""
    section_map: str | None = None


class FolderConfig(_Keys):
    """A whole `config.yaml`; each report is checked as a `ReportConfig` over `defaults`."""

    reports: dict[str, Any]
    defaults: dict[str, Any] = {}
    databases: dict[str, Database] = {}
    graphite: GraphiteServer | None = None
    dialect: Dialect | None = None


WHAT = {
    "type": ("one of " + ", ".join(TYPES), "use sql, hive or script"),
    "granularity": ("one of " + ", ".join(GRANULARITIES), "use days, weeks or months"),
    "starts": ("a date", "write YYYY-MM-DD"),
    "ends": ("a date", "write YYYY-MM-DD"),
    "depends_on": ("a list of tables, schema.table", "write e.g. `depends_on: [wmf.pageview_hourly, event.editattemptstep]`"),
    "lag": (f"a whole number of seconds from 0 to {bounds.MAX_LAG_SECONDS:,}", "write e.g. `lag: 3600`; the most is about 3 years"),
    "max_data_points": (f"an integer from 1 to {bounds.MAX_DATA_POINTS:,}", "write e.g. `max_data_points: 30`, or remove it"),
    "execute": ("a file stem inside the folder", "write e.g. `execute: hive/toggles`"),
    "graphite": ("a mapping of `path` (a format string) and `metrics` (metric name -> column)", "see docs/runner.md"),
    "dialect": ("one of " + ", ".join(DIALECTS), "use trino, hive or duckdb"),
    "backfill": ("one of " + ", ".join(BACKFILL), "use `range` for a query that groups by date, else remove it"),
    "snapshot": ("true or false", "write `snapshot: true`"),
    "metrics": ("a mapping of metric name -> column", "write `metrics: {name: column}`"),
    "path": ("a path template of {name} placeholders", "write e.g. `path: '{_metric}.{wiki}'`, each placeholder a bare name, without ! or :"),
    "port": ("a port number", "write an integer such as 2003 (carbon) or 3306 (MariaDB)"),
    "host": ("a host name", "write e.g. `host: db1.example.org`"),
    "lookups": ("a mapping of placeholder -> YAML file", "write e.g. `lookups: {wiki: sitematrix.yaml}`"),
    "defaults": ("a mapping", "write `defaults:` with report keys under it"),
    "databases": ("a mapping of database key -> connection", "see docs/runner.md"),
    "creds_file": ("a file path", "write e.g. `creds_file: /etc/mysql/conf.d/research-client.cnf`"),
    "auto_find_db_shard": ("true or false", "write `auto_find_db_shard: true`"),
    "use_x1": ("true or false", "write `use_x1: true`"),
    "wiki_db_placeholder": ("an explode placeholder name", "write e.g. `wiki_db_placeholder: wiki_db`"),
    "section_map": ("a file path", "write e.g. `section_map: sections.yaml` (see docs/runner.md)"),
}
"""What a key must be and how to write it: the words of each type or value error."""
MISSING = {
    "granularity": "add `granularity: days` (or weeks, months)",
    "starts": "add `starts: YYYY-MM-DD`",
    "path": "add `path:`, a format string such as '{_metric}.{wiki}'",
    "metrics": "add `metrics: {name: column}`",
}


@dataclass(frozen=True)
class SourceDatabase:
    """A `databases:` entry as a report uses it, file paths resolved against the query folder."""

    key: str
    file: str
    line: int
    column: int
    """Where the entry is written, for error messages."""
    host: str | None
    port: int | None
    creds_file: Path | None
    db: str | None
    wiki_db_placeholder: str | None
    auto_find_db_shard: bool
    use_x1: bool
    section_map: Path | None

    @property
    def place(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def database_name(self, explode: typing.Mapping[str, str]) -> str:
        """The database a query runs in: `db`, or the explode value that `wiki_db_placeholder` names."""
        if self.wiki_db_placeholder:
            return explode[self.wiki_db_placeholder]
        return self.db or ""


@dataclass(frozen=True)
class Report:
    """One report of a query folder, with every default resolved."""

    folder: Path
    key: str
    type: str
    granularity: str
    starts: dt.date
    lag: int
    db: str | None
    execute: str
    explode_by: dict[str, list[str]]
    max_data_points: int | None
    group: str | None
    graphite: GraphiteTarget | None
    dialect: str
    backfill: str
    snapshot: bool
    ends: dt.date | None
    depends_on: tuple[str, ...] = ()
    """Tables (`schema.table`) whose partitions an interval waits for (`metrics.reports.selector.Sources`)."""
    database: SourceDatabase | None = None
    """For a `type: sql` report with `db:`: the `databases:` entry it runs on (None if that is wrong)."""
    database_problem: Problem | None = None
    """Why `database` is None for a report with `db:`: running it fails with this message."""

    @property
    def on_database(self) -> bool:
        """A `type: sql` report with `db:` runs MySQL SQL on a MariaDB/MySQL, as in Reportupdater;
        other SQL reports run on the warehouse engine."""
        return self.type == "sql" and self.db is not None

    @property
    def folder_name(self) -> str:
        return folder_name(self.folder)

    @property
    def table(self) -> str:
        """The warehouse table of the report's results, `metrics.<folder>_<report>`."""
        return table_name(self.folder_name, self.key)

    @property
    def query_file(self) -> Path:
        suffix = {"sql": ".sql", "hive": ".hql", "script": ""}[self.type]
        return self.folder / (self.execute + suffix)


@dataclass
class QueryFolder:
    """A parsed config: its reports (those without errors), graphite settings and problems."""

    folder: Path
    config_file: Path
    reports: list[Report] = field(default_factory=list)
    graphite_host: str | None = None
    graphite_port: int | None = None
    lookups: dict[str, dict[str, str]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    def report(self, key: str) -> Report:
        for report in self.reports:
            if report.key == key:
                return report
        raise KeyError(key)


table_name = report_table


def folder_name(folder: Path | str) -> str:
    """The name a query folder's tables, run log entries and outbox go by: the last part of its real
    path, so `q/codemirror/.`, `q/../q/codemirror` and a link to it are `codemirror`, as its lock is one."""
    return Path(os.path.realpath(folder)).name


def read_folder(folder: Path | str, config_path: Path | str | None = None) -> QueryFolder:
    """Read a query folder's config; raises `InputError` only when the whole file is unusable."""
    folder = Path(folder)
    config_file = Path(config_path) if config_path else folder / "config.yaml"
    if not folder.is_dir():
        raise InputError.at(folder, "query folder not found", "check the path")
    located = yamlfile.load(config_file)
    data = located.data
    out = QueryFolder(folder, config_file)
    p = located.problem
    if not isinstance(data, dict):
        raise InputError([p((), "config.yaml must be a mapping with a `reports:` key", "see docs/runner.md")])
    out.problems.extend(_unknown_keys(located, (), data, FolderConfig, "top-level key"))
    if not isinstance(data.get("reports"), dict) or not data["reports"]:
        no_reports = p(("reports",) if "reports" in data else (), "no `reports:` mapping", "add `reports:` with one entry per report")
        raise InputError([*out.problems, no_reports])
    config, problems = _validate(FolderConfig, data, located, lambda name: (name,), "")
    out.problems.extend(problems)
    if config is None:  # only optional sections failed: read the reports without them
        config = FolderConfig.model_validate({"reports": data["reports"]})
    defaults = data["defaults"] if config.defaults else {}
    out.problems.extend(_unknown_keys(located, ("defaults",), data.get("defaults"), ReportConfig, "report key"))
    out.problems.extend(_unknown_keys(located, ("graphite",), data.get("graphite"), GraphiteServer, "graphite key"))
    databases = data.get("databases")
    for name, database in databases.items() if isinstance(databases, dict) else ():
        out.problems.extend(_unknown_keys(located, ("databases", name), database, Database, "database key"))
    sources = {name: _source_database(folder, str(name), entry, located, out.problems) for name, entry in config.databases.items()}

    if config.graphite:
        out.graphite_host = config.graphite.host or None
        out.graphite_port = config.graphite.port
        for placeholder, lookup_file in config.graphite.lookups.items():
            if not inside(folder, folder / lookup_file):
                out.problems.append(p(("graphite", "lookups", placeholder), f"lookup file {lookup_file!r} is outside the query folder", OUTSIDE_HINT))
                continue
            try:
                lookup = yamlfile.load(folder / lookup_file)
            except InputError as exc:
                out.problems.extend(exc.problems)
                continue
            if not isinstance(lookup.data, dict):
                out.problems.append(lookup.problem((), "a Graphite lookup is a mapping of value -> name", "write e.g. `enwiki: en.wikipedia`"))
                continue
            out.lookups[placeholder] = {_text(k): _text(v) for k, v in lookup.data.items()}

    for report_key, raw in config.reports.items():
        where = ("reports", report_key)
        if not REPORT_KEY.fullmatch(report_key):
            out.problems.append(
                located.problem(
                    where,
                    f"report key {report_key!r} is not a plain name: it names the report's TSV file and folder",
                    "use letters, digits, _, . and -, not starting with a dot",
                    key=True,
                )
            )
            continue
        if not isinstance(raw, dict):
            out.problems.append(p(where, f"report '{report_key}' must be a mapping", "give it at least granularity and starts"))
            continue
        out.problems.extend(_unknown_keys(located, where, raw, ReportConfig, "report key"))
        before = len(out.errors)
        report = _report(folder, report_key, raw, defaults, config.dialect, located, out.problems)
        if report is not None and len(out.errors) == before:
            if report.on_database:
                # Kept even when its database is wrong: each interval then fails with the reason.
                report = _with_database(report, raw, sources, databases, located, out.problems)
            out.reports.append(report)
    out.reports = _one_table_each(out.reports, located, out.problems)
    if sources and not any(r.on_database for r in out.reports) and any(r.type == "sql" for r in out.reports):
        out.problems.append(
            located.problem(
                ("databases",),
                "no report uses `databases:`: `type: sql` reports without `db:` run on the warehouse engine",
                f"add `db: {next(iter(sources))}` (to the reports or to defaults:) to run them on that database",
                key=True,
                severity="warning",
            )
        )
    return out


def _source_database(folder: Path, key: str, entry: Database, located: yamlfile.Located, problems: list[Problem]) -> SourceDatabase | Problem:
    """A `databases:` entry checked once for every report that uses it; a Problem when it cannot work."""
    where = ("databases", key)
    line, column = located.position(where, key=True)
    if entry.auto_find_db_shard is False:
        problems.append(
            located.problem(
                where + ("auto_find_db_shard",),
                f"database '{key}': auto_find_db_shard false turns shard discovery off (Reportupdater turned it on whenever the key was there)",
                "remove the key to make that explicit",
                severity="warning",
            )
        )
    if entry.mw_config_path is not None:
        problems.append(
            located.problem(
                where + ("mw_config_path",),
                f"database '{key}': mw_config_path is ignored: the section map replaces mediawiki-config's dblists",
                "set `section_map:` (or METRICS_SECTION_MAP) instead; see docs/runner.md",
                key=True,
                severity="warning",
            )
        )
    problem = None
    if not entry.auto_find_db_shard and not entry.host:
        problem = located.problem(where, f"database '{key}' has no host", "add `host:` and `port:`, or `auto_find_db_shard: true` with a section map", key=True)
    elif not entry.db and not entry.wiki_db_placeholder:
        problem = located.problem(
            where, f"database '{key}' names no database", "add `db: NAME`, or `wiki_db_placeholder: wiki_db` for one database per wiki", key=True
        )
    if problem is not None:
        return problem  # reported by the reports that use the entry (Reportupdater ignores unused ones)

    def path(value: str | None) -> Path | None:
        try:
            return folder / Path(value).expanduser() if value else None
        except RuntimeError:  # ~user of no known user: the path as written, which fails where it is used
            return folder / value if value else None

    return SourceDatabase(
        key=key,
        file=located.file,
        line=line,
        column=column,
        host=entry.host,
        port=entry.port,
        creds_file=path(entry.creds_file),
        db=entry.db,
        wiki_db_placeholder=entry.wiki_db_placeholder,
        auto_find_db_shard=bool(entry.auto_find_db_shard),
        use_x1=bool(entry.use_x1),
        section_map=path(entry.section_map),
    )


def _with_database(
    report: Report, raw: dict, sources: dict[str, SourceDatabase | Problem], written: Any, located: yamlfile.Located, problems: list[Problem]
) -> Report:
    """The report with its `databases:` entry, or with the problem that keeps it from running."""
    place = ("reports", report.key, "db") if "db" in raw else ("defaults", "db")
    source = sources.get(str(report.db))
    problem: Problem | None = None
    if isinstance(source, Problem):
        problem = source
        if source not in problems:
            problems.append(source)
    elif source is None and isinstance(written, dict) and report.db in written:
        problem = located.problem(("databases", str(report.db)), f"database '{report.db}' has errors", f"fix `databases: {report.db}` as reported")
    elif source is None:
        close = difflib.get_close_matches(str(report.db), list(map(str, sources)), n=1, cutoff=0.6)
        problem = located.problem(
            place,
            f"report '{report.key}': db '{report.db}' is not under `databases:`",
            f"did you mean '{close[0]}'?" if close else f"add `databases: {{{report.db}: {{host: ..., port: 3306, creds_file: ..., db: ...}}}}`, or fix `db:`",
        )
        problems.append(problem)
    elif source.wiki_db_placeholder and source.wiki_db_placeholder not in report.explode_by:
        problem = located.problem(
            place,
            f"report '{report.key}': database '{source.key}' takes the database name from explode placeholder '{source.wiki_db_placeholder}', "
            "which the report does not have",
            f"add `explode_by: {{{source.wiki_db_placeholder}: enwiki, dewiki}}` (or a file of wiki databases)",
        )
        problems.append(problem)
    if problem is not None:
        return dataclasses.replace(report, database_problem=problem)
    return dataclasses.replace(report, database=typing.cast(SourceDatabase, source))


def _validate(model: type[_Keys], data: dict, located: yamlfile.Located, place: Callable[[str], tuple], label: str) -> tuple[Any, list[Problem]]:
    """`model` read from `data`, or None and a located problem for each error.

    When a top-level key fails, `data` is read again without it, so one bad section does not
    hide the others.
    """
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        errors = exc.errors()
    problems = [_problem(located, place, label, err) for err in errors]
    failed = {err["loc"][0] for err in errors if err["loc"] and err["loc"][0] in data}
    if model is FolderConfig and "reports" not in failed:
        return model.model_validate({k: v for k, v in data.items() if k not in failed}), problems
    return None, problems


def _problem(located: yamlfile.Located, place: Callable[[str], tuple], label: str, err: ErrorDetails) -> Problem:
    """One pydantic error as `what is wrong (what to do)`, at the value (or its mapping when missing).

    `label` names the report, but not for a value from `defaults:`, which is reported once.
    """
    loc = tuple(part for part in err["loc"] if part != "[key]")
    path = place(str(loc[0])) + loc[1:] if loc else ()
    label = label if path[:1] != ("defaults",) else "defaults: "
    dotted = ".".join(map(str, loc))
    if err["type"] == "missing":
        return located.problem(path, f"{label}missing {dotted}", MISSING.get(str(loc[-1]), f"add `{loc[-1]}:`"))
    if err["type"] == bounds.OUT_OF_BOUNDS:
        return located.problem(path, f"{label}{dotted} {err['msg']}", err.get("ctx", {}).get("hint", "fix the value"))
    known = [WHAT[part] for part in reversed(loc) if part in WHAT]
    if not known:
        return located.problem(path, f"{label}{dotted}: {err['msg'][0].lower()}{err['msg'][1:]}", "fix the value")
    what, hint = known[0]
    return located.problem(path, f"{label}{dotted} {shown(err['input'])} is not {what}", hint)


def _unknown_keys(located: yamlfile.Located, path: tuple, data: Any, model: type[_Keys], what: str) -> list[Problem]:
    """Warnings for the keys of `data` that `model` does not have (Reportupdater ignores them)."""
    out = []
    for key in data if isinstance(data, dict) else ():
        if what == "report key" and key in RETIRED_KEYS:
            out.append(located.problem(path + (key,), f"'{key}' is retired and ignored: {RETIRED_KEYS[key]}", "remove it", key=True, severity="warning"))
        elif key not in model.model_fields:
            out.append(
                located.problem(path + (key,), f"unknown {what} '{key}' (ignored)", _did_you_mean(key, tuple(model.model_fields)), key=True, severity="warning")
            )
    return out


def _did_you_mean(key: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(str(key), choices, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(choices)}"


def _report(folder: Path, key: str, raw: dict, defaults: dict, folder_dialect: str | None, located: yamlfile.Located, problems: list[Problem]) -> Report | None:
    def place(name: str) -> tuple:
        """Where a key's value comes from: the report, else `defaults:`, else the report as a whole."""
        return ("reports", key, name) if name in raw else ("defaults", name) if name in defaults else ("reports", key)

    merged = {**defaults, **raw}
    config, found = _validate(ReportConfig, merged, located, place, f"report '{key}': ")
    found += _unknown_keys(located, place("graphite"), merged.get("graphite"), GraphiteTarget, "graphite key")
    problems.extend(p for p in found if p not in problems)
    explode = _explode(folder, merged.get("explode_by") or {}, place("explode_by"), located, key, problems)
    if config is None:
        return None
    if config.ends is not None and config.ends <= config.starts:
        problems.append(
            located.problem(
                place("ends"),
                f"report '{key}': ends {config.ends} is not after starts {config.starts}, so it has no interval",
                "`ends` is exclusive: write a later date, or remove `ends`",
            )
        )
    if config.snapshot and config.backfill == "range":
        problems.append(
            located.problem(
                place("backfill"), f"report '{key}': a snapshot report cannot be backfilled by range", "remove `backfill: range` or `snapshot: true`"
            )
        )
    report = Report(
        folder=folder,
        key=key,
        type=config.type,
        granularity=config.granularity,
        starts=config.starts,
        lag=config.lag,
        db=config.db,
        execute=config.execute or key,
        explode_by=explode,
        max_data_points=config.max_data_points,
        group=config.group,
        graphite=config.graphite,
        dialect="mysql"
        if config.type == "sql" and config.db is not None
        else config.dialect or folder_dialect or ("hive" if config.type == "hive" else "trino"),
        backfill=config.backfill,
        snapshot=config.snapshot,
        ends=config.ends,
        depends_on=tuple(config.depends_on),
    )
    if not _is_file(report.query_file):
        problems.append(
            located.problem(("reports", key), f"report '{key}': query file {report.query_file} not found", "create it, or set `execute:` to the file stem")
        )
    elif not inside(folder, report.query_file):
        problems.append(located.problem(place("execute"), f"report '{key}': query file {report.query_file} is a link out of the query folder", OUTSIDE_HINT))
    elif report.type == "script" and not os.access(report.query_file, os.X_OK):
        problems.append(located.problem(("reports", key), f"report '{key}': script {report.query_file} is not executable", f"chmod +x {report.query_file}"))
    return report


def _one_table_each(reports: list[Report], located: yamlfile.Located, problems: list[Problem]) -> list[Report]:
    """The reports less those whose table an earlier report already writes (`a.b` and `a_b` are one table)."""
    kept: dict[str, Report] = {}
    for report in reports:
        first = kept.setdefault(report.table, report)
        if first is not report:
            problems.append(
                located.problem(
                    ("reports", report.key),
                    f"reports {shown(first.key)} and {shown(report.key)} would both write table {report.table}",
                    "rename one: report keys must differ in more than case and punctuation",
                    key=True,
                )
            )
    return list(kept.values())


def _is_file(path: Path) -> bool:
    """Whether `path` is a file; False for a name the system cannot even look up (too long, a NUL)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def _text(value: Any) -> str:
    """A YAML scalar as the value it stands for in a query, file name or Graphite path: YAML's `true`
    is `true` there, as Hive writes it, not Python's `True`."""
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _explode(folder: Path, raw: Any, path: tuple, located: yamlfile.Located, key: str, problems: list[Problem]) -> dict[str, list[str]]:
    """Reportupdater's explode_by: a comma list, or one token naming a file (one value a line) or itself."""
    if not isinstance(raw, dict):
        problems.append(located.problem(path, f"report '{key}': explode_by must be a mapping", "write `explode_by: {wiki_db: enwiki, dewiki}`"))
        return {}
    out: dict[str, list[str]] = {}
    for placeholder, spec in raw.items():
        placeholder = str(placeholder)
        if spec is None or spec == "":
            problems.append(
                located.problem(
                    path + (placeholder,),
                    f"report '{key}': explode placeholder '{placeholder}' has no values",
                    'inside {...} a comma list must be quoted: {wiki: "enwiki, dewiki"}',
                    key=True,
                )
            )
            continue
        if isinstance(spec, list):
            problems.append(
                located.problem(
                    path + (placeholder,),
                    f"report '{key}': the values of explode placeholder '{placeholder}' are a YAML list",
                    'write one comma-separated string, as Reportupdater reads them: {wiki: "enwiki, dewiki"}',
                )
            )
            continue
        text = _text(spec)
        if "," in text:
            values = [v.strip() for v in text.split(",") if v.strip()]
        else:
            candidate = folder / text.strip()
            if _is_file(candidate) and not inside(folder, candidate):
                # never read: its lines would be shown in the errors below
                problems.append(
                    located.problem(
                        path + (placeholder,), f"report '{key}': explode_by file {text.strip()!r} of '{placeholder}' is outside the query folder", OUTSIDE_HINT
                    )
                )
                continue
            if _is_file(candidate):
                try:
                    if candidate.stat().st_size > yamlfile.MAX_BYTES:
                        raise OSError(0, f"it is over {yamlfile.MAX_BYTES:,} bytes")
                    values = [line.strip() for line in candidate.read_text("utf-8").splitlines() if line.strip()]
                except (OSError, UnicodeDecodeError) as exc:
                    reason = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
                    problems.append(
                        located.problem(
                            path + (placeholder,), f"report '{key}': explode_by file {candidate} cannot be read: {reason}", "write one value a line, in UTF-8"
                        )
                    )
                    continue
                if not values:
                    continue  # an empty file drops the placeholder, as in Reportupdater
            else:
                values = [text.strip()]
        for value in values:
            if not EXPLODE_VALUE.fullmatch(value):
                problems.append(
                    located.problem(
                        path + (placeholder,),
                        f"report '{key}': explode value {shown(value)} of '{placeholder}' has characters that are not allowed",
                        "use letters, digits, _, . and - only, not starting with a dot",
                    )
                )
            elif value.startswith("-") or "--" in value:
                problems.append(
                    located.problem(
                        path + (placeholder,),
                        f"report '{key}': explode value {shown(value)} of '{placeholder}' starts with - or holds --",
                        "a value pasted into a query must not open an SQL comment (--), nor read as an option (-x) to a script it is passed to",
                    )
                )
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", placeholder):
            problems.append(
                located.problem(path + (placeholder,), f"report '{key}': explode placeholder {shown(placeholder)} is not a name", "use letters, digits and _")
            )
        out[placeholder] = values
    combinations = math.prod(len(v) for v in out.values())
    if combinations > bounds.MAX_EXPLODE_COMBINATIONS:
        problems.append(
            located.problem(
                path,
                f"report '{key}': explode_by makes {combinations:,} combinations, over {bounds.MAX_EXPLODE_COMBINATIONS:,}",
                "explode by fewer placeholders or values, or split the report",
            )
        )
    return out
