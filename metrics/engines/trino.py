"""Trino, the distributed engine: a Hive catalog over the same Parquet layout, through the `trino` client.

Every warehouse table is an external Hive table at `local:///<schema>/<table>` (or the cluster's
file system), partitioned like the folders; `publish` registers a table the first time, again
when it gains a column, and makes new partitions visible with `system.sync_partition_metadata`.

Connection: `trino://user@host:port/catalog`, options in the query string (`http_scheme=https`,
`verify=/path/ca.pem` or `verify=false`). Secrets never come from the URI or a settings file:
a password from `METRICS_TRINO_PASSWORD` (or the file named by `METRICS_TRINO_PASSWORD_FILE`),
a JWT from `METRICS_TRINO_JWT` (or `METRICS_TRINO_JWT_FILE`).
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
import threading
import uuid
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, Mapping, Sequence
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

import pyarrow as pa

from metrics import redact
from metrics.engines.base import Engine, QueryError
from metrics.errors import Location, MetricsError
from metrics.warehouse import Partition, TableInfo, Warehouse, sql_type

# Hive table column types of the warehouse's scalar Arrow type names (`_table.json`); nested ones are
# ROW(...), ARRAY(...) and MAP(...) of these (`hive_type`).
HIVE_TYPES = {
    "int32": "INTEGER",
    "int64": "BIGINT",
    "double": "DOUBLE",
    "bool": "BOOLEAN",
    "string": "VARCHAR",
    "null": "VARCHAR",
    "date32[day]": "DATE",
    "timestamp[us, tz=UTC]": "TIMESTAMP(6)",
    "timestamp[us]": "TIMESTAMP(6)",
    "binary": "VARBINARY",
    "int": "INTEGER",
    "date": "DATE",
}

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


def hive_type(name: str) -> str:
    """The Trino type of a `_table.json` column type: `struct<action: string>` -> `ROW("action" VARCHAR)`, lists `ARRAY(...)`, maps `MAP(...)`."""
    return sql_type(name, HIVE_TYPES, struct="ROW", array="ARRAY({})")


def _same_type(a: str, b: str) -> bool:
    """Whether two Trino type texts name one type (information_schema writes `row(action varchar)`, the DDL `ROW("action" VARCHAR)`)."""
    return re.sub(r'["\s]', "", a).lower() == re.sub(r'["\s]', "", b).lower()


@dataclass(frozen=True)
class TrinoSettings:
    """Where the Trino coordinator is and how to reach it (no secrets: those come from the environment)."""

    host: str
    port: int
    user: str
    catalog: str = "hive"
    http_scheme: str = "http"
    verify: bool | str = True

    @classmethod
    def from_uri(cls, uri: str) -> "TrinoSettings":
        """`trino://user@host:port/catalog?http_scheme=https&verify=false`; raises MetricsError naming the fix."""
        parts = urlsplit(uri)
        where = Location("engine_uri")
        if parts.scheme != "trino" or not parts.hostname:
            raise MetricsError(f"{redact.mask_url(uri)!r} is not a Trino URI", "write trino://user@host:port/catalog", where)
        if parts.password:
            raise MetricsError("the Trino URI holds a password", "remove it; set METRICS_TRINO_PASSWORD or METRICS_TRINO_PASSWORD_FILE instead", where)
        options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        unknown = set(options) - {"http_scheme", "verify"}
        if unknown:
            raise MetricsError(f"unknown Trino URI option(s) {', '.join(sorted(unknown))}", "known: http_scheme, verify", where)
        verify: bool | str = options.get("verify", "true")
        verify = {"true": True, "false": False}.get(str(verify).lower(), verify)
        catalog = parts.path.strip("/") or "hive"
        if not _IDENTIFIER.fullmatch(catalog):
            raise MetricsError(f"catalog {catalog!r} is not a plain name", "write trino://user@host:port/<catalog>, lower-case letters, digits and _", where)
        scheme = options.get("http_scheme", "http")
        if scheme not in ("http", "https"):
            raise MetricsError(f"http_scheme={scheme!r}", "use http or https", where)
        try:
            port = parts.port or (443 if scheme == "https" else 8080)
        except ValueError:
            raise MetricsError(
                f"{redact.mask_url(uri)!r} has no valid port", "write trino://user@host:8080/catalog (a number from 1 to 65535)", where
            ) from None
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname  # an IPv6 address, as the client puts it in its URL
        return cls(host, port, unquote(parts.username or "metrics"), catalog, scheme, verify)

    def uri(self) -> str:
        """The URI `from_uri` reads back as these settings (no secret: those stay in the environment)."""
        options = {"http_scheme": self.http_scheme} if self.http_scheme != "http" else {}
        if self.verify is not True:
            options["verify"] = "false" if self.verify is False else str(self.verify)
        query = "?" + urlencode(options) if options else ""
        return f"trino://{quote(self.user, safe='')}@{self.host}:{self.port}/{self.catalog}{query}"


def _secret(name: str) -> str | None:
    """`METRICS_TRINO_<NAME>`, or the content of the file named by `METRICS_TRINO_<NAME>_FILE`."""
    value = os.environ.get(f"METRICS_TRINO_{name}")
    path = os.environ.get(f"METRICS_TRINO_{name}_FILE")
    if value is None and path:
        try:
            value = Path(path).read_text("utf-8").strip()
        except OSError as exc:
            raise MetricsError(f"cannot read METRICS_TRINO_{name}_FILE: {exc.strerror}", "point it to a readable file", Location(path)) from None
    redact.remember([value])  # masked wherever an error would show it
    return value


class TrinoEngine(Engine):
    """A Trino coordinator reading (and registering) the warehouse's tables in one Hive catalog."""

    name = "Trino"
    dialect = "trino"
    different_results: ClassVar[Mapping[str, str]] = {}  # Trino is the reference the others are compared with
    write_modes = ("files", "sql")

    values_per_statement = 1000
    """Rows one INSERT carries as VALUES; more travel through a staging table (a statement's text is limited)."""

    def __init__(self, warehouse: Warehouse, settings: TrinoSettings, *, write_mode: str | None = None, lazy: bool = False):
        super().__init__(warehouse, write_mode=write_mode, lazy=lazy)
        self.settings = settings
        self._local = threading.local()
        self._registered: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {}
        self._ddl = threading.Lock()
        self._written: dict[tuple[str, str], dict[str, str]] = {}  # columns of the tables this engine writes (write_mode "sql")
        self._writing: dict[tuple[str, str], threading.Lock] = {}
        self._partitions: dict[tuple[str, str], set[Any]] = {}  # partition values of those tables, as this engine left them
        if not lazy:
            self.refresh()  # lazily opened, it trusts the metastore: whoever wrote a table registered it

    @classmethod
    @functools.cache
    def functions(cls) -> frozenset[str]:
        text = resources.files("metrics.engines").joinpath("trino_functions.txt").read_text("utf-8")
        return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))

    # --- running SQL ---------------------------------------------------------------------------

    @property
    def connection(self) -> Any:
        """This thread's connection (the client's connections are not shared between threads)."""
        con = getattr(self._local, "connection", None)
        if con is None:
            import trino

            s = self.settings
            auth: trino.auth.Authentication | None = None
            password, jwt = _secret("PASSWORD"), _secret("JWT")
            if jwt:
                auth = trino.auth.JWTAuthentication(jwt)
            elif password:
                auth = trino.auth.BasicAuthentication(s.user, password)
            con = self._local.connection = trino.dbapi.connect(
                host=s.host,
                port=s.port,
                user=s.user,
                catalog=s.catalog,
                http_scheme=s.http_scheme,
                verify=s.verify,
                auth=auth,
                session_properties={f"{s.catalog}.insert_existing_partitions_behavior": "OVERWRITE"},
            )
            self._local.behaviour = "OVERWRITE"
        return con

    def execute(self, sql: str, params: Any = None) -> pa.Table:
        import trino

        s = self.settings
        try:
            cursor = self.connection.cursor()
            cursor.execute(sql, params or None)
            rows = cursor.fetchall()
        except trino.exceptions.TrinoUserError as exc:
            raise QueryError(f"{exc.error_name}: {exc.message}") from None
        except trino.exceptions.TrinoQueryError as exc:
            raise QueryError(str(exc).strip().splitlines()[0]) from None
        except trino.exceptions.TrinoAuthError as exc:
            hint = "passwords and JWTs are sent over https only: add ?http_scheme=https" if s.http_scheme == "http" else "check the user and the secret"
            raise MetricsError(
                f"Trino at {s.host}:{s.port} refused the credentials: {str(exc).strip().splitlines()[0]}", hint, Location("engine_uri")
            ) from None
        except (trino.exceptions.Error, trino.exceptions.HttpError, OSError) as exc:
            # connection refused, TLS spoken to a plain-HTTP server (or the reverse), a proxy's 5xx: not the SQL's fault
            raise MetricsError(
                f"cannot reach Trino at {s.http_scheme}://{s.host}:{s.port}: {str(exc).strip().splitlines()[0][:300]}",
                "check engine_uri (host, port, http_scheme) and that the coordinator is up",
                Location("engine_uri"),
            ) from None
        columns = [d[0] for d in cursor.description or []]
        types: list[pa.DataType | None] = [_arrow_type(d[1]) for d in cursor.description or []]
        return pa.table({name: pa.array([_value(r[i], types[i]) for r in rows], type=types[i]) for i, name in enumerate(columns)})

    # --- what the engine sees --------------------------------------------------------------------

    def schemas(self) -> list[str]:
        rows = self.query("SELECT schema_name AS s FROM information_schema.schemata WHERE schema_name <> 'information_schema' ORDER BY 1")
        return [s for s in rows.column("s").to_pylist() if self.tables(s)]

    def tables(self, schema: str) -> list[str]:
        rows = self.query("SELECT table_name AS t FROM information_schema.tables WHERE table_schema = :schema ORDER BY 1", {"schema": schema})
        return rows.column("t").to_pylist()

    def columns(self, schema: str, table: str) -> dict[str, str]:
        rows = self.query(
            "SELECT column_name AS c, data_type AS t FROM information_schema.columns WHERE table_schema = :schema AND table_name = :table"
            " ORDER BY ordinal_position",
            {"schema": schema, "table": table},
        )
        return dict(zip(rows.column("c").to_pylist(), rows.column("t").to_pylist()))

    # --- registering what was written ------------------------------------------------------------

    def publish(self, schema: str, table: str, partition: Partition | None = None, *, new: bool = False) -> None:
        info = self.warehouse.info(schema, table)
        if info is None:
            return
        with self._ddl:
            created = self._register(info)
            if info.partition_by:
                # ADD for one new partition of a known table; FULL also forgets partitions whose folders went.
                mode = "ADD" if partition is not None and not created else "FULL"
                self.execute(f"CALL system.sync_partition_metadata(schema_name => {_literal(schema)}, table_name => {_literal(table)}, mode => '{mode}')")

    def _register(self, info: TableInfo) -> bool:
        """Create the external table (again, when its columns changed); True when (re)created."""
        columns = tuple((c, hive_type(t)) for c, t in {**info.columns, **info.partition_by}.items())
        key = (info.schema, info.name)
        if self._registered.get(key) == columns:
            return False
        name = f"{_identifier(info.schema)}.{_identifier(info.name)}"
        # The catalog's root (`local.location`) is the warehouse folder: locations are relative to it.
        location = f"local:///{info.schema}/{info.name}"
        self.execute(f"CREATE SCHEMA IF NOT EXISTS {_identifier(info.schema)} WITH (location = {_literal(f'local:///{info.schema}')})")
        known = self.columns(info.schema, info.name)
        if known and not self._external(info.schema, info.name):  # never DROP a table Trino manages: that deletes its data
            raise _one_mode(self.settings.catalog, name, "Trino writes it itself (write_mode sql)", "files")
        if known and list(known) == [c for c, _ in columns] and all(_same_type(known[c], t) for c, t in columns):
            self._registered[key] = columns
            return False
        if known:
            # An external table's DROP forgets the metadata only: the files stay.
            self.execute(f"DROP TABLE {name}")
        body = ", ".join(f"{_identifier(c)} {t}" for c, t in columns)
        partitioned = ", ".join(_literal(c) for c in info.partition_by)
        props = f"external_location = {_literal(location)}, format = 'PARQUET'" + (f", partitioned_by = ARRAY[{partitioned}]" if partitioned else "")
        self.execute(f"CREATE TABLE {name} ({body}) WITH ({props})")
        self._registered[key] = columns
        return True

    # --- writing through Trino (write_mode "sql") -------------------------------------------------

    def _behaviour(self, mode: str) -> None:
        """What an INSERT does to a partition that exists: `OVERWRITE` it or `APPEND` to it (this thread's session)."""
        self.connection  # noqa: B018  opens the connection, whose session starts in OVERWRITE
        if self._local.behaviour != mode:
            self.execute(f"SET SESSION {self.settings.catalog}.insert_existing_partitions_behavior = '{mode}'")
            self._local.behaviour = mode

    def create_table(self, schema: str, table: str, columns: pa.Schema, partition_by: Sequence[str]) -> None:
        self._columns_for(schema, table, columns, partition_by)

    def _columns_for(self, schema: str, table: str, columns: pa.Schema, partition_by: Sequence[str]) -> dict[str, str]:
        """The table's columns (name -> Trino type, partition keys last), after creating it or adding what `columns` has more."""
        key = (schema, table)
        name = f"{_identifier(schema)}.{_identifier(table)}"
        with self._ddl:
            known = self._written.get(key) or self.columns(schema, table)
            if known and key not in self._written and self._external(schema, table):
                raise _one_mode(self.settings.catalog, name, "it is an external table over files (write_mode files)", "sql")
            if not known:
                self.execute(f"CREATE SCHEMA IF NOT EXISTS {_identifier(schema)}")
                data = [f for f in columns if f.name not in partition_by]
                keys = [columns.field(k) for k in partition_by]
                body = ", ".join(f"{_identifier(f.name)} {_trino_type(f.type)}" for f in [*data, *keys])
                partitioned = ", ".join(_literal(k) for k in partition_by)
                props = "format = 'PARQUET'" + (f", partitioned_by = ARRAY[{partitioned}]" if partitioned else "")
                self.execute(f"CREATE TABLE IF NOT EXISTS {name} ({body}) WITH ({props})")
                known = self.columns(schema, table)
            else:
                added = [f for f in columns if f.name not in known]
                for field in added:
                    self.execute(f"ALTER TABLE {name} ADD COLUMN IF NOT EXISTS {_identifier(field.name)} {_trino_type(field.type)}")
                if added:
                    known = self.columns(schema, table)
            self._written[key] = known
            return known

    def _external(self, schema: str, table: str) -> bool:
        """Whether a table is an external one (over the warehouse folder), not one Trino manages."""
        text = self.execute(f"SHOW CREATE TABLE {_identifier(schema)}.{_identifier(table)}").column(0)[0].as_py()
        return "external_location" in str(text)

    def _present(self, schema: str, table: str, partition_by: str) -> set[Any]:
        """The partition values the table holds (read once, then kept as this engine writes)."""
        key = (schema, table)
        if key not in self._partitions:
            rows = self.execute(f"SELECT DISTINCT {_identifier(partition_by)} FROM {_identifier(schema)}.{_identifier(table)}")
            self._partitions[key] = set(rows.column(0).to_pylist())
        return self._partitions[key]

    def _lock_for(self, schema: str, table: str) -> threading.Lock:
        """One writer at a time per table in this process (two INSERTs creating one partition collide)."""
        with self._ddl:
            return self._writing.setdefault((schema, table), threading.Lock())

    def replace_rows(self, schema: str, table: str, rows: pa.Table, partition_by: str, replaced: Mapping[Any, Sequence[Mapping[str, str]] | None]) -> None:
        with self._lock_for(schema, table):
            self._replace_rows(schema, table, rows, partition_by, replaced)

    def _replace_rows(self, schema: str, table: str, rows: pa.Table, partition_by: str, replaced: Mapping[Any, Sequence[Mapping[str, str]] | None]) -> None:
        columns = self._columns_for(schema, table, rows.schema, [partition_by])
        name = f"{_identifier(schema)}.{_identifier(table)}"
        key = _identifier(partition_by)
        # A row is replaced when its partition is listed and it matches one of that partition's combinations.
        matches: list[str] = []
        params: list[Any] = []
        for value, combos in replaced.items():
            if combos is None:
                matches.append(f"{key} = ?")
                params.append(value)
                continue
            for combo in combos:
                known = [(c, v) for c, v in sorted(combo.items()) if c in columns]
                matches.append("(" + " AND ".join([f"{key} = ?", *(f"coalesce(CAST({_identifier(c)} AS VARCHAR) = ?, false)" for c, _ in known)]) + ")")
                params += [value, *(v for _, v in known)]
        listed = ", ".join("?" for _ in replaced)
        kept = f"{key} IN ({listed}) AND NOT ({' OR '.join(matches) or 'false'})"
        kept_params = [*replaced, *params]
        # Overwriting writes only the partitions the INSERT produces rows for: emptied ones are deleted.
        present = self._present(schema, table, partition_by)
        fresh = set(rows.column(partition_by).to_pylist()) if rows.num_rows else set()
        empty = [v for v in replaced if v not in fresh and v in present]
        if empty:
            still = set(self.execute(f"SELECT DISTINCT {key} FROM {name} WHERE {kept}", kept_params).column(0).to_pylist())
            gone = [v for v in empty if v not in still]
            if gone:
                self.execute(f"DELETE FROM {name} WHERE {key} IN ({', '.join('?' for _ in gone)})", gone)
                present.difference_update(gone)
        present.update(fresh)
        if not fresh and not any(v in present for v in replaced):
            return
        names = ", ".join(_identifier(c) for c in columns)
        existing = f"SELECT {names} FROM {name} WHERE {kept}"
        if not rows.num_rows:
            self._behaviour("OVERWRITE")
            self.execute(f"INSERT INTO {name} ({names}) {existing}", kept_params)
            return
        if rows.num_rows <= self.values_per_statement:
            values, values_params = self._values(rows, columns)
            self._behaviour("OVERWRITE")
            self.execute(f"INSERT INTO {name} ({names}) {existing} UNION ALL {values}", [*kept_params, *values_params])
            return
        staging = f"_staging_{uuid.uuid4().hex[:16]}"
        staged = f"{_identifier(schema)}.{_identifier(staging)}"
        self.execute(f"CREATE TABLE {staged} ({', '.join(f'{_identifier(c)} {t}' for c, t in columns.items())}) WITH (format = 'PARQUET')")
        try:
            self._behaviour("APPEND")
            for start in range(0, rows.num_rows, self.values_per_statement):
                values, values_params = self._values(rows.slice(start, self.values_per_statement), columns)
                self.execute(f"INSERT INTO {staged} ({names}) {values}", values_params)
            self._behaviour("OVERWRITE")
            self.execute(f"INSERT INTO {name} ({names}) {existing} UNION ALL SELECT {names} FROM {staged}", kept_params)
        finally:
            self.execute(f"DROP TABLE IF EXISTS {staged}")

    def append_rows(self, schema: str, table: str, rows: pa.Table, partition_by: Sequence[str]) -> None:
        with self._lock_for(schema, table):
            columns = self._columns_for(schema, table, rows.schema, partition_by)
            names = ", ".join(_identifier(c) for c in columns)
            self._behaviour("APPEND")
            for start in range(0, rows.num_rows, self.values_per_statement):
                values, params = self._values(rows.slice(start, self.values_per_statement), columns)
                self.execute(f"INSERT INTO {_identifier(schema)}.{_identifier(table)} ({names}) {values}", params)

    @staticmethod
    def _values(rows: pa.Table, columns: Mapping[str, str]) -> tuple[str, list[Any]]:
        """`SELECT * FROM (VALUES ...)` of `rows` in the table's column order, each value bound and cast to its column's type."""
        present = [c for c in columns if c in rows.column_names]
        data = {c: rows.column(c).to_pylist() for c in present}
        cells = [f"CAST(? AS {t})" if c in data else f"CAST(NULL AS {t})" for c, t in columns.items()]
        row = "(" + ", ".join(cells) + ")"
        params: list[Any] = []
        for i in range(rows.num_rows):
            params += [_bindable(data[c][i]) for c in present]
        return "SELECT * FROM (VALUES " + ", ".join(row for _ in range(rows.num_rows)) + ")", params

    def environment(self) -> dict[str, str]:
        return {**super().environment(), "METRICS_ENGINE_URI": self.settings.uri()}

    def close(self) -> None:
        con = getattr(self._local, "connection", None)
        if con is not None:
            con.close()


