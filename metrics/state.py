"""Small JSON records kept on the operator's machine: `$METRICS_STATE_DIR/<name>.json`.

The importers record there what they imported last (`superset-imports`, `grafana-imports`),
keyed by server URL, so that an edit made on the server since then is not overwritten silently.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from filelock import FileLock

from metrics import atomic
from metrics.problems import InputError

STATE_ENV = "METRICS_STATE_DIR"
DEFAULT_DIR = "~/.local/state/metrics-service"


def state_dir() -> Path:
    """`$METRICS_STATE_DIR`, or `~/.local/state/metrics-service`."""
    return Path(os.environ.get(STATE_ENV) or DEFAULT_DIR).expanduser()


class StateFile:
    """One JSON object on disk, read whole and updated one top-level key at a time."""

    def __init__(self, name: str, path: Path | str | None = None):
        self.path = Path(path) if path is not None else state_dir() / f"{name}.json"

    def read(self) -> dict[str, Any]:
        """The recorded object; empty when the file does not exist yet."""
        try:
            text = self.path.read_text("utf-8")
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(text)
        except ValueError as exc:
            line, column = getattr(exc, "lineno", 1), getattr(exc, "colno", 1)
            raise InputError.at(
                self.path, f"the state file is not JSON ({exc})", "fix or delete it; after deleting, the next import needs --force", line, column
            ) from None
        if not isinstance(data, dict):
            raise InputError.at(
                self.path, f"the state file holds a {type(data).__name__}, not an object", "fix or delete it; after deleting, the next import needs --force"
            )
        return data

    def update(self, key: str, value: Any) -> None:
        """Set one top-level key, keeping what other writers recorded under other keys meanwhile."""
        # Read-modify-write under a lock: two imports into different servers both keep their records.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(self.path.with_name(self.path.name + ".lock")):
            data = self.read()
            data[key] = value
            atomic.write_json(self.path, data)
