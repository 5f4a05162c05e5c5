"""A real Trino 476 for integration tests: a Hive catalog `hive` over one warehouse folder.

    with running_trino(warehouse_root) as uri:        # trino://metrics@127.0.0.1:<port>/hive
        engine = open_engine(warehouse_root, "trino", uri)

`running_trino()` runs scripts/trino/install.sh (a no-op when installed) and scripts/trino/start.sh
with a fresh state directory, and at exit stops the server by its PID (scripts/trino/stop.sh).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts" / "trino"


class TrinoError(RuntimeError):
    """Trino did not install or start; the message carries the script's output."""


def _run(script: str, env: dict[str, str], timeout: int) -> str:
    result = subprocess.run(["bash", str(SCRIPTS / script)], env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise TrinoError(f"{script} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout


@contextmanager
def running_trino(warehouse: Path) -> Iterator[str]:
    """A started Trino over `warehouse` (its catalog root); yields its URI, stops it at exit."""
    state = Path(tempfile.mkdtemp(prefix="trino-state-"))
    env = {**os.environ, "TRINO_WAREHOUSE": str(warehouse), "TRINO_STATE_DIR": str(state)}
    _run("install.sh", env, timeout=1800)
    out = _run("start.sh", env, timeout=400)
    port = next(line.split("=", 1)[1] for line in out.splitlines() if line.startswith("TRINO_PORT="))
    try:
        yield f"trino://metrics@127.0.0.1:{port}/hive"
    finally:
        _run("stop.sh", env, timeout=120)