def _identifier(name: str) -> str:
    if not _IDENTIFIER.fullmatch(name):
        raise MetricsError(f"{name!r} is not a plain identifier", "warehouse names are lower-case letters, digits and _")
    return f'"{name}"'


def _literal(text: str) -> str:
    if "'" in text:
        raise MetricsError(f"{text!r} holds a quote", "warehouse names and paths hold no quotes")
    return f"'{text}'"


def _one_mode(catalog: str, name: str, why: str, mode: str) -> MetricsError:
    """The error of a table written in the other write mode: one catalog, one write mode."""
    return MetricsError(
        f"{name} of Trino catalog {catalog} cannot be written in write_mode {mode}: {why}",
        "use one write mode per catalog: keep the catalog's mode, or point engine_uri at another catalog (docs/warehouse.md)",
        Location("write_mode"),
    )


def _trino_type(arrow: pa.DataType) -> str:
    """The Trino column type that stores an Arrow type as the warehouse does."""
    from metrics.warehouse import arrow_type_name

    if pa.types.is_integer(arrow):
        return "BIGINT" if arrow.bit_width == 64 else "INTEGER"
    try:
        return HIVE_TYPES[arrow_type_name(arrow)]
    except KeyError:
        raise MetricsError(f"no Trino column type for {arrow}", "report results hold numbers, text, booleans, dates or timestamps") from None


