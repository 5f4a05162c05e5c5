"""The Superset harness works: a real Superset imports a hand-made v1 bundle over a DuckDB
file and the imported chart returns exactly the rows of that file.

Run: python -m pytest tests/services/test_superset_harness.py -m superset -x -q
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import yaml

from metrics.engines.duckdb import write_catalog
from metrics.warehouse import Warehouse
from tests.services.superset import SupersetClient, SupersetError, running_superset

pytestmark = pytest.mark.superset

ROWS = [
    (date(2024, 1, 1), "en", 120),
    (date(2024, 1, 1), "de", 45),
    (date(2024, 1, 2), "en", 130),
    (date(2024, 1, 2), "de", 50),
    (date(2024, 1, 3), "en", 7_000_000_001),  # > 2**32: BIGINT must survive the round trip
    (date(2024, 1, 3), "de", 0),
]

NS = uuid.UUID("5b8e0c4e-4f47-4a57-9d0b-6c1f3f2a9e10")
DB_UUID = str(uuid.uuid5(NS, "database"))
DATASET_UUID = str(uuid.uuid5(NS, "dataset"))
CHART_UUID = str(uuid.uuid5(NS, "chart"))
DASHBOARD_UUID = str(uuid.uuid5(NS, "dashboard"))


def write_duckdb(path: Path) -> None:
    """ROWS as a warehouse table, and the DuckDB file of views over it that `metrics export-duckdb` writes."""
    warehouse = Warehouse(path.parent / "warehouse")
    for day in sorted({day for day, _, _ in ROWS}):
        rows = [row for row in ROWS if row[0] == day]
        data = pa.table({"wiki": [wiki for _, wiki, _ in rows], "clicks": pa.array([clicks for _, _, clicks in rows], pa.int64())})
        warehouse.replace_partition("metrics", "metrics_demo", {"dt": day}, data)
    write_catalog(warehouse, path)  # Superset opens it read-only; no writer holds the file


def chart_query_context(metric: str) -> dict[str, Any]:
    """What the Explore UI (6.1) saves for echarts_timeseries_line; datasource id is fixed
    up by the importer (update_chart_config_dataset)."""
    form_data = chart_params(metric)
    return {
        "datasource": {"id": 0, "type": "table"},
        "force": False,
        "queries": [
            {
                "filters": [{"col": "dt", "op": "TEMPORAL_RANGE", "val": "No filter"}],
                "extras": {"having": "", "where": ""},
                "applied_time_extras": {},
                "columns": [
                    {
                        "timeGrain": "P1D",
                        "columnType": "BASE_AXIS",
                        "sqlExpression": "dt",
                        "label": "dt",
                        "expressionType": "SQL",
                    },
                    "wiki",
                ],
                "metrics": [metric],
                "orderby": [[metric, False]],
                "annotation_layers": [],
                "row_limit": 10000,
                "series_columns": ["wiki"],
                "series_limit": 0,
                "order_desc": True,
                "url_params": {},
                "custom_params": {},
                "custom_form_data": {},
                "time_offsets": [],
                "post_processing": [
                    {
                        "operation": "pivot",
                        "options": {
                            "index": ["dt"],
                            "columns": ["wiki"],
                            "aggregates": {metric: {"operator": "mean"}},
                            "drop_missing_columns": False,
                        },
                    },
                    {
                        "operation": "rename",
                        "options": {"columns": {metric: None}, "level": 0, "inplace": True},
                    },
                    {"operation": "flatten"},
                ],
            }
        ],
        "form_data": {**form_data, "force": False, "result_format": "json", "result_type": "full"},
        "result_format": "json",
        "result_type": "full",
    }


def chart_params(metric: str) -> dict[str, Any]:
    return {
        "datasource": "0__table",
        "viz_type": "echarts_timeseries_line",
        "x_axis": "dt",
        "time_grain_sqla": "P1D",
        "x_axis_sort_asc": True,
        "metrics": [metric],
        "groupby": ["wiki"],
        "adhoc_filters": [
            {
                "clause": "WHERE",
                "subject": "dt",
                "operator": "TEMPORAL_RANGE",
                "comparator": "No filter",
                "expressionType": "SIMPLE",
            }
        ],
        "order_desc": True,
        "row_limit": 10000,
        "truncate_metric": True,
        "show_legend": True,
        "rich_tooltip": True,
        "y_axis_format": ",d",
        "x_axis_time_format": "%Y-%m-%d",
        "extra_form_data": {},
        "dashboards": [],
    }


def build_bundle(duckdb_path: Path) -> bytes:
    """A minimal v1 bundle: one top folder, metadata + database + dataset + chart + dashboard."""
    metric = "sum_clicks"
    files: dict[str, dict[str, Any]] = {
        "metadata.yaml": {
            "version": "1.0.0",  # and no `type`: then both import endpoints accept it
            "timestamp": datetime.now(timezone.utc).isoformat(),
        },
        "databases/metrics_demo_duckdb.yaml": {
            "database_name": "metrics_demo_duckdb",
            "sqlalchemy_uri": f"duckdb:///{duckdb_path.resolve()}",
            "cache_timeout": None,
            "expose_in_sqllab": True,
            "allow_run_async": False,
            "allow_ctas": False,
            "allow_cvas": False,
            "allow_dml": False,
            "allow_csv_upload": False,
            "extra": {"engine_params": {"connect_args": {"read_only": True}}},
            "uuid": DB_UUID,
            "version": "1.0.0",
        },
        "datasets/metrics_demo_duckdb/metrics_demo.yaml": {
            "table_name": "metrics_demo",
            "main_dttm_col": "dt",
            "description": "hand-made test dataset",
            "default_endpoint": None,
            "offset": 0,
            "cache_timeout": None,
            "schema": "metrics",
            "sql": None,
            "params": None,
            "template_params": None,
            "filter_select_enabled": True,
            "fetch_values_predicate": None,
            "extra": None,
            "uuid": DATASET_UUID,
            "metrics": [
                {
                    "metric_name": metric,
                    "verbose_name": "Clicks",
                    "metric_type": "sum",
                    "expression": "SUM(clicks)",
                    "description": None,
                    "d3format": ",d",
                    "extra": None,
                    "warning_text": None,
                }
            ],
            "columns": [
                {
                    "column_name": "dt",
                    "verbose_name": None,
                    "is_dttm": True,
                    "is_active": True,
                    "type": "DATE",
                    "groupby": True,
                    "filterable": True,
                    "expression": None,
                    "description": None,
                    "python_date_format": None,
                    "extra": None,
                },
                {
                    "column_name": "wiki",
                    "verbose_name": None,
                    "is_dttm": False,
                    "is_active": True,
                    "type": "VARCHAR",
                    "groupby": True,
                    "filterable": True,
                    "expression": None,
                    "description": None,
                    "python_date_format": None,
                    "extra": None,
                },
                {
                    "column_name": "clicks",
                    "verbose_name": None,
                    "is_dttm": False,
                    "is_active": True,
                    "type": "BIGINT",
                    "groupby": False,
                    "filterable": True,
                    "expression": None,
                    "description": None,
                    "python_date_format": None,
                    "extra": None,
                },
            ],
            "version": "1.0.0",
            "database_uuid": DB_UUID,
        },
        "charts/Demo_clicks.yaml": {
            "slice_name": "Demo clicks",
            "description": None,
            "certified_by": None,
            "certification_details": None,
            "viz_type": "echarts_timeseries_line",
            "params": chart_params(metric),
            "query_context": json.dumps(chart_query_context(metric)),
            "cache_timeout": None,
            "uuid": CHART_UUID,
            "version": "1.0.0",
            "dataset_uuid": DATASET_UUID,
        },
        "dashboards/Demo.yaml": {
            "dashboard_title": "Demo dashboard",
            "description": None,
            "css": "",
            "slug": "metrics-demo",
            "certified_by": None,
            "certification_details": None,
            "published": True,
            "uuid": DASHBOARD_UUID,
            "position": {
                "DASHBOARD_VERSION_KEY": "v2",
                "ROOT_ID": {"id": "ROOT_ID", "type": "ROOT", "children": ["GRID_ID"]},
                "GRID_ID": {"id": "GRID_ID", "type": "GRID", "parents": ["ROOT_ID"], "children": ["ROW-1"]},
                "HEADER_ID": {"id": "HEADER_ID", "type": "HEADER", "meta": {"text": "Demo dashboard"}},
                "ROW-1": {
                    "id": "ROW-1",
                    "type": "ROW",
                    "parents": ["ROOT_ID", "GRID_ID"],
                    "children": ["CHART-1"],
                    "meta": {"background": "BACKGROUND_TRANSPARENT"},
                },
                "CHART-1": {
                    "id": "CHART-1",
                    "type": "CHART",
                    "parents": ["ROOT_ID", "GRID_ID", "ROW-1"],
                    "children": [],
                    "meta": {"chartId": 1, "uuid": CHART_UUID, "sliceName": "Demo clicks", "width": 12, "height": 50},
                },
            },
            "metadata": {
                "color_scheme": "",
                "refresh_frequency": 0,
                "expanded_slices": {},
                "label_colors": {},
                "timed_refresh_immune_slices": [],
                "cross_filters_enabled": False,
                "native_filter_configuration": [],
                "chart_configuration": {},
                "global_chart_configuration": {},
            },
            "version": "1.0.0",
        },
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, content in files.items():
            bundle.writestr(f"metrics_demo_bundle/{name}", yaml.safe_dump(content, sort_keys=False))
    return out.getvalue()


def epoch_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp() * 1000)


def test_real_superset_imports_bundle_and_serves_duckdb_rows(tmp_path: Path) -> None:
    duckdb_path = tmp_path / "metrics_demo.duckdb"
    write_duckdb(duckdb_path)
    expected = {(epoch_ms(dt), wiki): clicks for dt, wiki, clicks in ROWS}

    with running_superset() as superset, SupersetClient(superset.url, superset.user, superset.password) as client:
        try:
            client.import_bundle(build_bundle(duckdb_path))
        except SupersetError as error:
            pytest.fail(f"{error}\n--- end of the Superset log ---\n{superset.log_tail()}")

        chart_id = client.chart_id(CHART_UUID)
        dashboard = client.get_json(f"/api/v1/dashboard/{DASHBOARD_UUID}")["result"]
        assert dashboard["dashboard_title"] == "Demo dashboard"
        charts = client.get_json(f"/api/v1/dashboard/{DASHBOARD_UUID}/charts")["result"]
        assert [chart["id"] for chart in charts] == [chart_id]

        payload = client.chart_data(chart_id)
        result = payload["result"]
        assert len(result) == 1, result
        assert result[0].get("error") is None, result[0]
        data = result[0]["data"]
        # The saved query_context post-processes like the UI does (pivot + flatten): one
        # row per day, one column per wiki; numbers come back as floats (pivot "mean"),
        # `dt` as epoch milliseconds. 7_000_000_001 is exact in a float64.
        assert result[0]["colnames"] == ["dt", "de", "en"]
        assert result[0]["sql_rowcount"] == len(ROWS)
        got = {(int(row["dt"]), wiki): value for row in data for wiki, value in row.items() if wiki != "dt"}
        assert got == expected

        # Importing the same bundle again overwrites in place (same ids, still one chart).
        client.import_bundle(build_bundle(duckdb_path))
        assert client.chart_id(CHART_UUID) == chart_id
