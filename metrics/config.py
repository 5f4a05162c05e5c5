"""Project settings: where the catalogue, the query folders and the warehouse are, and where an environment's services are.

Precedence: command-line option > environment variable > the selected environment's
`[env.NAME]` table > the `[metrics]` table of `metrics.toml` in the current folder > built-in
default (paths relative to the config file's folder). An environment is selected with
`--env NAME` or `METRICS_ENV`; none is selected by default.

    [metrics]
    warehouse = "warehouse"

    [env.prod]
    warehouse = "/srv/metrics/warehouse"
    database_uri = "trino://superset@trino.example.org:8443/hive"
    superset_url = "https://superset.example.org"
    grafana_url = "https://grafana.example.org"
    graphite_url = "https://graphite.example.org"
    graphite_prefix = "prod"
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
    env: str | None = None
    """The selected environment (`[env.NAME]` of the config file), None when none is."""
    database_uri: str | None = None
    """The SQLAlchemy URI Superset queries the warehouse through, filled into bundles at import (default: the
    warehouse's `catalog.duckdb`, see superset_assets.database.default_uri). No password: SUPERSET_DB_PASSWORD at import."""
    superset_url: str | None = None
    """Base URL of the environment's Superset: the default of `metrics import superset --url`, and the links of `metrics site`."""
    grafana_url: str | None = None
    """Base URL of the environment's Grafana: the default of `metrics import grafana --url`, and the links of `metrics site`."""
    graphite_url: str | None = None
    """graphite-web URL of the environment, as Grafana reaches it: the default of `metrics build grafana --graphite-url`
    (the provisioned datasource) and of `metrics verify --graphite-url`."""
    graphite_prefix: str | None = None
    """Path segments put before every Graphite path of the environment (`metrics.graphite_paths.prefixed`): report
    values sent to carbon, `metrics statsd sample` buckets, Grafana targets at import, `metrics verify` and `metrics plan`.
    None: paths exactly as the catalogue writes them."""

    def with_overrides(self, **values: object) -> "Settings":
        """A copy with the given non-None values set (paths as paths)."""
        paths = {"catalogue", "queries", "warehouse"}
        changes: dict[str, Any] = {k: Path(str(v)) if k in paths else str(v) for k, v in values.items() if v is not None}
        return replace(self, **changes)


ENV_TABLE = "env"
URL_SETTINGS = ("superset_url", "grafana_url", "graphite_url")
"""Settings that are a service's base URL, checked to be http(s)."""
SETTING_NAMES = tuple(f.name for f in fields(Settings) if f.name != "env")
"""What `[metrics]` and each `[env.NAME]` may set."""


def load_settings(config_file: Path | str | None = None, env: str | None = None, **overrides: object) -> Settings:
    """Settings from the config file, the selected environment, the environment variables and `overrides`, in rising precedence.

    `env` (else METRICS_ENV) names an `[env.NAME]` table of the config file, whose settings replace
    those of `[metrics]`. Raises `InputError` at the line of a bad setting: the file unreadable, not
    TOML, an unknown top-level table, a table that is not one, an unknown key (in any environment, selected
    or not), a value that is not text or holds a control character, a service URL that is not http(s),
    an environment the file does not name (the error lists those it names).
    """
    from metrics.problems import InputError

    settings = Settings()
    path = Path(config_file) if config_file else Path(CONFIG_FILE)
    env = env or os.environ.get(ENV_PREFIX + "ENV") or None
    if path.exists():
        tables = _read(path, env)
        for table in tables:
            settings = settings.with_overrides(**{k: path.parent / v if k in ("catalogue", "queries", "warehouse") else v for k, v in table.items()})
    elif config_file:
        raise InputError.at(path, "config file not found", "check the --config path")
    elif env:
        raise InputError.at(
            path.absolute(),
            f"environment {env!r} is selected (--env or METRICS_ENV) but there is no config file",
            f"write [{ENV_TABLE}.{env}] into {CONFIG_FILE}, or pass --config",
        )
    settings = replace(settings, env=env)
    env_vars = {name: os.environ.get(ENV_PREFIX + name.upper()) for name in SETTING_NAMES}
    settings = settings.with_overrides(**env_vars).with_overrides(**overrides)
    redact.remember_url(settings.engine_uri)  # masked wherever it would be shown, even outside the URI
    redact.remember_url(settings.database_uri)
    if settings.database_uri and redact.url_secrets(settings.database_uri):
        from_file = not os.environ.get(ENV_PREFIX + "DATABASE_URI")
        text = path.read_text("utf-8") if from_file else ""
        line = _line(text, "database_uri", _section_line(text, env) if env else 1) if from_file else 1
        raise InputError.at(
            path if from_file else ENV_PREFIX + "DATABASE_URI",
            f"database_uri {redact.mask_url(settings.database_uri)} holds a secret",
            "remove it: Superset gets the database password from SUPERSET_DB_PASSWORD at import, never from a file",
            line,
        )
    if settings.graphite_prefix is not None:  # from the file it was checked at its line; from the environment here
        _check_prefix(settings.graphite_prefix, ENV_PREFIX + "GRAPHITE_PREFIX" if os.environ.get(ENV_PREFIX + "GRAPHITE_PREFIX") else path)
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


def _read(path: Path, env: str | None = None) -> list[dict[str, str]]:
    """The `[metrics]` table of a config file, then the `[env.<env>]` table when `env` is given, each value checked to be text."""
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
    unknown = sorted(set(document) - {"metrics", ENV_TABLE})
    if unknown:
        raise InputError.at(
            path,
            f"unknown table [{unknown[0][:64]}]",
            f"known tables: [metrics], and [{ENV_TABLE}.NAME] for each environment",
            _table_line(text, unknown[0]),
        )
    table = document.get("metrics", {})
    if not isinstance(table, dict):
        raise InputError.at(
            path, "`metrics` is not a table", 'write [metrics] and under it settings such as catalogue = "metrics/catalogue"', _line(text, "metrics")
        )
    tables = [_checked(path, text, table, "metrics")]
    envs = document.get(ENV_TABLE, {})
    if not isinstance(envs, dict) or not all(isinstance(v, dict) for v in envs.values()):
        raise InputError.at(
            path,
            f"`{ENV_TABLE}` is not a table of environments",
            f'write [{ENV_TABLE}.NAME] and under it settings such as superset_url = "https://..."',
            _line(text, ENV_TABLE),
        )
    for name in envs:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name):
            raise InputError.at(path, f"environment name {name[:64]!r} is not a plain name", "use letters, digits, '-' and '_'", _section_line(text, name))
    checked = {name: _checked(path, text, settings, f"{ENV_TABLE}.{name}") for name, settings in envs.items()}  # a typo in any, not only the selected
    if env is not None:
        if env not in envs:
            known = ", ".join(sorted(envs)) or f"none (no [{ENV_TABLE}.NAME] table)"
            raise InputError.at(
                path, f"unknown environment {env[:64]!r} (--env or METRICS_ENV)", f"environments in this file: {known}", _section_line(text, None)
            )
        tables.append(checked[env])
    return tables


