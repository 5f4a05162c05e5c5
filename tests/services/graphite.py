"""A real StatsD + carbon-cache + graphite-web for integration tests, and helpers to talk to it.

    with running_graphite() as graphite:
        send_to_carbon("127.0.0.1", graphite.carbon_port, ["a.b 1 1700000000"])
        points = wait_for_series(graphite.web_url, "a.b", lambda dps: any(v for v, _ in dps),
                                 from_="-2y")

`running_graphite()` runs scripts/graphite/install.sh (a no-op when up to date) and
scripts/graphite/start.sh with a fresh temporary state directory (config, whisper files, logs,
pidfiles), and at exit stops every process by its PID (scripts/graphite/stop.sh, then SIGTERM /
SIGKILL to the recorded PIDs if stop.sh failed). Everything listens on 127.0.0.1, on free ports.

graphite-web answers HTTP 200 with `[]` for a path that does not exist (and for some malformed
targets): `render()` returns whatever it got; check the data, e.g. with `wait_for_series()`.

Only the standard library and httpx are used.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts" / "graphite"

Datapoints = list[tuple[float | None, int]]


class GraphiteError(RuntimeError):
    """A Graphite service did not start, or did not answer as expected."""


@dataclass(frozen=True)
class GraphiteInstance:
    """The stack started by `running_graphite()`; all ports on 127.0.0.1."""

    carbon_port: int  # carbon-cache plaintext (line) receiver, TCP
    statsd_port: int  # StatsD, UDP
    web_url: str  # graphite-web, http://127.0.0.1:<port>
    state_dir: Path
    ports: Mapping[str, Any] = field(default_factory=dict)  # the whole ports.json
    host: str = "127.0.0.1"

    @property
    def pids(self) -> dict[str, int]:
        return {name: int(pid) for name, pid in self.ports.get("pids", {}).items()}

    @property
    def flush_interval(self) -> float:
        """StatsD's flush interval in seconds (= the finest retention of the stats schema)."""
        return float(self.ports.get("flush_interval_seconds", 1))

    def log_tail(self, name: str = "carbon-cache", lines: int = 60) -> str:
        """The end of a service log: carbon-cache, graphite-web or statsd."""
        path = self.state_dir / "log" / f"{name}.log"
        try:
            text = path.read_text("utf-8", errors="replace")
        except OSError as error:
            return f"(no log {path}: {error})"
        return "\n".join(text.splitlines()[-lines:])


