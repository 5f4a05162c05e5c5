"""Environment-neutral bundles, and the database an import fills in (no Superset needed; the real
import on another path: tests/superset_assets/test_superset_environments.py)."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from metrics import catalogue
from metrics.cli import main
from superset_assets.bundle import database_uri_of, fill_database_uri, read_zip
from superset_assets.database import ENVIRONMENT_URI, MASKED_PASSWORD, default_uri, file_name
from superset_assets.importer import ImportProblem, for_database, import_bundles, read_bundle
from superset_assets.writer import DEFAULT_OUT, build_all, read_index
from tests.conftest import CATALOGUE, ROOT

TODAY = dt.date(2026, 11, 23)
MACHINE_PATH = re.compile(r"(?:duckdb|sqlite):///+[A-Za-z]|/(?:work|home|srv|tmp|Users)/")


def entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_every_committed_asset_is_environment_neutral() -> None:
    index = read_index(DEFAULT_OUT)
    assert index
    for entry in index:
        data = (DEFAULT_OUT / entry["file"]).read_bytes()
        assert database_uri_of(data) == ENVIRONMENT_URI, entry["file"]
        for name, content in entries(data).items():
            assert not MACHINE_PATH.search(content.decode("utf-8")), f"{entry['file']}:{name} holds a machine's path"
    for path in sorted((ROOT / "grafana" / "dashboards").glob("*.json")) + sorted((ROOT / "grafana" / "provisioning").rglob("*.yaml")):
        assert not re.search(r"/(?:work|home|Users)/", path.read_text("utf-8")), path


def test_a_neutral_build_is_the_same_bytes_wherever_it_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cat = catalogue.load(CATALOGUE, today=TODAY)
    built = []
    for place in ("one", "two/deeper"):
        where = tmp_path / place
        where.mkdir(parents=True)
        monkeypatch.chdir(where)
        (where / "metrics.toml").write_text(f'[metrics]\ncatalogue = "{CATALOGUE}"\nwarehouse = "{where / "warehouse"}"\n')
        result = CliRunner().invoke(main, ["build", "superset", "--out", "bundles", "--no-data-as-of"])
        assert result.exit_code == 0, result.output
        built.append({e["file"]: e["sha256"] for e in read_index(where / "bundles")})
    assert built[0] == built[1] and len(built[0]) == len(list(cat))
    one = next((tmp_path / "one" / "bundles").rglob("*.zip")).read_bytes()
    assert database_uri_of(one) == ENVIRONMENT_URI


def test_the_import_fills_in_the_database_and_changes_nothing_else(tmp_path: Path) -> None:
    build_all(catalogue.load(CATALOGUE, today=TODAY), tmp_path / "b", engine_uri=ENVIRONMENT_URI, today=TODAY)
    neutral = next((tmp_path / "b").rglob("*.zip")).read_bytes()
    uri = default_uri(tmp_path / "elsewhere" / "warehouse")
    filled = fill_database_uri(neutral, uri)
    database = read_zip(filled)[1][file_name()]
    assert database["sqlalchemy_uri"] == uri
    assert database["extra"]["engine_params"] == {"connect_args": {"read_only": True}}
    before, after = entries(neutral), entries(filled)
    changed = {name for name in before if before[name] != after[name]}
    assert sorted(before) == sorted(after) and [n.split("/", 1)[1] for n in changed] == [file_name()]
    assert fill_database_uri(filled, ENVIRONMENT_URI) == neutral  # the committed bytes come back


def test_a_password_comes_only_from_the_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build_all(catalogue.load(CATALOGUE, today=TODAY), tmp_path / "b", engine_uri=ENVIRONMENT_URI, today=TODAY)
    bundle = read_bundle(next((tmp_path / "b").rglob("*.zip")))
    ready = for_database(bundle, "trino://superset:pw-canary@trino.example.org:8443/hive", "prod")
    assert ready.masked_password and b"pw-canary" not in ready.data
    assert read_zip(ready.data)[1][file_name()]["sqlalchemy_uri"] == f"trino://superset:{MASKED_PASSWORD}@trino.example.org:8443/hive"
    with pytest.raises(ImportProblem, match="environment-neutral and no database URI was given"):
        for_database(bundle, None)


def test_a_bundle_built_for_another_database_is_refused_for_an_environment(tmp_path: Path) -> None:
    build_all(catalogue.load(CATALOGUE, today=TODAY), tmp_path / "b", engine_uri=default_uri("/srv/a/warehouse"), today=TODAY)
    bundle = read_bundle(next((tmp_path / "b").rglob("*.zip")))
    assert for_database(bundle, default_uri("/srv/a/warehouse"), "prod") is bundle
    assert for_database(bundle, default_uri("/srv/b/warehouse"), None) is bundle  # no environment selected: as built
    with pytest.raises(ImportProblem, match="built for the database duckdb:////srv/a/warehouse/catalog.duckdb, not environment prod's"):
        for_database(bundle, default_uri("/srv/b/warehouse"), "prod")
    with pytest.raises(ImportProblem, match="not environment prod's"):
        import_bundles("http://127.0.0.1:9", [bundle.path], password="p", database_uri=default_uri("/srv/b/warehouse"), environment="prod")


def test_the_cli_takes_urls_and_databases_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("METRICS_ENV", raising=False)
    (tmp_path / "metrics.toml").write_text(
        f'[metrics]\ncatalogue = "{CATALOGUE}"\n\n[env.prod]\nwarehouse = "/srv/prod/warehouse"\nsuperset_url = "http://127.0.0.1:9"\n\n[env.bare]\n'
    )
    runner = CliRunner()
    refused = runner.invoke(main, ["--env", "prod", "build", "superset"])
    assert refused.exit_code == 2 and "would write its database into the committed, environment-neutral bundles" in refused.output
    built = runner.invoke(main, ["--env", "prod", "build", "superset", "--out", "prod-bundles", "--no-data-as-of"])
    assert built.exit_code == 0, built.output
    assert database_uri_of(next((tmp_path / "prod-bundles").rglob("*.zip")).read_bytes()) == "duckdb:////srv/prod/warehouse/catalog.duckdb"
    no_url = runner.invoke(main, ["--env", "bare", "import", "superset"])
    assert no_url.exit_code == 2 and "no Superset URL: environment bare has no superset_url" in no_url.output
    no_grafana = runner.invoke(main, ["--env", "prod", "import", "grafana"])
    assert no_grafana.exit_code == 2 and "no Grafana URL: environment prod has no grafana_url" in no_grafana.output
    # The URL comes from the environment: the import reaches for it (nothing listens on port 9).
    unreachable = runner.invoke(main, ["--env", "prod", "import", "superset"], env={**os.environ, "SUPERSET_PASSWORD": "p"})
    assert unreachable.exit_code != 0 and "cannot connect to Superset at http://127.0.0.1:9" in unreachable.output
    assert json.loads((tmp_path / "prod-bundles" / "index.json").read_text())["bundles"]
