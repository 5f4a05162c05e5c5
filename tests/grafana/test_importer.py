"""The Grafana importer against a small local HTTP server answering as Grafana does (no Grafana can be installed here)."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest
from click.testing import CliRunner

from grafana.importer import GrafanaError, folder_uid, import_dashboards
from grafana.writer import build_all
from metrics import catalogue
from metrics.cli import main
from tests.conftest import CATALOGUE

TODAY = dt.date(2026, 11, 23)


@pytest.fixture(scope="module")
def dashboards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test catalogue's dashboards, built as `metrics build grafana` builds them."""
    out = tmp_path_factory.mktemp("grafana")
    build_all(catalogue.load(CATALOGUE, today=TODAY), out, today=TODAY)
    return out / "dashboards"


@pytest.fixture
def board(dashboards: Path) -> Path:
    return dashboards / "codemirror.json"


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test records its imports in its own state file."""
    monkeypatch.setenv("METRICS_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


OK = {"id": 1, "uid": "metrics-codemirror", "url": "/d/metrics-codemirror/codemirror", "status": "success", "version": 1, "slug": "codemirror"}


class FakeGrafana:
    """Records requests; answers `POST /api/dashboards/db` with the configured status and body."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict, dict | list | None]] = []
        self.status, self.answer = 200, OK
        self.folders: list[dict] = []
        self.live: dict[str, int] = {}  # uid -> version of dashboards that exist
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, status: int, body: object, headers: dict | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _record(self) -> object:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                fake.requests.append((self.command, self.path, dict(self.headers), body))
                return body

            def do_GET(self) -> None:  # noqa: N802
                self._record()
                if self.headers.get("Authorization") != "Bearer s3cret":
                    return self._reply(401, {"message": "Unauthorized"})
                if "/api/dashboards/uid/" in self.path:
                    uid = self.path.rsplit("/", 1)[1]
                    if uid not in fake.live:
                        return self._reply(404, {"message": "Dashboard not found"})
                    return self._reply(200, {"dashboard": {"uid": uid, "version": fake.live[uid]}, "meta": {}})
                self._reply(200, fake.folders)

            def do_POST(self) -> None:  # noqa: N802
                body = self._record()
                if self.path == "/api/folders":
                    folder = {"id": 7, "uid": body["uid"], "title": body["title"]}
                    fake.folders.append(folder)
                    return self._reply(200, folder)
                if self.path == "/api/redirect/api/dashboards/db":
                    return self._reply(301, {}, {"Location": "https://elsewhere.example/api/dashboards/db"})
                self._reply(fake.status, fake.answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def grafana() -> Iterator[FakeGrafana]:
    fake = FakeGrafana()
    thread = threading.Thread(target=fake.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def test_import_posts_the_dashboard_with_overwrite_folder_and_message(grafana: FakeGrafana, board: Path) -> None:
    grafana.folders = [{"id": 3, "uid": "existing-uid", "title": "Metrics catalogue"}]
    [result] = import_dashboards(grafana.url, [board], folder="Metrics catalogue", token="s3cret")
    assert (result.uid, result.version, result.url) == ("metrics-codemirror", 1, "/d/metrics-codemirror/codemirror")
    method, path, headers, body = grafana.requests[-1]
    assert (method, path) == ("POST", "/api/dashboards/db")
    assert headers["Authorization"] == "Bearer s3cret"
    assert body["overwrite"] is True and body["folderUid"] == "existing-uid"
    assert body["message"] == "metrics spec codemirror version 1.2.0 (metrics build grafana)"
    assert body["dashboard"] == json.loads(board.read_text())
    assert [r[:2] for r in grafana.requests] == [("GET", "/api/dashboards/uid/metrics-codemirror"), ("GET", "/api/folders"), ("POST", "/api/dashboards/db")]


def test_missing_folder_is_created_with_a_stable_uid(grafana: FakeGrafana, board: Path) -> None:
    import_dashboards(grafana.url, [board], folder="Team boards", token="s3cret")
    assert grafana.requests[2][1] == "/api/folders" and grafana.requests[2][3] == {"uid": "metrics-team-boards", "title": "Team boards"}
    assert grafana.requests[3][3]["folderUid"] == folder_uid("Team boards") == "metrics-team-boards"


@pytest.mark.parametrize(
    ("status", "answer", "expected"),
    [
        (401, {"message": "Unauthorized"}, "Grafana rejected the token (401 Unauthorized)"),
        (403, {"message": "Access denied"}, "(403 Forbidden: Access denied)"),
        (
            412,
            {"message": "The dashboard has been changed by someone else", "status": "version-mismatch"},
            "412 The dashboard has been changed by someone else; version-mismatch",
        ),
    ],
)
def test_refusals_are_one_clear_line(grafana: FakeGrafana, status: int, answer: dict, expected: str, board: Path) -> None:
    grafana.status, grafana.answer = status, answer
    with pytest.raises(GrafanaError) as exc:
        import_dashboards(grafana.url, [board], token="s3cret")
    assert expected in str(exc.value) and "\n" not in str(exc.value)


def test_bad_token_on_folder_lookup(grafana: FakeGrafana, board: Path) -> None:
    with pytest.raises(GrafanaError, match="401"):
        import_dashboards(grafana.url, [board], folder="x", token="wrong")


def test_redirects_are_not_followed(grafana: FakeGrafana, board: Path) -> None:
    with pytest.raises(GrafanaError, match="redirected to https://elsewhere.example"):
        import_dashboards(grafana.url + "/api/redirect", [board], token="s3cret")
    assert all("elsewhere" not in r[1] for r in grafana.requests)


def test_connection_refused(board: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(GrafanaError, match="cannot connect to Grafana at http://127.0.0.1:%d \\(connection refused\\)" % port):
        import_dashboards(f"http://127.0.0.1:{port}", [board], token="s3cret")


def test_cli_reads_the_token_from_the_environment(grafana: FakeGrafana, dashboards: Path) -> None:
    result = CliRunner().invoke(
        main, ["import", "grafana", "--url", grafana.url, "--dashboards-dir", str(dashboards), "codemirror"], env={"GRAFANA_TOKEN": "s3cret"}
    )
    assert result.exit_code == 0, result.output
    assert "imported metrics-codemirror version 1" in result.output
    result = CliRunner().invoke(main, ["import", "grafana", "--url", grafana.url, "--dashboards-dir", str(dashboards), "codemirror"], env={"GRAFANA_TOKEN": ""})
    assert result.exit_code == 1 and "set GRAFANA_TOKEN" in result.output


def test_cli_error_is_one_line_with_exit_1(grafana: FakeGrafana, dashboards: Path) -> None:
    grafana.status, grafana.answer = 412, {"message": "The dashboard has been changed by someone else", "status": "version-mismatch"}
    result = CliRunner().invoke(
        main, ["import", "grafana", "--url", grafana.url, "--dashboards-dir", str(dashboards), "codemirror"], env={"GRAFANA_TOKEN": "s3cret"}
    )
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "412" in result.output and "Traceback" not in result.output


def test_dry_run_prints_the_body_and_contacts_nobody(grafana: FakeGrafana, board: Path) -> None:
    result = CliRunner().invoke(main, ["import", "grafana", "--url", grafana.url, "--dry-run", str(board)], env={"GRAFANA_TOKEN": ""})
    assert result.exit_code == 0, result.output
    assert grafana.requests == []
    body = json.loads(result.stdout[result.stdout.index("{") :])
    assert body["overwrite"] is True and body["folderUid"] == "metrics-metrics-catalogue"
    assert body["message"].startswith("metrics spec codemirror version 1.2.0")


def test_not_a_dashboard(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text("[1, 2]")
    with pytest.raises(GrafanaError, match="not a Grafana dashboard"):
        import_dashboards("http://127.0.0.1:1", [bad], token="t")


def test_a_dashboard_edited_in_grafana_is_not_overwritten(grafana: FakeGrafana, state_dir: Path, board: Path) -> None:
    grafana.answer = {**OK, "version": 3}
    import_dashboards(grafana.url, [board], token="s3cret")  # new: nothing live yet
    assert json.loads((state_dir / "grafana-imports.json").read_text()) == {grafana.url: {"metrics-codemirror": 3}}
    grafana.live["metrics-codemirror"] = 3
    import_dashboards(grafana.url, [board], token="s3cret")  # live is what we imported: fine
    grafana.live["metrics-codemirror"] = 4  # someone saved an edit in the UI
    posts = len([r for r in grafana.requests if r[0] == "POST"])
    with pytest.raises(GrafanaError, match="was changed in Grafana: live version 4, version 3 at our last import.*--force"):
        import_dashboards(grafana.url, [board], token="s3cret")
    assert len([r for r in grafana.requests if r[0] == "POST"]) == posts  # nothing was posted
    import_dashboards(grafana.url, [board], token="s3cret", force=True)
    assert len([r for r in grafana.requests if r[0] == "POST"]) == posts + 1


def test_a_dashboard_never_imported_by_us_needs_force(grafana: FakeGrafana, board: Path) -> None:
    grafana.live["metrics-codemirror"] = 1
    with pytest.raises(GrafanaError, match="never imported by this tool"):
        import_dashboards(grafana.url, [board], token="s3cret")


def test_a_url_holding_a_secret_is_refused_and_never_shown(board: Path) -> None:
    for url in ("http://admin:url-canary-1@127.0.0.1:9", "https://grafana.example/?auth_token=url-canary-2"):
        with pytest.raises(GrafanaError, match="holds a secret") as refused:
            import_dashboards(url, [board], token="t")
        assert "url-canary" not in str(refused.value) and "XXXXXXXXXX" in str(refused.value)
        result = CliRunner().invoke(main, ["import", "grafana", "--url", url, str(board)], env={"GRAFANA_TOKEN": "token-canary"})
        assert result.exit_code != 0 and "canary" not in result.output
