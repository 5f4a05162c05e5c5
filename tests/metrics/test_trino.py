"""The Trino engine against a real Trino 476: registration, binding, and every shipped query folder
giving the same tables as on DuckDB over the same raw data."""

from __future__ import annotations

import datetime as dt
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from metrics.engines import open_engine
from metrics.engines.trino import TrinoEngine
from metrics.reports.runner import update_reports
from metrics.reports.validate import query_folders
from metrics.warehouse import Warehouse
from tests.conftest import ROOT, SHIPPED_CATALOGUE, SHIPPED_QUERIES
from tests.services.trino import running_trino

pytestmark = pytest.mark.trino

NOW = dt.datetime(2026, 11, 8, 6, 0)
START, DAYS = "2026-11-01", 7


def cli(warehouse: Path, *args: str, engine: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "metrics", "--warehouse", str(warehouse), *engine, *args], capture_output=True, text=True, timeout=900, cwd=ROOT
    )


@pytest.fixture(scope="module")
def trino(tmp_path_factory: pytest.TempPathFactory):
    """A Trino over a fresh warehouse folder, and a DuckDB warehouse beside it; both hold the same raw data."""
    base = tmp_path_factory.mktemp("engines")
    on_trino, on_duckdb = base / "trino-warehouse", base / "duckdb-warehouse"
    for warehouse in (on_trino, on_duckdb):
        loaded = cli(warehouse, "ingest", "sample", "--out", str(base / f"raw-{warehouse.name}"), "--start", START, "--days", str(DAYS))
        assert loaded.returncode == 0, loaded.stderr
    with running_trino(on_trino) as uri:
        folders = query_folders(SHIPPED_QUERIES)
        seconds: dict[str, dict[str, float]] = {}
        for name, engine in (("duckdb", open_engine(on_duckdb)), ("trino", open_engine(on_trino, "trino", uri))):
            with engine:
                for folder in folders:
                    started = time.perf_counter()
                    update_reports(folder, engine, base / f"tsv-{name}" / folder.name, graphite=False, now=NOW)
                    seconds.setdefault(folder.name, {})[name] = time.perf_counter() - started
        print("\nseconds per query folder:", {f: {e: round(t, 1) for e, t in v.items()} for f, v in seconds.items()})
        yield {"uri": uri, "trino": on_trino, "duckdb": on_duckdb, "base": base, "folders": folders}


def _rows(warehouse: Path, schema: str, table: str) -> list[dict[str, Any]]:
    """Every row of a table as written to Parquet, in a fixed order (read by pyarrow, not by an engine)."""
    info = Warehouse(warehouse).info(schema, table)
    assert info is not None, f"{schema}.{table} was not written in {warehouse}"
    engine = open_engine(warehouse)
    columns = [*info.columns, *info.partition_by]
    quoted = ", ".join(f'"{c}"' for c in columns)
    return engine.query(f'SELECT {quoted} FROM "{schema}"."{table}" ORDER BY {quoted}', dialect="duckdb").to_pylist()


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9) or (math.isnan(a) and math.isnan(b))
    return a == b


def test_the_shipped_function_list_is_the_servers(trino) -> None:
    with open_engine(trino["trino"], "trino", trino["uri"]) as engine:
        live = {name.lower() for name in engine.query("SHOW FUNCTIONS").column("Function").to_pylist()}
    assert TrinoEngine.functions() == live


def test_tables_are_registered_and_values_bound(trino) -> None:
    warehouse = Warehouse(trino["trino"])
    day = dt.date(2026, 11, 1)
    warehouse.replace_partition("scratch", "t", {"dt": day}, pa.table({"wiki": ["enwiki", "x'; DROP TABLE t; --"], "n": [1, 2]}))
    with open_engine(warehouse, "trino", trino["uri"]) as engine:
        assert "t" in engine.tables("scratch")
        assert engine.columns("scratch", "t") == {"wiki": "varchar", "n": "bigint", "dt": "date"}
        hostile = engine.query("SELECT n FROM scratch.t WHERE wiki = :wiki", {"wiki": "x'; DROP TABLE t; --"}).to_pylist()
        assert hostile == [{"n": 2}]
        assert engine.query("SELECT 7 / 2 AS i").to_pylist() == [{"i": 3}]  # Trino's integer division, natively
        # a new partition with a new column: visible at once, older files read NULL for it
        engine.write_partition("scratch", "t", {"dt": day + dt.timedelta(days=1)}, pa.table({"wiki": ["frwiki"], "n": [7], "extra": ["new"]}))
        rows = engine.query("SELECT dt, wiki, extra FROM scratch.t ORDER BY dt, wiki").to_pylist()
        assert [(r["dt"], r["extra"]) for r in rows] == [(day, None), (day, None), (day + dt.timedelta(days=1), "new")]
        # a rerun replaces the partition: one copy, never two
        engine.write_partition(
            "scratch",
            "t",
            {"dt": day},
            pa.table({"wiki": ["enwiki"], "n": [5], "extra": [None]}, schema=pa.schema([("wiki", pa.string()), ("n", pa.int64()), ("extra", pa.string())])),
        )
        assert engine.query("SELECT count(*) AS c, sum(n) AS s FROM scratch.t WHERE dt = DATE '2026-11-01'").to_pylist() == [{"c": 1, "s": 5}]


