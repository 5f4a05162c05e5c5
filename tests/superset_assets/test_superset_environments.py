"""Bundles built environment-neutral on one path, imported into a real Superset 6.1 for an
environment whose warehouse is on another path: Superset gets that environment's database and
every chart returns data. The warehouse the bundles were built beside is gone by then. Then the
committed bundles (built on another machine) are imported the same way.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from metrics import catalogue as catalogue_mod
from metrics.cli import main
from superset_assets.bundle import database_uri_of
from superset_assets.charts import plan_charts
from superset_assets.database import DATABASE_NAME, ENVIRONMENT_URI, default_uri
from superset_assets.datasets import Planner
from superset_assets.writer import DEFAULT_OUT, read_index
from tests.conftest import CATALOGUE
from tests.services.superset import SupersetClient, SupersetInstance, running_superset
from tests.superset_assets.pipeline import TODAY, build_warehouse

pytestmark = pytest.mark.superset


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    old = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, list(args), env=env)
    finally:
        os.chdir(old)
    assert result.exit_code == 0, result.output
    return result.output


def test_a_bundle_built_on_one_path_imports_for_an_environment_on_another(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("METRICS_ENV", raising=False)
    built_at = tmp_path / "builder"
    warehouse = build_warehouse(built_at)
    catalogue = built_at / "catalogue"
    shutil.copytree(CATALOGUE, catalogue)
    (built_at / "metrics.toml").write_text(f'[metrics]\ncatalogue = "catalogue"\nwarehouse = "{warehouse}"\n')
    cli("build", "superset", "--out", "bundles", "--no-data-as-of", cwd=built_at)
    bundles = built_at / "bundles"
    assert {database_uri_of((bundles / e["file"]).read_bytes()) for e in read_index(bundles)} == {ENVIRONMENT_URI}

    elsewhere = tmp_path / "operator" / "srv" / "metrics"
    shutil.move(str(warehouse), str(elsewhere / "warehouse"))  # the builder's path no longer exists
    assert not warehouse.exists()
    with running_superset() as superset:
        (elsewhere / "metrics.toml").write_text(
            f'[metrics]\ncatalogue = "{catalogue}"\n\n[env.other]\nwarehouse = "warehouse"\nsuperset_url = "{superset.url}"\n'
        )
        cli("--env", "other", "export-duckdb", cwd=elsewhere)  # the views, over this machine's files
        env = {"SUPERSET_PASSWORD": superset.password, "METRICS_STATE_DIR": str(tmp_path / "state")}
        out = cli("--env", "other", "import", "superset", "--user", superset.user, "--bundles-dir", str(bundles), cwd=elsewhere, env=env)
        want_uri = default_uri(elsewhere / "warehouse")
        assert f"database {want_uri} for environment-neutral bundles (environment other)" in out
        check_database_and_charts(superset, want_uri, catalogue)
        # The committed bundles, built on another machine, import the same way.
        out = cli("--env", "other", "import", "superset", "--user", superset.user, cwd=elsewhere, env=env)
        assert str(DEFAULT_OUT) in out
        check_database_and_charts(superset, want_uri, CATALOGUE)


def check_database_and_charts(superset: SupersetInstance, want_uri: str, catalogue: Path) -> None:
    """Superset's database is `want_uri` (read-only), and every chart of the catalogue answers with rows."""
    with SupersetClient(superset.url, superset.user, superset.password) as api:
        databases = api.get_json("/api/v1/database/", params={"q": "(page_size:100)"})["result"]
        ours = [d for d in databases if d["database_name"] == DATABASE_NAME]
        assert len(ours) == 1
        connection = api.get_json(f"/api/v1/database/{ours[0]['id']}/connection")["result"]
        assert connection["sqlalchemy_uri"] == want_uri, connection
        assert connection["extra"] and '"read_only": true' in connection["extra"]
        cat = catalogue_mod.load(catalogue, today=TODAY)
        charts = rows = 0
        for spec in cat:
            planner = Planner(cat, spec, DATABASE_NAME)
            planner.plan_spec()
            for plan in plan_charts(spec, planner):
                payload = api.chart_data(api.chart_id(plan.uuid))["result"][0]
                assert payload.get("error") is None, (plan.title, payload.get("error"), superset.log_tail())
                charts += 1
                rows += int(payload.get("rowcount") or 0)
        assert charts >= 15 and rows > 100, (charts, rows)
