"""The warehouse's writes: a partition is replaced atomically, never duplicated, and a failed or
crashed write leaves the old partition as it was."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from metrics import warehouse as warehouse_module
from metrics.engines import open_engine
from metrics.warehouse import STAGING, Warehouse

PART = {"year": 2026, "month": 11, "day": 3, "hour": 7}


def rows(start: int, count: int) -> pa.Table:
    return pa.table(
        {
            "title": [f"t{i:07d}" for i in range(start, start + count)],
            "domain": [("en", "de", "fr")[i % 3] for i in range(start, start + count)],
            "views": list(range(start, start + count)),
        }
    )


def stored(warehouse: Warehouse) -> list[dict]:
    with open_engine(warehouse) as engine:
        return engine.query("SELECT title, domain, views, year, hour FROM raw.views ORDER BY views").to_pylist()


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    return Warehouse(tmp_path / "warehouse")


def test_replace_twice_keeps_only_the_second(warehouse: Warehouse) -> None:
    warehouse.replace_partition("raw", "views", PART, rows(0, 10))
    warehouse.replace_partition("raw", "views", PART, rows(100, 3))
    assert [r["views"] for r in stored(warehouse)] == [100, 101, 102]
    assert len(warehouse.files(warehouse.info("raw", "views"))) == 1
    assert not any((warehouse.table_dir("raw", "views") / STAGING).iterdir())


def test_streamed_partition_in_several_row_groups(warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(warehouse_module, "ROW_GROUP_ROWS", 1000)
    with warehouse.writing_partition("raw", "views", PART, rows(0, 1).schema, high_cardinality=["title"]) as write:
        for start in range(0, 5000, 700):
            write(rows(start, min(700, 5000 - start)).to_batches()[0])
    [file] = warehouse.files(warehouse.info("raw", "views"))
    meta = pq.ParquetFile(file).metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [1400, 1400, 1400, 800]  # batches gathered to >= 1000 rows
    assert [r["views"] for r in stored(warehouse)] == list(range(5000))
    group = meta.row_group(0)
    columns = {group.column(i).path_in_schema: group.column(i) for i in range(group.num_columns)}
    assert not columns["title"].is_stats_set  # nearly unique text: no min/max, no dictionary
    assert not any("DICTIONARY" in e for e in columns["title"].encodings)
    assert columns["domain"].is_stats_set and any("DICTIONARY" in e for e in columns["domain"].encodings)


def test_failure_while_writing_keeps_the_old_partition(warehouse: Warehouse) -> None:
    warehouse.replace_partition("raw", "views", PART, rows(0, 5))
    with pytest.raises(RuntimeError, match="source broke"):
        with warehouse.writing_partition("raw", "views", PART, rows(0, 1).schema) as write:
            write(rows(100, 5))
            raise RuntimeError("source broke")
    assert [r["views"] for r in stored(warehouse)] == [0, 1, 2, 3, 4]
    assert not any((warehouse.table_dir("raw", "views") / STAGING).iterdir())


def test_failure_of_the_parquet_writer_reaches_the_caller(warehouse: Warehouse) -> None:
    warehouse.replace_partition("raw", "views", PART, rows(0, 5))
    staging = warehouse.table_dir("raw", "views") / STAGING
    with pytest.raises(OSError):
        with warehouse.writing_partition("raw", "views", PART, rows(0, 1).schema) as write:
            for data in staging.glob("*/data"):
                shutil.rmtree(data)  # the writer thread cannot create its file
            write(rows(100, 5))
    assert [r["views"] for r in stored(warehouse)] == [0, 1, 2, 3, 4]


def test_crash_between_the_renames_is_repaired(warehouse: Warehouse) -> None:
    final = warehouse.replace_partition("raw", "views", PART, rows(0, 5))
    # what a crash after moving the old partition aside, before the new one arrived, leaves
    work = warehouse.table_dir("raw", "views") / STAGING / "crashed"
    work.mkdir(parents=True)
    (work / "TARGET").write_text(final.relative_to(warehouse.table_dir("raw", "views")).as_posix(), "utf-8")
    shutil.copytree(final, work / "data")  # a half-written new partition, never committed
    final.rename(work / "old")
    assert stored(warehouse) == []  # staging folders are never read
    assert warehouse.recover("raw", "views") == [final.relative_to(warehouse.table_dir("raw", "views")).as_posix()]
    assert [r["views"] for r in stored(warehouse)] == [0, 1, 2, 3, 4]
    assert not any((warehouse.table_dir("raw", "views") / STAGING).iterdir())


def test_new_columns_widen_the_table_and_old_files_read_null(warehouse: Warehouse) -> None:
    warehouse.replace_partition("raw", "views", PART, rows(0, 2))
    later = {**PART, "hour": 8}
    warehouse.replace_partition("raw", "views", later, rows(10, 2).append_column("country", pa.array(["DE", "FR"])))
    with open_engine(warehouse) as engine:
        got = engine.query("SELECT views, country FROM raw.views ORDER BY views").to_pylist()
    assert got == [{"views": 0, "country": None}, {"views": 1, "country": None}, {"views": 10, "country": "DE"}, {"views": 11, "country": "FR"}]


def test_replace_partitions_replaces_whole_partitions_of_one_file_or_of_several(warehouse: Warehouse) -> None:
    """The runner's batch write: a partition of one file gets a new file renamed over it; a partition
    of several files (another writer's) is swapped as a folder; empty data leaves the partition empty."""
    one, several, emptied = ({**PART, "hour": h} for h in (1, 2, 3))
    warehouse.replace_partitions("raw", "views", [(one, rows(0, 3)), (several, rows(10, 3)), (emptied, rows(20, 3))])
    warehouse.put_file("raw", "views", several, "extra", rows(30, 2))  # a second file in that partition
    assert [r["views"] for r in stored(warehouse)] == [0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31]
    warehouse.replace_partitions("raw", "views", [(one, rows(100, 2)), (several, rows(200, 2)), (emptied, rows(0, 0))])
    assert [r["views"] for r in stored(warehouse)] == [100, 101, 200, 201]
    table = warehouse.table_dir("raw", "views")
    assert sorted(p.relative_to(table).as_posix() for p in table.rglob("*.parquet")) == [
        "year=2026/month=11/day=3/hour=1/part-0.parquet",
        "year=2026/month=11/day=3/hour=2/part-0.parquet",
    ]
    assert not list(table.rglob("*.tmp"))
    assert not any((table / STAGING).iterdir())
