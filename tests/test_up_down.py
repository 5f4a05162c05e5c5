"""`metrics up` and `metrics down`: a real Superset with the demo's dashboards and a real StatsD/Graphite, started and stopped by PID.

Everything runs in a scratch `--dir`, so the Superset and Graphite other tests start are not touched.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from superset_assets.client import SupersetClient
from superset_assets.naming import slug
from tests.conftest import ROOT

pytestmark = [pytest.mark.superset, pytest.mark.graphite]

METRICS = str(ROOT / ".venv" / "bin" / "metrics")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _pids(directory: Path) -> set[int]:
    files = [directory / "superset" / "superset.pid", *sorted((directory / "graphite" / "run").glob("*.pid"))]
    return {int(f.read_text().split()[0]) for f in files if f.is_file()}  # carbon writes its own pid file too


def test_up_serves_the_demo_dashboards_and_statsd_samples_and_down_stops_them(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("METRICS_", "SUPERSET_", "GRAPHITE_"))}
    up = subprocess.run([METRICS, "up", "--dir", str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    try:
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        printed = dict(re.findall(r"^(SUPERSET_URL|GRAPHITE_WEB_URL|GRAPHITE_STATSD_PORT)=(\S+)$", up.stdout, flags=re.M))
        assert set(printed) == {"SUPERSET_URL", "GRAPHITE_WEB_URL", "GRAPHITE_STATSD_PORT"}, up.stdout
        assert "log in as admin / admin" in up.stdout
        pids = _pids(tmp_path)
        assert len(pids) == 4 and all(_alive(p) for p in pids), pids  # gunicorn, carbon, graphite-web, statsd

        index = json.loads((ROOT / "superset_assets" / "bundles" / "index.json").read_text())
        specs = {bundle["spec"] for bundle in index["bundles"]}
        with SupersetClient(printed["SUPERSET_URL"], "admin", "admin") as client:
            client.login()
            listed = client.get_json("/api/v1/dashboard/", params={"q": "(page_size:100)"})
        slugs = {d["slug"] for d in listed["result"]}
        assert {slug(spec) for spec in specs} <= slugs, f"dashboards missing after up: {sorted(specs)} against {sorted(slugs)}"

        deadline = time.monotonic() + 60  # StatsD flushes every second
        nodes: set[str] = set()
        while time.monotonic() < deadline and not nodes - {"statsd"}:
            answer = httpx.get(printed["GRAPHITE_WEB_URL"] + "/metrics/find", params={"query": "stats_counts.*"}, timeout=30)
            nodes = {node["text"] for node in answer.json()}
            time.sleep(1)
        assert nodes - {"statsd"}, f"no sample counter reached Graphite, only {nodes}"
    finally:
        down = subprocess.run([METRICS, "down", "--dir", str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert down.returncode == 0, down.stdout + down.stderr
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.5)
    assert not any(_alive(p) for p in pids), "a process of metrics up outlived metrics down"
