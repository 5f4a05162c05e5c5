"""Airflow DAG of the metrics service: one task per query folder, each `metrics run <folder>`.

Copy this file into Airflow's dags folder on a host where the project is installed, and set
METRICS_HOME to the project folder (default /opt/metrics-service; its .venv holds the `metrics`
command, and its metrics.toml or the METRICS_* variables say where the warehouse is). See
docs/operations.md.

Each task runs one folder under the folder's lock, as `metrics update-reports` does, and writes
the run log, the StatsD lag gauges (METRICS_STATSD) and the Graphite run event (METRICS_GRAPHITE_WEB)
when those are set. Tasks are independent: a report that waits for another folder's table
(`depends_on`) is logged `waiting` and computed by a later run. Exit status 1 (an interval
failed) or 2 (a config error) fails the task, and Airflow retries it.

Without Airflow the file still imports (`DAG` is None), so that it can be checked anywhere; run as
a script without Airflow, it says what is missing.
"""

from __future__ import annotations

import datetime as dt
import os
import shlex
import sys

QUERY_FOLDERS = ["codemirror", "equity_landscape", "pageviews", "reference_previews", "top_articles"]
"""The folders under reportupdater_queries/, one task each (tests/test_deploy.py checks the list against them)."""

METRICS_HOME = os.environ.get("METRICS_HOME", "/opt/metrics-service")

try:
    from airflow import DAG

    try:
        from airflow.providers.standard.operators.bash import BashOperator  # Airflow 3
    except ImportError:
        from airflow.operators.bash import BashOperator  # Airflow 2
except ImportError:
    DAG = None


def command(folder: str, home: str = METRICS_HOME) -> str:
    """The shell command of one folder's task."""
    metrics = os.path.join(home, ".venv", "bin", "metrics")
    return f"cd {shlex.quote(home)} && {shlex.quote(metrics)} run {shlex.quote('reportupdater_queries/' + folder)}"


if DAG is not None:
    with DAG(
        dag_id="metrics_service",
        description="Every query folder of the metrics service, one task each (metrics run FOLDER)",
        schedule="15 * * * *",
        start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
        catchup=False,  # the runner computes every missing interval itself
        max_active_runs=1,
        default_args={"retries": 2, "retry_delay": dt.timedelta(minutes=10)},
        tags=["metrics-service"],
    ) as dag:
        for folder in QUERY_FOLDERS:
            BashOperator(task_id=f"run_{folder}", bash_command=command(folder))


if __name__ == "__main__":
    if DAG is None:
        sys.exit(
            "metrics_dag.py needs Apache Airflow (pip install apache-airflow) and belongs in Airflow's dags folder;"
            " without Airflow, schedule `metrics run` with cron or systemd (docs/operations.md)"
        )
    dag.test()
