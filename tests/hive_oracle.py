"""The same Hive query on Spark (the oracle) and through the service, over the same Parquet rows.

Used by the `spark` tests: `write_vals` writes `hive_semantics.ORACLE_ROWS` as the warehouse table
`oracle.vals`; Spark reads those very files, an engine reads them through its views or catalog.
Results are compared as values of a kind (an integer is not a float, a date not a timestamp);
Spark's DECIMAL literals count as the DOUBLE Hive would give, but an engine's DECIMAL matches only
a DECIMAL (it prints 2.50 where Hive's DOUBLE prints 2.5).
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from metrics.engines import Engine
from metrics.engines.base import QueryError
from metrics.engines.hive_semantics import ORACLE_COLUMNS, ORACLE_ROWS, RULES, Example, Rule, SemanticsError
from metrics.warehouse import Warehouse, normalize

ARROW = {"BIGINT": pa.int64(), "DOUBLE": pa.float64(), "STRING": pa.string(), "BOOLEAN": pa.bool_()}
PARTITION = {"day": 1}

EXAMPLES: list[tuple[Rule, Example]] = [(rule, example) for rule in RULES for example in rule.examples]
IDS = [f"{rule.key}-{i}" for rule in RULES for i, _ in enumerate(rule.examples)]


def write_vals(root: Path) -> Path:
    """The oracle rows as the table `oracle.vals` of the warehouse at `root`; returns the table's folder."""
    data = pa.table({c: pa.array([r[c] for r in ORACLE_ROWS], ARROW[t]) for c, t in ORACLE_COLUMNS.items()})
    Warehouse(root).replace_partition("oracle", "vals", PARTITION, data)
    return Warehouse(root).table_dir("oracle", "vals")


def register_vals(spark: Any, table_dir: Path) -> None:
    """`vals` in Spark: a view over the very Parquet files the engines read."""
    spark.read.parquet(str(table_dir)).createOrReplaceTempView("vals")


def on_spark(spark: Any, sql: str) -> list[tuple]:
    return [tuple(row) for row in spark.sql(sql.replace("oracle.vals", "vals")).collect()]


def on_engine(engine: Engine, sql: str) -> list[tuple]:
    table = normalize(engine.query(sql, dialect="hive"))  # the types the service stores (no HUGEINT)
    return [tuple(row.values()) for row in table.to_pylist()]


def kind(value: Any) -> Any:
    """A value as compared: Decimal as float (Spark types literals DECIMAL, Hive DOUBLE), lists element-wise."""
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [kind(v) for v in value]
    return value


def same(a: Any, b: Any) -> bool:
    """The engine's value `a` is Spark's `b`."""
    if isinstance(a, decimal.Decimal) and not isinstance(b, decimal.Decimal):
        return False
    a, b = kind(a), kind(b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if type(a) is not type(b):
        return False  # 3 is not 3.0; a date is not a timestamp; True is not 1
    if isinstance(a, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12) or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dt.datetime):
        return a.replace(tzinfo=None) == b.replace(tzinfo=None)
    return a == b


def same_rows(a: list[tuple], b: list[tuple]) -> bool:
    return len(a) == len(b) and all(same(list(x), list(y)) for x, y in zip(a, b))


def check(spark: Any, engine: Engine, name: str, rule: Rule, example: Example) -> None:
    """The example gives Spark's values on `engine` (named `name`), or is refused, or fails, as its rule says."""
    expected = on_spark(spark, example.spark or example.sql)
    if name in example.refused_on:
        with pytest.raises(SemanticsError, match=rf"hive-semantics: {rule.key}"):
            on_engine(engine, example.sql)
        return
    if name in example.fails_on:
        with pytest.raises(QueryError):
            on_engine(engine, example.sql)
        assert expected and expected[0][0] is not None  # Hive (Spark) gives a value where the engine raises
        return
    got = on_engine(engine, example.sql)
    assert same_rows(got, expected), f"{example.sql}\n  Hive (Spark): {expected}\n  {name}: {got}"
