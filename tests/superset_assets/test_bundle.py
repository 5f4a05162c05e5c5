"""Offline checks of the built bundles: determinism, references, allowed keys per Superset version, query contexts."""

from __future__ import annotations

import datetime as dt
import io
import json
import time
import zipfile
from pathlib import Path

import pytest

from metrics import catalogue as catalogue_mod
from metrics.errors import MetricsError
from metrics.problems import InputError
from superset_assets import versions
from superset_assets.bundle import BundleError, build_bundle, check_files, kind_of, read_zip
from superset_assets.charts import plan_charts
from superset_assets.database import database_yaml, mask_password
from superset_assets.datasets import Planner
from superset_assets.importer import ImportProblem, read_bundle
from tests.conftest import CATALOGUE
from tests.metrics.test_yamlfile import billion_laughs

URI = "duckdb:////srv/warehouse/catalog.duckdb"
TODAY = dt.date(2026, 11, 18)


@pytest.fixture(scope="module")
def cat() -> catalogue_mod.Catalogue:
    return catalogue_mod.load(CATALOGUE, today=TODAY)


def bundles(cat, version: str = "6.1") -> dict[str, bytes]:
    return {s.name: build_bundle(cat, s, engine_uri=URI, superset_version=version, today=TODAY).zip_bytes() for s in cat}


def test_same_catalogue_builds_identical_bytes(cat) -> None:
    assert bundles(cat) == bundles(catalogue_mod.load(CATALOGUE, today=TODAY))


def test_zip_layout_one_top_folder_sorted_fixed_times(cat) -> None:
    for name, data in bundles(cat).items():
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
        names = [i.filename for i in infos]
        assert names == sorted(names)
        assert {n.split("/", 1)[0] for n in names} == {f"{name}-{cat.spec(name).version}"}
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
        info, files = read_zip(data)
        assert files["metadata.yaml"] == {"version": "1.0.0"}
        assert info["spec"] == name and info["version"] == cat.spec(name).version and len(info["content_hash"]) == 12


@pytest.mark.parametrize("version", versions.SUPERSET_VERSIONS)
def test_every_key_is_accepted_by_the_target_version_and_every_reference_resolves(cat, version: str) -> None:
    for data in bundles(cat, version).values():
        _, files = read_zip(data)
        assert check_files(files, version) == []
        for path, content in files.items():
            assert set(content) <= versions.allowed_keys(version, kind_of(path))


def test_4_1_bundles_carry_no_6_1_only_key(cat) -> None:
    _, files = read_zip(bundles(cat, "4.1")["codemirror"])
    assert "impersonate_user" not in files["databases/metrics_warehouse.yaml"]
    dataset = files["datasets/metrics_warehouse/codemirror_toggles.yaml"]
    assert "currency_code_column" not in dataset and all("datetime_format" not in c for c in dataset["columns"])
    _, files61 = read_zip(bundles(cat, "6.1")["codemirror"])
    assert files61["databases/metrics_warehouse.yaml"]["impersonate_user"] is False


def test_dangling_dataset_is_an_error_here(cat) -> None:
    _, files = read_zip(bundles(cat)["codemirror"])
    chart = next(p for p in files if p.startswith("charts/"))
    files[chart]["dataset_uuid"] = "00000000-0000-0000-0000-000000000000"
    files[chart]["params"]["metrics"] = ["no_such_metric"]
    problems = check_files(files, "6.1")
    assert any("is not in the bundle (Superset would skip the chart)" in p for p in problems)
    files[chart]["foo"] = 1
    assert any("key 'foo' is unknown to Superset 6.1" in p for p in check_files(files, "6.1"))


def test_database_is_read_only_duckdb_without_password() -> None:
    db = database_yaml(URI)
    assert db["sqlalchemy_uri"] == URI and db["extra"]["engine_params"] == {"connect_args": {"read_only": True}}
    masked, had = mask_password("trino://user:secret@host:8080/hive")
    assert had and "secret" not in masked and masked == "trino://user:XXXXXXXXXX@host:8080/hive"
    assert "engine_params" not in database_yaml("trino://user@host:8080/hive")["extra"]


