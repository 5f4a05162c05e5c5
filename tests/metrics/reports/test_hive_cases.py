"""The Hive cases (tests/fixtures/hive_semantics_cases, from ../shared/cases/hive/) run as a query folder give Hive's values.

Each report runs through the runner on DuckDB over the rows of data.csv; its table and TSV must hold
the value Hive gives. The `spark` test also runs each query, placeholders filled, on Spark SQL over
the same rows and requires the same value.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from metrics.engines import open_engine
from metrics.reports.runner import update_reports
from metrics.reports.templates import placeholders, render
from metrics.warehouse import Warehouse
from tests.conftest import FIXTURES

CASES = FIXTURES / "hive_semantics_cases"
HIVE_VALUES = {"cast_trunc": ("mean_v", 3), "substr_zero": ("n", 2), "day_of_week": ("weekday", 1)}
"""What Hive gives for 2026-11-01 (../shared/cases/hive/README.md)."""
DAY = dt.date(2026, 11, 1)


def load_vals(root: Path) -> Path:
    data = pacsv.read_csv(CASES / "data.csv", convert_options=pacsv.ConvertOptions(column_types={"ts": pa.string(), "wiki": pa.string(), "v": pa.int64()}))
    Warehouse(root).replace_partition("external", "vals", {"year": 2026, "month": 11, "day": 1, "hour": 0}, data)
    return Warehouse(root).table_dir("external", "vals")


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("hive-cases")
    folder = tmp / "hive"
    shutil.copytree(CASES, folder)
    table_dir = load_vals(tmp / "wh")
    with open_engine(tmp / "wh") as engine:
        summary = update_reports(folder, engine, tmp / "out", graphite=False, now=dt.datetime(2026, 11, 3))
        assert summary.ok, summary.lines()
        tables = {report: engine.query(f"SELECT * FROM metrics.hive_{report}", dialect="duckdb").to_pylist() for report in HIVE_VALUES}
    yield {"tables": tables, "out": tmp / "out", "table_dir": table_dir}


@pytest.mark.parametrize("report", sorted(HIVE_VALUES))
def test_the_case_gives_hives_value(ran, report: str) -> None:
    column, value = HIVE_VALUES[report]
    rows = ran["tables"][report]
    assert [(r["dt"], r[column]) for r in rows] == [(DAY, value)]
    assert (ran["out"] / f"{report}.tsv").read_bytes() == f"date\t{column}\r\n{DAY}\t{value}\r\n".encode()


@pytest.mark.spark
@pytest.mark.parametrize("report", sorted(HIVE_VALUES))
def test_spark_agrees(ran, spark, report: str) -> None:
    spark.read.parquet(str(ran["table_dir"])).createOrReplaceTempView("external_vals")
    sql = render((CASES / f"{report}.hql").read_text("utf-8"), placeholders(DAY, DAY + dt.timedelta(days=1), {}))
    rows = spark.sql(sql.replace("external.vals", "external_vals")).collect()
    column, _ = HIVE_VALUES[report]
    assert [(dt.date.fromisoformat(r[0]), r[1]) for r in rows] == [(r["dt"], r[column]) for r in ran["tables"][report]]
