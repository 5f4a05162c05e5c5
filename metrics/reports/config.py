"""Reader: a Reportupdater query folder's `config.yaml`, read with Reportupdater's keys and defaults.

Per-report values are looked up report -> `defaults` -> built-in default, as Reportupdater does.
Unlike Reportupdater, unknown keys get a warning with a suggestion, retired keys a deprecation
warning, and every error names the file, line and column.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metrics import yamlfile
from metrics.tables import report_table
from metrics.problems import InputError, Problem

TYPES = ("sql", "hive", "script")
GRANULARITIES = ("days", "weeks", "months")
DIALECTS = ("trino", "hive", "duckdb")
BACKFILL = ("interval", "range")
REPORT_KEYS = (
    "type", "granularity", "starts", "lag", "db", "execute", "explode_by", "max_data_points",
    "group", "graphite", "dialect", "backfill", "snapshot", "ends",
)
RETIRED_KEYS = {
    "funnel": "every report runs as a funnel since 2021",
    "frequency": "reports run every time the runner runs",
    "timeboxed": "every interval is computed on its own",
    "by_wiki": "use explode_by",
}
TOP_KEYS = ("reports", "defaults", "databases", "graphite", "dialect")
EXPLODE_VALUE = re.compile(r"^[A-Za-z0-9_.\-]+$")
"""Explode values reach SQL text and file paths: plain words only (wiki names, versions)."""


@dataclass(frozen=True)
class GraphiteTarget:
    path: str
    metrics: dict[str, str]


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

    @property
    def folder_name(self) -> str:
        return self.folder.name

    @property
    def table(self) -> str:
        """The warehouse table of the report's results, `metrics.<folder>_<report>`."""
        return table_name(self.folder.name, self.key)

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


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value).strip())


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
    for key in data:
        if key not in TOP_KEYS:
            out.problems.append(p((key,), f"unknown top-level key '{key}' (ignored)", _did_you_mean(key, TOP_KEYS), key=True, severity="warning"))
    reports = data.get("reports")
    if not isinstance(reports, dict) or not reports:
        raise InputError([p(("reports",) if "reports" in data else (), "no `reports:` mapping", "add `reports:` with one entry per report")])
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        out.problems.append(p(("defaults",), "`defaults` must be a mapping", "write `defaults:` with report keys under it"))
        defaults = {}
    for key in defaults:
        _check_key(key, ("defaults", key), p, out.problems)

    graphite = data.get("graphite")
    if isinstance(graphite, dict):
        out.graphite_host = str(graphite["host"]) if graphite.get("host") else None
        port = graphite.get("port")
        if port is not None and not (isinstance(port, int) and 0 < port < 65536):
            out.problems.append(p(("graphite", "port"), f"graphite port {port!r} is not a port number", "write an integer such as 2003"))
        else:
            out.graphite_port = port
        for placeholder, lookup_file in (graphite.get("lookups") or {}).items():
            try:
                table = yamlfile.load(folder / str(lookup_file)).data
                out.lookups[str(placeholder)] = {str(k): str(v) for k, v in (table or {}).items()}
            except InputError as exc:
                out.problems.extend(exc.problems)
    elif graphite is not None:
        out.problems.append(p(("graphite",), "`graphite` must be a mapping of host, port and lookups", "see docs/runner.md"))

    folder_dialect = data.get("dialect")
    for report_key, raw in reports.items():
        report_key = str(report_key)
        where = ("reports", report_key)
        if not isinstance(raw, dict):
            out.problems.append(p(where, f"report '{report_key}' must be a mapping", "give it at least granularity and starts"))
            continue
        for key in raw:
            _check_key(key, where + (key,), p, out.problems)
        before = len(out.errors)
        report = _report(folder, report_key, raw, defaults, folder_dialect, located, out.problems)
        if report is not None and len(out.errors) == before:
            out.reports.append(report)
    return out


def _check_key(key: str, path: tuple, p, problems: list[Problem]) -> None:
    if key in RETIRED_KEYS:
        problems.append(p(path, f"'{key}' is retired and ignored: {RETIRED_KEYS[key]}", "remove it", key=True, severity="warning"))
    elif key not in REPORT_KEYS:
        problems.append(p(path, f"unknown report key '{key}' (ignored)", _did_you_mean(key, REPORT_KEYS), key=True, severity="warning"))


