"""Query engines over the warehouse: one small interface, one subclass per engine.

from metrics.engines import open_engine
with open_engine("warehouse") as engine:                    # DuckDB, embedded, by default
    engine.dataframe("SELECT wiki, count(*) AS n FROM event.x WHERE day = :day GROUP BY 1",
                     {"day": 3}, dialect="trino")
"""

from __future__ import annotations

from pathlib import Path

from metrics.config import Settings
from metrics.engines.base import Engine, QueryError
from metrics.engines.sql import DEFAULT_DIALECT, DIALECTS, transpile
from metrics.warehouse import Warehouse

ENGINES = ("duckdb", "trino")
DEFAULT_ENGINE = "duckdb"


def engine_class(kind: str = DEFAULT_ENGINE) -> type[Engine]:
    """The engine class named `kind`, for what needs no warehouse (its dialect, its functions)."""
    if kind == "duckdb":
        from metrics.engines.duckdb import DuckDBEngine

        return DuckDBEngine
    if kind == "trino":
        from metrics.engines.trino import TrinoEngine

        return TrinoEngine
    raise ValueError(f"unknown engine {kind!r} (known: {', '.join(ENGINES)})")


def open_engine(
    warehouse: Warehouse | Path | str, kind: str = DEFAULT_ENGINE, uri: str | None = None, *, write_mode: str | None = None, lazy: bool = False
) -> Engine:
    """An engine of `kind` over the warehouse (DuckDB, embedded, is the default; Trino needs `uri`).

    `write_mode` (`files` by default, `sql` for Trino only) says how the runner writes report tables.
    `lazy` skips making every table visible at open: only those given to `Engine.prepare` are
    (for short-lived commands such as the `hive` of script reports).
    """
    if not isinstance(warehouse, Warehouse):
        warehouse = Warehouse(warehouse)
    if kind == "trino":
        from metrics.engines.trino import TrinoEngine, TrinoSettings

        if not uri:
            raise ValueError("the Trino engine needs a trino:// URI")
        return TrinoEngine(warehouse, TrinoSettings.from_uri(uri), write_mode=write_mode, lazy=lazy)
    return engine_class(kind)(warehouse, write_mode=write_mode, lazy=lazy)


def open_configured(settings: Settings, warehouse: Warehouse | Path | str | None = None, *, lazy: bool = False) -> Engine:
    """The engine the settings name (`engine`, `engine_uri`, `write_mode`), over their warehouse or `warehouse`."""
    return open_engine(
        warehouse if warehouse is not None else settings.warehouse, settings.engine, settings.engine_uri, write_mode=settings.write_mode, lazy=lazy
    )


__all__ = ["Engine", "QueryError", "open_engine", "open_configured", "engine_class", "transpile", "ENGINES", "DEFAULT_ENGINE", "DIALECTS", "DEFAULT_DIALECT"]
