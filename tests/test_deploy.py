"""The shipped schedules (deploy/): the Airflow DAG has one task per shipped query folder and imports
without Airflow, the systemd units pass `systemd-analyze verify`, the cron line runs `metrics run`."""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from metrics.reports.validate import query_folders
from tests.conftest import ROOT, SHIPPED_QUERIES

DEPLOY = ROOT / "deploy"
DAG_FILE = DEPLOY / "airflow" / "metrics_dag.py"


def test_dag_has_one_task_per_shipped_query_folder() -> None:
    tree = ast.parse(DAG_FILE.read_text("utf-8"))
    listed = next(
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and [t.id for t in node.targets if isinstance(t, ast.Name)] == ["QUERY_FOLDERS"]
    )
    assert listed == [f.name for f in query_folders(SHIPPED_QUERIES)], "add the new query folder to QUERY_FOLDERS in deploy/airflow/metrics_dag.py"
    # The tasks: one BashOperator in a loop over QUERY_FOLDERS, named after the folder and running its command.
    loops = [n for n in ast.walk(tree) if isinstance(n, ast.For) and isinstance(n.iter, ast.Name) and n.iter.id == "QUERY_FOLDERS"]
    assert len(loops) == 1
    calls = [n for n in ast.walk(loops[0]) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "BashOperator"]
    assert len(calls) == 1 and {k.arg for k in calls[0].keywords} == {"task_id", "bash_command"}


def test_dag_imports_without_airflow_and_says_so_when_run() -> None:
    if importlib.util.find_spec("airflow") is not None:
        pytest.skip("Airflow is installed here")
    spec = importlib.util.spec_from_file_location("metrics_dag", DAG_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.DAG is None
    assert module.command("pageviews", "/srv/metrics") == "cd /srv/metrics && /srv/metrics/.venv/bin/metrics run reportupdater_queries/pageviews"
    run = subprocess.run([sys.executable, str(DAG_FILE)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "needs Apache Airflow" in run.stderr and "Traceback" not in run.stderr


def test_dag_command_runs_its_folder(tmp_path: Path) -> None:
    """A task's command, in a project folder laid out as the DAG expects, runs that folder and prints its summary."""
    home = tmp_path / "home"
    shutil.copytree(SHIPPED_QUERIES / "equity_landscape", home / "reportupdater_queries" / "equity_landscape")
    (home / ".venv" / "bin").mkdir(parents=True)
    (home / ".venv" / "bin" / "metrics").symlink_to(Path(sys.executable).parent / "metrics")
    spec = importlib.util.spec_from_file_location("metrics_dag_command", DAG_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    env = {k: v for k, v in os.environ.items() if not k.startswith("METRICS_")}  # the defaults: ./warehouse of the project folder
    run = subprocess.run(["bash", "-c", module.command("equity_landscape", str(home))], capture_output=True, text=True, timeout=120, env=env)
    # No source table in this empty warehouse: the folder runs and its intervals fail (exit 1), as a task would report.
    assert run.returncode == 1, run.stdout + run.stderr
    assert re.search(r"^equity_landscape: 0 interval\(s\) ok, \d+ failed", run.stdout, re.M), run.stdout
    assert (home / "warehouse" / "metrics" / "report_runs").is_dir()


def test_systemd_units_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    units = sorted((DEPLOY / "systemd").glob("metrics-*"))
    assert {u.name for u in units} == {"metrics-run.service", "metrics-run.timer", "metrics-scheduler.service"}
    for unit in units:  # installed paths pointed at this checkout, whose .venv has the command
        (tmp_path / unit.name).write_text(unit.read_text("utf-8").replace("/opt/metrics-service", str(ROOT)))
    run = subprocess.run([analyze, "verify", "--man=no", *sorted(str(p) for p in tmp_path.iterdir())], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and run.stdout + run.stderr == "", run.stdout + run.stderr
    service = (DEPLOY / "systemd" / "metrics-run.service").read_text("utf-8")
    assert "ExecStart=/opt/metrics-service/.venv/bin/metrics run\n" in service and "Type=oneshot" in service
    assert "Unit=metrics-run.service" in (DEPLOY / "systemd" / "metrics-run.timer").read_text("utf-8")
    assert "ExecStart=/opt/metrics-service/.venv/bin/metrics run --every 1h\n" in (DEPLOY / "systemd" / "metrics-scheduler.service").read_text("utf-8")


def test_cron_line_runs_every_folder_hourly() -> None:
    lines = [line for line in (DEPLOY / "cron" / "metrics-service").read_text("utf-8").splitlines() if line and not line.startswith("#") and "=" not in line]
    assert len(lines) == 1
    minute, hour, day, month, weekday, user, command = lines[0].split(None, 6)
    assert (minute, hour, day, month, weekday, user) == ("15", "*", "*", "*", "*", "metrics")
    assert " .venv/bin/metrics run " in command and os.path.basename(command.split(">>")[-1].split()[0]) == "run.log"
