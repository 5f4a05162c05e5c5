"""`write_mode = "sql"`: the runner writes report tables through a real Trino 476, never touching the
warehouse folder, and gets the tables, run log and TSV files the file writer gets on DuckDB.

The Trino here reads the raw data from its own catalog folder; the runner's local folder is a
different, empty one, as when the warehouse lives where only the cluster reaches it.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from metrics.engines import Engine, open_engine
from metrics.errors import MetricsError
from metrics.reports.runner import update_reports
from metrics.reports.store import Store, explode_key
from metrics.reports.validate import query_folders
from tests.conftest import SHIPPED_QUERIES
from tests.metrics.test_trino import DAYS, NOW, START, _same, cli
from tests.services.trino import running_trino

pytestmark = pytest.mark.trino


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory):
    """A Trino over `lake` (raw data registered), a DuckDB warehouse with the same raw data, and each engine's run of every folder."""
    base = tmp_path_factory.mktemp("write-through")
    lake, on_duckdb, local = base / "lake", base / "duckdb-warehouse", base / "writer-local"
    for warehouse in (lake, on_duckdb):
        loaded = cli(warehouse, "ingest", "sample", "--out", str(base / f"raw-{warehouse.name}"), "--start", START, "--days", str(DAYS))
        assert loaded.returncode == 0, loaded.stderr
    with running_trino(lake) as uri:
        open_engine(lake, "trino", uri).close()  # registers the raw tables, as ingestion's publish does on a cluster
        folders = query_folders(SHIPPED_QUERIES)
        before = sorted(p.relative_to(lake) for p in lake.rglob("*") if ".trino-metastore" not in p.parts)
        with open_engine(on_duckdb) as duck, open_engine(local, "trino", uri, write_mode="sql") as trino:
            for folder in folders:
                update_reports(folder, duck, base / "tsv-duckdb" / folder.name, graphite=False, now=NOW)
                update_reports(folder, trino, base / "tsv-sql" / folder.name, graphite=False, now=NOW)
        yield {"uri": uri, "lake": lake, "local": local, "duckdb": on_duckdb, "base": base, "folders": folders, "before": before}


def _table_rows(engine: Engine, table: str) -> list[dict[str, Any]]:
    columns = [c for c in engine.columns("metrics", table)]
    quoted = ", ".join(f'"{c}"' for c in columns)
    return engine.query(f'SELECT {quoted} FROM "metrics"."{table}" ORDER BY {quoted}', dialect=engine.dialect).to_pylist()


def test_the_runner_writes_every_table_through_trino(lake) -> None:
    # nothing of the reports went to a folder: not the writer's, not Trino's (beyond what Trino itself manages)
    assert not (lake["local"] / "metrics").exists()
    after = sorted(p.relative_to(lake["lake"]) for p in lake["lake"].rglob("*") if ".trino-metastore" not in p.parts)
    assert after == lake["before"]
    with open_engine(lake["duckdb"]) as duck, open_engine(lake["local"], "trino", lake["uri"], write_mode="sql") as trino:
        tables = [t for t in duck.tables("metrics") if t != "report_runs"]
        assert len(tables) >= len(lake["folders"])
        assert sorted(t for t in trino.tables("metrics") if t != "report_runs") == sorted(tables)
        for table in tables:
            on_duckdb, on_trino = _table_rows(duck, table), _table_rows(trino, table)
            assert on_duckdb, f"metrics.{table} is empty: the comparison would prove nothing"
            assert [sorted(r) for r in on_trino[:1]] == [sorted(r) for r in on_duckdb[:1]], table
            assert len(on_duckdb) == len(on_trino), table
            wrong = [(a, b) for a, b in zip(on_duckdb, on_trino) if any(not _same(a[c], b[c]) for c in a)]
            assert not wrong, f"metrics.{table}: {len(wrong)} rows differ, e.g. {wrong[:2]}"
        runs = {
            name: sorted((r["report"], r["explode"], r["interval_start"], r["status"], r["rows"]) for r in _table_rows(engine, "report_runs"))
            for name, engine in (("duckdb", duck), ("trino", trino))
        }
    assert runs["duckdb"] == runs["trino"] and runs["trino"] and all(r[3] == "ok" for r in runs["trino"])
    for folder in lake["folders"]:
        root = lake["base"] / "tsv-duckdb" / folder.name
        for tsv in sorted(root.rglob("*.tsv")):
            assert (lake["base"] / "tsv-sql" / folder.name / tsv.relative_to(root)).read_bytes() == tsv.read_bytes(), tsv


