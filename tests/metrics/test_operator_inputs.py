"""An operator's first tries of the operator commands: a wrong warehouse, a missing catalog file or
credential, query folders outside git. Each is one line and exit 2 (or, for the plan, a line and the
rest of the plan), never a report on an empty warehouse or an import whose charts cannot run."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from metrics.cli import main
from tests.conftest import ROOT

CATALOGUE = ROOT / "metrics" / "catalogue"
QUERIES = ROOT / "reportupdater_queries"
BUNDLES = ROOT / "superset_assets" / "bundles"
DASHBOARDS = ROOT / "grafana" / "dashboards"
NOBODY = "http://127.0.0.1:9"  # nothing listens on the discard port: a check that passes reaches "did not answer"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("ENV", "WAREHOUSE", "SUPERSET_URL", "GRAFANA_URL", "DATABASE_URI", "GRAPHITE_PREFIX", "GRAPHITE_URL", "QUERIES", "CATALOGUE"):
        monkeypatch.delenv(f"METRICS_{name}", raising=False)
    for name in ("SUPERSET_PASSWORD", "GRAFANA_TOKEN", "SUPERSET_DB_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("METRICS_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)  # no metrics.toml but the test's own


def metrics(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, ["--catalogue", str(CATALOGUE), "--queries", str(QUERIES), *args], env=env)


def one_line(result: Result) -> str:
    assert "Traceback" not in result.output and result.stderr.count("\n") == 1, result.output
    return result.stderr.strip()


def test_an_import_without_the_catalog_file_is_refused_naming_it(tmp_path: Path) -> None:
    warehouse = tmp_path / "wh"
    warehouse.mkdir()
    catalog = warehouse / "catalog.duckdb"
    password = {"SUPERSET_PASSWORD": "x"}
    commands = [
        ["import", "superset", "--url", NOBODY, "--bundles-dir", str(BUNDLES)],
        ["import", "superset", "--url", NOBODY, "--bundles-dir", str(BUNDLES), "--dry-run"],
        ["plan", "--superset-url", NOBODY, "--bundles-dir", str(BUNDLES)],
    ]
    for command in commands:
        result = metrics("--warehouse", str(warehouse), *command, env=password)
        assert result.exit_code == 2, (command, result.output)
        line = one_line(result)
        assert line.startswith(f"{catalog}:1:1: no DuckDB catalog file") and "metrics export-duckdb" in line and "--warehouse" in line, line
    assert metrics("--warehouse", str(warehouse), "export-duckdb").exit_code == 0 and catalog.is_file()
    elsewhere = tmp_path / "not-on-this-machine"  # an environment's warehouse on another host: Superset's to open
    result = metrics("--warehouse", str(elsewhere), *commands[1], env=password)
    assert result.exit_code == 1 and f"connect to Superset at {NOBODY}" in result.output, result.output
    built = tmp_path / "built"  # bundles built for a database of their own do not take the warehouse's
    assert metrics("build", "superset", "--engine-uri", "duckdb:////srv/elsewhere/catalog.duckdb", "--out", str(built), "--no-data-as-of").exit_code == 0
    result = metrics("--warehouse", str(warehouse), "import", "superset", "--url", NOBODY, "--bundles-dir", str(built), "--dry-run", env=password)
    assert result.exit_code == 1 and f"connect to Superset at {NOBODY}" in result.output, result.output
    for command in commands:  # with the file, the import goes on to Superset
        result = metrics("--warehouse", str(warehouse), *command, env=password)
        assert result.exit_code == 1 and f"connect to Superset at {NOBODY}" in result.output, (command, result.output)


def test_export_duckdb_into_a_missing_warehouse_is_refused_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent"
    result = metrics("--warehouse", str(missing), "export-duckdb")
    assert result.exit_code == 2
    assert one_line(result).startswith(f"error: no warehouse at {missing}: ")
    assert not missing.exists()


@pytest.mark.parametrize("command", [["status"], ["backfill", "--dry-run"], ["query", "SELECT 1"]])
def test_a_missing_warehouse_is_an_error_not_an_empty_one(tmp_path: Path, command: list[str]) -> None:
    missing = tmp_path / "nonexistent" / "wh"
    result = metrics("--warehouse", str(missing), *command)
    assert result.exit_code == 2, result.output
    line = one_line(result)
    assert line.startswith(f"error: no warehouse at {missing}: ") and "--warehouse" in line and "METRICS_WAREHOUSE" in line, line
    assert not missing.parent.exists()


def test_a_query_of_a_missing_table_names_the_warehouse_and_how_to_choose_another(tmp_path: Path) -> None:
    warehouse = tmp_path / "wh"
    warehouse.mkdir()
    result = metrics("--warehouse", "wh", "query", "SELECT count(*) FROM metrics.codemirror_toggles")
    assert result.exit_code == 2
    line = one_line(result)
    assert line.startswith(f"<query>:1:1: no table metrics.codemirror_toggles in the warehouse at {warehouse} ("), line
    assert "--warehouse" in line and "METRICS_WAREHOUSE" in line and "metrics.toml" in line, line
    result = metrics("--warehouse", "wh", "query", "SELECT nope FROM (SELECT 1 AS one)")  # another error keeps the engine's words
    assert result.exit_code == 2 and "nope" in result.stderr and str(warehouse) in one_line(result)


def test_plan_with_query_folders_outside_git_says_so_and_goes_on(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(CATALOGUE, repo / "catalogue")
    queries = tmp_path / "q"
    shutil.copytree(QUERIES, queries)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "c"]):
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)
    args = ["--catalogue", str(repo / "catalogue"), "--queries", str(queries), "--warehouse", str(tmp_path / "wh"), "plan"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[1] == f"{queries}: the query folders are not in the git work tree of the catalogue ({repo}): no diff of reports, tables and Graphite paths", (
        lines
    )
    assert lines[2].startswith("no run log in the warehouse"), lines  # the rest of the plan still comes
    result = CliRunner().invoke(main, [*args, "--since", "HEAD"])  # a diff asked for by name that cannot be given stays an error
    assert result.exit_code == 2 and "not in the git work tree" in one_line(result)


def test_a_missing_credential_is_exit_2_naming_the_variable(tmp_path: Path) -> None:
    warehouse = tmp_path / "wh"
    warehouse.mkdir()
    assert metrics("--warehouse", str(warehouse), "export-duckdb").exit_code == 0
    superset = [
        ["plan", "--superset-url", NOBODY, "--bundles-dir", str(BUNDLES)],
        ["import", "superset", "--url", NOBODY, "--bundles-dir", str(BUNDLES), "--dry-run"],
        ["verify", "--superset-url", NOBODY, "--graphite-url", NOBODY],
    ]
    grafana = [
        ["plan", "--grafana-url", NOBODY, "--dashboards-dir", str(DASHBOARDS)],
        ["import", "grafana", "--url", NOBODY, str(DASHBOARDS / "codemirror.json")],
    ]
    for variable, commands in (("SUPERSET_PASSWORD", superset), ("GRAFANA_TOKEN", grafana)):
        for command in commands:
            for env in ({}, {variable: ""}):
                result = metrics("--warehouse", str(warehouse), *command, env=env)
                assert result.exit_code == 2, (command, env, result.output)
                assert one_line(result).startswith(f"{variable}:1:1: no "), result.output


def test_verify_takes_the_environments_superset_url(tmp_path: Path) -> None:
    (tmp_path / "metrics.toml").write_text(f'[env.x]\nsuperset_url = "{NOBODY}"\ngraphite_url = "{NOBODY}"\n')
    result = metrics("--env", "x", "verify", env={"SUPERSET_PASSWORD": "x"})
    assert result.exit_code == 1, result.output
    assert f"Superset at {NOBODY} did not answer" in one_line(result)
    result = metrics("verify", "--graphite-url", NOBODY, env={"SUPERSET_PASSWORD": "x"})  # neither option nor environment
    assert result.exit_code == 2 and one_line(result).startswith("--superset-url:1:1: no Superset URL: no environment is selected")
