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
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, Mapping
from urllib.parse import parse_qs, unquote, urlsplit

import pyarrow as pa

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
            raise MetricsError(f"{uri!r} is not a Trino URI", "write trino://user@host:port/catalog", where)
        if parts.password:
            raise MetricsError("the Trino URI holds a password", "remove it; set METRICS_TRINO_PASSWORD or METRICS_TRINO_PASSWORD_FILE instead", where)
        options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        unknown = set(options) - {"http_scheme", "verify"}
        if unknown:
            raise MetricsError(f"unknown Trino URI option(s) {', '.join(sorted(unknown))}", "known: http_scheme, verify", where)
        verify: bool | str = options.get("verify", "true")
        verify = {"true": True, "false": False}.get(str(verify).lower(), verify)
        catalog = parts.path.strip("/") or "hive"
        scheme = options.get("http_scheme", "http")
        if scheme not in ("http", "https"):
            raise MetricsError(f"http_scheme={scheme!r}", "use http or https", where)
        return cls(parts.hostname, parts.port or (443 if scheme == "https" else 8080), unquote(parts.username or "metrics"), catalog, scheme, verify)


def _secret(name: str) -> str | None:
    """`METRICS_TRINO_<NAME>`, or the content of the file named by `METRICS_TRINO_<NAME>_FILE`."""
    value = os.environ.get(f"METRICS_TRINO_{name}")
    path = os.environ.get(f"METRICS_TRINO_{name}_FILE")
    if value is None and path:
        try:
            value = Path(path).read_text("utf-8").strip()
        except OSError as exc:
            raise MetricsError(f"cannot read METRICS_TRINO_{name}_FILE: {exc.strerror}", "point it to a readable file", Location(path)) from None
    return value


class TrinoEngine(Engine):
    """A Trino coordinator reading (and registering) the warehouse's tables in one Hive catalog."""

    name = "Trino"
    dialect = "trino"
    different_results: ClassVar[Mapping[str, str]] = {}  # Trino is the reference the others are compared with

    def __init__(self, warehouse: Warehouse, settings: TrinoSettings):
        super().__init__(warehouse)
        self.settings = settings
        self._local = threading.local()
        self._registered: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {}
        self._ddl = threading.Lock()
        self.refresh()

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
                session_properties={"hive.insert_existing_partitions_behavior": "OVERWRITE"},
            )
        return con

    def execute(self, sql: str, params: Any = None) -> pa.Table:
        import trino

        cursor = self.connection.cursor()
        try:
            cursor.execute(sql, params or None)
            rows = cursor.fetchall()
        except trino.exceptions.TrinoUserError as exc:
            raise QueryError(f"{exc.error_name}: {exc.message}") from None
        except trino.exceptions.Error as exc:
            raise QueryError(str(exc).strip().splitlines()[0]) from None
        except OSError as exc:
            raise QueryError(f"cannot reach Trino at {self.settings.host}:{self.settings.port}: {exc}") from None
        columns = [d[0] for d in cursor.description or []]
        types = [_arrow_type(d[1]) for d in cursor.description or []]
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


def _arrow_type(trino_type: str) -> pa.DataType:
    base = trino_type.split("(")[0].strip().lower()
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


def _value(value: Any, kind: pa.DataType) -> Any:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    if pa.types.is_string(kind) and not isinstance(value, str):
        return str(value)
    return value
