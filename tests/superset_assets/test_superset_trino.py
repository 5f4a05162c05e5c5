"""Superset over Trino: the same bundles built with a trino:// URI give every chart the numbers it
gives over the DuckDB catalog file, in a real Superset 6.1 and a real Trino 476."""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any

import pytest

from metrics import catalogue as catalogue_mod
from metrics.engines import open_engine
from superset_assets.charts import plan_charts
from superset_assets.database import default_uri
from superset_assets.datasets import Planner
from superset_assets.importer import import_bundles
from superset_assets.writer import build_all, latest, read_index
from tests.conftest import CATALOGUE
from tests.services.superset import SupersetClient, running_superset
from tests.services.trino import running_trino
from tests.superset_assets.pipeline import TODAY, build_warehouse

pytestmark = [pytest.mark.superset, pytest.mark.trino]


def _chart_answers(superset: Any, bundles: Path, state: Path, catalogue: catalogue_mod.Catalogue, backend: str) -> dict[str, list[dict[str, Any]]]:
    """Import the bundles (overwriting by UUID), check the database's backend, then every chart's data rows by chart UUID."""
    paths = [bundles / e["file"] for _, e in sorted(latest(read_index(bundles)).items())]
    import_bundles(superset.url, paths, user=superset.user, password=superset.password, state_path=state)
    answers = {}
    with SupersetClient(superset.url, superset.user, superset.password) as api:
        databases = api.get_json("/api/v1/database/")["result"]
        assert [d["backend"] for d in databases if d["database_name"] == "metrics_warehouse"] == [backend]
        for spec in catalogue:
            planner = Planner(catalogue, spec, "metrics_warehouse")
            planner.plan_spec()
            for plan in plan_charts(spec, planner):
                payload = api.chart_data(api.chart_id(plan.uuid))["result"][0]
                assert payload.get("error") is None, (plan.title, payload.get("error"))
                answers[plan.uuid] = payload["data"]
    return answers


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def test_every_chart_over_trino_equals_the_chart_over_duckdb(tmp_path: Path) -> None:
    warehouse = build_warehouse(tmp_path)
    catalogue = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, catalogue)
    cat = catalogue_mod.load(catalogue, today=TODAY)
    with running_trino(warehouse) as uri:
        with open_engine(warehouse, "trino", uri):
            pass  # opening registers every table of the warehouse in the Hive catalog
        build_all(cat, tmp_path / "on-duckdb", engine_uri=default_uri(warehouse), today=TODAY)
        build_all(cat, tmp_path / "on-trino", engine_uri=uri, today=TODAY)
        with running_superset() as superset:
            on_duckdb = _chart_answers(superset, tmp_path / "on-duckdb", tmp_path / "state.json", cat, "duckdb")
            on_trino = _chart_answers(superset, tmp_path / "on-trino", tmp_path / "state.json", cat, "trino")
    assert len(on_duckdb) >= 15 and on_duckdb.keys() == on_trino.keys()
    for uuid, rows in on_duckdb.items():
        assert rows, f"chart {uuid} has no rows over DuckDB: the comparison would prove nothing"
        key = lambda row: sorted((k, str(v)) for k, v in row.items() if not isinstance(v, float))  # noqa: E731
        theirs = sorted(on_trino[uuid], key=key)
        ours = sorted(rows, key=key)
        assert len(ours) == len(theirs), uuid
        for a, b in zip(ours, theirs):
            assert a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a), (uuid, a, b)
