"""The country_indicators bundle in a real Superset 6.1: the world map's data through the chart data API
(ISO codes Superset can place, non-empty), a country line limited to its series limit plus "Others",
and the dashboard drawn by headless Chromium without an error.

The warehouse comes from the ingestion sample generators and the runner (`pipeline.build_warehouse`),
with about 250 countries: more than any legend can hold.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from pathlib import Path

import httpx
import pytest

from metrics import catalogue as catalogue_mod
from metrics.engines import open_engine
from superset_assets.bundle import build_bundle
from superset_assets.charts import OTHERS, plan_charts
from superset_assets.database import default_uri
from superset_assets.datasets import YEAR_COLUMN, Planner
from superset_assets.importer import ImportProblem, import_bundles
from tests.conftest import ROOT, SHIPPED_CATALOGUE
from tests.services.superset import SupersetClient, running_superset
from tests.superset_assets.browser import CHROMIUM, render_dashboards
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
        yield {"superset": superset, "plans": plan_charts(spec, planner), "dashboards": result.dashboards, "warehouse": warehouse}


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


def test_the_country_line_is_drawn_to_the_last_year_with_every_name_in_its_legend(env) -> None:
    """The line runs to the data's last year, in the chart data API and on the drawn (settled) canvas; the legend
    lists every series without paging; the y axis title clears its tick labels."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no {CHROMIUM}: scripts/superset/install-chromium.sh installs it")
    with open_engine(env["warehouse"]) as engine:
        (last,) = engine.query("SELECT max(dt) AS last FROM metrics.equity_landscape_indicators").column("last").to_pylist()
    line = next(p for p in env["plans"] if p.viz_type == "echarts_timeseries_line")
    rows = chart_rows(env, line.uuid)
    assert dt.datetime.fromtimestamp(max(r["dt"] for r in rows) / 1000, dt.UTC).year == last.year
    s = env["superset"]
    ((uuid, number),) = env["dashboards"].items()
    state = render_dashboards(s.url, s.user, s.password, {uuid: number}, {uuid: len(env["plans"])}, ARTIFACTS, f"superset-{SPEC}-layout")[uuid]
    assert state["settled"] and state["errors"] == [], state
    (drawn,) = [c for c in state["charts_drawn"] if c["title"] == line.title]
    assert drawn["lastPlotted"] is not None and round_year(drawn["lastPlotted"]) == last.year, drawn
    assert drawn["legendType"] == "plain" and drawn["legend"] == drawn["series"] and OTHERS in drawn["legend"], drawn
    title, ticks = drawn["yAxisInk"][0], drawn["yAxisInk"][1]
    assert title[1] - title[0] <= 16 and ticks[0] - title[1] >= 3, drawn["yAxisInk"]  # one line of text, then a gap


def round_year(iso: str) -> int:
    """The year nearest to an ISO time (a pixel is a few days on a ten-year axis)."""
    moment = dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return (moment + dt.timedelta(days=183)).year


def test_the_year_filter_lists_years(env) -> None:
    world = next(p for p in env["plans"] if p.viz_type == "world_map")
    s = env["superset"]
    with SupersetClient(s.url, s.user, s.password) as api:
        dataset = api.get_json(f"/api/v1/chart/{api.chart_id(world.uuid)}")["result"]["datasource_id"]
        query = {"columns": [YEAR_COLUMN], "metrics": [], "orderby": [[YEAR_COLUMN, False]], "row_limit": 1000, "filters": []}
        body = {"datasource": {"id": dataset, "type": "table"}, "queries": [query], "result_format": "json", "result_type": "full"}
        payload = api._json(api.request("POST", "/api/v1/chart/data", json=body), "chart data")["result"][0]
    years = [row[YEAR_COLUMN] for row in payload["data"]]
    assert years and all(isinstance(y, int) and 2000 < y < 2100 for y in years), years[:5]
    assert years == sorted(set(years), reverse=True)


def test_the_table_beside_the_map_names_the_countries(env) -> None:
    world = next(p for p in env["plans"] if p.viz_type == "world_map")
    values = env["plans"][env["plans"].index(world) + 1]
    rows = chart_rows(env, values.uuid)
    assert len(rows) > 100 and {"country", "country_name", world.metrics[0]} <= set(rows[0])
    named = [r for r in rows if r["country_name"] != r["country"]]
    assert len(named) >= 0.9 * len(rows), [r for r in rows if r["country_name"] == r["country"]][:5]
    ranked = [r[world.metrics[0]] for r in rows if r[world.metrics[0]] is not None]
    assert ranked == sorted(ranked, reverse=True)  # largest first, as the map's darkest countries