def test_every_query_folder_gives_the_same_tables_on_trino_and_duckdb(trino) -> None:
    folders = trino["folders"]
    assert folders, "no shipped query folders"
    tables = [info.name for info in Warehouse(trino["duckdb"]).tables() if info.schema == "metrics" and info.name != "report_runs"]
    assert len(tables) >= len(folders)
    for table in tables:
        on_duckdb, on_trino = _rows(trino["duckdb"], "metrics", table), _rows(trino["trino"], "metrics", table)
        assert on_duckdb, f"metrics.{table} is empty: the comparison would prove nothing"
        assert len(on_duckdb) == len(on_trino), table
        wrong = [(a, b) for a, b in zip(on_duckdb, on_trino) if any(not _same(a[c], b[c]) for c in a)]
        assert not wrong, f"metrics.{table}: {len(wrong)} rows differ, e.g. {wrong[:2]}"
    runs = {
        name: sorted((r["report"], str(r["explode"]), r["interval_start"], r["status"], r["rows"]) for r in _rows(trino[name], "metrics", "report_runs"))
        for name in ("duckdb", "trino")
    }
    assert runs["duckdb"] == runs["trino"] and all(r[3] == "ok" for r in runs["trino"])
    # The TSV files Reportupdater users read are the same bytes
    for folder in folders:
        for tsv in sorted((trino["base"] / "tsv-duckdb" / folder.name).rglob("*.tsv")):
            twin = trino["base"] / "tsv-trino" / folder.name / tsv.relative_to(trino["base"] / "tsv-duckdb" / folder.name)
            assert twin.read_bytes() == tsv.read_bytes(), twin


def test_cli_query_frames_and_validate_on_trino(trino, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = ("--engine", "trino", "--engine-uri", trino["uri"])
    result = cli(trino["trino"], "query", "SELECT count(*) AS n FROM metrics.report_runs WHERE status = :s", "-p", "s=ok", "--format", "csv", engine=engine)
    assert result.returncode == 0 and int(result.stdout.splitlines()[1]) > 0, result.stderr
    checked = cli(trino["trino"], "validate", engine=engine)
    assert checked.returncode == 0 and "0 error(s)" in checked.stderr, checked.stderr
    from metrics import frames

    monkeypatch.setenv("METRICS_ENGINE", "trino")
    monkeypatch.setenv("METRICS_ENGINE_URI", trino["uri"])
    on_trino = frames.metric("footnote_clicks", by=[], grain="all", catalogue=SHIPPED_CATALOGUE, warehouse=trino["trino"])
    monkeypatch.setenv("METRICS_ENGINE", "duckdb")
    on_duckdb = frames.metric("footnote_clicks", by=[], grain="all", catalogue=SHIPPED_CATALOGUE, warehouse=trino["duckdb"])
    assert on_trino["footnote_clicks"].tolist() == on_duckdb["footnote_clicks"].tolist() and on_trino["footnote_clicks"].iloc[0] > 0


def test_a_wrong_uri_or_a_password_in_it_is_refused(tmp_path: Path) -> None:
    for uri, message in (("http://x:1/hive", "is not a Trino URI"), ("trino://u:secret@x:1/hive", "holds a password")):
        result = cli(tmp_path, "query", "SELECT 1", engine=("--engine", "trino", "--engine-uri", uri))
        assert result.returncode == 1 and message in result.stderr and "secret" not in result.stderr, result.stderr


def test_nulls_empty_partitions_and_evolved_columns_read_the_same_on_both_engines(trino) -> None:
    """One raw table, written once, read by both engines: NULLs in every type, a partition with no rows, a column only newer files have."""
    warehouse = Warehouse(trino["trino"])
    schema = pa.schema([("wiki", pa.string()), ("n", pa.int64()), ("share", pa.float64()), ("bot", pa.bool_())])
    day = dt.date(2026, 10, 1)
    warehouse.replace_partition(
        "edge", "t", {"dt": day}, pa.table({"wiki": ["a", None, "b"], "n": [1, None, 3], "share": [0.5, None, 1e-9], "bot": [True, None, False]}, schema=schema)
    )
    warehouse.replace_partition("edge", "t", {"dt": day + dt.timedelta(days=1)}, schema.empty_table())
    newer = schema.append(pa.field("extra", pa.string()))
    warehouse.replace_partition(
        "edge", "t", {"dt": day + dt.timedelta(days=2)}, pa.table({"wiki": ["a"], "n": [7], "share": [None], "bot": [None], "extra": ["x"]}, schema=newer)
    )
    sql = (
        "SELECT dt, wiki, bot, count(*) AS rows_, count(n) AS counted, sum(n) AS total, avg(share) AS mean_share, max(extra) AS extra"
        " FROM edge.t GROUP BY dt, wiki, bot ORDER BY dt, wiki NULLS FIRST, bot NULLS FIRST"
    )
    with open_engine(warehouse, "trino", trino["uri"]) as on_trino, open_engine(warehouse) as on_duckdb:
        from_trino, from_duckdb = on_trino.query(sql).to_pylist(), on_duckdb.query(sql, dialect="trino").to_pylist()
        assert on_trino.query("SELECT count(*) AS n FROM edge.t WHERE dt = DATE '2026-10-02'").to_pylist() == [{"n": 0}]
    assert len(from_trino) == 4 and from_trino[0]["wiki"] is None and from_trino[0]["total"] is None
    assert [r["extra"] for r in from_trino] == [None, None, None, "x"]
    assert len(from_duckdb) == len(from_trino)
    assert all(_same(a[c], b[c]) for a, b in zip(from_duckdb, from_trino) for c in a), (from_duckdb, from_trino)
