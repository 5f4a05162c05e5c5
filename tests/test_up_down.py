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

from metrics import catalogue as catalogue_mod
from superset_assets.charts import plan_charts
from superset_assets.client import SupersetClient
from superset_assets.datasets import Planner
from superset_assets.naming import slug
from tests.conftest import ROOT, SHIPPED_CATALOGUE
from tests.superset_assets.browser import render_dashboards

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


def _every_demo_dashboard_reads_well(url: str, dashboards: dict[str, int]) -> None:
    """Every demo dashboard draws every chart without an error alert (screenshots in test-artifacts/),
    and no line chart's data holds more series than its graph's `series_limit` plus "Others"."""
    subprocess.run(["bash", str(ROOT / "scripts" / "superset" / "install-chromium.sh")], check=True, timeout=900, capture_output=True)
    limits = {}
    cat = catalogue_mod.load(SHIPPED_CATALOGUE)
    for spec in cat:
        planner = Planner(cat, spec, "metrics_warehouse")
        planner.plan_spec()
        limits.update({plan.uuid: (plan.title, plan.series_limit) for plan in plan_charts(spec, planner) if plan.viz_type == "echarts_timeseries_line"})
    charts: dict[str, int] = {}
    lines = 0
    with SupersetClient(url, "admin", "admin") as client:
        client.login()
        for uuid in dashboards:
            charts[uuid] = len(client.get_json(f"/api/v1/dashboard/{uuid}/charts")["result"])
        for chart_uuid, (title, limit) in sorted(limits.items()):
            payload = client.chart_data(client.chart_id(chart_uuid))["result"][0]
            assert payload.get("error") is None, (title, payload.get("error"))
            series = {column for row in payload["data"] for column in row if column != "dt"}
            assert 0 < len(series) <= (limit or len(series)) + 1, f"{title}: {len(series)} series, limit {limit}"
            lines += 1
    assert lines >= 5, "the demo's line charts were not found by their UUIDs"
    states = render_dashboards(url, "admin", "admin", dashboards, charts, ROOT / "test-artifacts", "up-dashboard")
    for uuid, state in states.items():
        assert state.get("charts") == charts[uuid] and state.get("drawn") == charts[uuid] and not state.get("loading"), state
        assert state.get("errors") == [], state
        assert state.get("settled"), state  # screenshots of lines still being drawn cut them short
        for drawn in state["charts_drawn"]:  # every name of a legend in view, none paged; y axis titles clear of the ticks
            assert drawn["legendType"] == "plain" and (drawn["legend"] == drawn["series"] or not drawn["timeAxis"]), drawn
            if drawn.get("yAxisInk"):
                title, ticks = drawn["yAxisInk"][0], drawn["yAxisInk"][1]
                assert title[1] - title[0] <= 16 and ticks[0] - title[1] >= 3, drawn


def test_up_serves_the_demo_dashboards_and_statsd_samples_and_down_stops_them(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("METRICS_", "SUPERSET_", "GRAPHITE_"))}
    up = subprocess.run([METRICS, "up", "--dir", str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    try:
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        printed = dict(re.findall(r"^([A-Z_]+)=(\S+)$", up.stdout, flags=re.M))
        assert {"SUPERSET_URL", "GRAPHITE_WEB_URL", "GRAPHITE_STATSD_PORT", "GRAPHITE_CARBON_PORT", "METRICS_WAREHOUSE"} <= set(printed), up.stdout
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
        _every_demo_dashboard_reads_well(printed["SUPERSET_URL"], {d["uuid"]: d["id"] for d in listed["result"]})

        # The line `metrics up` prints: the demo's numbers agree in the tables, metrics.query, Superset and Graphite.
        verify = [METRICS, "--warehouse", printed["METRICS_WAREHOUSE"], "verify", "--superset-url", printed["SUPERSET_URL"]]
        verify += ["--graphite-url", printed["GRAPHITE_WEB_URL"]]
        assert " ".join(verify[1:]) in up.stdout.replace("\n  ", " ")
        checked = subprocess.run(verify, cwd=ROOT, env={**env, "SUPERSET_PASSWORD": "admin"}, capture_output=True, text=True, timeout=600)
        assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-3000:]
        agree = re.search(r"^(\d+) metrics x (\d+) dates agree on 4 surfaces", checked.stdout, flags=re.M)
        assert agree and int(agree.group(1)) >= 5, checked.stdout

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