def test_a_second_run_finds_everything_done_in_the_run_log(lake) -> None:
    with open_engine(lake["local"], "trino", lake["uri"], write_mode="sql") as trino:
        summary = update_reports(lake["folders"][0], trino, lake["base"] / "tsv-sql-again", graphite=False, now=NOW)
    assert not summary.outcomes, f"{len(summary.outcomes)} intervals recomputed although the run log says done"


DAY = dt.date(2026, 11, 1)


def _check_replacing(store: Store, read: Any) -> None:
    """What a Store must do in either mode: replace per combination, keep the others, drop an emptied partition, stage big writes."""

    def rows(wikis: list[str], n: int, day: dt.date = DAY) -> pa.Table:
        return pa.table({"dt": pa.array([day] * len(wikis), pa.date32()), "wiki": wikis, "n": pa.array([n] * len(wikis), pa.int64())})

    combos = {explode_key({"wiki": w}): [DAY] for w in ("a", "b")}
    store.write("t_replace", rows(["a", "b"], 1), combos, ["wiki"])
    store.write("t_replace", rows(["a", "b"], 1), combos, ["wiki"])  # a rerun replaces, never appends
    assert read("t_replace") == [(DAY, "a", 1), (DAY, "b", 1)]
    store.write("t_replace", rows(["a"], 2), {explode_key({"wiki": "a"}): [DAY]}, ["wiki"])
    assert read("t_replace") == [(DAY, "a", 2), (DAY, "b", 1)]
    # a combination that now has no rows loses its old ones; the partition goes when nothing is left
    store.write("t_replace", rows([], 0), {explode_key({"wiki": "b"}): [DAY]}, ["wiki"])
    assert read("t_replace") == [(DAY, "a", 2)]
    store.write("t_replace", rows([], 0), {explode_key({"wiki": "a"}): [DAY]}, ["wiki"])
    assert read("t_replace") == []
    # without explode columns a write replaces the whole partition; more rows than one statement carries
    many = [f"w{i:03d}" for i in range(25)]
    store.write("t_whole", rows(many, 3), {explode_key({}): [DAY]}, [])
    store.write("t_whole", pa.concat_tables([rows(many[:20], 4), rows(["x"], 5, DAY + dt.timedelta(days=1))]), {explode_key({}): [DAY]}, [])
    assert read("t_whole") == [(DAY, w, 4) for w in many[:20]] + [(DAY + dt.timedelta(days=1), "x", 5)]
    # the run log: appended, never overwritten, read back per report
    from metrics.reports.store import LogEntry

    for status in ("failed", "ok"):
        store.log(LogEntry("f", "r", explode_key({"wiki": "a"}), DAY, DAY + dt.timedelta(days=1), status))
        store.flush_log()
    store.log(LogEntry("f", "other", explode_key({}), DAY, DAY + dt.timedelta(days=1), "failed"))
    store.flush_log()
    assert store.done("f", "r") == {json.dumps({"wiki": "a"}, separators=(",", ":")): {DAY: "ok"}}


def test_a_store_replaces_the_same_way_through_trino_and_in_files(lake, tmp_path: Path) -> None:
    with open_engine(tmp_path / "local", "trino", lake["uri"], write_mode="sql") as trino:
        trino.values_per_statement = 7  # so that 25 rows go through a staging table

        def on_trino(table: str) -> list[tuple]:
            return [(r["dt"], r["wiki"], r["n"]) for r in trino.query(f"SELECT dt, wiki, n FROM metrics.{table} ORDER BY dt, wiki").to_pylist()]

        _check_replacing(Store(trino), on_trino)
        assert not [t for t in trino.tables("metrics") if t.startswith("_staging")]
        assert not (tmp_path / "local" / "metrics").exists()
    with open_engine(tmp_path / "files") as duck:

        def in_files(table: str) -> list[tuple]:
            return [(r["dt"], r["wiki"], r["n"]) for r in duck.query(f"SELECT dt, wiki, n FROM metrics.{table} ORDER BY dt, wiki").to_pylist()]

        _check_replacing(Store(duck), in_files)


