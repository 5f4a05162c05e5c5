"""Query engines over the warehouse: one small interface, one subclass per engine."""

from __future__ import annotations

from pathlib import Path

from metrics.engines.base import Engine, QueryError
from metrics.warehouse import Warehouse

ENGINES = ("duckdb",)


def open_engine(warehouse: Warehouse | Path | str, kind: str = "duckdb") -> Engine:
    """An engine of `kind` over the warehouse (DuckDB, embedded, is the default)."""
    if not isinstance(warehouse, Warehouse):
        warehouse = Warehouse(warehouse)
    if kind == "duckdb":
        from metrics.engines.duckdb import DuckDBEngine

        return DuckDBEngine(warehouse)
    raise ValueError(f"unknown engine {kind!r} (known: {', '.join(ENGINES)})")


__all__ = ["Engine", "QueryError", "open_engine", "ENGINES"]
