"""`metrics verify` against a real Superset and a real Graphite: it passes on a small demo and names
the surface, metric and date of a planted mismatch.

The demo: three days of generated raw data, every query folder run with the catalogue metrics' values
sent to the test carbon, the bundles built and imported into Superset (as `make demo` and
`metrics up` do, in small).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from grafana.targets import in_graphite
from metrics import catalogue as catalogue_mod
from metrics.cli import main
from metrics.reports.graphite import day_timestamp
from metrics.verify import agree, dataset_id, sample_dates, superset_chart
from metrics.warehouse import Warehouse
from superset_assets.charts import query_context
from superset_assets.client import SupersetClient
from superset_assets.database import default_uri
from superset_assets.datasets import stored_parts
from superset_assets.importer import import_bundles
from superset_assets.writer import build_all, latest, read_index
from tests.conftest import CATALOGUE
from tests.services.graphite import running_graphite, send_to_carbon
from tests.services.superset import running_superset
from tests.superset_assets.pipeline import TODAY, build_warehouse

SETTLE_SECONDS = 60  # carbon writes a new series' whisper file a moment after the points arrive


def test_sample_dates_are_first_middle_and_last() -> None:
    days = [dt.date(2026, 11, 1) + dt.timedelta(days=i) for i in range(9)]
    assert sample_dates(reversed(days), 3) == [days[0], days[4], days[8]]
    assert sample_dates(days, 1) == [days[0]]
    assert sample_dates(days[:2], 5) == days[:2]
    assert sample_dates([], 3) == []


def test_graphite_is_read_under_the_environments_prefix() -> None:
    from metrics.verify import graphite_target
    from tests.conftest import CATALOGUE

    spec = catalogue_mod.load(CATALOGUE).spec("reference_previews")
    metric = spec.metric("footnote_clicks")
    assert graphite_target(spec, metric) == "alias(sumSeries(reference_previews.baseline.footnote_clicks.*), 'footnote_clicks')"
    assert graphite_target(spec, metric, "eqiad.prod") == "alias(sumSeries(eqiad.prod.reference_previews.baseline.footnote_clicks.*), 'footnote_clicks')"


def test_the_rounding_rule() -> None:
    assert agree(0.1 + 0.2, 0.3)
    assert not agree(1000.0, 1001.0)
    assert agree(None, None) and not agree(None, 0.0)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("verify")
    with running_graphite() as graphite:
        warehouse = build_warehouse(tmp, graphite_address=(graphite.host, graphite.carbon_port))
        catalogue = tmp / "catalogue"
        shutil.copytree(CATALOGUE, catalogue)
        out = tmp / "bundles"
        build_all(catalogue_mod.load(catalogue, today=TODAY), out, engine_uri=default_uri(warehouse), today=TODAY)
        with running_superset() as superset:
            paths = [out / e["file"] for _, e in sorted(latest(read_index(out)).items())]
            import_bundles(superset.url, paths, user=superset.user, password=superset.password, state_path=tmp / "state.json")
            yield {"graphite": graphite, "superset": superset, "warehouse": warehouse, "catalogue": catalogue}


def run_verify(demo: Any, *extra: str) -> Result:
    s = demo["superset"]
    args = ["--catalogue", str(demo["catalogue"]), "--warehouse", str(demo["warehouse"]), "verify"]
    args += ["--superset-url", s.url, "--graphite-url", demo["graphite"].web_url, "--user", s.user, *extra]
    return CliRunner().invoke(main, args, env={"SUPERSET_PASSWORD": s.password})


def run_until(demo: Any, done: Any) -> Result:
    """Run verify until `done(result)` or SETTLE_SECONDS pass (carbon's writes land a moment late)."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        result = run_verify(demo)
        if done(result) or time.monotonic() > deadline:
            return result
        time.sleep(2)


@pytest.mark.superset
@pytest.mark.graphite
def test_verify_passes_on_the_demo(demo: Any) -> None:
    result = run_until(demo, lambda r: r.exit_code == 0)
    print(result.output)  # shown on failure, or with -s
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    cat = catalogue_mod.load(demo["catalogue"], today=TODAY)
    stored = [(s, m) for s in cat for m in s.metrics if stored_parts(s, m)]
    everywhere = [m.name for s, m in stored if in_graphite(s, m)]
    assert len(everywhere) >= 5
    fewer = f"; {len(stored) - len(everywhere)} more on fewer surfaces" if len(stored) > len(everywhere) else ""
    assert lines[-1] == f"{len(everywhere)} metrics x 3 dates agree on 4 surfaces{fewer}", result.output
    # StatsD metrics are skipped with a line saying so; a metric without a Graphite path is named
    assert any(line.startswith("skipped codemirror_toggle_clicks: collected by StatsD") for line in lines), result.output
    assert any(line.startswith("not checked on Graphite: top_page_views:") for line in lines), result.output
    assert not any(line.startswith("not checked on Superset") for line in lines), result.output
    assert not [line for line in lines if line.startswith("MISMATCH")]


@pytest.mark.superset
@pytest.mark.graphite
def test_verify_names_the_surface_of_a_planted_mismatch(demo: Any) -> None:
    run_until(demo, lambda r: r.exit_code == 0)
    warehouse = Warehouse(demo["warehouse"])
    days = sorted(p.name.removeprefix("dt=") for p in (demo["warehouse"] / "metrics" / "reference_previews_baseline").glob("dt=*"))
    middle = dt.date.fromisoformat(days[len(days) // 2])
    # Graphite: one wiki's footnote clicks sent again for the middle day, with another value
    send_to_carbon(demo["graphite"].host, demo["graphite"].carbon_port, [f"reference_previews.baseline.footnote_clicks.enwiki 987654 {day_timestamp(middle)}"])
    # the metric table: one partition of the toggles rewritten after its values went to Graphite
    toggles = demo["warehouse"] / "metrics" / "codemirror_toggles"
    last = sorted(p.name.removeprefix("dt=") for p in toggles.glob("dt=*"))[-1]
    data = pq.read_table(toggles / f"dt={last}")
    data = data.set_column(data.schema.get_field_index("toggles"), "toggles", pc.add(data["toggles"], pa.scalar(1000, data["toggles"].type)))
    warehouse.replace_partition("metrics", "codemirror_toggles", {"dt": dt.date.fromisoformat(last)}, data)

    # Superset: the daily chart of domain views edited by hand to show one domain only
    domain_line = edit_chart_to_one_series(demo, "domain_views")

    result = run_until(demo, lambda r: "footnote_clicks" in r.output and "MISMATCH toggles" in r.output)
    assert result.exit_code == 1, result.output
    mismatches = [line for line in result.output.splitlines() if line.startswith("MISMATCH")]
    assert any(line.startswith(f"MISMATCH footnote_clicks {middle}: Graphite says ") for line in mismatches), result.output
    toggles_lines = [line for line in mismatches if line.startswith(f"MISMATCH toggles {last}:")]
    # the table and metrics.query read the rewritten Parquet; the chart reads it too (a view); Graphite has the old values
    assert [line.split(": ")[1].split(" says ")[0] for line in toggles_lines] == ["Graphite"], result.output
    assert "metrics.query" not in result.output
    domain_lines = [line for line in mismatches if line.startswith("MISMATCH domain_views ")]
    assert domain_lines and all(f": Superset (chart {domain_line!r}) says " in line for line in domain_lines), result.output
    print(result.output)


def edit_chart_to_one_series(demo: Any, metric_name: str) -> str:
    """Filter the metric's daily line chart to its first series, as an edit in Superset's UI would; returns its title."""
    cat = catalogue_mod.load(demo["catalogue"], today=TODAY)
    spec = next(s for s in cat if any(m.name == metric_name for m in s.metrics))
    plan, how = superset_chart(cat, spec, spec.metric(metric_name))
    assert how == "chart" and plan.groupby, (plan, how)
    s = demo["superset"]
    with SupersetClient(s.url, s.user, s.password) as api:
        number = api.chart_id(plan.uuid)
        series = [k for k in api.chart_data(number)["result"][0]["data"][0] if k != "dt"]
        assert len(series) > 1, series
        context = query_context(plan)
        context["datasource"]["id"] = dataset_id(api, plan.dataset.uuid, plan.dataset.name)
        context["queries"][0]["filters"].append({"col": plan.groupby[0], "op": "==", "val": series[0]})
        api.request("PUT", f"/api/v1/chart/{number}", json={"query_context": json.dumps(context)})
    return str(plan.title)


def test_verify_without_a_password_is_a_one_line_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["verify", "--superset-url", "http://127.0.0.1:9", "--graphite-url", "http://127.0.0.1:9"], env={"SUPERSET_PASSWORD": ""})
    assert result.exit_code == 2
    assert "SUPERSET_PASSWORD" in result.output and "Traceback" not in result.output


def test_verify_of_an_unknown_spec_or_an_unreachable_superset_is_a_one_line_error() -> None:
    args = ["--catalogue", str(CATALOGUE), "verify", "--superset-url", "http://127.0.0.1:9", "--graphite-url", "http://127.0.0.1:9"]
    result = CliRunner().invoke(main, [*args, "--spec", "nope"], env={"SUPERSET_PASSWORD": "x"})
    assert result.exit_code == 2 and "no spec 'nope'" in result.output and "Traceback" not in result.output, result.output
    result = CliRunner().invoke(main, args, env={"SUPERSET_PASSWORD": "x"})
    assert result.exit_code == 1 and "Superset at http://127.0.0.1:9 did not answer" in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
