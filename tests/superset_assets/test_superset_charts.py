"""The country_indicators bundle in a real Superset 6.1: the world map's data through the chart data API
(ISO codes Superset can place, non-empty), a country line limited to its series limit plus "Others",
and the dashboard drawn by headless Chromium without an error.

The warehouse comes from the ingestion sample generators and the runner (`pipeline.build_warehouse`),
with about 250 countries: more than any legend can hold.
"""

from __future__ import annotations

import math
import re
import time
from pathlib import Path

import httpx
import pytest

from metrics import catalogue as catalogue_mod
from superset_assets.bundle import build_bundle
from superset_assets.charts import OTHERS, plan_charts
from superset_assets.database import default_uri
from superset_assets.datasets import Planner
from superset_assets.importer import ImportProblem, import_bundles
from tests.conftest import ROOT, SHIPPED_CATALOGUE
from tests.services.superset import SupersetClient, running_superset
from tests.superset_assets.pipeline import TODAY, build_warehouse

pytestmark = pytest.mark.superset
ARTIFACTS = ROOT / "test-artifacts"
SPEC = "country_indicators"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("superset-charts")
    warehouse = build_warehouse(tmp)
    cat = catalogue_mod.load(SHIPPED_CATALOGUE, today=TODAY)
    spec = cat.spec(SPEC)
    path = tmp / f"{SPEC}.zip"
    path.write_bytes(build_bundle(cat, spec, engine_uri=default_uri(warehouse), today=TODAY).zip_bytes())
    planner = Planner(cat, spec, "metrics_warehouse")
    planner.plan_spec()
    with running_superset() as superset:
        try:
            result = import_bundles(superset.url, [path], user=superset.user, password=superset.password, state_path=tmp / "state.json")
        except ImportProblem as exc:
            pytest.fail(f"{exc}\n--- Superset log ---\n{superset.log_tail()}")
        yield {"superset": superset, "plans": plan_charts(spec, planner), "dashboards": result.dashboards}


def chart_rows(env: dict, uuid: str) -> list[dict]:
    s = env["superset"]
    with SupersetClient(s.url, s.user, s.password) as api:
        payload = api.chart_data(api.chart_id(uuid))["result"][0]
    assert payload.get("error") is None, payload.get("error")
    return payload["data"]


def test_world_map_data_is_countries_by_iso_code(env) -> None:
    world = next(p for p in env["plans"] if p.viz_type == "world_map")
    rows = chart_rows(env, world.uuid)
    assert len(rows) > 100  # one row per country of the sample data
    metric = world.metrics[0]
    assert all(re.fullmatch(r"[A-Z]{3}", row["country"]) for row in rows)
    values = [row[metric] for row in rows if row[metric] is not None]
    assert values and all(math.isfinite(v) and v >= 0 for v in values)


def test_country_line_has_at_most_the_limit_plus_others(env) -> None:
    line = next(p for p in env["plans"] if p.viz_type == "echarts_timeseries_line")
    rows = chart_rows(env, line.uuid)
    series = {column for row in rows for column in row if column != "dt"}
    assert rows and len(series) <= line.series_limit + 1, sorted(series)
    assert OTHERS in series  # ~250 countries: the rest are one series


def test_dashboard_draws_the_map_without_an_error_in_chromium(env) -> None:
    from tests.superset_assets.browser import CHROMIUM, Chromium

    if not Path(CHROMIUM).exists():
        pytest.skip(f"no {CHROMIUM}: scripts/superset/install-chromium.sh installs it")
    s = env["superset"]
    with httpx.Client(base_url=s.url, follow_redirects=False) as web:
        token = re.search(r'id="csrf_token"[^>]*value="([^"]+)"', web.get("/login/").text).group(1)
        assert web.post("/login/", data={"username": s.user, "password": s.password, "csrf_token": token}).status_code == 302
        session = web.cookies["session"]
    (number,) = env["dashboards"].values()
    charts = len(env["plans"])
    with Chromium() as browser:
        page = browser.page()
        page.call("Network.setCookie", name="session", value=session, url=s.url)
        page.call("Page.enable")
        page.call("Page.navigate", url=f"{s.url}/superset/dashboard/{number}/")
        state: dict = {}
        for _ in range(90):
            time.sleep(1)
            state = (
                page.evaluate("""(() => {
                  const charts = Array.from(document.querySelectorAll('[data-test="chart-grid-component"]'));
                  return {charts: charts.length,
                          loading: document.querySelectorAll('[data-test="chart-grid-component"] [data-test="loading-indicator"], [data-test="chart-grid-component"] .loading').length,
                          drawn: charts.filter(c => c.querySelector('canvas, svg, table, .header-line')).length,
                          paths: Math.max(0, ...charts.map(c => c.querySelectorAll('svg path').length)),
                          errors: Array.from(document.querySelectorAll('[role="alert"], .ant-alert-error, [data-test="error-tooltip"]')).map(e => e.innerText.slice(0, 200))};
                })()""")
                or {}
            )
            # the map fetches its country shapes after its frame is drawn: wait for them too
            if state.get("charts") == charts and not state.get("loading") and state.get("drawn") == charts and state.get("paths", 0) > 100:
                break
        page.screenshot(ARTIFACTS / f"superset-{SPEC}-charts.png")
    assert state.get("charts") == charts and state.get("drawn") == charts and not state.get("loading"), state
    assert state.get("errors") == [], state
    assert state.get("paths", 0) > 100, state  # the world map drew its countries (one SVG path each; the other charts draw on canvas or in a table)
