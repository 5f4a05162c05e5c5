"""Project settings: where the catalogue, the query folders and the warehouse are.

Precedence: command-line option > environment variable > `metrics.toml` in the current
folder > built-in default (paths relative to the current folder).
"""

from __future__ import annotations

import os
import re
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
    superset_url: str | None = None
    """Superset's base URL, for links to a spec's dashboard (`metrics site`); none when not set."""
    grafana_url: str | None = None
    """Grafana's base URL, for links to a spec's board (`metrics site`); none when not set."""

    def with_overrides(self, **values: object) -> "Settings":
        """A copy with the given non-None values set (paths as paths)."""
        paths = {"catalogue", "queries", "warehouse"}
        changes: dict[str, Any] = {k: Path(str(v)) if k in paths else str(v) for k, v in values.items() if v is not None}
        return replace(self, **changes)


def load_settings(config_file: Path | str | None = None, **overrides: object) -> Settings:
    """Settings from the config file, the environment and `overrides`, in rising precedence.

    Raises `InputError` at the line of a bad setting: the file unreadable, not TOML, `[metrics]`
    not a table, an unknown key, a value that is not text or holds a control character.
    """
    from metrics.problems import InputError

    settings = Settings()
    path = Path(config_file) if config_file else Path(CONFIG_FILE)
    if path.exists():
        table = _read(path)
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


def _read(path: Path) -> dict[str, str]:
    """The `[metrics]` table of a config file, each value checked to be text."""
    from metrics.problems import InputError
    from metrics.yamlfile import read_text

    text = read_text(path, kind="TOML")
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"^(?P<what>.*) \(at line (?P<line>\d+), column (?P<column>\d+)\)$", str(exc))
        what, line, column = (found["what"], int(found["line"]), int(found["column"])) if found else (str(exc), 1, 1)
        if what.endswith(" (at end of document)"):
            what, line = what.removesuffix(" (at end of document)") + " at the end of the file", max(1, len(text.splitlines()))
        raise InputError.at(path, f"invalid TOML: {what}", "fix the syntax of the config file", line, column) from None
    except RecursionError:
        raise InputError.at(path, "invalid TOML: arrays or tables nested too deep", "a config file holds a [metrics] table of text settings") from None
    table = document.get("metrics", {})
    if not isinstance(table, dict):
        raise InputError.at(
            path, "`metrics` is not a table", 'write [metrics] and under it settings such as catalogue = "metrics/catalogue"', _line(text, "metrics")
        )
    known = {f.name for f in fields(Settings)}
    unknown = sorted(set(table) - known)
    if unknown:
        raise InputError.at(
            path, f"unknown setting(s) {', '.join(unknown)} in [metrics]", f"known settings: {', '.join(sorted(known))}", _line(text, unknown[0])
        )
    for key, value in table.items():
        if not isinstance(value, str):
            kind = "a list" if isinstance(value, list) else "a table" if isinstance(value, dict) else f"the {type(value).__name__} {value}"
            raise InputError.at(path, f"setting {key} is {kind[:60]}, not text", f'write it in quotes: {key} = "..."', _line(text, key))
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise InputError.at(path, f"setting {key} holds a control character", "write the path or name on its own, without escapes", _line(text, key))
    return table


def _line(text: str, key: str) -> int:
    """The line where `key` is set (`key = ...`, `"key" = ...` or `metrics.key = ...`), else 1."""
    pattern = re.compile(rf"""^\s*(?:metrics\.)?["']?{re.escape(key)}["']?\s*[=.\]]""")
    for number, line in enumerate(text.splitlines(), 1):
        if pattern.match(line) or line.strip() == f"[{key}]":
            return number
    return 1
