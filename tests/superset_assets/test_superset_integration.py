"""The built bundles in a real Superset 6.1: imported, every chart's numbers equal the metric tables,
re-import in place, a bumped spec updates in place, the UI-edit guard, clear errors, and a real
browser renders every chart.

One Superset for the module (scripts/superset/, ~10 s to start); the warehouse comes from the
ingestion sample generators and the runner, as `make demo` makes it.
"""

from __future__ import annotations

import collections
import datetime as dt
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pycountry
import pytest

from metrics import catalogue as catalogue_mod
from metrics.spec import Metric, Spec
from superset_assets.charts import OTHERS, PERCENT_OF_100, ChartPlan, params, plan_charts
from superset_assets.database import default_uri
from superset_assets.datasets import Planner
from superset_assets.importer import ImportProblem, import_bundles
from superset_assets.writer import build_all, latest, read_index
from tests.conftest import CATALOGUE, ROOT
from tests.services.superset import SupersetClient, running_superset
from tests.superset_assets.pipeline import TODAY, build_warehouse, bump_version

pytestmark = pytest.mark.superset
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("superset-assets")
    warehouse = build_warehouse(tmp)
    catalogue = tmp / "catalogue"
    shutil.copytree(CATALOGUE, catalogue)
    out = tmp / "bundles"
    build_all(catalogue_mod.load(catalogue, today=TODAY), out, engine_uri=default_uri(warehouse), today=TODAY)
    with running_superset() as superset:
        yield {"superset": superset, "warehouse": warehouse, "catalogue": catalogue, "out": out, "state": tmp / "state.json", "tmp": tmp}


def latest_paths(out: Path) -> list[Path]:
    return [out / e["file"] for _, e in sorted(latest(read_index(out)).items())]


def do_import(env: dict, paths: list[Path] | None = None, **kwargs: Any):
    s = env["superset"]
    try:
        return import_bundles(s.url, paths or latest_paths(env["out"]), user=s.user, password=s.password, state_path=env["state"], **kwargs)
    except ImportProblem as exc:
        if "500" in str(exc):
            pytest.fail(f"{exc}\n--- Superset log ---\n{s.log_tail()}")
        raise


def client(env: dict) -> SupersetClient:
    s = env["superset"]
    return SupersetClient(s.url, s.user, s.password)


# -- independent expected numbers -------------------------------------------------------------


def table_rows(warehouse: Path, table: str) -> list[dict]:
    rows = ds.dataset(warehouse / "metrics" / table, format="parquet", partitioning="hive").to_table().to_pylist()
    for row in rows:
        row["dt"] = str(row["dt"])[:10]
    return rows


def aggregate(spec: Spec, metric: Metric, rows: list[dict], how: str) -> float | None:
    """The catalogue's meaning, written out on plain rows: sums, per-period means, ratios of sums."""
    if not rows:
        return None
    if metric.ratio is not None:
        # both parts are columns of these rows: a row missing either counts in neither sum
        num, den = spec.metric(metric.ratio.numerator).source.column, spec.metric(metric.ratio.denominator).source.column
        both = [r for r in rows if r[num] is not None and r[den] is not None]
        total = sum(r[den] for r in both)
        return sum(r[num] for r in both) / total * metric.ratio.scale if total else None
    column = metric.source.column
    values = [r[column] for r in rows if r[column] is not None]
    days = len({r["dt"] for r in rows if r[column] is not None})
    if how == "mean" or metric.aggregation == "semi_additive":
        return sum(values) / days if days else None
    return sum(values)


def normalized(spec: Spec, metric: Metric, num_rows: list[dict], den_rows: list[dict]) -> float | None:
    """The metric over its normalization's denominator on plain rows: a ratio of sums, scaled."""
    assert metric.normalization is not None
    den = spec.metric(metric.normalization.by)
    if den.table == metric.table and set(den.dimensions) == set(metric.dimensions):
        # one row holds both parts: a row missing either counts in neither sum
        num_rows = den_rows = [r for r in num_rows if r[metric.source.column] is not None and r[den.source.column] is not None]
    num = sum(r[metric.source.column] or 0 for r in num_rows)
    total = sum(r[den.source.column] or 0 for r in den_rows)
    return num / total * metric.normalization.scale if total else None


