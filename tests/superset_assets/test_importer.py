"""The Superset importer's refusals that need no Superset (the rest: tests/superset_assets/test_superset_integration.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from metrics import catalogue
from metrics.cli import main
from superset_assets.bundle import read_zip
from superset_assets.database import default_uri
from superset_assets.importer import ImportProblem, import_bundles, read_bundle
from superset_assets.writer import build_all
from tests.conftest import CATALOGUE


def test_a_url_holding_a_secret_is_refused_and_never_shown(tmp_path: Path) -> None:
    out = tmp_path / "bundles"
    build_all(catalogue.load(CATALOGUE, today=dt.date(2026, 11, 23)), out, engine_uri=default_uri(tmp_path / "warehouse"))
    bundle = next(out.rglob("*.zip"))
    for url in ("http://admin:url-canary-1@127.0.0.1:9", "http://127.0.0.1:9/?token=url-canary-2"):
        with pytest.raises(ImportProblem, match="holds a secret") as refused:
            import_bundles(url, [bundle], password="p", state_path=tmp_path / "state.json")
        assert "url-canary" not in str(refused.value) and "XXXXXXXXXX" in str(refused.value)
        result = CliRunner().invoke(main, ["import", "superset", "--url", url, str(bundle)], env={"SUPERSET_PASSWORD": "password-canary"})
        assert result.exit_code != 0 and "canary" not in result.output and "holds a secret" in result.output
    assert not (tmp_path / "state.json").exists()


def test_a_bundle_knows_when_its_database_password_must_come_with_the_import(tmp_path: Path) -> None:
    cat = catalogue.load(CATALOGUE, today=dt.date(2026, 11, 23))
    build_all(cat, tmp_path / "plain", engine_uri=default_uri(tmp_path / "warehouse"))
    build_all(cat, tmp_path / "masked", engine_uri="postgresql://u@db.example/x?password=pw-canary")
    assert not read_bundle(next((tmp_path / "plain").rglob("*.zip"))).masked_password
    masked = next((tmp_path / "masked").rglob("*.zip"))
    assert read_bundle(masked).masked_password
    files = read_zip(masked.read_bytes())[1]
    assert files["databases/metrics_warehouse.yaml"]["sqlalchemy_uri"] == "postgresql://u:XXXXXXXXXX@db.example/x"
    assert "pw-canary" not in str(files)
