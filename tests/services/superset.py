"""A real Apache Superset for integration tests, and a minimal REST client for it.

    with running_superset() as superset:
        with SupersetClient(superset.url, superset.user, superset.password) as client:
            client.import_bundle(zip_bytes)

`running_superset()` runs scripts/superset/install.sh (a no-op when the venv is up to date)
and scripts/superset/start.sh, and stops the server by its PID (scripts/superset/stop.sh) on
exit. By default each use gets a fresh state directory (metadata DB, config, log) in a temp
folder; start.sh copies an already initialised metadata DB there, so this costs ~5-10 s
after the first time.

`SupersetClient` logs in with a JWT (`/api/v1/security/login`, provider `db`), takes a CSRF
token (`/api/v1/security/csrf_token/`) keeping the session cookie, never follows redirects
(a redirect means "not logged in"), and raises `SupersetError` on anything but success.
Only the standard library and httpx are used.
"""

from __future__ import annotations

import json
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
from types import TracebackType
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts" / "superset"
DEFAULT_STATE_DIR = ROOT / ".services" / "superset"


class SupersetError(RuntimeError):
    """Superset answered something other than the expected success."""

    def __init__(self, message: str, response: httpx.Response | None = None) -> None:
        if response is not None:
            body = response.text
            if len(body) > 2000:
                body = body[:2000] + "..."
            message = (
                f"{message}: HTTP {response.status_code} from "
                f"{response.request.method} {response.request.url}: {body}"
            )
        super().__init__(message)
        self.response = response


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
        done = subprocess.run(
            command, env=dict(env), capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as error:
        raise RuntimeError(f"{name} did not finish within {timeout:.0f} s") from error
    sys.stderr.write(done.stdout + done.stderr)
    if done.returncode != 0:
        raise RuntimeError(
            f"{name} failed with exit code {done.returncode}:\n{done.stdout}\n{done.stderr}"
        )
    return done.stdout


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
        out = _run_script(
            "start.sh", *([str(port)] if port else []), env=env, timeout=start_timeout
        )
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


class SupersetClient:
    """A logged-in session against the Superset REST API (JWT + session cookie + CSRF)."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        provider: str = "db",
        timeout: float = 120.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._username = username
        self._password = password
        self._provider = provider
        # follow_redirects=False: a 302 to /login/ must be an error, not a 200 HTML page.
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            follow_redirects=False,
            # Without it Superset answers command errors with its HTML 500 page.
            headers={"Accept": "application/json"},
        )
        self._csrf_token: str | None = None

    def __enter__(self) -> SupersetClient:
        self.login()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- session -------------------------------------------------------------------------

    def login(self) -> None:
        """Get a JWT access token, then a CSRF token bound to the session cookie."""
        answer = self._http.post(
            "/api/v1/security/login",
            json={
                "username": self._username,
                "password": self._password,
                "provider": self._provider,
                "refresh": True,
            },
        )
        token = self._json(answer, "login failed").get("access_token")
        if not token:
            raise SupersetError("login answered without access_token", answer)
        self._http.headers["Authorization"] = f"Bearer {token}"
        # The answer sets the `session` cookie the CSRF token belongs to; httpx keeps it.
        answer = self._http.get("/api/v1/security/csrf_token/")
        csrf = self._json(answer, "could not get a CSRF token").get("result")
        if not csrf:
            raise SupersetError("csrf_token answered without result", answer)
        self._csrf_token = csrf
        self._http.headers["X-CSRFToken"] = csrf
        self._http.headers["Referer"] = self.base_url + "/"

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """An authenticated request; raises on redirects (= not logged in) and errors >= 400."""
        if self._csrf_token is None:
            self.login()
        answer = self._http.request(method, path, **kwargs)
        if answer.status_code == 401:  # JWT expired (15 min by default): log in again once
            self.login()
            answer = self._http.request(method, path, **kwargs)
        if answer.is_redirect:
            raise SupersetError(
                f"redirected to {answer.headers.get('location')!r} "
                "(session cookie or CSRF token missing or expired?)",
                answer,
            )
        if answer.status_code >= 400:
            raise SupersetError(f"{method} {path} failed", answer)
        return answer

    def get_json(self, path: str, **kwargs: Any) -> dict[str, Any]:
        return self._json(self.request("GET", path, **kwargs), f"GET {path}")

    # -- assets ----------------------------------------------------------------------------

    def import_bundle(
        self,
        zip_bytes: bytes,
        passwords: Mapping[str, str] | None = None,
        overwrite: bool = True,
        *,
        sparse: bool = False,
    ) -> None:
        """POST a v1 export/import ZIP to /api/v1/assets/import/.

        passwords: database passwords by bundle path, e.g. {"databases/x.yaml": "secret"}.
        overwrite: sent as form field `overwrite`; note that /api/v1/assets/import/ of
            Superset 4.1-6.1 ignores it and always overwrites databases, datasets, charts
            and dashboards that have the same UUIDs.
        sparse: (Superset >= 6) allow references to objects that exist on the server but
            are not in the bundle.
        Raises SupersetError unless Superset answers 200 {"message": "OK"}.
        """
        data: dict[str, str] = {"overwrite": "true" if overwrite else "false"}
        if passwords:
            data["passwords"] = json.dumps(dict(passwords))
        if sparse:
            data["sparse"] = "true"
        answer = self._http.post(
            "/api/v1/assets/import/",
            files={"bundle": ("bundle.zip", zip_bytes, "application/zip")},
            data=data,
        )
        if answer.is_redirect:
            raise SupersetError(
                f"bundle import redirected to {answer.headers.get('location')!r} "
                "(session cookie or CSRF token missing or expired?)",
                answer,
            )
        if answer.status_code != 200:
            # Superset 6.1's /api/v1/assets/import/ turns every problem (unknown or missing
            # keys, bad metadata.yaml, a chart whose dataset is not in the bundle) into
            # HTTP 500 "Import failed for an unknown reason"; the cause is only in the
            # server log (marshmallow ValidationError / KeyError traceback).
            raise SupersetError(
                "bundle import failed (for a 500 'unknown reason' see the Superset log)", answer
            )
        try:
            body = answer.json()
        except ValueError:
            body = None
        if body != {"message": "OK"}:
            raise SupersetError("bundle import did not answer {'message': 'OK'}", answer)

    def chart_id(self, uuid: str) -> int:
        """The numeric id of the chart with this UUID (GET /api/v1/chart/<uuid>: Superset 6.x;
        4.1 has no lookup of charts by UUID)."""
        return int(self.get_json(f"/api/v1/chart/{uuid}")["result"]["id"])

    def chart_data(self, chart_id: int, *, force: bool = True) -> dict[str, Any]:
        """Run the chart's saved query_context: GET /api/v1/chart/<id>/data/."""
        params = {"force": "true"} if force else {}
        return self.get_json(f"/api/v1/chart/{chart_id}/data/", params=params)

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _json(answer: httpx.Response, what: str) -> dict[str, Any]:
        if answer.is_redirect or answer.status_code != 200:
            raise SupersetError(what, answer)
        try:
            body = answer.json()
        except ValueError as error:
            raise SupersetError(f"{what}: answer is not JSON", answer) from error
        if not isinstance(body, dict):
            raise SupersetError(f"{what}: answer is not a JSON object", answer)
        return body

