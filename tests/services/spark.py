"""A local Spark SQL session in Hive-compatible mode: the oracle of Hive's meaning in tests marked `spark`.

    with spark_session(tmp) as spark:           # local[1], ANSI off, legacy (Java) date patterns, UTC
        spark.sql("SELECT hive_to_boolean('false')").collect()

Spark 4 differs from Hive unless told (`../shared/reference/spark-oracle.md`): ANSI mode is off,
date patterns are SimpleDateFormat's, the session zone is UTC. Hive 2.3's own UDF classes (in
pyspark's hive-exec jar) are registered as `hive_<name>` (`HIVE_UDFS`) for the cases where Spark is
not Hive. Java 17 (`JAVA_HOME`, else /usr/lib/jvm/java-17-openjdk-amd64) runs it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from metrics.engines.hive_semantics import HIVE_UDFS

JAVA_HOME = "/usr/lib/jvm/java-17-openjdk-amd64"

HIVE_COMPAT = {
    "spark.sql.ansi.enabled": "false",  # Spark 4 defaults to ANSI: size(NULL) NULL, overflow and bad casts raise
    "spark.sql.legacy.timeParserPolicy": "LEGACY",  # SimpleDateFormat patterns ('u', ...) as in Hive 2.x
    "spark.sql.session.timeZone": "UTC",
}


class SparkUnavailable(RuntimeError):
    """No pyspark or no Java: the message says which."""


@contextmanager
def spark_session(tmp: Path) -> Iterator[Any]:
    """One SparkSession (local[1], 512 MB) whose metastore and scratch files live under `tmp`; stopped at exit."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkUnavailable("pyspark is not installed (it is in the dev group: make setup)") from None
    if "JAVA_HOME" not in os.environ and os.path.isdir(JAVA_HOME):
        os.environ["JAVA_HOME"] = JAVA_HOME
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        raise SparkUnavailable(f"no Java for Spark (install Java 17 at {JAVA_HOME} or set JAVA_HOME)")
    builder = (
        SparkSession.builder.master("local[1]")
        .appName("hive-oracle")
        .config("spark.driver.memory", "512m")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "1")
        .config("spark.local.dir", str(tmp / "local"))
        .config("spark.sql.warehouse.dir", str(tmp / "warehouse"))
        # Hive support is what lets Hive's own UDF classes run (a Derby metastore in tmp)
        .config("spark.hadoop.javax.jdo.option.ConnectionURL", f"jdbc:derby:;databaseName={tmp / 'metastore_db'};create=true")
        .config("spark.driver.extraJavaOptions", f"-Duser.timezone=UTC -XX:+UseSerialGC -Dderby.system.home={tmp}")
        .enableHiveSupport()
    )
    for key, value in HIVE_COMPAT.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    try:
        for name, cls in HIVE_UDFS.items():
            session.sql(f"CREATE TEMPORARY FUNCTION {name} AS '{cls}'")
        yield session
    finally:
        session.stop()