def test_one_catalog_one_write_mode(lake, tmp_path: Path) -> None:
    """A files-mode writer meeting the tables Trino manages stops with the reason, and never drops them (that would delete their data)."""
    with open_engine(lake["local"], "trino", lake["uri"], write_mode="sql") as trino:
        before = trino.query("SELECT count(*) AS n FROM metrics.codemirror_toggles").to_pylist()
    assert before[0]["n"] > 0
    with open_engine(tmp_path / "files", "trino", lake["uri"]) as files_mode:
        with pytest.raises(MetricsError, match="use one write mode per catalog"):
            update_reports(lake["folders"][0], files_mode, tmp_path / "tsv", graphite=False, now=NOW)
        assert files_mode.query("SELECT count(*) AS n FROM metrics.codemirror_toggles").to_pylist() == before
    with open_engine(lake["local"], "trino", lake["uri"], write_mode="sql") as trino:
        with pytest.raises(MetricsError, match="external table over files"):
            trino.replace_rows("event", "codemirrorusage", pa.table({"wiki": ["x"]}), "year", {2026: None})


def test_depends_on_sees_the_days_of_a_table_written_through_trino(lake, tmp_path: Path) -> None:
    """A report that depends on another report's table, both written through Trino: the days that
    table has are done, the later ones wait (they are not in any folder the runner could list)."""
    with open_engine(lake["local"], "trino", lake["uri"], write_mode="sql") as trino:
        table = next(t for t in sorted(trino.tables("metrics")) if t != "report_runs" and "dt" in trino.columns("metrics", t))
        last = max(trino.query(f'SELECT DISTINCT dt FROM "metrics"."{table}"', dialect="trino").column(0).to_pylist())
        q = tmp_path / "after"
        q.mkdir()
        start = last - dt.timedelta(days=2)
        (q / "config.yaml").write_text(f"reports:\n  after: {{granularity: days, starts: {start}, depends_on: [metrics.{table}]}}\n")
        (q / "after.sql").write_text(f"SELECT DATE '{{from_date}}' AS date, count(*) AS n FROM metrics.{table} WHERE dt = DATE '{{from_date}}'\n")
        now = dt.datetime.combine(last + dt.timedelta(days=3), dt.time(12))
        summary = update_reports(q, trino, tmp_path / "out", graphite=False, now=now)
    assert summary.ok, summary.lines()
    status = {o.interval.start: o.status for o in summary.outcomes}
    assert status == {start + dt.timedelta(days=n): "ok" if n <= 2 else "waiting" for n in range(5)}


def test_an_old_run_log_table_reads_as_unknown_and_widens_through_trino(lake) -> None:
    """A run log table made before `query_hash` and `spec_version` were recorded: its rows read with
    them null, and the next write adds the columns. Last in the file: it replaces the run log table."""
    from metrics.reports.store import RUN_LOG, RUN_LOG_SCHEMA, SCHEMA, LogEntry

    old = pa.schema([f for f in RUN_LOG_SCHEMA if f.name not in ("query_hash", "spec_version")])
    month = dt.date(2026, 11, 1)
    before = {
        **{f.name: pa.nulls(1, f.type) for f in old},
        "run_id": ["old"],
        "folder": ["f"],
        "report": ["r"],
        "explode": [explode_key({})],
        "interval_start": [DAY],
        "interval_end": [DAY + dt.timedelta(days=1)],
        "status": ["ok"],
        "finished_at": pa.array([dt.datetime(2026, 11, 2, tzinfo=dt.timezone.utc)], pa.timestamp("us", tz="UTC")),
    }
    rows = pa.table(before, schema=old).append_column("month", pa.array([month], pa.date32()))
    with open_engine(lake["local"], "trino", lake["uri"], write_mode="sql") as trino:
        trino.execute(f"DROP TABLE IF EXISTS {SCHEMA}.{RUN_LOG}")
        trino.append_rows(SCHEMA, RUN_LOG, rows, ["month"])
        assert "query_hash" not in trino.columns(SCHEMA, RUN_LOG)
        store = Store(trino)
        assert [(e.status, e.query_hash) for e in store.latest("f", "r")[explode_key({})].values()] == [("ok", None)]
        next_day = DAY + dt.timedelta(days=1)
        store.log(LogEntry("f", "r", explode_key({}), next_day, next_day + dt.timedelta(days=1), "ok", query_hash="0123456789abcdef", spec_version="s 1.0.0"))
        store.flush_log()
    with open_engine(lake["local"], "trino", lake["uri"], write_mode="sql") as trino:
        assert {"query_hash", "spec_version"} <= set(trino.columns(SCHEMA, RUN_LOG))
        latest = Store(trino).latest("f", "r")[explode_key({})]
    assert {day: (e.query_hash, e.spec_version) for day, e in latest.items()} == {DAY: (None, None), next_day: ("0123456789abcdef", "s 1.0.0")}
