"""The engine interface: run SQL over the warehouse tables, write partitions atomically."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Mapping

import pandas as pd
import pyarrow as pa

from metrics.errors import MetricsError
from metrics.warehouse import Partition, Warehouse


class QueryError(MetricsError, RuntimeError):
    """The engine refused or failed a query; the message is the engine's, first line."""


class Engine(ABC):
    """Runs SQL in its own dialect over the tables of one warehouse.

    Subclasses state only what differs: how to run a query and how to make new tables and
    partitions visible. Writes go through the warehouse (Parquet files), so every engine reads
    what any other wrote.
    """

    dialect: str = ""
    """The sqlglot dialect name of the SQL this engine runs."""

    def __init__(self, warehouse: Warehouse):
        self.warehouse = warehouse

    @abstractmethod
    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        """Run one statement (named `$param` binds) and return its result as Arrow; raises `QueryError`."""

    @abstractmethod
    def refresh(self) -> None:
        """Make every table (and new columns and partitions) of the warehouse visible."""

    def dataframe(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """The result as a pandas DataFrame, with the warehouse's types (no 128-bit integers as Decimal)."""
        from metrics.warehouse import normalize

        return normalize(self.query(sql, params)).to_pandas()

    def replace_partition(self, schema: str, table: str, partition: Partition, data: pa.Table) -> None:
        """Atomically replace one partition and make it visible."""
        known = self.warehouse.info(schema, table)
        self.warehouse.replace_partition(schema, table, partition, data)
        self.table_changed(schema, table, new=known is None)

    def table_changed(self, schema: str, table: str, *, new: bool) -> None:
        """Called after a write; engines that cache table definitions refresh them."""
        self.refresh()

    def close(self) -> None:
        """Release the engine's connections."""

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
