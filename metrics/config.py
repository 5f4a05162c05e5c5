"""Project settings: where the catalogue, the query folders and the warehouse are.

Precedence: command-line option > environment variable > `metrics.toml` in the current
folder > built-in default (paths relative to the current folder).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path

CONFIG_FILE = "metrics.toml"
ENV_PREFIX = "METRICS_"


@dataclass(frozen=True)
class Settings:
    catalogue: Path = Path("metrics/catalogue")
    queries: Path = Path("reportupdater_queries")
    warehouse: Path = Path("warehouse")

    def with_overrides(self, **values: object) -> "Settings":
        """A copy with the given non-None values set (as paths)."""
        return replace(self, **{k: Path(str(v)) for k, v in values.items() if v is not None})


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
        settings = settings.with_overrides(**{k: path.parent / v for k, v in table.items()})
    elif config_file:
        raise InputError.at(path, "config file not found", "check the --config path")
    env = {f.name: os.environ.get(ENV_PREFIX + f.name.upper()) for f in fields(Settings)}
    return settings.with_overrides(**env).with_overrides(**overrides)
