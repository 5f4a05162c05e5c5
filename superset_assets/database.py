"""The database entry: the warehouse as Superset sees it (the embedded DuckDB catalog file, or a URI)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from metrics import redact
from metrics.errors import Location, MetricsError
from superset_assets.naming import object_uuid

DATABASE_NAME = "metrics_warehouse"
MASKED_PASSWORD = redact.MASK
"""What Superset's own export writes for a password; the real one comes with the import (`passwords`)."""
PASSWORD_PARAMETERS = frozenset({"password", "passwd", "pwd"})
"""Query parameters SQLAlchemy dialects pass to the driver as the password, like the URI's own."""


ENVIRONMENT_URI = "metrics-environment://database"
"""The database URI of an environment-neutral bundle (the committed ones): no machine's path or host.
The importer replaces the database file with the selected environment's (`bundle.fill_database_uri`);
Superset has no driver for it."""


def is_neutral(uri: str) -> bool:
    """Whether a bundle's database URI is the environment placeholder."""
    return uri == ENVIRONMENT_URI


def duckdb_uri(catalog: Path | str) -> str:
    """`duckdb:////abs/path/catalog.duckdb` for the views file `metrics export-duckdb` writes."""
    return f"duckdb:///{Path(catalog).absolute()}"


def default_uri(warehouse: Path | str) -> str:
    """The embedded default: `<warehouse>/catalog.duckdb`, absolute."""
    return duckdb_uri(Path(warehouse) / "catalog.duckdb")


def missing_catalog(uri: str) -> Path | None:
    """The file of a `duckdb:///path` URI (absolute) when its folder is on this machine but the file is not; None for
    any other URI, `:memory:`, MotherDuck (`md:`), or a folder this machine does not have (the warehouse of an
    environment on another host). Superset opens the URI only when a chart runs, so every chart would fail
    "Cannot open database": the import commands refuse it first."""
    if not uri.startswith("duckdb:///"):
        return None
    name = unquote(uri.removeprefix("duckdb:///").partition("?")[0])
    if not name or name.startswith((":", "md:", "motherduck:")):
        return None
    path = Path(name).absolute()
    return path if path.parent.is_dir() and not path.is_file() else None


def mask_password(uri: str) -> tuple[str, bool]:
    """The URI as a bundle holds it, and whether it has a password Superset must be given at import time.

    A bundle never holds a secret; Superset's import takes the password of a URI masked as its
    own export masks it (`user:XXXXXXXXXX@host`) from the `passwords` form field, and the importer
    fills that field from the environment (SUPERSET_DB_PASSWORD). So the URI's password is masked,
    and a password given as a query parameter (`?password=`, `passwd`, `pwd`) is moved to the
    masked userinfo, where the import puts it back (SQLAlchemy gives both to the driver alike).
    Any other secret parameter (`token=`, `key=`...) has no place in Superset's import: refused
    (MetricsError, naming the parameter, never its value).
    """
    scheme, sep, rest = uri.partition("://")
    if not sep:
        return uri, False
    netloc, tail = re.match(r"([^/?#]*)(.*)", rest, re.S).groups()  # type: ignore[union-attr]
    tail, hash_, fragment = tail.partition("#")
    path, question, query = tail.partition("?")
    kept, moved = [], []
    for name in (pair.partition("=")[0] for pair in re.split("[&;]", fragment)):
        if redact.is_secret_name(name):
            raise MetricsError(f"the engine URI holds the secret parameter {unquote(name)!r} after its '#'", "remove it from the URI", Location("--engine-uri"))
    for pair in re.split("[&;]", query) if query else []:
        name = pair.partition("=")[0]
        if unquote(name).lower() in PASSWORD_PARAMETERS:
            moved.append(name)
        elif redact.is_secret_name(name):
            raise MetricsError(
                f"the engine URI holds the secret query parameter {unquote(name)!r}, which a Superset bundle cannot take from the environment",
                "give the password as user:password@host (masked in the bundle, given at import from SUPERSET_DB_PASSWORD), "
                "or set the parameter in the database's settings in Superset",
                Location("--engine-uri"),
            )
        else:
            kept.append(pair)
    userinfo, at, host = netloc.rpartition("@")
    user, colon, _ = userinfo.partition(":")
    if colon and moved or len(moved) > 1:
        raise MetricsError("the engine URI gives its password twice (in user:password@ and as a query parameter)", "keep one of them", Location("--engine-uri"))
    if not (colon or moved):
        return uri, False
    query = "&".join(kept)
    return f"{scheme}://{user}:{MASKED_PASSWORD}@{host if at else netloc}{path}{'?' if query else ''}{query}{hash_}{fragment}", True


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