def _bindable(value: Any) -> Any:
    """A value as the client binds it (a struct as a ROW, which the client writes for a tuple)."""
    if isinstance(value, dict):
        return tuple(_bindable(v) for v in value.values())
    if isinstance(value, list):
        return [_bindable(v) for v in value]
    return value


def _arrow_type(trino_type: str) -> pa.DataType | None:
    """The Arrow type of a result column of `trino_type`; None for ARRAY, MAP and ROW (inferred from the values)."""
    base = trino_type.split("(")[0].strip().lower()
    if base in ("array", "map", "row"):
        return None
    if base in ("bigint", "integer", "smallint", "tinyint"):
        return pa.int64()
    if base in ("double", "real", "decimal"):
        return pa.float64()
    if base == "boolean":
        return pa.bool_()
    if base == "date":
        return pa.date32()
    if base == "timestamp":
        return pa.timestamp("us", tz="UTC")
    return pa.string()


def _value(value: Any, kind: pa.DataType | None) -> Any:
    if value is None:
        return None
    if kind is None:  # nested: lists stay lists, a ROW (the client's named tuple) becomes a dict, a MAP a list of pairs
        if isinstance(value, list):
            return [_value(v, None) for v in value]
        if isinstance(value, dict):
            return [(k, _value(v, None)) for k, v in value.items()]
        if isinstance(value, tuple):
            names = getattr(value, "_names", None) or [None] * len(value)
            return {n or f"field{i}": _value(v, None) for i, (n, v) in enumerate(zip(names, value))}
        return float(value) if isinstance(value, Decimal) else value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    if pa.types.is_string(kind) and not isinstance(value, str):
        return str(value)
    return value
