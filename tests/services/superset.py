"""A real Apache Superset for integration tests, and a minimal REST client for it.

    with running_superset() as superset:
        with SupersetClient(superset.url, superset.user, superset.password) as client:
            client.import_bundle(zip_bytes)

`running_superset()` runs scripts/superset/install.sh (a no-op when the venv is up to date)
and scripts/superset/start.sh, and stops the server by its PID (scripts/superset/stop.sh) on
exit. By default each use gets a fresh state directory (metadata DB, config, log) in a temp
folder; start.sh copies an already initialised metadata DB there, so this costs ~5-10 s
after the first time.

`SupersetClient` (JWT login, CSRF token with the session cookie, no redirects followed) now
lives in `superset_assets/client.py`, which the importer uses; it is re-exported here.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from superset_assets.client import SupersetClient, SupersetError

__all__ = ["SupersetClient", "SupersetError", "SupersetInstance", "running_superset", "superset_python"]

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts" / "superset"
DEFAULT_STATE_DIR = ROOT / ".services" / "superset"


@dataclass(frozen=True)
class SupersetInstance:
    """A Superset started by `running_superset()`."""

    url: str
    user: str
    password: str
    pid: int
    state_dir: Path

    @property
    def log_path(self) -> Path:
        return self.state_dir / "superset.log"

    def log_tail(self, lines: int = 80) -> str:
        """The end of the server log (Superset 6.1 puts import errors only there)."""
        try:
            text = self.log_path.read_text("utf-8", errors="replace")
        except OSError as error:
            return f"(no log: {error})"
        return "\n".join(text.splitlines()[-lines:])


def _run_script(name: str, *args: str, env: Mapping[str, str], timeout: float) -> str:
    """Run scripts/superset/<name>; echo its output to stderr; return stdout."""
    command = ["bash", str(SCRIPTS / name), *args]
    try:
        done = subprocess.run(command, env=dict(env), capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as error:
        raise RuntimeError(f"{name} did not finish within {timeout:.0f} s") from error
    sys.stderr.write(done.stdout + done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed with exit code {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def superset_python(install_timeout: float = 900.0) -> Path:
    """The Python of the Superset venv (install.sh first; SUPERSET_VENV overrides its place)."""
    _run_script("install.sh", env=os.environ, timeout=install_timeout)
    return Path(os.environ.get("SUPERSET_VENV", ROOT / ".services" / "superset" / "venv")) / "bin" / "python"


@contextmanager
def running_superset(
    *,
    state_dir: Path | None = None,
    port: int | None = None,
    user: str = "admin",
    password: str | None = None,
    install_timeout: float = 900.0,
    start_timeout: float = 300.0,
) -> Iterator[SupersetInstance]:
    """Install (if needed) and start a real Superset on 127.0.0.1; stop it at exit.

    state_dir: where the config, metadata DB, log and pidfile go. None: a fresh temp
        directory, removed at exit. Pass e.g. DEFAULT_STATE_DIR to keep state between runs.
    port: None picks a free port.
    password: None takes SUPERSET_ADMIN_PASSWORD from the environment, else "admin".
    """
    if password is None:
        password = os.environ.get("SUPERSET_ADMIN_PASSWORD", "admin")
    own_state = state_dir is None
    if state_dir is None:
        state = Path(tempfile.mkdtemp(prefix="superset-state-"))
    else:
        state = Path(state_dir)
    env = {
        **os.environ,
        "SUPERSET_STATE_DIR": str(state),
        "SUPERSET_ADMIN_USER": user,
        "SUPERSET_ADMIN_PASSWORD": password,
    }
    pid: int | None = None
    already_running = False
    try:
        _run_script("install.sh", env=env, timeout=install_timeout)
        out = _run_script("start.sh", *([str(port)] if port else []), env=env, timeout=start_timeout)
        # start.sh reuses a healthy server of the same state dir: then it is not ours to stop.
        already_running = "already running" in out
        url_lines = [line for line in out.splitlines() if line.startswith("SUPERSET_URL=")]
        if not url_lines:
            raise RuntimeError(f"start.sh printed no SUPERSET_URL line:\n{out}")
        url = url_lines[-1].split("=", 1)[1].strip()
        pid = int((state / "superset.pid").read_text().strip())
        yield SupersetInstance(url=url, user=user, password=password, pid=pid, state_dir=state)
    finally:
        try:
            if not already_running:
                _stop(env, pid)
        finally:
            if own_state:
                shutil.rmtree(state, ignore_errors=True)


def _stop(env: Mapping[str, str], pid: int | None) -> None:
    """stop.sh (by the pidfile's PID); if it fails, SIGTERM our own PID, nothing broader."""
    try:
        _run_script("stop.sh", env=env, timeout=60)
    except RuntimeError:
        if pid is None:
            raise
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
