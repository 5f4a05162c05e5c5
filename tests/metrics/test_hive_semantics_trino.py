"""Every example of the Hive semantics table on a real Trino 476 against Spark SQL (Hive's meaning), over the same Parquet rows."""

from __future__ import annotations

import pytest

from metrics.engines import open_engine
from metrics.engines.hive_semantics import Example, Rule
from tests.hive_oracle import EXAMPLES, IDS, check, register_vals, write_vals
from tests.services.trino import running_trino

pytestmark = [pytest.mark.spark, pytest.mark.trino]


@pytest.fixture(scope="module")
def on_trino(spark, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("oracle-trino-warehouse")
    register_vals(spark, write_vals(root))
    with running_trino(root) as uri, open_engine(root, "trino", uri) as engine:
        yield spark, engine


@pytest.mark.parametrize(("rule", "example"), EXAMPLES, ids=IDS)
def test_trino_gives_hives_values(on_trino, rule: Rule, example: Example) -> None:
    spark, engine = on_trino
    check(spark, engine, "trino", rule, example)