def _run_script(name: str, env: Mapping[str, str], timeout: float) -> str:
    """Run scripts/graphite/<name>; echo its output to stderr; return stdout."""
    try:
        done = subprocess.run(
            ["bash", str(SCRIPTS / name)],
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise GraphiteError(f"{name} did not finish within {timeout:.0f} s") from error
    sys.stderr.write(done.stdout + done.stderr)
    if done.returncode != 0:
        raise GraphiteError(f"{name} failed with exit code {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done.stdout


@contextmanager
def running_graphite(
    state_dir: Path | str | None = None,
    *,
    install_timeout: float = 600.0,
    start_timeout: float = 180.0,
    keep_state: bool = False,
) -> Iterator[GraphiteInstance]:
    """Install (if needed) and start StatsD, carbon-cache and graphite-web; stop them at exit.

    state_dir: where config, data, logs and pidfiles go. None: a fresh temp directory, removed
        at exit unless keep_state. A given directory is kept.
    """
    own_state = state_dir is None
    state = Path(tempfile.mkdtemp(prefix="graphite-state-")) if state_dir is None else Path(state_dir)
    env = {**os.environ, "GRAPHITE_STATE_DIR": str(state)}
    started = False
    try:
        _run_script("install.sh", env, install_timeout)
        out = _run_script("start.sh", env, start_timeout)
        if "already running" in out:
            # Not ours to stop: someone else's stack on this state dir.
            raise GraphiteError(f"a Graphite stack already runs from {state}: stop it first")
        started = True
        ports = json.loads((state / "ports.json").read_text("utf-8"))
        yield GraphiteInstance(
            carbon_port=int(ports["carbon_plaintext"]),
            statsd_port=int(ports["statsd_udp"]),
            web_url=str(ports["web_url"]),
            state_dir=state,
            ports=ports,
        )
    finally:
        try:
            if started or (state / "run").is_dir():
                _stop(env, state)
        finally:
            if own_state and not keep_state:
                shutil.rmtree(state, ignore_errors=True)


def _recorded_pids(state: Path) -> dict[str, int]:
    pids = {}
    for pidfile in (state / "run").glob("*.pid"):
        name = pidfile.stem
        if name.endswith("-a"):  # carbon's own twistd pidfile: same PID as carbon-cache.pid
            continue
        try:
            pids[name] = int(pidfile.read_text().strip())
        except (OSError, ValueError):
            continue
    return pids


def _stop(env: Mapping[str, str], state: Path) -> None:
    """stop.sh (by the pidfiles' PIDs); if that fails, signal those same PIDs, nothing broader."""
    pids = _recorded_pids(state)
    try:
        _run_script("stop.sh", env, 90)
        return
    except GraphiteError as error:
        sys.stderr.write(f"stop.sh failed, signalling recorded PIDs {pids}: {error}\n")
    for sig in (signal.SIGTERM, signal.SIGKILL):
        alive = []
        for pid in pids.values():
            try:
                os.kill(pid, sig)
                alive.append(pid)
            except ProcessLookupError:
                pass
        if not alive:
            return
        time.sleep(3)


# -- carbon ----------------------------------------------------------------------------------


def send_to_carbon(host: str, port: int, lines: Iterable[str], timeout: float = 10.0) -> int:
    """Send plaintext-protocol lines (`path value timestamp`) to carbon; returns how many.

    Each line gets a trailing newline if it has none. carbon gives no receipt: check with
    `wait_for_series()`.
    """
    payload = []
    for line in lines:
        line = line.rstrip("\n")
        if len(line.split()) != 3:
            raise ValueError(f"not a carbon plaintext line (path value timestamp): {line!r}")
        payload.append(line + "\n")
    data = "".join(payload).encode("utf-8")
    with socket.create_connection((host, port), timeout=timeout) as conn:
        conn.sendall(data)
        conn.shutdown(socket.SHUT_WR)
        # Wait for carbon to close its side: it has then read everything we sent.
        conn.settimeout(timeout)
        try:
            while conn.recv(4096):
                pass
        except (socket.timeout, ConnectionResetError):
            pass
    return len(payload)


# -- graphite-web ----------------------------------------------------------------------------


def _get_json(url: str, params: Mapping[str, Any], timeout: float) -> Any:
    answer = httpx.get(url, params=dict(params), timeout=timeout, follow_redirects=False)
    if answer.status_code != 200:
        raise GraphiteError(f"GET {answer.request.url} answered HTTP {answer.status_code}: {answer.text[:2000]}")
    try:
        return answer.json()
    except ValueError as error:
        raise GraphiteError(f"GET {answer.request.url}: not JSON: {answer.text[:2000]}") from error


def render(
    web_url: str,
    target: str | Sequence[str],
    from_: str | int = "-1h",
    until: str | int = "now",
    *,
    timeout: float = 30.0,
) -> list[dict[str, Any]]:
    """GET /render?format=json: a list of {"target": ..., "datapoints": [[value, ts], ...]}.

    from_/until: Graphite time expressions ("-5min", "now", "20240101") or Unix timestamps.
    A missing series gives [] with HTTP 200: callers must check the data.
    """
    targets = [target] if isinstance(target, str) else list(target)
    params: list[tuple[str, str | int | float | bool | None]]
    params = [("target", t) for t in targets]
    params += [("from", str(from_)), ("until", str(until)), ("format", "json")]
    answer = httpx.get(web_url.rstrip("/") + "/render", params=params, timeout=timeout, follow_redirects=False)
    if answer.status_code != 200:
        raise GraphiteError(f"GET {answer.request.url} answered HTTP {answer.status_code}: {answer.text[:2000]}")
    body = answer.json()
    if not isinstance(body, list):
        raise GraphiteError(f"/render answered {body!r}, not a list")
    return body


def find(web_url: str, query: str, *, timeout: float = 30.0) -> list[dict[str, Any]]:
    """GET /metrics/find?query=...: the children matching the query ({"id", "text", "leaf", ...})."""
    body = _get_json(web_url.rstrip("/") + "/metrics/find", {"query": query}, timeout)
    if not isinstance(body, list):
        raise GraphiteError(f"/metrics/find answered {body!r}, not a list")
    return body


def datapoints(series: list[dict[str, Any]]) -> Datapoints:
    """All [value, timestamp] pairs of a /render answer (every series), as tuples."""
    return [(None if value is None else float(value), int(ts)) for one in series for value, ts in one.get("datapoints", [])]


def known(points: Datapoints) -> list[tuple[float, int]]:
    """The points that have a value."""
    return [(value, ts) for value, ts in points if value is not None]


def wait_for_series(
    web_url: str,
    target: str,
    predicate: Callable[[Datapoints], bool],
    timeout: float = 30.0,
    *,
    from_: str | int = "-10min",
    until: str | int = "now",
    interval: float = 0.5,
) -> Datapoints:
    """Poll /render until `predicate(datapoints)` holds; return those datapoints.

    The predicate gets every [value, timestamp] pair of every series the target returns (an
    empty list while the series does not exist: graphite-web still answers 200). Raises
    GraphiteError with the last answer when the timeout passes.
    """
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            series = render(web_url, target, from_, until)
            last = series
            points = datapoints(series)
            if predicate(points):
                return points
        except (httpx.HTTPError, GraphiteError) as error:
            last = error
        if time.monotonic() >= deadline:
            shown = last
            if isinstance(last, list):
                shown = [{"target": s.get("target"), "known": known(datapoints([s]))[-20:]} for s in last]
            raise GraphiteError(
                f"{target!r} (from {from_} until {until}) did not satisfy the predicate within {timeout:.0f} s; last answer (known points): {shown!r}"
            )
        time.sleep(interval)
