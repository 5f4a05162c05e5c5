"""Query engines over the warehouse: one small interface, one subclass per engine.

from metrics.engines import open_engine
with open_engine("warehouse") as engine:                    # DuckDB, embedded, by default
    engine.dataframe("SELECT wiki, count(*) AS n FROM event.x WHERE day = :day GROUP BY 1",
                     {"day": 3}, dialect="trino")
"""

from __future__ import annotations

from pathlib import Path

from metrics.engines.base import Engine, QueryError
from metrics.engines.sql import DEFAULT_DIALECT, DIALECTS, transpile
from metrics.warehouse import Warehouse

ENGINES = ("duckdb",)
DEFAULT_ENGINE = "duckdb"


def engine_class(kind: str = DEFAULT_ENGINE) -> type[Engine]:
    """The engine class named `kind`, for what needs no warehouse (its dialect, its functions)."""
    if kind == "duckdb":
        from metrics.engines.duckdb import DuckDBEngine

        return DuckDBEngine
    raise ValueError(f"unknown engine {kind!r} (known: {', '.join(ENGINES)})")


def open_engine(warehouse: Warehouse | Path | str, kind: str = DEFAULT_ENGINE) -> Engine:
    """An engine of `kind` over the warehouse (DuckDB, embedded, is the default)."""
    if not isinstance(warehouse, Warehouse):
        warehouse = Warehouse(warehouse)
    return engine_class(kind)(warehouse)


__all__ = ["Engine", "QueryError", "open_engine", "engine_class", "transpile", "ENGINES", "DEFAULT_ENGINE", "DIALECTS", "DEFAULT_DIALECT"]
