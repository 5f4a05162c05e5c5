"""The engine interface on DuckDB: what it lists, how it binds, what Trino SQL means on it, publishing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from metrics.engines import QueryError, engine_class, open_engine, transpile
from metrics.engines.duckdb import DuckDBEngine
from metrics.engines.sql import parse, positional
from metrics.warehouse import SQL_TYPES, Warehouse

DAY = dt.date(2026, 11, 3)
TRICKY = "it's $x :y '); DROP TABLE t; --"


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    w = Warehouse(tmp_path / "wh")
    w.put_file("event", "toy", {"year": 2026, "month": 11, "day": 3, "hour": 0}, "a", pa.table({"wiki": ["enwiki", TRICKY], "n": pa.array([7, 9], pa.int64())}))
    w.replace_partition("metrics", "ratio", {"dt": DAY}, pa.table({"a": [7, 9], "b": [2, 2], "label": ["x", "y"]}))
    return w


class Recording(DuckDBEngine):
    """DuckDB, keeping the SQL text of every statement it runs."""

    def __init__(self, warehouse: Warehouse):
        self.seen: list[str] = []
        super().__init__(warehouse)

    def execute(self, sql: str, params: Any = None) -> pa.Table:
        self.seen.append(sql)
        return super().execute(sql, params)


def test_lists_schemas_tables_and_columns_as_the_warehouse_records_them(warehouse: Warehouse) -> None:
    with open_engine(warehouse) as engine:
        assert engine.schemas() == ["event", "metrics"]
        assert engine.tables("event") == ["toy"]
        assert engine.tables("metrics") == ["ratio"]
        assert engine.tables("nothing") == []
        for info in warehouse.tables():
            expected = {c: SQL_TYPES[t] for c, t in {**info.columns, **info.partition_by}.items()}
            assert engine.columns(info.schema, info.name) == expected
        assert list(engine.columns("event", "toy")) == ["wiki", "n", "year", "month", "day", "hour"]
        assert engine.columns("metrics", "ratio") == {"a": "BIGINT", "b": "BIGINT", "label": "VARCHAR", "dt": "DATE"}
        assert engine.sql_schema()["metrics"]["ratio"]["dt"] == "DATE"


@pytest.mark.parametrize(("dialect", "mark"), [("trino", ":"), ("hive", ":"), ("duckdb", "$")])
def test_values_are_bound_never_written_into_the_sql(warehouse: Warehouse, dialect: str, mark: str) -> None:
    with Recording(warehouse) as engine:
        sql = "SELECT :v AS v, n FROM event.toy WHERE wiki = :wiki".replace(":", mark)
        rows = engine.query(sql, {"v": TRICKY, "wiki": TRICKY}, dialect=dialect).to_pylist()
        assert rows == [{"v": TRICKY, "n": 9}]
        assert engine.seen[-1] == "SELECT $v AS v, n FROM event.toy WHERE wiki = $wiki"
        assert engine.query("SELECT count(*) AS c FROM event.toy WHERE wiki = :w", {"w": "enwiki' OR '1'='1"}, dialect=dialect).to_pylist() == [{"c": 0}]


def test_dates_bind_with_their_type(warehouse: Warehouse) -> None:
    with open_engine(warehouse) as engine:
        frame = engine.dataframe(
            "SELECT label FROM metrics.ratio WHERE dt >= :start AND dt < :end ORDER BY label",
            {"start": DAY, "end": DAY + dt.timedelta(days=1)},
            dialect="trino",
        )
        assert frame["label"].tolist() == ["x", "y"]
        assert engine.query("SELECT count(*) AS c FROM metrics.ratio WHERE dt > :start", {"start": DAY}, dialect="trino").to_pylist() == [{"c": 0}]


def test_missing_extra_and_unnamed_parameters_are_refused(warehouse: Warehouse) -> None:
    with open_engine(warehouse) as engine:
        with pytest.raises(QueryError, match=r"no value given for placeholder\(s\) :b"):
            engine.query("SELECT :a AS a, :b AS b", {"a": 1}, dialect="trino")
        with pytest.raises(QueryError, match="which the query does not use"):
            engine.query("SELECT :a AS a", {"a": 1, "c": 2}, dialect="trino")
        with pytest.raises(QueryError, match="unnamed or numbered placeholder"):
            engine.query("SELECT ? AS a", {"a": 1}, dialect="trino")
        with pytest.raises(QueryError, match="unnamed or numbered placeholder"):
            engine.query("SELECT 1 AS x, $1 AS a", {"a": 1})


def test_positional_binding_for_qmark_drivers_follows_the_text() -> None:
    # What a Trino engine will do with its client: `?` in the text, values in text order.
    tree = parse("SELECT :b AS b, ':a' AS text, CAST(x AS varchar) AS c FROM t WHERE a = :a AND d = :b", "trino")
    sql, values = positional(tree, "trino", {"a": TRICKY, "b": 2})
    assert sql == "SELECT ? AS b, ':a' AS text, CAST(x AS VARCHAR) AS c FROM t WHERE a = ? AND d = ?"
    assert values == [2, TRICKY, 2]


def test_trino_integer_division_stays_integer(warehouse: Warehouse) -> None:
    with open_engine(warehouse) as engine:
        trino = engine.query("SELECT a / b AS q FROM metrics.ratio ORDER BY a", dialect="trino").to_pylist()
        duckdb = engine.query("SELECT a / b AS q FROM metrics.ratio ORDER BY a").to_pylist()
        assert trino == [{"q": 3}, {"q": 4}]
        assert duckdb == [{"q": 3.5}, {"q": 4.5}]
        # the engine types the statement from its own tables; without them, `/` would stay a float division
        assert transpile("SELECT a / b AS q FROM metrics.ratio", "trino", engine) != "SELECT a / b AS q FROM metrics.ratio"
        assert transpile("SELECT a / b AS q FROM metrics.ratio", "trino", "duckdb") == "SELECT a / b AS q FROM metrics.ratio"


def test_bad_sql_is_a_query_error_naming_the_dialect(warehouse: Warehouse) -> None:
    with open_engine(warehouse) as engine:
        with pytest.raises(QueryError, match="cannot parse the query as trino SQL"):
            engine.query("SELECT FROM WHERE (", dialect="trino")
        with pytest.raises(QueryError, match="one statement, found 2"):
            engine.query("SELECT 1; SELECT 2", dialect="trino")


def test_functions_come_from_the_engine_class_without_a_warehouse() -> None:
    functions = engine_class("duckdb").functions()
    assert {"sum", "count_if", "regexp_matches"} <= functions
    assert "format_datetime" not in functions
    assert all(name == name.lower() for name in functions)
    assert DuckDBEngine.functions() is functions  # asked once per process
    assert "slice" in DuckDBEngine.different_results and "sum" not in DuckDBEngine.different_results


def test_unknown_engine_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown engine 'oracle' \\(known: duckdb, trino\\)"):
        open_engine(tmp_path, "oracle")


def test_publish_makes_a_table_written_elsewhere_visible(warehouse: Warehouse) -> None:
    with open_engine(warehouse) as engine:
        warehouse.replace_partition("metrics", "late", {"dt": DAY}, pa.table({"v": [1]}))
        with pytest.raises(QueryError, match="late"):
            engine.query("SELECT v FROM metrics.late")
        assert engine.tables("metrics") == ["ratio"]
        engine.publish("metrics", "late", {"dt": DAY}, new=True)
        assert engine.tables("metrics") == ["late", "ratio"]
        assert engine.query("SELECT v, dt FROM metrics.late").to_pylist() == [{"v": 1, "dt": DAY}]


def test_publish_shows_a_partition_with_a_new_column(warehouse: Warehouse) -> None:
    with open_engine(warehouse) as engine:
        later = DAY + dt.timedelta(days=1)
        warehouse.replace_partition("metrics", "ratio", {"dt": later}, pa.table({"a": [1], "b": [1], "label": ["z"], "extra": [5]}))
        assert "extra" not in engine.columns("metrics", "ratio")
        engine.publish("metrics", "ratio", {"dt": later})
        assert "extra" in engine.columns("metrics", "ratio")
        rows = engine.query("SELECT dt, label, extra FROM metrics.ratio ORDER BY dt, label").to_pylist()
        assert rows == [{"dt": DAY, "label": "x", "extra": None}, {"dt": DAY, "label": "y", "extra": None}, {"dt": later, "label": "z", "extra": 5}]


def test_write_partition_writes_and_publishes(warehouse: Warehouse) -> None:
    with open_engine(warehouse) as engine:
        engine.write_partition("metrics", "fresh", {"dt": DAY}, pa.table({"v": [3, 4]}))
        assert engine.query("SELECT sum(v) AS s FROM metrics.fresh").to_pylist() == [{"s": 7}]


def test_a_lazy_engine_shows_only_the_tables_it_is_given(warehouse: Warehouse) -> None:
    with open_engine(warehouse, lazy=True) as engine:
        assert engine.schemas() == []
        engine.prepare([("metrics", "ratio"), ("metrics", "missing"), ("Bad-Name", "x")])
        assert (engine.schemas(), engine.tables("metrics")) == (["metrics"], ["ratio"])
        assert engine.query("SELECT sum(a) AS s FROM metrics.ratio").to_pylist() == [{"s": 16}]


def test_environment_reopens_the_same_engine(warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    from metrics.config import load_settings
    from metrics.engines import open_configured
    from metrics.engines.trino import TrinoSettings

    with open_engine(warehouse) as engine:
        for key, value in engine.environment().items():
            monkeypatch.setenv(key, value)
    monkeypatch.chdir(warehouse.root.parent)  # no metrics.toml there: the environment alone says it
    with open_configured(load_settings()) as again:
        assert (again.name, again.warehouse.root) == ("DuckDB", warehouse.root)
    for uri in (
        "trino://analytics@trino.example.org:443/hive?http_scheme=https",
        "trino://me%40x@h:8080/lake?verify=%2Fca.pem",
        "trino://u@h:9/hive?verify=false",
    ):
        settings = TrinoSettings.from_uri(uri)
        assert TrinoSettings.from_uri(settings.uri()) == settings
