"""A real Superset 6.1 takes a bundle's database password from the import, never from the bundle.

The bundle is built from an engine URI with the password as a query parameter; it holds the
password masked as Superset's own export masks it, and `metrics import superset` sends
SUPERSET_DB_PASSWORD in the import's `passwords` field. What Superset stored is read back,
decrypted, by Superset's own model in its own virtualenv.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

import pytest

from metrics import catalogue
from metrics.engines.duckdb import write_catalog
from metrics.warehouse import Warehouse
from superset_assets.bundle import read_zip
from superset_assets.importer import DB_PASSWORD_ENV, ImportProblem, import_bundles
from superset_assets.writer import build_all
from tests.conftest import CATALOGUE
from tests.services.superset import running_superset, superset_python

pytestmark = pytest.mark.superset
PASSWORD = "pw-canary-4cd1e7"
STORED = """
from superset.app import create_app
with create_app().app_context():
    from superset import db
    from superset.models.core import Database
    for d in db.session.query(Database).all():
        print(d.database_name, d.password, d.sqlalchemy_uri)
"""


def test_the_database_password_comes_with_the_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "warehouse").mkdir()
    catalog = write_catalog(Warehouse(tmp_path / "warehouse"), tmp_path / "catalog.duckdb")  # the import connects to it
    out = tmp_path / "bundles"
    build_all(catalogue.load(CATALOGUE, today=dt.date(2026, 11, 23)), out, engine_uri=f"duckdb://metrics@localhost/{catalog}?password={PASSWORD}")
    bundle = sorted(out.rglob("*.zip"))[0]
    files = read_zip(bundle.read_bytes())[1]
    assert files["databases/metrics_warehouse.yaml"]["sqlalchemy_uri"] == f"duckdb://metrics:XXXXXXXXXX@localhost/{catalog}"
    assert PASSWORD not in str(files)
    with running_superset() as superset:
        monkeypatch.delenv(DB_PASSWORD_ENV, raising=False)
        with pytest.raises(ImportProblem, match=f"masked password and {DB_PASSWORD_ENV} is not set"):
            import_bundles(superset.url, [bundle], user=superset.user, password=superset.password, state_path=tmp_path / "state.json")
        assert "Must provide a password for the database" in superset.log_tail(200)
        monkeypatch.setenv(DB_PASSWORD_ENV, PASSWORD)
        import_bundles(superset.url, [bundle], user=superset.user, password=superset.password, state_path=tmp_path / "state.json")
        stored = subprocess.run(
            [str(superset_python()), "-c", STORED],
            env={**os.environ, "SUPERSET_CONFIG_PATH": str(superset.state_dir / "superset_config.py")},
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        ).stdout.splitlines()
    assert f"metrics_warehouse {PASSWORD} duckdb://metrics:XXXXXXXXXX@localhost/{catalog}" in stored
