"""The catalog file `metrics export-duckdb` writes, read by the DuckDB of a stock `apache-superset[duckdb]`.

apache-superset 6.1.0 declares `duckdb>=1.4.2,<2` for that extra. The Superset test harness is that
stock install (scripts/superset/requirements.txt: duckdb 1.5.6, what the extra resolves to), so every
real-Superset test reads the catalog file through it; the first test here makes sure it stays stock.
The extra's lowest version, 1.4.2, gets a venv of its own (scripts/superset/stock-duckdb.sh, cached
under .services/stock-duckdb/). A subprocess in each opens the demo catalog file read-only, as
Superset does, and reads every view. Marked `superset`: it is about Superset's driver, and the first
run installs the harness.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from metrics.engines.duckdb import write_catalog
from metrics.warehouse import Warehouse
from tests.conftest import ROOT
from tests.services.superset import superset_python
from tests.superset_assets.pipeline import build_warehouse

pytestmark = pytest.mark.superset
LOWEST = "1.4.2"  # the lowest duckdb that apache-superset[duckdb] 6.1.0 accepts

READ_EVERY_VIEW = r"""
import json, sys
import duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
views = con.sql("SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal ORDER BY 1, 2").fetchall()
rows = {}
for schema, view in views:
    rows[f"{schema}.{view}"] = sorted(repr(row) for row in con.sql(f'SELECT * FROM "{schema}"."{view}"').fetchall())
print(json.dumps({"version": duckdb.__version__, "rows": rows}))
"""

# Run in the Superset venv: what the `duckdb` extra of the installed apache-superset declares, and
# whether the installed distributions satisfy it.
EXTRA_SATISFIED = r"""
import json
from importlib import metadata
from packaging.requirements import Requirement
declared = [Requirement(r) for r in metadata.requires("apache-superset") or []]
extra = [r for r in declared if r.marker is not None and r.marker.evaluate({"extra": "duckdb"}) and not r.marker.evaluate({"extra": ""})]
print(json.dumps({r.name: [str(r.specifier), metadata.version(r.name), r.specifier.contains(metadata.version(r.name))] for r in extra}))
"""


def stock_python(version: str) -> str:
    """A bare venv's Python with only duckdb==VERSION (and pytz)."""
    done = subprocess.run(["bash", str(ROOT / "scripts/superset/stock-duckdb.sh"), version], capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        pytest.fail(f"scripts/superset/stock-duckdb.sh {version} failed:\n{done.stderr}")
    return done.stdout.strip().splitlines()[-1]


def reader(name: str) -> str:
    return str(superset_python()) if name == "superset" else stock_python(name)


def read_with(python: str, catalog: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([python, "-c", READ_EVERY_VIEW, str(catalog)], capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def demo_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    warehouse = build_warehouse(tmp_path_factory.mktemp("stock-duckdb"))
    return warehouse / "catalog.duckdb"


def test_the_superset_harness_is_a_stock_duckdb_install() -> None:
    """Every real-Superset test reads the catalog file through the driver `apache-superset[duckdb]` brings."""
    done = subprocess.run([str(superset_python()), "-c", EXTRA_SATISFIED], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    extra = json.loads(done.stdout)
    assert set(extra) == {"duckdb", "duckdb-engine"}, extra
    assert all(satisfied for _, _, satisfied in extra.values()), extra
    assert extra["duckdb"][1].startswith("1."), extra  # a DuckDB 2.0 beside Superset would prove nothing


@pytest.mark.parametrize("name", ["superset", LOWEST])
def test_stock_driver_reads_every_view_as_the_project_does(demo_catalog: Path, name: str) -> None:
    done = read_with(reader(name), demo_catalog)
    assert done.returncode == 0, done.stderr
    stock = json.loads(done.stdout)
    assert stock["version"].startswith("1."), stock["version"]
    if name == LOWEST:
        assert stock["version"] == LOWEST
    ours = json.loads(subprocess.run([sys.executable, "-c", READ_EVERY_VIEW, str(demo_catalog)], capture_output=True, text=True, check=True).stdout)
    assert ours["version"].startswith("2.")
    assert len(stock["rows"]) >= 10, list(stock["rows"])  # every table of the demo warehouse has its view
    assert sum(map(len, stock["rows"].values())) > 1000
    assert stock["rows"] == ours["rows"]  # every row of every view, as the project's DuckDB 2.0 reads it


def test_a_file_in_duckdb_2_format_is_what_the_stock_driver_refuses(tmp_path: Path) -> None:
    """Why the storage version is set: the same views in DuckDB 2.0's own format do not open."""
    native = tmp_path / "native.duckdb"
    duckdb.connect(str(native)).close()
    done = read_with(reader("superset"), native)
    assert done.returncode != 0
    assert "version number" in done.stderr
    empty = tmp_path / "warehouse"
    empty.mkdir()
    written = write_catalog(Warehouse(empty), tmp_path / "catalog.duckdb")
    assert read_with(reader("superset"), written).returncode == 0
