"""Fixtures of the ingestion tests: an empty warehouse, and readers that check both engines agree."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from metrics.engines import open_engine
from metrics.warehouse import Warehouse


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    return Warehouse(tmp_path / "warehouse")


def read_both(warehouse: Warehouse, schema: str, table: str, order: list[str]) -> pa.Table:
    """The table as DuckDB's view and as pyarrow (hive partitioning) read it; asserts they are identical."""
    with open_engine(warehouse) as engine:
        via_duckdb = engine.query(f"SELECT * FROM {schema}.{table}")
    info = warehouse.info(schema, table)
    part_schema = pa.schema([pa.field(k, pa.int32() if t == "int" else pa.date32()) for k, t in info.partition_by.items()])
    dataset = ds.dataset(
        warehouse.table_dir(schema, table),
        format="parquet",
        partitioning=ds.partitioning(part_schema, flavor="hive"),
        exclude_invalid_files=True,
        ignore_prefixes=[".", "_"],
    )
    via_arrow = dataset.to_table()
    names = list(info.columns) + list(info.partition_by)
    sort = [(c, "ascending") for c in order]
    left = via_duckdb.select(names).sort_by(sort)
    right = via_arrow.select(names).cast(left.schema).sort_by(sort)
    assert left.num_rows == right.num_rows
    assert left.to_pylist() == right.to_pylist()
    return left


def read_events_both(warehouse: Warehouse, stream: str) -> list[dict]:
    """An event table's rows as DuckDB's view and as pyarrow (hive partitioning, the table's schema) read them,
    in `meta.id` (then `meta.dt`) order; asserts they are identical, struct fields included."""
    with open_engine(warehouse) as engine:
        via_duckdb = engine.query(f"SELECT * FROM event.{stream}").to_pylist()
    info = warehouse.info("event", stream)
    schema = warehouse.arrow_schema(info)
    dataset = ds.dataset(
        warehouse.table_dir("event", stream),
        format="parquet",
        schema=schema,
        partitioning=ds.partitioning(pa.schema([schema.field(k) for k in info.partition_by]), flavor="hive"),
        exclude_invalid_files=True,
        ignore_prefixes=[".", "_"],
    )
    via_arrow = dataset.to_table().to_pylist()

    def key(row: dict) -> tuple[str, str]:
        return (row["meta"].get("id") or "", row["meta"]["dt"])

    left, right = sorted(via_duckdb, key=key), sorted(via_arrow, key=key)
    assert left == right
    return left
