"""The database entry: the warehouse as Superset sees it (the embedded DuckDB catalog file, or a URI)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from superset_assets.naming import object_uuid

DATABASE_NAME = "metrics_warehouse"
MASKED_PASSWORD = "XXXXXXXXXX"
"""What Superset's own export writes for a password; the real one comes with the import (`passwords`)."""


def duckdb_uri(catalog: Path | str) -> str:
    """`duckdb:////abs/path/catalog.duckdb` for the views file `metrics export-duckdb` writes."""
    return f"duckdb:///{Path(catalog).absolute()}"


def default_uri(warehouse: Path | str) -> str:
    """The embedded default: `<warehouse>/catalog.duckdb`, absolute."""
    return duckdb_uri(Path(warehouse) / "catalog.duckdb")


def mask_password(uri: str) -> tuple[str, bool]:
    """The URI with any password replaced by Superset's mask, and whether one was there."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri, False
    user = parts.username or ""
    host = parts.hostname or ""
    netloc = f"{user}:{MASKED_PASSWORD}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)), True


def database_uuid() -> str:
    return object_uuid("database", DATABASE_NAME)


def database_yaml(uri: str) -> dict[str, Any]:
    """The database file. DuckDB is opened read-only: a writer holding the file breaks every query,
    and read-write opens from two workers fail with lock errors."""
    extra: dict[str, Any] = {"allows_virtual_table_explore": True}
    if uri.startswith("duckdb:"):
        extra["engine_params"] = {"connect_args": {"read_only": True}}
    return {
        "database_name": DATABASE_NAME,
        "sqlalchemy_uri": mask_password(uri)[0],
        "cache_timeout": None,
        "expose_in_sqllab": True,
        "allow_run_async": False,
        "allow_ctas": False,
        "allow_cvas": False,
        "allow_dml": False,
        "allow_csv_upload": False,
        "impersonate_user": False,
        "configuration_method": "sqlalchemy_form",
        "extra": extra,
        "uuid": database_uuid(),
        "version": "1.0.0",
    }


def file_name() -> str:
    """The database file's path inside the bundle (also the key of the import `passwords` field)."""
    return f"databases/{DATABASE_NAME}.yaml"
