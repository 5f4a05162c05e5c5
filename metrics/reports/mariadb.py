"""Run a `type: sql` report with `db:` on the MariaDB/MySQL its `databases:` entry names, as Reportupdater did.

The query is the report's MySQL text with Reportupdater's placeholders filled (`{from_timestamp}`,
`{to_timestamp}` as `YYYYMMDDHHMMSS`, explode values, each checked against the allowed characters
first), sent as it is: never transpiled. The database is the entry's `db`, or the value of its
`wiki_db_placeholder` explode placeholder (one database per wiki). The server is the entry's
`host`/`port`, or with `auto_find_db_shard` the one the section map gives for that database
(`metrics.reports.sections`). User and password come from `creds_file`, a my.cnf with a `[client]`
section, as PyMySQL's `read_default_file` reads it; they are never printed.

Each execution opens its own connection (the runner runs intervals on a thread pool, and a
connection is not thread-safe) and closes it after the rows are read.

The result is kept twice, as for every report: typed from the column types the server declared (for
the table: integers, DECIMAL as integer or double, dates, timestamps, text; binary strings decoded
as UTF-8), and as Reportupdater wrote the cursor's values, `str()` (`metrics.reports.printed.python`).
"""

from __future__ import annotations

import configparser
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Mapping

import pyarrow as pa
import pymysql
from pymysql.constants import ER, FIELD_TYPE

from metrics.errors import MetricsError
from metrics.problems import InputError
from metrics.reports import printed, sections
from metrics.reports.config import EXPLODE_VALUE, Report, SourceDatabase
from metrics.reports.templates import TemplateError, placeholders, render

CONNECT_TIMEOUT = 10
QUERY_TIMEOUT = 3600
DEFAULT_PORT = 3306

INTEGERS = {FIELD_TYPE.TINY, FIELD_TYPE.SHORT, FIELD_TYPE.LONG, FIELD_TYPE.LONGLONG, FIELD_TYPE.INT24, FIELD_TYPE.YEAR}
DECIMALS = {FIELD_TYPE.DECIMAL, FIELD_TYPE.NEWDECIMAL}
FLOATS = {FIELD_TYPE.FLOAT, FIELD_TYPE.DOUBLE}
TIMESTAMPS = {FIELD_TYPE.DATETIME, FIELD_TYPE.TIMESTAMP}
DATES = {FIELD_TYPE.DATE, FIELD_TYPE.NEWDATE}


class SourceError(MetricsError, RuntimeError):
    """A report that cannot run on its database; the message names the file, the place and the fix."""


@dataclass
class Fetched:
    """A query's result: the header, the typed table, and the values after the first as Reportupdater wrote them."""

    header: list[str]
    table: pa.Table
    text: list[list[str | None]]


@dataclass(frozen=True)
class Target:
    """Where one execution connects: never holds the password (that stays in the creds file)."""

    host: str
    port: int
    database: str
    creds_file: Path | None

    def __str__(self) -> str:
        return f"{self.host}:{self.port}/{self.database}"


def execute(report: Report, start: dt.date, end: dt.date, explode: Mapping[str, str]) -> Fetched:
    """Run the report's query over `[start, end)` for one explode combination on its database."""
    source = _source(report)
    for name, value in explode.items():
        if not EXPLODE_VALUE.fullmatch(value):
            raise SourceError(f"{report.query_file}: explode value {value!r} of '{name}' has characters that are not allowed (use letters, digits, _, . and -)")
    try:
        sql = render(report.query_file.read_text("utf-8"), placeholders(start, end, explode))
    except (TemplateError, OSError) as exc:
        raise SourceError(f"{report.query_file}: {exc}") from None
    target = target_of(source, explode)
    return run(report.query_file, source, target, sql)


def _source(report: Report) -> SourceDatabase:
    if report.database is None:
        problem = report.database_problem
        raise SourceError(str(problem) if problem else f"{report.query_file}: report '{report.key}' has no database")
    return report.database


def target_of(source: SourceDatabase, explode: Mapping[str, str]) -> Target:
    """The host, port and database of one execution (the section map's host under auto_find_db_shard)."""
    name = source.database_name(explode)
    if source.auto_find_db_shard:
        found = sections.find(source.section_map)
        if found is None:
            raise SourceError(
                f"{source.place}: database '{source.key}' has auto_find_db_shard but no section map (wiki database -> section -> host:port)"
                f" (add `section_map: FILE` to it, or set {sections.ENV}; see docs/runner.md)"
            )
        try:
            host, port = sections.load(found).address(name, source.use_x1)
        except InputError as exc:
            raise SourceError(f"{exc} [database '{source.key}' at {source.place}, auto_find_db_shard]") from None
    else:
        host, port = source.host or "", source.port or DEFAULT_PORT
    creds = source.creds_file
    if creds is not None:
        _check_creds(creds, source)
    return Target(host, port, name, creds)