def shown_values(plan: ChartPlan, spec: Spec, warehouse: Path) -> set[str] | None:
    """The split values a limited chart draws on their own (the largest by `rank_by`, the plotted measure); None: all."""
    if not plan.series_limit or plan.rank_by is None:
        return None
    split = plan.graph.split_by
    assert split is not None
    metric = next(spec.metric(n) for n in plan.graph.metrics if plan.rank_by in (f"{n}_total", f"{n}_mean") or plan.rank_by.startswith(f"{n}_per_"))

    def by_split(table: str | None) -> dict[str, list[dict]]:
        groups = collections.defaultdict(list)
        for row in table_rows(warehouse, table or ""):
            if all(str(row[c]) == v for c, v in plan.graph.filters.items() if c in row):
                groups[str(row[split])].append(row)
        return groups

    groups = by_split(metric.table)
    if plan.rank_by.startswith(f"{metric.name}_per_"):
        assert metric.normalization is not None
        dens = by_split(spec.metric(metric.normalization.by).table)
        ranks = {v: normalized(spec, metric, groups.get(v, []), dens.get(v, [])) for v in set(groups) | set(dens)}
    else:
        ranks = {v: aggregate(spec, metric, group, "mean" if plan.rank_by.endswith("_mean") else "total") for v, group in groups.items()}
    totals = {value: rank or 0 for value, rank in ranks.items()}
    if len(totals) <= plan.series_limit:
        return None
    return set(sorted(totals, key=lambda v: -totals[v])[: plan.series_limit])


def others(rows: list[dict], split: str | None, shown: set[str] | None) -> list[dict]:
    """Rows with every split value a limited chart does not draw on its own renamed to OTHERS."""
    if shown is None or split is None:
        return rows
    return [r if split not in r or str(r[split]) in shown else {**r, split: OTHERS} for r in rows]


def with_country_names(rows: list[dict], keys: list[str]) -> list[dict]:
    """Rows with the `<dimension>_name` columns a table groups by (a country code's name, the code where
    ISO 3166-1 has none), looked up here in pycountry by the code itself, not by the dataset's SQL."""
    named = [k for k in keys if k.endswith("_name") and all(k[: -len("_name")] in r for r in rows)]
    if not named:
        return rows

    def name(code: object) -> str:
        text = str(code)
        country = pycountry.countries.get(**{"alpha_3" if len(text) == 3 else "alpha_2": text}) if len(text) in (2, 3) else None
        return getattr(country, "common_name", None) or country.name if country is not None else text

    return [{**r, **{k: name(r[k[: -len("_name")]]) for k in named}} for r in rows]


def expected(plan: ChartPlan, spec: Spec, warehouse: Path) -> dict[tuple, float | None]:
    """(dt or None, split value or None, column label) -> value, computed from the Parquet files."""
    graph = plan.graph
    keys = (["dt"] if plan.viz_type == "echarts_timeseries_line" else []) + plan.groupby
    shown = shown_values(plan, spec, warehouse)
    out: dict[tuple, float | None] = {}
    for name in graph.metrics:
        metric = spec.metric(name)
        table = metric.table or (spec.metric(metric.ratio.numerator).table if metric.ratio else None)
        if table is None:
            continue
        rows = others([r for r in table_rows(warehouse, table) if all(str(r[c]) == v for c, v in graph.filters.items())], graph.split_by, shown)
        groups = collections.defaultdict(list)
        for row in with_country_names(rows, keys):
            groups[tuple(str(row[k]) for k in keys)].append(row)
        for show in plan.show:
            if show == "normalized":
                if metric.normalization is None:
                    continue
                den = spec.metric(metric.normalization.by)
                den_rows = others(
                    [r for r in table_rows(warehouse, den.table) if all(str(r[c]) == v for c, v in graph.filters.items() if c in r)], graph.split_by, shown
                )
                den_groups = collections.defaultdict(list)
                for row in with_country_names(den_rows, keys):
                    den_groups[tuple(str(row[k]) for k in keys)].append(row)
                for key in set(groups) | set(den_groups):
                    out[key + (f"{metric.name}_per_{den.name}",)] = normalized(spec, metric, groups.get(key, []), den_groups.get(key, []))
            else:
                measure = f"{metric.name}_{'mean' if show == 'mean' else 'total'}"
                values = {key: aggregate(spec, metric, group, show) for key, group in groups.items()}
                if show == "percentage":
                    if plan.viz_type == "table":
                        whole = sum(v or 0 for v in values.values())
                        values = {k: (v or 0) / whole for k, v in values.items()}
                        measure = "%" + measure
                    else:
                        per_day = collections.Counter()
                        for key, value in values.items():
                            per_day[key[0]] += value or 0
                        values = {k: (v or 0) / per_day[k[0]] for k, v in values.items()}
                if plan.viz_type == "table" and params(plan)["column_config"].get(measure, {}).get("d3NumberFormat") == PERCENT_OF_100:
                    values = {k: v / 100 if v is not None else None for k, v in values.items()}  # a percent column is a fraction, written 92.5%
                for key, value in values.items():
                    out[key + (measure,)] = value
    if plan.viz_type == "table":  # a quantity equal to a column already shown is not a second column
        out = {k: v for k, v in out.items() if k[-1] in plan.metrics or k[-1].startswith("%")}
    return out


