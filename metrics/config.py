"""Project settings: where the catalogue, the query folders and the warehouse are.

Precedence: command-line option > environment variable > `metrics.toml` in the current
folder > built-in default (paths relative to the current folder).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from metrics import redact

CONFIG_FILE = "metrics.toml"
ENV_PREFIX = "METRICS_"


ENGINES = ("duckdb", "trino")
WRITE_MODES = ("files", "sql")
"""`files`: report results are Parquet files written into the warehouse folder, then published to
the engine (the folder must be reachable here). `sql`: results are written through the engine
(Trino `INSERT` with partition overwrite), for a warehouse only the cluster reaches."""


@dataclass(frozen=True)
class Settings:
    catalogue: Path = Path("metrics/catalogue")
    queries: Path = Path("reportupdater_queries")
    warehouse: Path = Path("warehouse")
    engine: str = "duckdb"
    """`duckdb` (embedded, the default) or `trino` (then `engine_uri` says where)."""
    engine_uri: str | None = None
    """For Trino: `trino://user@host:port/catalog` (secrets only from the environment, see metrics.engines.trino)."""
    write_mode: str = "files"
    """How the runner writes report tables: `files` (into the warehouse folder) or `sql` (through Trino); see WRITE_MODES."""

    def with_overrides(self, **values: object) -> "Settings":
        """A copy with the given non-None values set (paths as paths)."""
        paths = {"catalogue", "queries", "warehouse"}
        changes: dict[str, Any] = {k: Path(str(v)) if k in paths else str(v) for k, v in values.items() if v is not None}
        return replace(self, **changes)


def load_settings(config_file: Path | str | None = None, **overrides: object) -> Settings:
    """Settings from the config file, the environment and `overrides`, in rising precedence."""
    from metrics.problems import InputError

    settings = Settings()
    path = Path(config_file) if config_file else Path(CONFIG_FILE)
    if path.is_file():
        try:
            table = tomllib.loads(path.read_text("utf-8")).get("metrics", {})
        except tomllib.TOMLDecodeError as exc:
            raise InputError.at(path, f"invalid TOML: {exc}", "fix the syntax of the config file") from None
        known = {f.name for f in fields(Settings)}
        unknown = set(table) - known
        if unknown:
            raise InputError.at(path, f"unknown setting(s) {', '.join(sorted(unknown))} in [metrics]", f"known settings: {', '.join(sorted(known))}")
        settings = settings.with_overrides(**{k: path.parent / v if k in ("catalogue", "queries", "warehouse") else v for k, v in table.items()})
    elif config_file:
        raise InputError.at(path, "config file not found", "check the --config path")
    env = {f.name: os.environ.get(ENV_PREFIX + f.name.upper()) for f in fields(Settings)}
    settings = settings.with_overrides(**env).with_overrides(**overrides)
    redact.remember_url(settings.engine_uri)  # masked wherever it would be shown, even outside the URI
    if settings.engine not in ENGINES:
        raise InputError.at(path if path.is_file() else "METRICS_ENGINE", f"unknown engine {settings.engine!r}", f"use one of {', '.join(ENGINES)}")
    if settings.write_mode not in WRITE_MODES:
        raise InputError.at(
            path if path.is_file() else "METRICS_WRITE_MODE", f"unknown write_mode {settings.write_mode!r}", f"use one of {', '.join(WRITE_MODES)}"
        )
    if settings.write_mode == "sql" and settings.engine != "trino":
        raise InputError.at(
            path if path.is_file() else "METRICS_WRITE_MODE", "write_mode sql needs engine trino", 'set engine = "trino", or write_mode = "files"'
        )
    if settings.engine == "trino" and not settings.engine_uri:
        raise InputError.at(path if path.is_file() else "METRICS_ENGINE_URI", "engine trino needs engine_uri", 'set engine_uri = "trino://user@host:port/hive"')
    return settings