def _check_creds(path: Path, source: SourceDatabase) -> None:
    """The creds file can be read and has a `[client]` user: PyMySQL would silently ignore it otherwise."""
    where = f"creds_file of database '{source.key}' at {source.place}"
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise SourceError(f"{path}: cannot read it ({exc.strerror}) [{where}] (fix the path, or let the user running the service read it)") from None
    except UnicodeDecodeError:
        raise SourceError(f"{path}: not a UTF-8 text file [{where}] (a my.cnf: [client], user=..., password=...)") from None
    parser = configparser.RawConfigParser(allow_no_value=True, strict=False)
    try:
        parser.read_string(text, str(path))
    except configparser.Error as exc:
        line = getattr(exc, "lineno", 1)
        raise SourceError(
            f"{path}:{line}:1: not a my.cnf file ({type(exc).__name__}) [{where}] (write a [client] section with user=... and password=...)"
        ) from None
    if not parser.has_option("client", "user"):
        raise SourceError(f"{path}:1:1: no `user` in a [client] section [{where}] (write [client], then user=... and password=...)")


def connect(target: Target) -> pymysql.connections.Connection:
    """A connection to `target` with the user and password of its creds file."""
    options: dict[str, Any] = {}
    if target.creds_file is not None:
        options["read_default_file"] = str(target.creds_file)
    return pymysql.connect(
        host=target.host,
        port=target.port,
        database=target.database,
        charset="utf8mb4",
        autocommit=True,
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=QUERY_TIMEOUT,
        **options,
    )


def run(query_file: Path, source: SourceDatabase, target: Target, sql: str) -> Fetched:
    """Run `sql` on `target` and read its result; every failure a SourceError saying what to do."""
    where = f"database '{source.key}' at {source.place}"
    try:
        connection = connect(target)
    except pymysql.err.MySQLError as exc:
        raise SourceError(f"{query_file}: cannot connect to {target} [{where}]: {_message(exc)} ({_fix(exc, target)})") from None
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            rows = list(cursor.fetchall())
            description = list(cursor.description or ())
    except pymysql.err.MySQLError as exc:
        raise SourceError(f"{query_file}: the query failed on {target}: {_message(exc)} (it runs as MySQL SQL on the server, as written)") from None
    finally:
        connection.close()
    if not description:
        raise SourceError(f"{query_file}: the query returned no result set on {target} (a report query is a SELECT)")
    return fetched(description, rows)


def _message(exc: pymysql.err.MySQLError) -> str:
    if len(exc.args) >= 2:
        return f"{exc.args[1]} (error {exc.args[0]})"
    return str(exc)


def _fix(exc: pymysql.err.MySQLError, target: Target) -> str:
    code = exc.args[0] if exc.args else None
    if code == ER.ACCESS_DENIED_ERROR or code == ER.DBACCESS_DENIED_ERROR:
        return f"check user and password in {target.creds_file}" if target.creds_file else "set `creds_file:` to a my.cnf with [client] user and password"
    if code == ER.BAD_DB_ERROR:
        return f"no database '{target.database}' there: check `db:` or the explode values"
    return "check host and port (or the section map), and that the server is up"


def fetched(description: list[Any], rows: list[Any]) -> Fetched:
    """A cursor's result as a typed table (from the declared column types) and as `str()` text."""
    header = [str(d[0]) for d in description]
    columns = {}
    for i, d in enumerate(description):
        values = [row[i] for row in rows]
        arrow_type, convert = _column_type(d[1], d[5])
        try:
            array = pa.array([None if v is None else convert(v) for v in values], arrow_type)
        except (pa.ArrowException, TypeError, ValueError, ArithmeticError):
            # a value the declared type cannot hold (MySQL's '0000-00-00' comes back as text): keep the text
            array = pa.array([None if v is None else _text(v) for v in values], pa.string())
        columns[f"c{i}"] = array
    table = pa.table(columns) if columns else pa.table({})
    text = [[printed.python(v) for v in row[1:]] for row in rows]
    return Fetched(header, table, text)


def _column_type(type_code: int, scale: int | None) -> tuple[pa.DataType, Callable[[Any], Any]]:
    if type_code in INTEGERS:
        return pa.int64(), int
    if type_code in DECIMALS:
        return (pa.int64(), _integral) if not scale else (pa.float64(), float)
    if type_code in FLOATS:
        return pa.float64(), float
    if type_code in DATES:
        return pa.date32(), _date
    if type_code in TIMESTAMPS:
        return pa.timestamp("us"), _timestamp
    if type_code == FIELD_TYPE.BIT:
        return pa.int64(), lambda v: int.from_bytes(v, "big") if isinstance(v, bytes) else int(v)
    return pa.string(), _text


def _integral(value: Any) -> int:
    if isinstance(value, Decimal) and value != value.to_integral_value():
        raise ValueError("not an integer")
    return int(value)


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    raise ValueError("not a date")


def _timestamp(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    raise ValueError("not a timestamp")


def _text(value: Any) -> str:
    """Text for the table: binary strings (MediaWiki's VARBINARY columns) decoded as UTF-8."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return str(value)