def test_a_password_in_the_query_string_is_masked_where_superset_takes_it_back() -> None:
    # Superset's import puts the `passwords` field back into a URI whose userinfo password is its mask
    masked, had = mask_password("postgresql://u@db/x?sslmode=require&password=pw-canary")
    assert had and masked == "postgresql://u:XXXXXXXXXX@db/x?sslmode=require"
    assert database_yaml("postgresql://u@db/x?password=pw-canary")["sqlalchemy_uri"] == "postgresql://u:XXXXXXXXXX@db/x"
    for uri, message in [
        ("postgresql://u@db/x?token=tok-canary", "secret query parameter 'token'"),
        ("postgresql://u:a@db/x?password=pw-canary", "password twice"),
    ]:
        with pytest.raises(MetricsError, match=message) as refused:
            mask_password(uri)
        assert "canary" not in str(refused.value)


def test_virtual_dataset_joins_toggles_and_sessions_on_shared_keys(cat) -> None:
    spec = cat.spec("codemirror")
    planner = Planner(cat, spec, "db")
    planner.plan_spec()
    joined = planner.datasets[("codemirror_sessions", "codemirror_toggles")]
    assert [c.name for c in joined.columns if c.groupby and c.expression is None] == ["dt", "editor", "wiki"]
    assert "FROM metrics.codemirror_toggles" in joined.sql and "FROM metrics.codemirror_sessions" in joined.sql
    assert "GROUP BY dt, editor, wiki" in joined.sql
    ratio = next(m for m in joined.measures if m.name == "toggles_per_editing_sessions")
    assert ratio.expression == "CAST(SUM(toggles) AS DOUBLE) / NULLIF(SUM(editing_sessions), 0)"
    same_table = Planner(cat, cat.spec("reference_previews"), "db")
    same_table.plan_spec()
    assert list(same_table.datasets) == [("reference_previews_baseline",)]  # no join needed
    per_1000 = next(m for m in same_table.datasets[("reference_previews_baseline",)].measures if m.name == "footnote_clicks_per_pageviews")
    # clicks and pageviews are columns of the same rows: a row missing either counts in neither sum
    assert per_1000.expression == (
        "CAST(SUM(CASE WHEN pageviews IS NOT NULL THEN footnote_clicks END) AS DOUBLE)"
        " / NULLIF(SUM(CASE WHEN footnote_clicks IS NOT NULL THEN pageviews END), 0) * 1000"
    )


def test_gauge_and_ratio_aggregations(cat) -> None:
    planner = Planner(cat, cat.spec("country_indicators"), "db")
    planner.plan_spec()
    measures = {m.name: m.expression for m in planner.datasets[("equity_landscape_indicators",)].measures}
    per_year = "CAST(SUM({0}) AS DOUBLE) / NULLIF(COUNT(DISTINCT CASE WHEN {0} IS NOT NULL THEN dt END), 0)"
    assert measures["population_total"] == per_year.format("population")
    assert measures["active_editors_total"] == per_year.format("active_editors")  # editors of a year are not added over years
    assert measures["internet_users_pct_total"] == (
        "CAST(SUM(CASE WHEN population IS NOT NULL THEN internet_users END) AS DOUBLE)"
        " / NULLIF(SUM(CASE WHEN internet_users IS NOT NULL THEN population END), 0) * 100"
    )
    assert measures["internet_users_pct_mean"] == measures["internet_users_pct_total"]  # a ratio is never averaged


def test_query_context_of_each_chart(cat) -> None:
    for spec in cat:
        _, files = read_zip(bundles(cat)[spec.name])
        charts = {c["uuid"]: c for p, c in files.items() if p.startswith("charts/")}
        planner = Planner(cat, spec, "metrics_warehouse")
        planner.plan_spec()
        plans = plan_charts(spec, planner)
        assert set(charts) == {p.uuid for p in plans}
        for plan in plans:
            chart = charts[plan.uuid]
            context = json.loads(chart["query_context"])
            query = context["queries"][0]
            assert context["datasource"] == {"id": 0, "type": "table"}
            # a saved metric by name, or an ad hoc one (a percent column as a fraction) labelled with its name
            labels = [m if isinstance(m, str) else m["label"] for m in query["metrics"]]
            assert labels[: len(plan.metrics)] == list(plan.metrics)
            filters = {(f["col"], f["op"], f["val"]) for f in query["filters"]}
            assert ("dt", "TEMPORAL_RANGE", "No filter") in filters
            assert {(c, "==", v) for c, v in plan.graph.filters.items()} <= filters
            params = chart["params"]
            fmt = params.get("y_axis_format") or params["column_config"][plan.metrics[0]]["d3NumberFormat"]
            assert fmt  # number formats are explicit: they differ between Superset releases
            if plan.viz_type == "echarts_timeseries_line":
                assert query["columns"][0]["columnType"] == "BASE_AXIS" and query["series_columns"] == plan.groupby
                operations = [p["operation"] for p in query["post_processing"]]
                assert operations[0] == "pivot" and operations[-1] == "flatten"
                assert ("contribution" in operations) == plan.contribution and params["stack"] is None
            elif plan.viz_type == "table":
                assert query["columns"] == plan.groupby
                if plan.percent_metrics:
                    assert query["post_processing"][0]["options"]["rename_columns"] == [f"%{m}" for m in plan.percent_metrics]
            elif plan.viz_type == "world_map":
                assert query["columns"] == plan.groupby and params["entity"] == plan.graph.split_by
            else:
                assert plan.viz_type == "big_number_total" and query["columns"] == []


