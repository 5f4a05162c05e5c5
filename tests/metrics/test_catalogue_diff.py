"""The catalogue diff of `metrics plan`: reports, tables and Graphite paths changed since a git revision, in a real git repository."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from metrics import catalogue_diff
from metrics.cli import main
from metrics.problems import InputError
from tests.conftest import CATALOGUE, QUERIES


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    shutil.copytree(CATALOGUE, tmp_path / "catalogue")
    shutil.copytree(QUERIES, tmp_path / "queries")
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", "-A")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "catalogue")
    return tmp_path


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), "utf-8")


def test_nothing_changed(repo: Path) -> None:
    diff = catalogue_diff.since("HEAD", repo / "catalogue", repo / "queries")
    assert (diff.reports, diff.tables, diff.graphite) == ([], [], [])
    assert diff.lines()[-1] == "  no change to any report, table or Graphite path"


def test_sql_schema_and_graphite_changes_are_listed(repo: Path) -> None:
    spec = repo / "catalogue" / "codemirror.yaml"
    # a renamed Graphite path, and a metric read from a renamed column
    replace(spec, "graphite_path: MediaWiki.CodeMirror.sessions.{editor}.{wiki}", "graphite_path: MediaWiki.CodeMirror.editing_sessions.{editor}.{wiki}")
    replace(spec, "report: codemirror/sessions, column: sessions}", "report: codemirror/sessions, column: session_count}")
    query = next((repo / "queries" / "codemirror").rglob("toggles*"))
    query.write_text(query.read_text("utf-8").replace("bots left out", "bots left out, now counted twice"), "utf-8")
    # a comment and reordered lines in a spec change nothing
    replace(repo / "catalogue" / "top_pageviews.yaml", "\nname:", "\n# a comment\nname:")
    diff = catalogue_diff.since("HEAD", repo / "catalogue", repo / "queries")
    assert [(r.report, r.table) for r in diff.reports] == [("codemirror/toggles", "codemirror_toggles")]
    assert f"its query {query.name} changed" in diff.reports[0].why
    assert [(t.table, t.added, t.removed, t.retyped) for t in diff.tables] == [("codemirror_sessions", ["session_count"], ["sessions"], [])]
    assert [(g.metric, g.old, g.new) for g in diff.graphite] == [
        ("editing_sessions", "MediaWiki.CodeMirror.sessions.{editor}.{wiki}", "MediaWiki.CodeMirror.editing_sessions.{editor}.{wiki}")
    ]
    text = "\n".join(diff.lines())
    assert "table metrics.codemirror_sessions: schema changes: +session_count, -sessions" in text
    assert "graphite MediaWiki.CodeMirror.sessions.{editor}.{wiki} (metric editing_sessions): renamed to" in text
    # an environment with a Graphite prefix stores (and so orphans) its history under it
    staged = catalogue_diff.since("HEAD", repo / "catalogue", repo / "queries", "staging")
    assert [(g.old, g.new) for g in staged.graphite] == [
        ("staging.MediaWiki.CodeMirror.sessions.{editor}.{wiki}", "staging.MediaWiki.CodeMirror.editing_sessions.{editor}.{wiki}")
    ]


def test_report_settings_and_a_removed_report(repo: Path) -> None:
    config = repo / "queries" / "codemirror" / "config.yaml"
    text = config.read_text("utf-8")
    assert "granularity: days" in text
    config.write_text(text.replace("granularity: days", "granularity: weeks", 1), "utf-8")
    diff = catalogue_diff.since("HEAD", repo / "catalogue", repo / "queries")
    assert diff.reports and all("granularity: 'days' -> 'weeks'" in r.why for r in diff.reports if r.report.startswith("codemirror/"))
    shutil.rmtree(repo / "queries" / "reference_previews")
    removed = catalogue_diff.since("HEAD", repo / "catalogue", repo / "queries")
    assert any(r.report.startswith("reference_previews/") and "report removed" in r.why for r in removed.reports)


def test_bad_revision_and_no_git_exit_2_or_say_so(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    with pytest.raises(InputError, match="'nope' is not a git revision"):
        catalogue_diff.since("nope", repo / "catalogue", repo / "queries")
    result = CliRunner().invoke(main, ["--catalogue", str(repo / "catalogue"), "--queries", str(repo / "queries"), "plan", "--since", "nope"])
    assert result.exit_code == 2 and "is not a git revision" in result.output and "Traceback" not in result.output
    elsewhere = tmp_path_factory.mktemp("nogit")
    shutil.copytree(CATALOGUE, elsewhere / "catalogue")
    result = CliRunner().invoke(main, ["--catalogue", str(elsewhere / "catalogue"), "--queries", str(elsewhere / "queries"), "plan"])
    assert result.exit_code == 0 and "not in a git work tree" in result.output


def test_json_output(repo: Path) -> None:
    import json

    replace(repo / "catalogue" / "codemirror.yaml", "graphite_path: MediaWiki.CodeMirror.sessions.{editor}.{wiki}", "graphite_path: null")
    result = CliRunner().invoke(main, ["--catalogue", str(repo / "catalogue"), "--queries", str(repo / "queries"), "plan", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["plans"] == [] and document["catalogue"]["graphite"] == [
        {"metric": "editing_sessions", "old": "MediaWiki.CodeMirror.sessions.{editor}.{wiki}", "new": None}
    ]


def test_a_retyped_column(repo: Path) -> None:
    spec = repo / "catalogue" / "codemirror.yaml"
    replace(spec, "    unit: sessions\n    type: counter\n", "    unit: sessions\n    type: gauge\n")
    diff = catalogue_diff.since("HEAD", repo / "catalogue", repo / "queries")
    assert [(t.table, t.retyped) for t in diff.tables] == [("codemirror_sessions", [("sessions", "counter metric", "gauge metric")])]
    assert "sessions: counter metric -> gauge metric" in "\n".join(diff.lines())