def _did_you_mean(key: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(str(key), choices, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(choices)}"


def _report(folder: Path, key: str, raw: dict, defaults: dict, folder_dialect: Any, located: yamlfile.Located, problems: list[Problem]) -> Report | None:
    def get(name: str, default: Any = None) -> tuple[Any, tuple]:
        if name in raw:
            return raw[name], ("reports", key, name)
        if name in defaults:
            return defaults[name], ("defaults", name)
        return default, ("reports", key)

    def error(path: tuple, message: str, hint: str) -> None:
        problems.append(located.problem(path, f"report '{key}': {message}", hint))

    type_, path = get("type", "sql")
    if type_ not in TYPES:
        error(path, f"type {type_!r} is not one of {', '.join(TYPES)}", "use sql, hive or script")
    granularity, path = get("granularity")
    if granularity is None:
        error(path, "missing granularity", "add `granularity: days` (or weeks, months)")
    elif granularity not in GRANULARITIES:
        error(path, f"granularity {granularity!r} is not one of {', '.join(GRANULARITIES)}", "use days, weeks or months")
    starts_raw, path = get("starts")
    starts = None
    if starts_raw is None:
        error(path, "missing starts", "add `starts: YYYY-MM-DD`")
    else:
        try:
            starts = _date(starts_raw)
        except ValueError:
            error(path, f"starts {starts_raw!r} is not a date", "write YYYY-MM-DD")
    ends_raw, path = get("ends")
    ends = None
    if ends_raw is not None:
        try:
            ends = _date(ends_raw)
        except ValueError:
            error(path, f"ends {ends_raw!r} is not a date", "write YYYY-MM-DD")
    lag, path = get("lag", 0)
    if not isinstance(lag, int) or isinstance(lag, bool) or lag < 0:
        error(path, f"lag {lag!r} is not a whole number of seconds >= 0", "write e.g. `lag: 3600`")
        lag = 0
    max_points, path = get("max_data_points")
    if max_points is not None and (not isinstance(max_points, int) or isinstance(max_points, bool) or max_points < 1):
        error(path, f"max_data_points {max_points!r} is not an integer >= 1", "write e.g. `max_data_points: 30`, or remove it")
    execute, path = get("execute", key)
    if not isinstance(execute, str) or ".." in Path(execute).parts or Path(execute).is_absolute():
        error(path, f"execute {execute!r} is not a file stem inside the folder", "write e.g. `execute: hive/toggles`")
        execute = key
    dialect, path = get("dialect", folder_dialect or ("hive" if type_ == "hive" else "trino"))
    if dialect not in DIALECTS:
        error(path, f"dialect {dialect!r} is not one of {', '.join(DIALECTS)}", "use trino, hive or duckdb")
    backfill, path = get("backfill", "interval")
    if backfill not in BACKFILL:
        error(path, f"backfill {backfill!r} is not one of {', '.join(BACKFILL)}", "use `range` for a query that groups by date, else remove it")
    snapshot, path = get("snapshot", False)
    if not isinstance(snapshot, bool):
        error(path, f"snapshot {snapshot!r} is not true or false", "write `snapshot: true`")
    if snapshot and backfill == "range":
        error(path, "a snapshot report cannot be backfilled by range", "remove `backfill: range` or `snapshot: true`")
    explode_raw, path = get("explode_by", {})
    explode = _explode(folder, explode_raw or {}, path, located, key, problems)
    graphite_raw, path = get("graphite", {})
    graphite = None
    if graphite_raw:
        if not isinstance(graphite_raw, dict) or not isinstance(graphite_raw.get("path"), str):
            error(path, "graphite needs `path` (a format string) and `metrics`", "see docs/runner.md")
        elif not isinstance(graphite_raw.get("metrics"), dict):
            error(path, "graphite `metrics` must be a mapping of metric name -> column", "write `metrics: {name: column}`")
        else:
            graphite = GraphiteTarget(graphite_raw["path"], {str(k): str(v) for k, v in graphite_raw["metrics"].items()})
    db, _ = get("db")
    group, _ = get("group")
    if type_ not in TYPES or granularity not in GRANULARITIES or starts is None:
        return None
    report = Report(
        folder=folder, key=key, type=type_, granularity=granularity, starts=starts, lag=lag, db=db,
        execute=execute, explode_by=explode, max_data_points=max_points, group=group, graphite=graphite,
        dialect=dialect, backfill=backfill, snapshot=bool(snapshot), ends=ends,
    )
    if not report.query_file.is_file():
        error(("reports", key), f"query file {report.query_file} not found", f"create it, or set `execute:` to the file stem")
    return report


def _explode(folder: Path, raw: Any, path: tuple, located: yamlfile.Located, key: str, problems: list[Problem]) -> dict[str, list[str]]:
    """Reportupdater's explode_by: a comma list, or one token naming a file (one value a line) or itself."""
    if not isinstance(raw, dict):
        problems.append(located.problem(path, f"report '{key}': explode_by must be a mapping", "write `explode_by: {wiki_db: enwiki, dewiki}`"))
        return {}
    out: dict[str, list[str]] = {}
    for placeholder, spec in raw.items():
        placeholder = str(placeholder)
        if spec is None or spec == "":
            problems.append(located.problem(path + (placeholder,), f"report '{key}': explode placeholder '{placeholder}' has no values", 'inside {...} a comma list must be quoted: {wiki: "enwiki, dewiki"}', key=True))
            continue
        text = str(spec)
        if "," in text:
            values = [v.strip() for v in text.split(",") if v.strip()]
        else:
            candidate = folder / text.strip()
            if candidate.is_file():
                values = [line.strip() for line in candidate.read_text("utf-8").splitlines() if line.strip()]
                if not values:
                    continue  # an empty file drops the placeholder, as in Reportupdater
            else:
                values = [text.strip()]
        for value in values:
            if not EXPLODE_VALUE.fullmatch(value):
                problems.append(located.problem(path + (placeholder,), f"report '{key}': explode value {value!r} of '{placeholder}' has characters that are not allowed", "use letters, digits, _, . and - only"))
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", placeholder):
            problems.append(located.problem(path + (placeholder,), f"report '{key}': explode placeholder {placeholder!r} is not a name", "use letters, digits and _"))
        out[placeholder] = values
    return out