def test_graph_split_by_a_dimension_the_join_lacks_is_refused(cat, tmp_path: Path) -> None:
    from tests.conftest import edit

    root = tmp_path / "cat"
    import shutil

    shutil.copytree(CATALOGUE, root)
    edit(root / "codemirror.yaml", "    split_by: enabled\n    show: [total, percentage]", "    split_by: enabled\n    show: [total, normalized]")
    # toggles per session split by `enabled`, which sessions lack: no dataset has it, and the
    # catalogue refuses the graph before any surface is built
    with pytest.raises(InputError, match="by enabled, which its denominator 'editing_sessions' is not split by"):
        catalogue_mod.load(root, today=TODAY)


def test_dashboard_header_filters_and_version(cat) -> None:
    _, files = read_zip(bundles(cat)["reference_previews"])
    board = files["dashboards/reference_previews.yaml"]
    assert board["dashboard_title"] == "Reference Previews baseline (v2.0.1)"
    header = board["position"]["MARKDOWN-header"]["meta"]["code"]
    for text in ("Research questions", "Adam Wight", "https://phabricator.wikimedia.org/T214493", "| Status | active |", "2.0.1"):
        assert text in header
    filters = board["metadata"]["native_filter_configuration"]
    wiki = next(f for f in filters if f["filterType"] == "filter_select")
    assert wiki["targets"][0]["column"]["name"] == "wiki"
    assert wiki["defaultDataMask"]["filterState"]["value"] == ["dewiki"]
    assert any(f["filterType"] == "filter_time" for f in filters)


def test_sunset_warning_within_90_days(cat) -> None:
    spec = cat.spec("codemirror")  # sunset 2027-12-31
    assert spec.sunset_warning(dt.date(2026, 11, 18)) is None
    assert "within 90 days" in spec.sunset_warning(dt.date(2027, 12, 1))
    assert "is past" in spec.sunset_warning(dt.date(2028, 1, 1))
    _, files = read_zip(build_bundle(cat, spec, engine_uri=URI, today=dt.date(2027, 12, 1)).zip_bytes())
    assert (
        "**Warning:** this spec is sunset on 2027-12-31, within 90 days" in files["dashboards/codemirror.yaml"]["position"]["MARKDOWN-header"]["meta"]["code"]
    )


def test_unknown_superset_version_is_refused(cat) -> None:
    with pytest.raises(ValueError, match="unsupported Superset version"):
        build_bundle(cat, cat.spec("codemirror"), engine_uri=URI, superset_version="3.0")
    assert BundleError  # the builder's own error type exists for references


def test_a_hostile_bundle_is_refused_without_expanding_it(tmp_path: Path) -> None:
    for name, content in (("charts/laughs.yaml", billion_laughs().encode()), ("charts/big.yaml", b"a: " + b"x" * 2_000_000 + b"\n")):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(f"bundle/{name}", content)
        path = tmp_path / "hostile.zip"
        path.write_bytes(buffer.getvalue())
        started = time.perf_counter()
        with pytest.raises(ImportProblem) as info:
            read_bundle(path)
        assert time.perf_counter() - started < 2
        assert f"{path}: not a Superset bundle" in str(info.value)
        assert ("alias *d makes the document stand for more than 50,000 values" if "laughs" in name else "over the 1,000,000 a bundle file may have") in str(
            info.value
        )
