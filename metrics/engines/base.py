"""The engine interface: what SQL means on one engine, over the tables of one warehouse.

An engine states its dialect, the functions it has (for validation), how it binds values,
how it lists schemas, tables and columns, and how a written partition becomes visible. Writes
go through the warehouse (Parquet files), so every engine reads what any other wrote. Nothing
outside `metrics.engines` imports an engine's library or asks which engine it has.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar, Iterable, Mapping, Sequence

import pyarrow as pa

from metrics.errors import MetricsError
from metrics.warehouse import Partition, Warehouse

if TYPE_CHECKING:
    import pandas as pd  # imported when a DataFrame is asked for: commands that never make one start faster
    from sqlglot import exp


class QueryError(MetricsError, RuntimeError):
    """The engine refused or failed a query; the message is the engine's, first line."""


class Engine(ABC):
    """Runs SQL over the tables of one warehouse; subclasses state only what differs.

    SQL given to `query` is one statement in `dialect` (the engine's own unless told), with
    values bound by name: `:name` placeholders and `params={"name": value}`. Values are never
    formatted into the SQL text.
    """

    name: ClassVar[str] = ""
    """The engine's name as users know it (in messages)."""

    dialect: ClassVar[str] = ""
    """The sqlglot dialect name of the SQL this engine runs."""

    different_results: ClassVar[Mapping[str, str]] = {}
    """Functions (lower-case name -> how) whose results on this engine differ from Trino's."""

    write_modes: ClassVar[tuple[str, ...]] = ("files",)
    """How report results may reach this engine's tables (see `metrics.config.WRITE_MODES`); the first is the default."""

    def __init__(self, warehouse: Warehouse, *, write_mode: str | None = None, lazy: bool = False):
        self.warehouse = warehouse
        self.lazy = lazy
        """Whether the engine skipped `refresh` at open and shows only the tables given to `prepare`."""
        mode = write_mode or self.write_modes[0]
        if mode not in self.write_modes:
            raise MetricsError(
                f"{self.name} cannot write in mode {mode!r}",
                f"use write_mode {' or '.join(repr(m) for m in self.write_modes)} with this engine ('sql' needs engine trino)",
            )
        self.write_mode = mode
        """`files`: the writer puts Parquet files in the warehouse folder and publishes them;
        `sql`: the engine itself writes its tables (`create_table`, `replace_rows`, `append_rows`)."""

    # --- what SQL means here ---------------------------------------------------------------

    @classmethod
    @abstractmethod
    def functions(cls) -> frozenset[str]:
        """Lower-case names of every function the engine has; needs no warehouse (validation asks it)."""

    @abstractmethod
    def execute(self, sql: str, params: Any = None) -> pa.Table:
        """Run one statement already in the engine's SQL and driver's parameter style (what `bind` returns)."""

    def bind(self, tree: exp.Expression, params: Mapping[str, Any]) -> tuple[str, Any]:
        """A parsed (and typed) statement with named placeholders as this engine's SQL, and `params` as its driver takes them.

        The default is the DB-API qmark style: `?` in the text, values in a list in text order.
        """
        from metrics.engines.sql import positional

        return positional(tree, self.dialect, params)

    def query(self, sql: str, params: Mapping[str, Any] | None = None, *, dialect: str | None = None) -> pa.Table:
        """Run one statement written in `dialect` (default: the engine's), `:name` placeholders bound to `params`.

        Raises `QueryError`. SQL of another dialect is transpiled, typed by the warehouse's
        columns (Trino's integer division stays integer).
        """
        read = dialect or self.dialect
        if read == self.dialect and not params:
            return self.execute(sql)  # nothing to rewrite: the engine reads it as written
        from metrics.engines.sql import keep_meaning, parse

        tree = parse(sql, read)
        if read != self.dialect:
            tree = keep_meaning(tree, read, self.dialect, self.sql_schema)
        text, values = self.bind(tree, params or {})
        return self.execute(text, values)

    def dataframe(self, sql: str, params: Mapping[str, Any] | None = None, *, dialect: str | None = None) -> pd.DataFrame:
        """`query` as a pandas DataFrame, with the warehouse's types (no 128-bit integers as Decimal)."""
        from metrics.warehouse import normalize

        return normalize(self.query(sql, params, dialect=dialect)).to_pandas()

    # --- what the engine sees --------------------------------------------------------------

    @abstractmethod
    def schemas(self) -> list[str]:
        """The schemas holding at least one table, sorted."""

    @abstractmethod
    def tables(self, schema: str) -> list[str]:
        """The tables (and views) of one schema, sorted."""

    @abstractmethod
    def columns(self, schema: str, table: str) -> dict[str, str]:
        """Column name -> SQL type of one table, in table order (partition keys last); empty if unknown."""

    def sql_schema(self) -> dict[str, dict[str, dict[str, str]]]:
        """Every table's columns as schema -> table -> column -> SQL type (sqlglot's form)."""
        return {s: {t: self.columns(s, t) for t in self.tables(s)} for s in self.schemas()}

    # --- writes becoming visible -----------------------------------------------------------

    @abstractmethod
    def publish(self, schema: str, table: str, partition: Partition | None = None, *, new: bool = False) -> None:
        """Make what was just written to a table visible: one `partition`, or any (None); `new` for a new table.

        Called after every write through the warehouse (DuckDB re-creates its view; a Hive
        metastore engine registers the partition).
        """

    def prepare(self, tables: Iterable[tuple[str, str]]) -> None:  # noqa: B027  optional: an engine whose catalog is shared sees every table
        """Make the named `(schema, table)` tables visible, for an engine opened with `lazy=True`.

        A lazily opened engine skips `refresh` (seconds for a warehouse of many tables, or many
        round trips to a cluster) and shows only the tables a short-lived command names. Names
        of tables the warehouse lacks are ignored: the query then fails naming the table.
        """

    def environment(self) -> dict[str, str]:
        """The `METRICS_*` variables with which a child process opens this same engine over this warehouse (`metrics.config`)."""
        return {"METRICS_WAREHOUSE": str(self.warehouse.root), "METRICS_ENGINE": self.dialect, "METRICS_WRITE_MODE": self.write_mode}

    def refresh(self) -> None:
        """Make every table of the warehouse (and their new columns and partitions) visible, e.g. after another process wrote."""
        for info in self.warehouse.tables():
            self.publish(info.schema, info.name)

    def write_partition(self, schema: str, table: str, partition: Partition, data: pa.Table) -> None:
        """Atomically replace one partition in the warehouse and publish it."""
        new = self.warehouse.info(schema, table) is None
        self.warehouse.replace_partition(schema, table, partition, data)
        self.publish(schema, table, partition, new=new)

    # --- writing through the engine (write_mode "sql") --------------------------------------

    def replace_rows(self, schema: str, table: str, rows: pa.Table, partition_by: str, replaced: Mapping[Any, Sequence[Mapping[str, str]] | None]) -> None:
        """In each partition value of `replaced`, swap the rows matching any of its combinations for `rows`' rows of that value.

        `rows` has the `partition_by` column; `replaced` maps a partition value to the
        combinations (column -> text value) whose rows it replaces, or None for every row.
        Other rows of those partitions are kept; a partition left without rows is dropped.
        Creates the table, or adds the columns it lacks. Only for `write_mode = "sql"`.
        """
        raise MetricsError(f"{self.name} does not write tables itself", "use write_mode 'files'")

    def append_rows(self, schema: str, table: str, rows: pa.Table, partition_by: Sequence[str]) -> None:
        """Add rows to a table (created when missing) without replacing any. Only for `write_mode = "sql"`."""
        raise MetricsError(f"{self.name} does not write tables itself", "use write_mode 'files'")

    def create_table(self, schema: str, table: str, columns: pa.Schema, partition_by: Sequence[str]) -> None:
        """Create a table with `columns` (partition columns among them) if missing. Only for `write_mode = "sql"`."""
        raise MetricsError(f"{self.name} does not write tables itself", "use write_mode 'files'")

    def close(self) -> None:  # noqa: B027  optional: an engine without connections has nothing to release
        """Release the engine's connections."""

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
