"""The Grafana importer against a small local HTTP server answering as Grafana does.

No Grafana can be installed here (not in Debian, not on PyPI or npm as a server), so `FakeGrafana`
stands in for it: it answers the few endpoints the importer calls (dashboard by uid, folders,
`POST /api/dashboards/db`, `DELETE /api/dashboards/uid/<uid>`) with Grafana's documented shapes.
With `keep = True` it also stores what is posted and counts versions as Grafana does (each save
+1), so plans and prunes can be checked against what it holds.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest
from click.testing import CliRunner

from grafana.importer import GrafanaError, folder_uid, import_dashboards, plan_dashboards
from grafana.writer import build_all
from metrics import catalogue
from metrics.cli import main
from metrics.plan import AssetPlan
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
        self.requests: list[tuple[str, str, dict, Any]] = []
        self.status, self.answer = 200, OK
        self.folders: list[dict] = []
        self.live: dict[str, int] = {}  # uid -> version of dashboards that exist
        self.keep = False  # store posted dashboards (version + 1 per save), as Grafana does
        self.boards: dict[str, dict] = {}
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

            def _record(self) -> Any:
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
                    board = fake.boards.get(uid, {"uid": uid})
                    return self._reply(200, {"dashboard": {**board, "version": fake.live[uid]}, "meta": {}})
                self._reply(200, fake.folders)

            def do_DELETE(self) -> None:  # noqa: N802
                self._record()
                uid = self.path.rsplit("/", 1)[1]
                if uid not in fake.live:
                    return self._reply(404, {"message": "Dashboard not found"})
                del fake.live[uid]
                fake.boards.pop(uid, None)
                self._reply(200, {"title": uid, "message": "Dashboard deleted"})

            def do_POST(self) -> None:  # noqa: N802
                body = self._record()
                if self.path == "/api/folders":
                    folder = {"id": 7, "uid": body["uid"], "title": body["title"]}
                    fake.folders.append(folder)
                    return self._reply(200, folder)
                if self.path == "/api/redirect/api/dashboards/db":
                    return self._reply(301, {}, {"Location": "https://elsewhere.example/api/dashboards/db"})
                if fake.keep and self.path == "/api/dashboards/db":
                    uid = body["dashboard"]["uid"]
                    fake.live[uid] = fake.live.get(uid, 0) + 1
                    fake.boards[uid] = body["dashboard"]
                    return self._reply(200, {"id": 1, "uid": uid, "url": f"/d/{uid}", "status": "success", "version": fake.live[uid]})
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
    assert result.exit_code == 2 and "export GRAFANA_TOKEN" in result.output


def test_cli_error_is_one_line_with_exit_1(grafana: FakeGrafana, dashboards: Path) -> None:
    grafana.status, grafana.answer = 412, {"message": "The dashboard has been changed by someone else", "status": "version-mismatch"}
    result = CliRunner().invoke(
        main, ["import", "grafana", "--url", grafana.url, "--dashboards-dir", str(dashboards), "codemirror"], env={"GRAFANA_TOKEN": "s3cret"}
    )
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "412" in result.stderr and "Traceback" not in result.output
    assert result.stdout.startswith("grafana at ")  # the plan it was applying comes first


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
    assert json.loads((state_dir / "grafana-imports.json").read_text())[grafana.url]["metrics-codemirror"]["version"] == 3
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


# -- plan and prune ------------------------------------------------------------------------------


def statuses(grafana: FakeGrafana, paths: list[Path], **kwargs: object) -> dict[str, AssetPlan]:
    return {a.key: a for a in plan_dashboards(grafana.url, paths, token="s3cret", **kwargs).assets}  # type: ignore[arg-type]


def test_plan_names_new_changed_fields_unchanged_edited_and_orphans(grafana: FakeGrafana, dashboards: Path, tmp_path: Path) -> None:
    grafana.keep = True
    boards = sorted(dashboards.glob("*.json"))
    assert len(boards) >= 3
    assert {a.status for a in statuses(grafana, boards, complete=True).values()} == {"new"}
    import_dashboards(grafana.url, boards, token="s3cret", complete=True)
    assert {a.status for a in statuses(grafana, boards, complete=True).values()} == {"unchanged"}
    # the catalogue changes one dashboard's title and drops another; someone edits a third in Grafana
    changed, dropped, edited = boards[0], boards[1], boards[2]
    rebuilt = tmp_path / "rebuilt"
    rebuilt.mkdir()
    for path in boards:
        if path != dropped:
            board = json.loads(path.read_text())
            if path == changed:
                board["title"] += " (renamed)"
            (rebuilt / path.name).write_text(json.dumps(board))
    uid = {p: json.loads(p.read_text())["uid"] for p in boards}
    grafana.live[uid[edited]] += 1
    now = statuses(grafana, sorted(rebuilt.glob("*.json")), complete=True)
    assert now[uid[changed]].status == "changed" and now[uid[changed]].fields == ["title"]
    assert now[uid[dropped]].status == "orphan" and now[uid[dropped]].name == json.loads(dropped.read_text())["title"]
    assert now[uid[edited]].status == "edited" and "EDITED IN THE UI" in now[uid[edited]].line()
    assert all(a.status == "unchanged" for k, a in now.items() if k not in {uid[changed], uid[dropped], uid[edited]})
    # a plan of one spec's dashboard offers no other spec's dashboard as an orphan
    assert set(statuses(grafana, [rebuilt / changed.name])) == {uid[changed]}
    # import refuses the edited one; with --force and --prune it applies the plan and deletes the orphan
    with pytest.raises(GrafanaError, match="was changed in Grafana"):
        import_dashboards(grafana.url, sorted(rebuilt.glob("*.json")), token="s3cret", complete=True, prune=True)
    assert uid[dropped] in grafana.live
    results = import_dashboards(grafana.url, sorted(rebuilt.glob("*.json")), token="s3cret", complete=True, prune=True, force=True)
    assert [r.uid for r in results if r.deleted] == [uid[dropped]] and uid[dropped] not in grafana.live
    assert ("DELETE", f"/api/dashboards/uid/{uid[dropped]}") in [(r[0], r[1]) for r in grafana.requests]
    assert {a.status for a in statuses(grafana, sorted(rebuilt.glob("*.json")), complete=True).values()} == {"unchanged"}


def test_a_dashboard_someone_else_made_is_unknown_never_an_orphan(grafana: FakeGrafana, dashboards: Path) -> None:
    grafana.keep = True
    boards = sorted(dashboards.glob("*.json"))
    grafana.live["made-by-hand"] = 4
    grafana.live[json.loads(boards[0].read_text())["uid"]] = 2  # exists, but we never imported it
    plan = statuses(grafana, boards, complete=True)
    assert "made-by-hand" not in plan
    assert plan[json.loads(boards[0].read_text())["uid"]].status == "unknown"
    assert "not imported by us / unknown" in plan[json.loads(boards[0].read_text())["uid"]].line()


def test_import_with_a_saved_plan_refuses_when_grafana_moved(grafana: FakeGrafana, dashboards: Path, tmp_path: Path) -> None:
    grafana.keep = True
    import_dashboards(grafana.url, sorted(dashboards.glob("*.json")), token="s3cret", complete=True)
    saved = tmp_path / "plan.json"
    environ = {"GRAFANA_TOKEN": "s3cret"}
    made = CliRunner().invoke(main, ["plan", "--grafana-url", grafana.url, "--dashboards-dir", str(dashboards), "-o", str(saved)], env=environ)
    assert made.exit_code == 0, made.output
    assert "grafana at" in made.output and "unchanged" in made.output
    applied = CliRunner().invoke(main, ["import", "grafana", "--url", grafana.url, "--dashboards-dir", str(dashboards), "--plan", str(saved)], env=environ)
    assert applied.exit_code == 0, applied.output
    assert applied.output.index("unchanged") < applied.output.index("imported ")
    CliRunner().invoke(main, ["plan", "--grafana-url", grafana.url, "--dashboards-dir", str(dashboards), "-o", str(saved)], env=environ)
    uid = json.loads(sorted(dashboards.glob("*.json"))[0].read_text())["uid"]
    grafana.live[uid] += 1  # saved in the UI after the plan was shown
    posts = len([r for r in grafana.requests if r[0] == "POST"])
    refused = CliRunner().invoke(
        main, ["import", "grafana", "--url", grafana.url, "--dashboards-dir", str(dashboards), "--plan", str(saved), "--force"], env=environ
    )
    assert refused.exit_code == 2 and "no longer matches the saved plan" in refused.output and uid in refused.output, refused.output
    assert len([r for r in grafana.requests if r[0] == "POST"]) == posts
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    bad = CliRunner().invoke(main, ["import", "grafana", "--url", grafana.url, "--dashboards-dir", str(dashboards), "--plan", str(broken)], env=environ)
    assert bad.exit_code == 2 and f"{broken}:1:1: not a plan written by `metrics plan -o`" in bad.output and "Traceback" not in bad.output
