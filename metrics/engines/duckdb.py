"""DuckDB, the embedded default engine: views over the Parquet files, nothing to start."""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path
from typing import Any, Mapping

import duckdb
import pyarrow as pa

from metrics.engines.base import Engine, QueryError
from metrics.warehouse import SQL_TYPES, TableInfo, Warehouse



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
    dialect = "duckdb"

    def __init__(self, warehouse: Warehouse, database: str = ":memory:"):
        super().__init__(warehouse)
        self.con = duckdb.connect(database)
        self.con.execute("SET TimeZone = 'UTC'")
        self._local = threading.local()
        self._ddl = threading.Lock()  # concurrent CREATE VIEW conflict in DuckDB's catalog
        self.refresh()

    @property
    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's connection to the shared database (a DuckDB connection is not thread-safe)."""
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            cursor = self._local.cursor = self.con.cursor()
            cursor.execute("SET TimeZone = 'UTC'")
        return cursor

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        try:
            relation = self.cursor.sql(sql, params=dict(params) if params else None)
            if relation is None:  # a statement without a result (DDL, SET)
                return pa.table({})
            return relation.to_arrow_table()
        except duckdb.Error as exc:
            raise QueryError(str(exc).strip().splitlines()[0]) from None

    def refresh(self) -> None:
        with self._ddl:
            for info in self.warehouse.tables():
                self.cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{info.schema}"')
                self.cursor.execute(view_sql(self.warehouse, info))

    def table_changed(self, schema: str, table: str, *, new: bool) -> None:
        info = self.warehouse.info(schema, table)
        if info is not None:
            with self._ddl:
                self.cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
                self.cursor.execute(view_sql(self.warehouse, info))

    def close(self) -> None:
        self.con.close()


def write_catalog(warehouse: Warehouse, path: Path | str) -> Path:
    """Write a DuckDB file holding only views over the warehouse, swapped in with `os.replace`.

    Superset (and any other reader) opens it read-only; no process keeps a write connection to
    the live file, so readers never meet a lock. The views use absolute paths.
    """
    path = Path(path).absolute()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.unlink(tmp_name)
    con = duckdb.connect(tmp_name)
    try:
        for info in warehouse.tables():
            con.execute(f'CREATE SCHEMA IF NOT EXISTS "{info.schema}"')
            con.execute(view_sql(warehouse, info))
        con.execute("CHECKPOINT")
    finally:
        con.close()
    os.replace(tmp_name, path)
    wal = Path(tmp_name + ".wal")
    if wal.exists():
        wal.unlink()
    return path
