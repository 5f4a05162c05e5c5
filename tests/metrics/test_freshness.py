"""Dashboards show how fresh their data is, from a run log made by a real run; the same run log builds the same bytes."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from grafana.builder import build_dashboard, dumps
from metrics import catalogue as catalogue_mod
from metrics.engines import open_engine
from metrics.freshness import Freshness, run_tag
from metrics.reports.runner import update_reports
from metrics.spec import ReportSource
from metrics.status import spec_freshness, status
from metrics.warehouse import Warehouse
from superset_assets.bundle import build_bundle, read_zip
from tests.conftest import CATALOGUE, SHARED
from tests.ops_world import DAYS, NOW, copy_folder, load_baseline

URI = "duckdb:////srv/warehouse/catalog.duckdb"
TODAY = dt.date(2026, 11, 21)
CAT = catalogue_mod.load(CATALOGUE, today=TODAY)


@pytest.fixture
def world(tmp_path: Path) -> tuple[Warehouse, Path]:
    warehouse = Warehouse(tmp_path / "wh")
    load_baseline(warehouse)
    folder = copy_folder("reference_previews", tmp_path / "q")
    with open_engine(warehouse) as engine:
        assert update_reports(folder, engine, now=NOW, graphite=False).ok
    return warehouse, folder


def freshness(warehouse: Warehouse, folder: Path) -> dict[str, list[Freshness]]:
    with open_engine(warehouse) as engine:
        return spec_freshness(CAT, status([folder], engine))


def last_logged(warehouse: Warehouse) -> str:
    """The latest run-log time of the folder, read with SQL, as dashboards write it."""
    with open_engine(warehouse) as engine:
        moment = engine.query("SELECT max(finished_at) AS t FROM metrics.report_runs WHERE folder = 'reference_previews'").to_pylist()[0]["t"]
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def superset_header(data: bytes) -> str:
    _, files = read_zip(data)
    return files["dashboards/reference_previews.yaml"]["position"]["MARKDOWN-header"]["meta"]["code"]


def test_superset_header_and_grafana_text_show_the_day_and_the_last_run(world: tuple[Warehouse, Path]) -> None:
    warehouse, folder = world
    found = freshness(warehouse, folder)
    assert found["codemirror"] == [] and found["country_indicators"] == []  # their folders did not run here
    line = f"- `reference_previews/baseline`: through {DAYS[-1]}, last run {last_logged(warehouse)}"
    spec = CAT.spec("reference_previews")
    bundle = build_bundle(CAT, spec, engine_uri=URI, today=TODAY, data_as_of=found["reference_previews"])
    assert line in superset_header(bundle.zip_bytes())
    board = build_dashboard(spec, today=TODAY, data_as_of=found["reference_previews"])
    assert line in board["panels"][0]["options"]["content"]
    plain = build_dashboard(spec, today=TODAY)
    assert "Data as of" not in plain["panels"][0]["options"]["content"] and "Data as of" not in superset_header(
        build_bundle(CAT, spec, engine_uri=URI, today=TODAY).zip_bytes()
    )


def test_unchanged_run_log_same_bytes_a_new_run_new_text(world: tuple[Warehouse, Path]) -> None:
    warehouse, folder = world
    spec = CAT.spec("reference_previews")

    def built() -> tuple[bytes, str]:
        items = freshness(warehouse, folder)["reference_previews"]
        return build_bundle(CAT, spec, engine_uri=URI, today=TODAY, data_as_of=items).zip_bytes(), dumps(build_dashboard(spec, today=TODAY, data_as_of=items))

    first = built()
    with open_engine(warehouse) as engine:  # a run with nothing due writes no run-log entry
        assert update_reports(folder, engine, now=NOW, graphite=False).outcomes == []
    assert built() == first

    next_day = DAYS[-1] + dt.timedelta(days=1)
    load_baseline(warehouse, [next_day])
    with open_engine(warehouse) as engine:
        assert update_reports(folder, engine, now=NOW + dt.timedelta(days=1), graphite=False).ok
    bundle, board = built()
    assert f"through {next_day}" in superset_header(bundle) and f"through {next_day}" in board
    assert f"through {DAYS[-1]}" not in board


def test_each_board_shows_the_run_events_of_its_query_folders() -> None:
    board = build_dashboard(CAT.spec("codemirror"), today=TODAY)
    runs = [a for a in board["annotations"]["list"] if a["name"].startswith("Runs of ")]
    assert [a["target"]["tags"] for a in runs] == [[run_tag("codemirror")]]
    assert runs[0]["target"]["queryType"] == "tags" and runs[0]["datasource"]["type"] == "graphite"
    for spec in CAT:  # one per query folder that a metric's `source.report` names
        folders = sorted({m.source.report.split("/")[0] for m in spec.metrics if isinstance(m.source, ReportSource)})
        assert [a["name"] for a in build_dashboard(spec, today=TODAY)["annotations"]["list"]] == ["Annotations & Alerts"] + [f"Runs of {f}" for f in folders]
    schema = SHARED / "schemas" / "grafana-dashboard.jsonschema.json"
    if schema.is_file():
        jsonschema.Draft7Validator(json.loads(schema.read_text("utf-8"))).validate(board)


def test_build_commands_read_the_configured_run_log(world: tuple[Warehouse, Path], tmp_path: Path) -> None:
    warehouse, folder = world
    base = [sys.executable, "-m", "metrics", "--warehouse", str(warehouse.root), "--queries", str(folder.parent), "--catalogue", str(CATALOGUE)]
    for args in (["build", "grafana", "--out", str(tmp_path / "g")], ["build", "superset", "--out", str(tmp_path / "s")]):
        result = subprocess.run([*base, *args], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
    assert f"through {DAYS[-1]}" in (tmp_path / "g" / "dashboards" / "reference_previews.json").read_text()
    assert f"through {DAYS[-1]}" in superset_header((tmp_path / "s" / "reference_previews" / "reference_previews-2.0.1.zip").read_bytes())
    result = subprocess.run([*base, "build", "grafana", "--out", str(tmp_path / "plain"), "--no-data-as-of"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "Data as of" not in (tmp_path / "plain" / "dashboards" / "reference_previews.json").read_text()
