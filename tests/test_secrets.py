"""Secrets planted in every credential input are found nowhere: no artifact, log, output or error holds one.

The credential inputs (the CLI's options and environment, `metrics/config.py`, the query configs):
the engine URI (`--engine-uri`, `METRICS_ENGINE_URI`: userinfo password, `?password=`, other secret
parameters) for Trino and for Superset bundles; `METRICS_TRINO_PASSWORD`, `METRICS_TRINO_JWT` and
`METRICS_TRINO_PASSWORD_FILE`; the importers' `--url` userinfo, `SUPERSET_PASSWORD`,
`SUPERSET_DB_PASSWORD` and `GRAFANA_TOKEN`; `--graphite-url` of `metrics build grafana`; the my.cnf
`creds_file` of a `databases:` entry; the URL of `metrics ingest api`; and what a script report
sees in its environment. StatsD (`metrics statsd sample --host/--port`) and carbon (`--graphite
HOST:PORT`, a config's `graphite:`) take no credential: plaintext protocols, nothing to plant.

Each round plants fresh canaries, runs a demo-like flow through the real `metrics` command with no
real service (bundles, Grafana files, reports with a run log and TSV files, loads, and the errors
of unreachable hosts), then greps for each canary every file written (Parquet and ZIP read
decompressed) and every stdout and stderr. One server here is a fake, and says so: a local HTTP
server that echoes each request (headers and body) into its error answer, the worst a server or
a proxy could do; no real Superset or Grafana does it, and nothing else can be made to.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pyarrow.parquet as pq
import pytest

from ingestion import generate
from ingestion.serve import serve_world_bank
from metrics.errors import MetricsError
from tests.conftest import CATALOGUE, QUERIES, ROOT
from tests.reliability import record, scale

pytestmark = pytest.mark.reliability

ROUNDS = scale(1, 3)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def echo_server() -> Iterator[str]:
    """A fake server that answers every request 500 with the request itself (line, headers, body) in its message."""

    class Handler(BaseHTTPRequestHandler):
        def _echo(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("latin-1")
            text = json.dumps({"message": f"{self.requestline} {dict(self.headers)} {body}"}).encode()
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        do_GET = do_POST = _echo  # noqa: N815 - the http.server API

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass
class Flow:
    root: Path
    canaries: dict[str, str] = field(default_factory=dict)
    outputs: list[tuple[list[str], str]] = field(default_factory=list)
    inputs: set[Path] = field(default_factory=set)
    """Files that hold a canary because they are where a secret is given (a my.cnf, a password file)."""

    def canary(self, name: str) -> str:
        value = f"cnry{name}{secrets.token_hex(6)}"
        self.canaries[name] = value
        return value

    def run(self, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("METRICS_", "SUPERSET_", "GRAFANA_"))} | {
            "METRICS_STATE_DIR": str(self.root / "state"),
            "METRICS_LOCK_DIR": str(self.root / "locks"),
            "PYTHONPATH": str(ROOT),
        }
        done = subprocess.run(
            [sys.executable, "-m", "metrics", *args], cwd=cwd or self.root, env=environ | (env or {}), capture_output=True, text=True, timeout=300
        )
        self.outputs.append(([*args], done.stdout + done.stderr))
        return done


def script_folder(flow: Flow) -> Path:
    """A query folder whose reports fail with credentials in their way: a MariaDB that is not there, a script whose error names a URL."""
    folder = flow.root / "queries" / "secretive"
    folder.mkdir(parents=True)
    port = closed_port()
    (folder / "config.yaml").write_text(
        f"databases:\n  closed: {{host: 127.0.0.1, port: {port}, creds_file: creds.cnf, db: enwiki}}\n"
        "defaults: {granularity: days, starts: 2026-11-01}\n"
        "reports:\n  counts: {db: closed}\n  fetch: {type: script}\n  local: {}\n",
        "utf-8",
    )
    (folder / "counts.sql").write_text("SELECT DATE('{from_timestamp}') AS date, COUNT(*) AS n FROM user", "utf-8")
    (folder / "local.sql").write_text("SELECT DATE '{from_date}' AS date, 1 AS n", "utf-8")
    (folder / "creds.cnf").write_text(f"[client]\nuser = research\npassword = {flow.canary('MARIADB')}\n", "utf-8")
    flow.inputs.add(folder / "creds.cnf")
    script = folder / "fetch"  # fails as curl would, naming the endpoint it was given, credentials and all
    script.write_text('#!/bin/sh\necho "curl: (7) Failed to connect to $REPORT_ENDPOINT: token $REPORT_API_TOKEN refused" >&2\nexit 7\n', "utf-8")
    script.chmod(0o755)
    return folder


def plant_and_run(flow: Flow) -> None:
    root = flow.root
    cat = ["--catalogue", str(CATALOGUE)]
    closed = f"127.0.0.1:{closed_port()}"

    # Superset bundles: a password in the engine URI's query string, then in its userinfo; another secret parameter is refused
    flow.run(*cat, "build", "superset", "--engine-uri", f"postgresql://u@db.example/x?sslmode=require&password={flow.canary('QUERYPW')}", "--out", "bundles")
    flow.run(*cat, "build", "superset", "--engine-uri", f"postgresql://u:{flow.canary('USERINFOPW')}@db.example/x", "--out", "bundles2")
    flow.run(*cat, "build", "superset", "--engine-uri", f"postgresql://u@db.example/x?api_key={flow.canary('QUERYKEY')}", "--out", "bundles3")

    # Grafana files: basic auth of graphite-web, and a token in its URL (refused)
    flow.run(*cat, "build", "grafana", "--out", "grafana", "--graphite-url", f"http://reader:{flow.canary('GRAPHITEPW')}@graphite.example:8080")
    flow.run(*cat, "build", "grafana", "--out", "grafana2", "--graphite-url", f"http://graphite.example/?token={flow.canary('GRAPHITETOKEN')}")

    # importers: credentials in --url (refused), passwords and tokens from the environment against a closed port and the echo server
    superset_env = {"SUPERSET_PASSWORD": flow.canary("SUPERSETPW"), "SUPERSET_DB_PASSWORD": flow.canary("SUPERSETDBPW")}
    grafana_env = {"GRAFANA_TOKEN": flow.canary("GRAFANATOKEN")}
    flow.run("import", "superset", "--bundles-dir", "bundles", "--url", f"http://admin:{flow.canary('SUPERSETURLPW')}@{closed}", env=superset_env)
    flow.run("import", "grafana", "--dashboards-dir", "grafana/dashboards", "--url", f"http://admin:{flow.canary('GRAFANAURLPW')}@{closed}", env=grafana_env)
    flow.run("import", "superset", "--bundles-dir", "bundles", "--url", f"http://{closed}", env=superset_env)
    flow.run("import", "grafana", "--dashboards-dir", "grafana/dashboards", "--url", f"http://{closed}", env=grafana_env)
    with echo_server() as echo:
        flow.run("import", "superset", "--bundles-dir", "bundles", "--url", echo, env=superset_env)
        flow.run("import", "grafana", "--dashboards-dir", "grafana/dashboards", "--url", echo, env=grafana_env)

    # Trino: a password in the URI (refused), as a query parameter (refused), from the environment and from a file, against a closed port
    trino = f"trino://metrics@{closed}/hive?http_scheme=https&verify=false"
    flow.run("--engine", "trino", "--engine-uri", f"trino://metrics:{flow.canary('TRINOURIPW')}@{closed}/hive", "query", "SELECT 1")
    flow.run("--engine", "trino", "--engine-uri", f"trino://metrics@{closed}/hive?password={flow.canary('TRINOQUERYPW')}", "query", "SELECT 1")
    flow.run("query", "SELECT 1", env={"METRICS_ENGINE": "trino", "METRICS_ENGINE_URI": f"trino://metrics:{flow.canary('ENVURIPW')}@{closed}/hive"})
    password_file = root / "trino-password"
    password_file.write_text(flow.canary("TRINOPWFILE") + "\n", "utf-8")
    flow.inputs.add(password_file)
    flow.run("--engine", "trino", "--engine-uri", trino, "query", "SELECT 1", env={"METRICS_TRINO_PASSWORD_FILE": str(password_file)})
    flow.run("--engine", "trino", "--engine-uri", trino, "query", "SELECT 1", env={"METRICS_TRINO_JWT": flow.canary("TRINOJWT")})
    reports = root / "reports"
    shutil.copytree(QUERIES / "reference_previews", reports / "reference_previews")
    flow.run(
        "--engine", "trino", "--engine-uri", trino, "--warehouse", "warehouse",
        "update-reports", str(reports / "reference_previews"), "out-trino", "--now", "2026-09-04T12:00", "-l", "debug",
        env={"METRICS_TRINO_PASSWORD": flow.canary("TRINOPW")},
    )  # fmt: skip

    # reports on the embedded engine: a MariaDB not there (my.cnf password), a script failing with a URL; run log, TSV, outbox, logs
    folder = script_folder(flow)
    script_env = {
        "REPORT_ENDPOINT": f"https://svc:{flow.canary('SCRIPTURLPW')}@api.example/v1?token={flow.canary('SCRIPTURLTOKEN')}",
        "REPORT_API_TOKEN": flow.canary("SCRIPTENVTOKEN"),
    }
    for _ in range(2):  # the second run retries the failed intervals
        flow.run(
            "--warehouse", "warehouse", "update-reports", str(folder), "out", "--now", "2026-11-03T12:00", "-l", "debug", "--graphite", closed,
            env=script_env,
        )  # fmt: skip

    # the HTTP API loader: credentials in its URL, a bad record quarantined (the page URL is stored), then an unreachable host
    payload = generate.world_bank_records(2, range(2020, 2022), country_count=5)
    payload["SP.POP.TOTL"].append({**payload["SP.POP.TOTL"][0], "value": "many"})
    api_secret = f"u:{flow.canary('APIURLPW')}@"
    with serve_world_bank(payload) as url:
        flow.run("--warehouse", "warehouse", "ingest", "api", url.replace("http://", f"http://{api_secret}"), "--indicator", "SP.POP.TOTL")
    flow.run(
        "--warehouse",
        "warehouse",
        "ingest",
        "api",
        f"http://{api_secret}{closed}/v2?access_token={flow.canary('APITOKEN')}",
        "--indicator",
        "X",
        "--timeout",
        "2",
    )


def texts_of(path: Path) -> Iterator[str]:
    """What a file says: its bytes as text, and for Parquet and ZIP files their decompressed content too."""
    data = path.read_bytes()
    yield data.decode("latin-1")
    if path.suffix == ".parquet":
        yield json.dumps(pq.read_table(path).to_pylist(), default=str)
    elif path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                yield archive.read(name).decode("latin-1")


def test_planted_secrets_are_found_nowhere(tmp_path: Path) -> None:
    planted = found = commands = files = tracebacks = 0
    traced: list[str] = []
    for round_ in range(ROUNDS):
        flow = Flow(tmp_path / f"round-{round_}")
        (flow.root / "locks").mkdir(parents=True)
        plant_and_run(flow)
        written = [p for p in flow.root.rglob("*") if p.is_file() and p not in flow.inputs]
        where: dict[str, list[str]] = {name: [] for name in flow.canaries}
        for path in written:
            for text in texts_of(path):
                for name, value in flow.canaries.items():
                    if value in text:
                        where[name].append(str(path.relative_to(flow.root)))
        for args, output in flow.outputs:
            if "Traceback" in output and "-l" not in args:  # a debug log shows the tracebacks of failed intervals, masked
                tracebacks += 1
                traced.append(" ".join(args[:4]) + ": " + output[-300:])
            for name, value in flow.canaries.items():
                if value in output:
                    where[name].append("output of metrics " + " ".join(a.replace(value, f"<{name}>") for a in args))
        escaped = {name: places for name, places in where.items() if places}
        assert not escaped, escaped
        planted += len(flow.canaries)
        found += len(escaped)
        commands += len(flow.outputs)
        files += len(written)
        # the flow did what it says: bundles and Grafana files built, reports run and logged, API rows quarantined
        assert list((flow.root / "bundles").rglob("*.zip")) and (flow.root / "grafana" / "provisioning" / "datasources" / "graphite.yaml").is_file()
        assert (flow.root / "out" / "local.tsv").is_file() and list((flow.root / "warehouse").rglob("*.parquet"))
        assert any("quarantine" in str(p) and "world_bank" in str(p) for p in written)
    record(
        "secrets",
        "canaries",
        trials=planted,
        escapes=found,
        tracebacks=tracebacks,
        detail=f"{planted} canaries in {planted // ROUNDS} credential inputs over {ROUNDS} round(s) of {commands // ROUNDS} commands; "
        f"{files} files (Parquet and ZIP decompressed) and every stdout/stderr grepped",
    )
    assert tracebacks == 0, traced


def test_a_secret_in_the_engine_uri_never_reaches_a_bundle(tmp_path: Path) -> None:
    """Whatever name the secret parameter has, or wherever it stands in the URI (query, `;`, fragment)."""
    from superset_assets.database import mask_password

    masked, has_password = mask_password("postgresql://u@db/x?a=1;password=CANARY1")
    assert "CANARY1" not in masked and has_password
    for uri in ("postgresql://u@db/x?sslpassword=CANARY2", "postgresql://u@db/x#password=CANARY3", "postgresql://u@db/x?clientsecret=CANARY4"):
        with pytest.raises(MetricsError) as refused:
            mask_password(uri)
        assert "CANARY" not in str(refused.value)


def test_credentials_written_into_a_graphite_host_are_masked() -> None:
    from metrics.redact import mask_host

    assert mask_host("admin:CANARY5@127.0.0.1") == "XXXXXXXXXX@127.0.0.1" and mask_host("127.0.0.1") == "127.0.0.1"
