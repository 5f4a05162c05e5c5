"""DuckDB, the embedded default engine: views over the Parquet files, nothing to start."""

from __future__ import annotations

import functools
import threading
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

import duckdb
import pyarrow as pa
from sqlglot import exp

from metrics import atomic
from metrics.engines.base import Engine, QueryError
from metrics.engines.sql import check_params, generate
from metrics.errors import MetricsError
from metrics.warehouse import SQL_TYPES, Partition, TableInfo, Warehouse


def view_sql(warehouse: Warehouse, info: TableInfo) -> str:
    """`CREATE OR REPLACE VIEW` for one table: an exact-depth glob, typed partition keys, evolving columns."""
    name = f'"{info.schema}"."{info.name}"'
    columns = {**info.columns, **info.partition_by}
    if not warehouse.files(info):
        typed = ", ".join(f'CAST(NULL AS {SQL_TYPES[t]}) AS "{c}"' for c, t in columns.items())
        return f"CREATE OR REPLACE VIEW {name} AS SELECT {typed} WHERE false"
    glob = warehouse.glob(info).replace("'", "''")
    hive_types = ", ".join(f"'{k}': '{SQL_TYPES[t]}'" for k, t in info.partition_by.items())
    # union_by_name reads every file's footer at each query: only when files differ in columns
    # (older files lacking a newer column, which then reads as NULL).
    options = "hive_partitioning = true" + ("" if info.uniform else ", union_by_name = true") + (f", hive_types = {{{hive_types}}}" if hive_types else "")
    select = ", ".join(f'"{c}"' for c in columns)
    return f"CREATE OR REPLACE VIEW {name} AS SELECT {select} FROM read_parquet('{glob}', {options})"


class DuckDBEngine(Engine):
    """DuckDB in this process: one view per warehouse table, re-created when the table is published."""

    name = "DuckDB"
    dialect = "duckdb"
    different_results = {
        "slice": "returns different elements on DuckDB (1-based, end inclusive vs length)",
        "array_distinct": "keeps a different element order on DuckDB",
        "approx_distinct": "is an estimate; engines estimate differently",
        "approx_percentile": "is an estimate; engines estimate differently",
        "approx_count_distinct": "is an estimate; engines estimate differently",
    }

    def __init__(self, warehouse: Warehouse, database: str = ":memory:", *, write_mode: str | None = None, lazy: bool = False):
        super().__init__(warehouse, write_mode=write_mode, lazy=lazy)
        self.con = duckdb.connect(database)
        self.con.execute("SET TimeZone = 'UTC'")
        self._local = threading.local()
        self._ddl = threading.Lock()  # concurrent CREATE VIEW conflict in DuckDB's catalog
        if not lazy:
            self.refresh()

    @classmethod
    @functools.cache
    def functions(cls) -> frozenset[str]:
        con = duckdb.connect()
        try:
            return frozenset(name.lower() for (name,) in con.sql("SELECT DISTINCT function_name FROM duckdb_functions()").fetchall())
        finally:
            con.close()

    @property
    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's connection to the shared database (a DuckDB connection is not thread-safe)."""
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            cursor = self._local.cursor = self.con.cursor()
            cursor.execute("SET TimeZone = 'UTC'")
        return cursor

    def execute(self, sql: str, params: Any = None) -> pa.Table:
        try:
            relation = self.cursor.sql(sql, params=params or None)
            if relation is None:  # a statement without a result (DDL, SET)
                return pa.table({})
            return relation.to_arrow_table()
        except duckdb.Error as exc:
            raise QueryError(str(exc).strip().splitlines()[0]) from None

    def bind(self, tree: exp.Expression, params: Mapping[str, Any]) -> tuple[str, Any]:
        # DuckDB binds by name: sqlglot renders `:name` as `$name`.
        check_params(tree, params)
        return generate(tree, self.dialect), dict(params)

    def schemas(self) -> list[str]:
        rows = self.execute("SELECT DISTINCT table_schema AS s FROM information_schema.tables ORDER BY 1")
        return rows.column("s").to_pylist()

    def tables(self, schema: str) -> list[str]:
        rows = self.query("SELECT table_name AS t FROM information_schema.tables WHERE table_schema = $schema ORDER BY 1", {"schema": schema})
        return rows.column("t").to_pylist()

    def columns(self, schema: str, table: str) -> dict[str, str]:
        rows = self.query(
            "SELECT column_name AS c, data_type AS t FROM information_schema.columns"
            " WHERE table_schema = $schema AND table_name = $table ORDER BY ordinal_position",
            {"schema": schema, "table": table},
        )
        return dict(zip(rows.column("c").to_pylist(), rows.column("t").to_pylist()))

    def publish(self, schema: str, table: str, partition: Partition | None = None, *, new: bool = False) -> None:
        # The view's glob already matches a new partition's files; re-creating it also picks up
        # new columns, and the first files of a table that had none.
        info = self.warehouse.info(schema, table)
        if info is not None:
            with self._ddl:
                self._create_view(info)

    def prepare(self, tables: Iterable[tuple[str, str]]) -> None:
        with self._ddl:
            for schema, table in set(tables):
                try:
                    info = self.warehouse.info(schema, table)
                except MetricsError:
                    continue  # not a name the warehouse could hold
                if info is not None:
                    self._create_view(info)

    def refresh(self) -> None:
        with self._ddl:
            for info in self.warehouse.tables():
                self._create_view(info)

    def _create_view(self, info: TableInfo) -> None:
        self.cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{info.schema}"')
        # Binding the view reads the files its glob matches; another process replacing a partition
        # at that moment moves a file away between the listing and the read. Listed again, it is there.
        for attempt in range(5):
            try:
                self.cursor.execute(view_sql(self.warehouse, info))
                return
            except duckdb.IOException:
                if attempt == 4:
                    raise
                time.sleep(0.05 * 2**attempt)

    def close(self) -> None:
        self.con.close()


CATALOG_STORAGE_VERSION = "v1.0.0"
"""The storage version of the catalog file: every DuckDB 1.x reads it. A stock Superset's driver
(`apache-superset[duckdb]` 6.1.0 pins duckdb >=1.4.2,<2) cannot open a file in DuckDB 2.0's own
format ("version number 69"); measured in scripts/superset/NOTES.md, whose Superset test harness is
that stock install."""


def write_catalog(warehouse: Warehouse, path: Path | str) -> Path:
    """Write a DuckDB file holding only views over the warehouse, swapped in with `os.replace`.

    Superset (and any other reader) opens it read-only; no process keeps a write connection to
    the live file, so readers never meet a lock. The views use absolute paths. The file is in
    storage version CATALOG_STORAGE_VERSION, so DuckDB 1.x (a stock Superset's driver) reads it too.
    """
    path = Path(path).absolute()
    with atomic.temporary(path) as tmp:
        tmp.unlink()  # DuckDB makes its own file; an empty one is not a database to it
        con = duckdb.connect()
        try:
            file_name = str(tmp).replace("'", "''")
            con.execute(f"ATTACH '{file_name}' AS catalog_file (STORAGE_VERSION '{CATALOG_STORAGE_VERSION}')")
            con.execute("USE catalog_file")
            for info in warehouse.tables():
                con.execute(f'CREATE SCHEMA IF NOT EXISTS "{info.schema}"')
                con.execute(view_sql(warehouse, info))
            con.execute("CHECKPOINT")
            con.execute("USE memory")
            con.execute("DETACH catalog_file")
        finally:
            con.close()
        tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
    return path