def actual(plan: ChartPlan, result: dict[str, Any]) -> dict[tuple, float | None]:
    """The chart's answer in the same shape as `expected`."""
    out: dict[tuple, float | None] = {}
    metric = plan.metrics[0]
    for row in result["data"]:
        if plan.viz_type == "echarts_timeseries_line":
            day = dt.datetime.fromtimestamp(row["dt"] / 1000, dt.timezone.utc).date().isoformat()
            for column, value in row.items():
                if column != "dt":
                    out[(day, column, metric)] = value
        elif plan.viz_type in ("table", "world_map", "pie"):
            key = tuple(str(row[c]) for c in plan.groupby)
            for column, value in row.items():
                if column not in plan.groupby:
                    out[key + (column,)] = value
        else:
            out[(metric,)] = row[metric]
    return out


def test_every_chart_shows_the_numbers_of_the_metric_tables(env) -> None:
    result = do_import(env)
    assert len(result.dashboards) == 4
    cat = catalogue_mod.load(env["catalogue"], today=TODAY)
    checked = 0
    with client(env) as api:
        for spec in cat:
            planner = Planner(cat, spec, "metrics_warehouse")
            planner.plan_spec()
            for plan in plan_charts(spec, planner):
                payload = api.chart_data(api.chart_id(plan.uuid))["result"][0]
                assert payload.get("error") is None, (plan.title, payload.get("error"))
                want = expected(plan, spec, env["warehouse"])
                got = actual(plan, payload)
                if plan.viz_type == "echarts_timeseries_line":  # one metric per line chart: key by series
                    want = {k[:2] + (plan.metrics[0],): v for k, v in want.items() if k[-1] == plan.metrics[0] or plan.contribution}
                    got = {k: v for k, v in got.items() if v is not None}
                    want = {k: v for k, v in want.items() if v is not None}
                assert got.keys() == want.keys(), plan.title
                for key, value in want.items():
                    assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-12), (plan.title, key)
                checked += 1
    assert checked >= 15


def test_reimport_keeps_ids_and_makes_no_duplicates(env) -> None:
    first = do_import(env)
    with client(env) as api:
        charts = {c["id"] for c in api.get_json("/api/v1/chart/", params={"q": "(page_size:100)"})["result"]}
        datasets = api.get_json("/api/v1/dataset/", params={"q": "(page_size:100)"})["count"]
    second = do_import(env)
    assert second.dashboards == first.dashboards
    with client(env) as api:
        assert {c["id"] for c in api.get_json("/api/v1/chart/", params={"q": "(page_size:100)"})["result"]} == charts
        assert api.get_json("/api/v1/dataset/", params={"q": "(page_size:100)"})["count"] == datasets
        assert api.get_json("/api/v1/dashboard/", params={"q": "(page_size:100)"})["count"] == 4
    dry = do_import(env, dry_run=True)
    assert dry.plan.assets and all(a.status == "unchanged" for a in dry.plan.assets), dry.plan.lines()


def test_dashboard_renders_every_chart_in_chromium(env) -> None:
    from tests.superset_assets.browser import CHROMIUM, render_dashboards

    if not Path(CHROMIUM).exists():
        import subprocess

        subprocess.run(["bash", str(ROOT / "scripts" / "superset" / "install-chromium.sh")], check=True, timeout=600)
    s = env["superset"]
    dashboards = do_import(env).dashboards
    with client(env) as api:
        expected_charts = {uuid: len(api.get_json(f"/api/v1/dashboard/{uuid}/charts")["result"]) for uuid in dashboards}
    states = render_dashboards(s.url, s.user, s.password, dashboards, expected_charts, ARTIFACTS, "superset-dashboard")
    for uuid, state in states.items():
        assert state.get("charts") == expected_charts[uuid], state
        assert state.get("drawn") == state.get("charts") and not state.get("loading"), state
        assert state.get("errors") == [], state


