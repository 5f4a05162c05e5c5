"""The rules that make charts read well, per chart: series limits, titles from what is plotted, number
formats and axis units, time axes, default filters, table columns, pies and the world map."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from metrics import catalogue as catalogue_mod
from metrics.describe import describe
from metrics.problems import InputError
from metrics.spec import DEFAULT_SERIES_LIMIT
from superset_assets import measures as ms
from superset_assets.charts import LEGEND, TICK_CHAR_PX, ChartPlan, legend_height, params, plan_charts, query_context, y_title_margin
from superset_assets.dashboard import CHART_HEADER_PX, GRID_UNIT_PX, GRID_WIDTH, MAP_WIDTH, dashboard_yaml, position
from superset_assets.datasets import YEAR_COLUMN, YEAR_EXPRESSION, Planner, dataset_yaml, name_column
from tests.conftest import CATALOGUE, SHIPPED_CATALOGUE, edit, line_of

TODAY = dt.date(2026, 11, 18)


def charts_of(cat: catalogue_mod.Catalogue, name: str) -> list[ChartPlan]:
    planner = Planner(cat, cat.spec(name), "metrics_warehouse")
    planner.plan_spec()
    return plan_charts(cat.spec(name), planner)


def chart(cat: catalogue_mod.Catalogue, spec: str, graph: str, show: str | None = None) -> ChartPlan:
    return next(c for c in charts_of(cat, spec) if c.graph.title == graph and (show is None or c.show == (show,)))


@pytest.fixture(scope="module")
def cat() -> catalogue_mod.Catalogue:
    return catalogue_mod.load(CATALOGUE, today=TODAY)


@pytest.fixture(scope="module")
def shipped() -> catalogue_mod.Catalogue:
    return catalogue_mod.load(SHIPPED_CATALOGUE, today=TODAY)


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    root = tmp_path / "catalogue"
    shutil.copytree(SHIPPED_CATALOGUE, root)
    return root


# -- series limit ----------------------------------------------------------------------------------


def test_a_line_draws_the_top_series_by_total_and_the_rest_as_others(cat) -> None:
    plan = chart(cat, "top_pageviews", "Pageviews by domain", "total")
    form = params(plan)
    assert (form["limit"], form["timeseries_limit_metric"], form["group_others_when_limit_reached"]) == (DEFAULT_SERIES_LIMIT, "domain_views_total", True)
    query = query_context(plan)["queries"][0]
    assert (query["series_limit"], query["series_limit_metric"], query["group_others_when_limit_reached"]) == (DEFAULT_SERIES_LIMIT, "domain_views_total", True)
    # a normalized line is ranked by the rate it plots (editors per million people), not by the editor count
    rate = chart(cat, "country_indicators", "Active editors per million people")
    editors = cat.spec("country_indicators").metric("active_editors")
    assert rate.metrics == (ms.normalized_name(editors),)
    assert query_context(rate)["queries"][0]["series_limit_metric"] == params(rate)["timeseries_limit_metric"] == ms.normalized_name(editors)


def test_tables_and_big_numbers_are_not_limited(cat) -> None:
    for plan in charts_of(cat, "codemirror"):
        if plan.viz_type in ("table", "big_number_total"):
            assert params(plan).get("limit") is None and query_context(plan)["queries"][0].get("series_limit", 0) == 0


def test_series_limit_comes_from_the_spec(copy: Path) -> None:
    edit(
        copy / "top_pageviews.yaml",
        "    split_by: domain_code\n    show: [total, percentage]",
        "    split_by: domain_code\n    series_limit: 3\n    show: [total, percentage]",
    )
    cat = catalogue_mod.load(copy, today=TODAY)
    for plan in charts_of(cat, "top_pageviews"):
        if plan.viz_type == "echarts_timeseries_line":
            assert params(plan)["limit"] == 3 and query_context(plan)["queries"][0]["series_limit"] == 3


@pytest.mark.parametrize("value", ["0", "51", "many"])
def test_a_bad_series_limit_is_a_located_error(copy: Path, value: str) -> None:
    path = edit(
        copy / "top_pageviews.yaml",
        "    split_by: domain_code\n    show: [total, percentage]",
        f"    split_by: domain_code\n    series_limit: {value}\n    show: [total, percentage]",
    )
    with pytest.raises(InputError) as caught:
        catalogue_mod.load(copy, today=TODAY)
    message = str(caught.value)
    assert f"top_pageviews.yaml:{line_of(path, 'series_limit')}" in message and "series_limit" in message
    why = {"0": "greater than or equal to 1", "51": "less than or equal to 50", "many": "valid integer"}[value]
    assert why in message


# -- titles ----------------------------------------------------------------------------------------


def test_titles_say_what_each_chart_plots(cat) -> None:
    spec = cat.spec("codemirror")
    toggles = spec.metric("toggles")
    total = chart(cat, "codemirror", "Toggles per editing session", "total")
    rate = chart(cat, "codemirror", "Toggles per editing session", "normalized")
    # the total of toggles is not titled "per editing session"
    assert total.title == describe(spec, toggles, "total", [], "all", "", {}).title
    assert "per editing session" not in total.title and "total" in total.title
    assert rate.title == describe(spec, toggles, "normalized", [], "all", "", {}).title and "per editing session" in rate.title
    share = chart(cat, "codemirror", "Switched on vs off", "percentage")
    assert "share" in share.title and share.title == describe(spec, toggles, "percentage", ["enabled"], "day", "", {}).title
    # a graph of one quantity keeps the title its team gave it
    assert chart(cat, "country_indicators", "Active editors per million people").title == "Active editors per million people"


# -- number formats, axes ------------------------------------------------------------------------


def test_number_formats_follow_the_unit_and_type(cat) -> None:
    big = chart(cat, "top_pageviews", "All pageviews", "total")
    assert params(big)["y_axis_format"] == ",d"  # a count: no decimals
    mean = chart(cat, "top_pageviews", "All pageviews", "mean")
    assert params(mean)["y_axis_format"] == ",.1~f"  # a mean keeps a decimal only where it has one
    share = chart(cat, "codemirror", "Switched on vs off", "percentage")
    assert params(share)["y_axis_format"] == ms.PERCENT_FORMAT and params(share)["y_axis_title"] == "% of total"
    plan = chart(cat, "country_indicators", "Internet access by country")
    table = params(plan)
    assert table["column_config"]["active_editors_total"]["d3NumberFormat"].startswith(",")
    # big numbers and table cells of counts never show a needless ".0" (646,261.0)
    for p in charts_of(cat, "top_pageviews") + charts_of(cat, "codemirror"):
        for m in p.metrics:
            assert not p.number_format(m).endswith(".1f") or p.number_format(m) == ",.1f", (p.title, m, p.number_format(m))


def test_a_percent_column_of_a_table_is_written_with_a_percent_sign(cat) -> None:
    plan = chart(cat, "country_indicators", "Internet access by country")
    table = params(plan)
    # the values are 0-100: the column is the saved metric's SQL divided by 100, formatted by d3's %
    column = next(m for m in table["metrics"] if isinstance(m, dict))
    measure = next(m for m in plan.dataset.measures if m.name == "internet_users_pct_total")
    assert column == {"expressionType": "SQL", "sqlExpression": f"({measure.expression}) / 100", "label": "internet_users_pct_total", "hasCustomLabel": True}
    config = table["column_config"]["internet_users_pct_total"]
    assert config["d3NumberFormat"].endswith("%") and config["customColumnName"] == measure.verbose_name
    query = query_context(plan)["queries"][0]
    assert column in query["metrics"] and "internet_users_pct_total" not in query["metrics"]
    # the other columns stay the saved metrics (the data API names them the same)
    assert "population_total" in table["metrics"] and "population_total" in query["metrics"]


def test_ratios_have_significant_digits_without_trailing_zeros(cat) -> None:
    rate = chart(cat, "codemirror", "Toggles per editing session", "normalized")
    fmt = params(rate)["y_axis_format"]
    assert fmt == ms.RATIO_FORMAT and "~" in fmt and fmt.endswith("r")  # 150, not 150.00; never 1.5e+2
    world = params(chart(cat, "country_indicators", "Active editors per million people, by country"))
    assert world["y_axis_format"] == ms.RATIO_FORMAT


def test_table_headers_name_the_number_without_repeating_the_unit(cat) -> None:
    names = {m.name: m.verbose_name for p in charts_of(cat, "codemirror") + charts_of(cat, "country_indicators") for m in p.dataset.measures}
    assert names["toggles_total"] == "Toggles"  # not "Toggles (toggles)"
    assert names["active_editors_total"] == "Active editors, mean over the time range"  # a level: not added over years
    assert names["population_total"] == "Population (people), mean over the time range"
    assert names["internet_users_pct_total"] == "Internet users pct, over the time range"
    assert names["toggles_mean"] == "Toggles, mean per period"
    assert all(not v.lower().endswith(f"({v.split()[0].lower()})") for v in names.values())


def test_axes_name_the_unit_and_dates_do_not_run_into_each_other(cat) -> None:
    form = params(chart(cat, "codemirror", "Toggles by editor", "total"))
    assert form["y_axis_title"] == "toggles"
    assert form["x_axis_time_format"] == "smart_date" and form["xAxisLabelRotation"] == 45
    assert params(chart(cat, "codemirror", "Toggles by editor", "normalized"))["y_axis_title"] == "toggles per editing session"


# -- filters, table columns ------------------------------------------------------------------------


def test_no_filter_value_is_preselected_unless_the_spec_asks(shipped, cat) -> None:
    for spec in shipped:
        planner = Planner(shipped, spec, "metrics_warehouse")
        planner.plan_spec()
        board = dashboard_yaml(spec, plan_charts(spec, planner), list(planner.datasets.values()), TODAY)
        for native in board["metadata"]["native_filter_configuration"]:
            asked = native["filterType"] == "filter_select" and any(d.default for d in spec.dimensions if d.name == native["targets"][0]["column"]["name"])
            assert (native["defaultDataMask"]["filterState"] != {}) == asked, (spec.name, native["name"])
    # the test catalogue asks for dewiki: then, and only then, it is preselected
    spec = cat.spec("reference_previews")
    planner = Planner(cat, spec, "metrics_warehouse")
    planner.plan_spec()
    board = dashboard_yaml(spec, plan_charts(spec, planner), list(planner.datasets.values()), TODAY)
    wiki = next(f for f in board["metadata"]["native_filter_configuration"] if f["name"] == "Wiki")
    assert wiki["defaultDataMask"]["filterState"]["value"] == ["dewiki"]


def test_table_columns_are_what_show_asks_without_equal_twins(cat) -> None:
    country = chart(cat, "country_indicators", "Internet access by country")
    # population is a level: its mean per period is its total, so one column, not two equal ones
    assert "population_total" in country.metrics and "population_mean" not in country.metrics
    assert "internet_users_pct_mean" not in country.metrics  # a ratio's mean is the same ratio
    toggles = chart(cat, "codemirror", "Toggles in the 2017 editor by wiki")
    assert {"toggles_total", "toggles_mean"} <= set(toggles.metrics)  # a count's mean per period differs from its total


def test_top_pages_tables_keep_each_wiki_apart(shipped) -> None:
    # Grouped by page title alone, a table sums each title's views across every wiki (Main_Page of
    # a thousand wikis on top); the top pages tables are one row per page of each wiki, wiki first.
    for spec, graph in (("top_articles", "Top articles"), ("top_pageviews", "Top pages")):
        plan = chart(shipped, spec, graph)
        form, query = params(plan), query_context(plan)["queries"][0]
        assert form["groupby"] == ["domain_code", "page_title"], spec
        assert query["columns"] == ["domain_code", "page_title"], spec
        assert query["orderby"][0][1] is False  # largest first


def test_within_is_checked(copy: Path) -> None:
    spec = copy / "top_pageviews.yaml"
    edit(spec, "    split_by: page_title\n    within: domain_code", "    split_by: page_title\n    within: wiki")
    with pytest.raises(InputError) as err:
        catalogue_mod.load(copy, today=TODAY)
    assert f"top_pageviews.yaml:{line_of(spec, 'within: wiki')}:" in str(err.value) and "not a dimension" in str(err.value)
    edit(spec, "within: wiki", "within: domain_code")
    edit(spec, "    split_by: domain_code\n    show: [total, percentage]", "    split_by: domain_code\n    within: page_title\n    show: [total, percentage]")
    with pytest.raises(InputError) as err:
        catalogue_mod.load(copy, today=TODAY)
    assert "within is for a table" in str(err.value)


# -- pie, world map --------------------------------------------------------------------------------


def test_pie_only_for_a_share_of_a_whole(copy: Path) -> None:
    edit(copy / "top_pageviews.yaml", "  - title: Pageviews by domain\n    kind: line", "  - title: Pageviews by domain\n    kind: pie")
    edit(copy / "top_pageviews.yaml", "    split_by: domain_code\n    show: [total, percentage]", "    split_by: domain_code\n    show: [percentage]")
    cat = catalogue_mod.load(copy, today=TODAY)
    pie = chart(cat, "top_pageviews", "Pageviews by domain")
    form, query = params(pie), query_context(pie)["queries"][0]
    assert pie.viz_type == "pie" and form["groupby"] == ["domain_code"] and form["metric"] == "domain_views_total"
    assert form["label_type"] == "key_percent" and query["series_limit"] == DEFAULT_SERIES_LIMIT and query["group_others_when_limit_reached"]
    assert form["number_format"] == ",d" and query["post_processing"] == []  # slices are the totals; the labels show their shares
    # a dashboard's pie fetches every slice: those under 5% are one "Other" (at most 20 slices have names)
    assert form["threshold_for_other"] == 100 / (2 * DEFAULT_SERIES_LIMIT) and {k: form[k] for k in LEGEND} == LEGEND
    # a ratio is not a share of a whole
    path = edit(
        copy / "country_indicators.yaml",
        "  - title: Active editors per million people\n    kind: line",
        "  - title: Active editors per million people\n    kind: pie",
    )
    with pytest.raises(InputError, match="is a pie of a normalized of 'active_editors', which is not a share of a whole") as caught:
        catalogue_mod.load(copy, today=TODAY)
    assert f"country_indicators.yaml:{line_of(path, 'kind: pie')}" in str(caught.value)


def test_world_map_of_iso_codes_with_a_year_filter(shipped) -> None:
    spec = shipped.spec("country_indicators")
    plans = charts_of(shipped, "country_indicators")
    world = next(p for p in plans if p.viz_type == "world_map")
    form, query = params(world), query_context(world)["queries"][0]
    assert spec.dimension("country").country_codes() == "alpha-3"
    assert (form["entity"], form["country_fieldtype"], form["metric"]) == ("country", "cca3", "active_editors_per_population")
    assert query["columns"] == ["country"] and query["metrics"] == ["active_editors_per_population"]
    planner = Planner(shipped, spec, "metrics_warehouse")
    planner.plan_spec()
    board = dashboard_yaml(spec, plans, list(planner.datasets.values()), TODAY)
    year = next(f for f in board["metadata"]["native_filter_configuration"] if f["name"] == "Year")
    assert year["targets"][0]["column"]["name"] == YEAR_COLUMN and year["targets"][0]["datasetUuid"] == world.dataset.uuid
    assert year["controlValues"]["multiSelect"] is False and year["defaultDataMask"]["filterState"] == {}
    lines = {n + 1 for n, p in enumerate(plans) if p.viz_type == "echarts_timeseries_line"}
    assert set(year["scope"]["excluded"]) == lines  # a line keeps its time axis
    json.dumps(board)  # plain data


def test_world_map_needs_country_codes(copy: Path) -> None:
    text = (copy / "top_pageviews.yaml").read_text()
    (copy / "top_pageviews.yaml").write_text(
        text.replace("  - title: Pageviews by domain\n    kind: line", "  - title: Pageviews by domain\n    kind: world_map")
    )
    edit(copy / "top_pageviews.yaml", "    split_by: domain_code\n    show: [total, percentage]", "    split_by: domain_code\n    show: [total]")
    with pytest.raises(InputError, match="whose values are not ISO 3166-1 country codes"):
        catalogue_mod.load(copy, today=TODAY)


def test_world_map_values_are_listed_beside_it_and_the_year_filter_lists_years(shipped) -> None:
    spec = shipped.spec("country_indicators")
    plans = charts_of(shipped, "country_indicators")
    world = next(p for p in plans if p.viz_type == "world_map")
    values = plans[plans.index(world) + 1]  # Superset's world map has no colour legend
    assert values.viz_type == "table" and values.graph is world.graph and values.dataset is world.dataset
    assert values.metrics == world.metrics and params(values)["order_desc"] and params(values)["groupby"] == ["country", "country_name"]
    assert params(world)["entity"] == "country" and query_context(world)["queries"][0]["columns"] == ["country"]  # the map places codes
    nodes = position(spec, plans, TODAY)
    widths = {n["meta"]["uuid"]: n["meta"]["width"] for n in nodes.values() if isinstance(n, dict) and n.get("type") == "CHART"}
    assert (widths[world.uuid], widths[values.uuid]) == (MAP_WIDTH, GRID_WIDTH - MAP_WIDTH)
    column = next(c for c in dataset_yaml(world.dataset, "db")["columns"] if c["column_name"] == YEAR_COLUMN)
    assert column["expression"] == YEAR_EXPRESSION and column["groupby"] and column["filterable"]


def test_the_year_column_is_the_year_on_the_engines() -> None:
    import duckdb

    rows = duckdb.sql(f"SELECT {YEAR_EXPRESSION} AS y FROM (VALUES (DATE '2014-01-01'), (DATE '2025-12-31')) AS t(dt) ORDER BY y").fetchall()
    assert rows == [(2014,), (2025,)]


# -- legends and axes ------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["codemirror", "country_indicators", "reference_previews", "top_pageviews"])
def test_legends_show_every_name_beside_the_plot(shipped, spec: str) -> None:
    plans = charts_of(shipped, spec)
    nodes = position(shipped.spec(spec), plans, TODAY)
    heights = {n["meta"]["uuid"]: n["meta"]["height"] for n in nodes.values() if isinstance(n, dict) and n.get("type") == "CHART"}
    limited = [p for p in plans if p.series_limit]
    assert limited
    for plan in limited:
        form = params(plan)
        assert {k: form[k] for k in LEGEND} == {"show_legend": True, "legendType": "plain", "legendOrientation": "right"}
        # Superset keeps a side legend plain while its names fit the canvas: the row is tall enough for all of them
        assert heights[plan.uuid] * GRID_UNIT_PX - CHART_HEADER_PX >= legend_height(plan.series_limit + 1), plan.title
    assert legend_height(11) == 34 * 11 + 40  # Superset 6.1: 34 px a name, 16 + 34 px for the All/Inv buttons, 10 back


def test_a_y_axis_title_clears_its_tick_labels(cat) -> None:
    for plan in (p for p in charts_of(cat, "codemirror") + charts_of(cat, "top_pageviews") if p.viz_type == "echarts_timeseries_line"):
        form = params(plan)
        fmt = form["y_axis_format"].replace("~", "")
        widest = format(1.0, fmt) if fmt.endswith("%") else format(9_999_999, fmt.replace(".0f", "d")) if fmt.endswith(("d", ".0f")) else None
        assert form["y_axis_title_position"] == "Left"
        if widest is not None:  # the labels end 8 px from the axis; the title is `margin` px from it
            assert form["y_axis_title_margin"] >= 8 + TICK_CHAR_PX * len(widest), (plan.title, widest)
    assert y_title_margin(",d", "views") > 50  # 50 px ran into `150,000`
    assert y_title_margin(".1%", "% of total") < y_title_margin(",d", "views")
    assert y_title_margin(".3s", "views") == y_title_margin("$,.2f", "views") == 8 + TICK_CHAR_PX * len("9,999,999.99") + 8  # d3-only formats


def test_country_codes_get_their_names_in_tables(shipped) -> None:
    import duckdb

    plans = charts_of(shipped, "country_indicators")
    table = next(p for p in plans if p.graph.title == "Internet access by country")
    assert params(table)["groupby"] == ["country", name_column("country")]
    line = next(p for p in plans if p.viz_type == "echarts_timeseries_line")
    assert params(line)["groupby"] == ["country"]  # a legend of ten codes stays short
    column = next(c for c in table.dataset.columns if c.name == name_column("country"))
    assert column.expression is not None
    got = dict(duckdb.sql(f"SELECT country, {column.expression} FROM (VALUES ('DEU'), ('CIV'), ('BOL'), ('QQQ')) AS t(country)").fetchall())
    assert got == {"DEU": "Germany", "CIV": "Côte d'Ivoire", "BOL": "Bolivia", "QQQ": "QQQ"}  # a quote in a name; an unknown code kept
    # no country dimension: no name column
    assert not any(c.name.endswith("_name") for p in charts_of(shipped, "top_pageviews") for c in p.dataset.columns)