def _checked(path: Path, text: str, table: dict, section: str) -> dict[str, str]:
    """`table` (of `[section]`) if it sets only known settings, each to one line of text."""
    from metrics.problems import InputError

    start = _section_line(text, section.partition(".")[2] or None) if section != "metrics" else 1
    unknown = sorted(set(table) - set(SETTING_NAMES))
    if unknown:
        raise InputError.at(
            path,
            f"unknown setting(s) {', '.join(unknown)} in [{section}]",
            f"known settings: {', '.join(sorted(SETTING_NAMES))}",
            _line(text, unknown[0], start),
        )
    for key, value in table.items():
        if not isinstance(value, str):
            kind = "a list" if isinstance(value, list) else "a table" if isinstance(value, dict) else f"the {type(value).__name__} {value}"
            raise InputError.at(path, f"setting {key} is {kind[:60]}, not text", f'write it in quotes: {key} = "..."', _line(text, key, start))
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise InputError.at(path, f"setting {key} holds a control character", "write the path or name on its own, without escapes", _line(text, key, start))
        if key == "graphite_prefix":
            _check_prefix(value, path, _line(text, key, start))
        if key in URL_SETTINGS and not re.fullmatch(r"https?://[^\s/?#]+\S*", value):
            raise InputError.at(
                path,
                f"{key} {value[:80]!r} is not an http:// or https:// URL",
                f'write it whole, e.g. {key} = "https://host.example.org"',
                _line(text, key, start),
            )
    return table


def _check_prefix(value: str, where: Path | str, line: int = 1) -> None:
    """Raise `InputError` at `where`:`line` unless `value` is a Graphite prefix (`metrics.graphite_paths.prefix_problem`)."""
    from metrics.graphite_paths import prefix_problem
    from metrics.problems import InputError

    problem = prefix_problem(value)
    if problem:
        raise InputError.at(
            where,
            f"graphite_prefix {value[:80]!r} is not a Graphite path prefix: {problem}",
            'use path segments of letters, digits, "_", "-" and "=" joined by dots, e.g. graphite_prefix = "staging"',
            line,
        )


def _section_line(text: str, env: str | None) -> int:
    """The line of `[env.<env>]` (of the first `[env.` table when `env` is None), else 1."""
    pattern = re.compile(rf"""^\s*\[\s*{ENV_TABLE}\s*\.\s*["']?{re.escape(env) if env else ""}""")
    for number, line in enumerate(text.splitlines(), 1):
        if pattern.match(line):
            return number
    return 1


def _table_line(text: str, name: str) -> int:
    """The first line that opens the table `name` (`[name]`, `[name.x]`, `[[name]]`) or sets a dotted key under it, else 1."""
    pattern = re.compile(rf"""^\s*(?:\[\[?\s*["']?{re.escape(name)}["']?\s*[.\]]|["']?{re.escape(name)}["']?\s*[.=])""")
    for number, line in enumerate(text.splitlines(), 1):
        if pattern.match(line):
            return number
    return 1


def _line(text: str, key: str, start: int = 1) -> int:
    """The first line from `start` on where `key` is set (`key = ...`, `"key" = ...` or `metrics.key = ...`), else `start`."""
    pattern = re.compile(rf"""^\s*(?:metrics\.)?["']?{re.escape(key)}["']?\s*[=.\]]""")
    for number, line in enumerate(text.splitlines()[start - 1 :], start):
        if pattern.match(line) or line.strip() == f"[{key}]":
            return number
    return start