def test_bumped_spec_updates_charts_and_datasets_in_place(env) -> None:
    before = do_import(env)
    spec_file = env["catalogue"] / "codemirror.yaml"
    text = spec_file.read_text()
    spec_file.write_text(text.replace("description: Syntax-highlighting toggles, scaled up", "description: Toggles of syntax highlighting, scaled up"))
    bump_version(spec_file, "1.2.0", "1.3.0")
    cat = catalogue_mod.load(env["catalogue"], today=TODAY)
    report = build_all(cat, env["out"], engine_uri=default_uri(env["warehouse"]), today=TODAY)
    assert [p.name for p in report.written] == ["codemirror-1.3.0.zip"] and not report.problems
    spec = cat.spec("codemirror")
    planner = Planner(cat, spec, "metrics_warehouse")
    planner.plan_spec()
    plans = plan_charts(spec, planner)
    with client(env) as api:
        ids = {p.uuid: api.chart_id(p.uuid) for p in plans}
    dry = do_import(env, dry_run=True)
    codemirror = [a for a in dry.plan.assets if a.kind in ("chart", "dashboard") and a.key in set(ids) | set(before.dashboards)]
    assert any(a.status == "changed" and "version 1.2.0 -> 1.3.0" in a.detail for a in codemirror), dry.plan.lines()
    after = do_import(env)
    assert after.dashboards == before.dashboards
    with client(env) as api:
        assert {p.uuid: api.chart_id(p.uuid) for p in plans} == ids
        board = api.get_json(
            f"/api/v1/dashboard/{[u for u in after.dashboards if api.get_json(f'/api/v1/dashboard/{u}')['result']['slug'] == 'metrics-codemirror'][0]}"
        )["result"]
        assert board["dashboard_title"].endswith("(v1.3.0)")
        found = api.get_json("/api/v1/dataset/", params={"q": "(filters:!((col:table_name,opr:eq,value:codemirror_toggles)))"})["result"]
        dataset = api.get_json(f"/api/v1/dataset/{found[0]['id']}")["result"]
        assert len(found) == 1 and "1.3.0" in dataset["description"]
        toggles = next(m for m in dataset["metrics"] if m["metric_name"] == "toggles_total")
        assert toggles["description"].startswith("Toggles of syntax highlighting")
    # Roll back: the older bundle is still there and imports over the newer one.
    rollback = do_import(env, [env["out"] / "codemirror" / "codemirror-1.2.0.zip"])
    with client(env) as api:
        uuid = next(iter(rollback.dashboards))
        assert api.get_json(f"/api/v1/dashboard/{uuid}")["result"]["dashboard_title"].endswith("(v1.2.0)")


def test_ui_edit_is_not_overwritten_without_force(env) -> None:
    result = do_import(env)
    uuid, number = sorted(result.dashboards.items())[0]
    with client(env) as api:
        api.request("PUT", f"/api/v1/dashboard/{number}", json={"dashboard_title": "Edited by hand"})
    with pytest.raises(ImportProblem, match="refusing to overwrite dashboard 'Edited by hand'.*--force"):
        do_import(env)
    assert any(a.status == "edited" and a.key == uuid for a in do_import(env, dry_run=True).plan.assets)
    with client(env) as api:
        assert api.get_json(f"/api/v1/dashboard/{uuid}")["result"]["dashboard_title"] == "Edited by hand"
    do_import(env, force=True)
    with client(env) as api:
        assert api.get_json(f"/api/v1/dashboard/{uuid}")["result"]["dashboard_title"] != "Edited by hand"
    do_import(env)  # our own import is recorded: no --force needed now


def test_clear_errors(env) -> None:
    s = env["superset"]
    paths = latest_paths(env["out"])
    with pytest.raises(ImportProblem, match=r"rejected user 'admin' \(401\).*SUPERSET_PASSWORD"):
        import_bundles(s.url, paths, user=s.user, password="wrong", state_path=env["state"])
    with pytest.raises(ImportProblem, match="cannot connect to Superset at http://127.0.0.1:9 .*connection refused"):
        import_bundles("http://127.0.0.1:9", paths, user=s.user, password=s.password, state_path=env["state"])
    # A key this Superset does not know: the assets endpoint only says 500; we say what to do.
    broken = env["tmp"] / "broken.zip"
    with zipfile.ZipFile(paths[0]) as source, zipfile.ZipFile(broken, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if "/charts/" in info.filename and b"never_heard_of" not in data:
                data += b"never_heard_of: 1\n"
            target.writestr(info, data)
    with pytest.raises(ImportProblem, match="HTTP 500.*--superset-version"):
        import_bundles(s.url, [broken], user=s.user, password=s.password, state_path=env["state"])
