"""A real MariaDB server (Debian's mariadb-server) for integration tests, on 127.0.0.1 and a free port.

    with running_mariadb() as server:               # MariaDB(host="127.0.0.1", port=..., state=...)
        with server.connect() as connection:        # as root, no password (local test server only)
            ...
        server.creds_file(path, "research", "secret")   # a my.cnf for `creds_file:`

`running_mariadb()` runs scripts/mariadb/install.sh (a no-op when installed) and scripts/mariadb/start.sh
with a fresh state directory, and at exit stops the server by its PID (scripts/mariadb/stop.sh) and
removes the state directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pymysql

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts" / "mariadb"


class MariaDBError(RuntimeError):
    """MariaDB did not install or start; the message carries the script's output."""


@dataclass(frozen=True)
class MariaDB:
    host: str
    port: int
    state: Path

    def connect(self, database: str | None = None) -> pymysql.connections.Connection:
        """A root connection (autocommit) to the test server."""
        return pymysql.connect(host=self.host, port=self.port, user="root", password="", database=database, autocommit=True, charset="utf8mb4")

    def creds_file(self, path: Path, user: str, password: str) -> Path:
        """A my.cnf with `[client]` user and password, as Reportupdater's `creds_file:` is."""
        path.write_text(f"[client]\nuser = {user}\npassword = {password}\n", "utf-8")
        path.chmod(0o600)
        return path


def _run(script: str, env: dict[str, str], timeout: int) -> str:
    result = subprocess.run(["bash", str(SCRIPTS / script)], env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise MariaDBError(f"{script} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout


@contextmanager
def running_mariadb() -> Iterator[MariaDB]:
    """A started MariaDB with its own datadir; stopped by PID at exit."""
    state = Path(tempfile.mkdtemp(prefix="mariadb-state-"))
    env = {**os.environ, "MARIADB_STATE_DIR": str(state)}
    _run("install.sh", env, timeout=1200)
    out = _run("start.sh", env, timeout=180)
    port = int(next(line.split("=", 1)[1] for line in out.splitlines() if line.startswith("MARIADB_PORT=")))
    try:
        yield MariaDB("127.0.0.1", port, state)
    finally:
        _run("stop.sh", env, timeout=120)
        shutil.rmtree(state, ignore_errors=True)
