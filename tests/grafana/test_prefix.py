"""An environment's Graphite prefix: put into the neutral dashboards at import, into the datasource URL at build."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from grafana.builder import build_dashboard, dumps
from grafana.prefix import PrefixError, prefix_dashboard, prefix_target
from grafana.writer import DEFAULT_GRAPHITE_URL
from metrics import catalogue
from metrics.cli import main
from metrics.graphite_paths import prefixed
from tests.conftest import CATALOGUE, SHIPPED_CATALOGUE, SHIPPED_GRAFANA

TODAY = dt.date(2026, 11, 23)


def _queries(board: dict) -> list[str]:
    targets = [t["target"] for p in board["panels"] for t in p.get("targets", [])]
    return targets + [v["query"] for v in board["templating"]["list"] if v["type"] == "query"]


@pytest.mark.parametrize("source", [CATALOGUE, SHIPPED_CATALOGUE], ids=["test", "shipped"])
@pytest.mark.parametrize("prefix", ["prod", "metrics.eqiad-1"])
def test_the_rewritten_neutral_board_reads_what_the_prefixed_spec_builds(source: Path, prefix: str) -> None:
    # The import rewrites text; the builder derives node numbers from the prefixed templates: they must agree.
    compared = 0
    for spec in catalogue.load(source):
        neutral = build_dashboard(spec, today=TODAY)
        want = _queries(build_dashboard(prefixed(spec, prefix), today=TODAY))
        got = _queries(prefix_dashboard(neutral, prefix))
        assert got == want, spec.name
        assert all(prefix + "." in q for q in got), spec.name
        assert all(prefix + "." not in q for q in _queries(neutral))  # the neutral board itself is left alone
        compared += len(got)
    assert compared > 20


def test_statsd_paths_get_the_prefix_after_their_namespace_and_node_numbers_move() -> None:
    spec = catalogue.load(CATALOGUE).spec("codemirror")
    live = next(t["target"] for p in build_dashboard(spec, today=TODAY)["panels"] if p["title"] == "Live toggle clicks" for t in p["targets"])
    moved = prefix_target(live, "a.b")
    assert "stats_counts.a.b.MediaWiki.CodeMirror.live.toggle_clicks.$editor.$enabled, 'sum', 0, 8)" in moved  # node 6 -> 8
    assert moved.count("aliasByNode(") == 1 and ", 1), alias(" in moved  # named after grouping: unchanged


def test_no_prefix_leaves_the_board_as_it_is() -> None:
    board = json.loads((SHIPPED_GRAFANA / "dashboards" / "codemirror.json").read_text("utf-8"))
    assert prefix_dashboard(board, None) is board


def test_a_target_it_cannot_read_is_one_line_exit_2(tmp_path: Path) -> None:
    with pytest.raises(PrefixError, match="cannot read the Graphite target"):
        prefix_target("sumSeries(a.b", "prod")
    board = {"uid": "x", "title": "x", "panels": [{"targets": [{"target": "alias(a.b, 'unclosed)"}]}], "templating": {"list": []}}
    path = tmp_path / "x.json"
    path.write_text(json.dumps(board))
    config = tmp_path / "metrics.toml"
    config.write_text('[env.prod]\ngraphite_prefix = "prod"\ngrafana_url = "http://127.0.0.1:1"\n')
    result = CliRunner().invoke(main, ["--config", str(config), "--env", "prod", "import", "grafana", "--dry-run", str(path)], env={"GRAFANA_TOKEN": ""})
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1 and str(path) in result.output and "Traceback" not in result.output


def test_import_with_an_environment_posts_prefixed_targets(tmp_path: Path) -> None:
    config = tmp_path / "metrics.toml"
    config.write_text('[env.staging]\ngraphite_prefix = "staging"\ngrafana_url = "http://127.0.0.1:1"\n')
    spec = catalogue.load(SHIPPED_CATALOGUE).spec("reference_previews")
    board = tmp_path / "reference_previews.json"
    board.write_text(dumps(build_dashboard(spec, today=TODAY)))
    before = board.read_bytes()
    args = ["--config", str(config), "--env", "staging", "import", "grafana", "--dry-run", str(board)]
    result = CliRunner().invoke(main, args, env={"GRAFANA_TOKEN": ""})
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout[result.stdout.index("{") :])
    want = _queries(build_dashboard(prefixed(spec, "staging"), today=TODAY))
    assert _queries(body["dashboard"]) == want
    assert board.read_bytes() == before


def test_the_datasource_url_is_the_environments_graphite_url(tmp_path: Path) -> None:
    config = tmp_path / "metrics.toml"
    config.write_text(f'[metrics]\ncatalogue = "{CATALOGUE}"\n\n[env.prod]\ngraphite_url = "https://graphite.prod.example:8443"\n')

    def provisioned(*args: str) -> str:
        out = tmp_path / "out"
        result = CliRunner().invoke(main, ["--config", str(config), *args, "build", "grafana", "--out", str(out), "--no-data-as-of"])
        assert result.exit_code == 0, result.output
        (source,) = yaml.safe_load((out / "provisioning" / "datasources" / "graphite.yaml").read_text())["datasources"]
        return source["url"]

    assert provisioned("--env", "prod") == "https://graphite.prod.example:8443"
    assert provisioned() == DEFAULT_GRAPHITE_URL  # no environment: the committed file's URL
    committed = yaml.safe_load((SHIPPED_GRAFANA / "provisioning" / "datasources" / "graphite.yaml").read_text())
    assert committed["datasources"][0]["url"] == DEFAULT_GRAPHITE_URL
