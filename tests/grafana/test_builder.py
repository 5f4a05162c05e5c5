"""Built dashboards: valid against Grafana's schemas, laid out by the rules, stable, with the right targets."""

from __future__ import annotations

import datetime as dt
import json
import re
import warnings
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from grafana.builder import build_dashboard, dashboard_uid, dumps
from grafana.targets import graph_targets, in_graphite, variable_query
from grafana.writer import build_all
from metrics import aggregation, catalogue
from metrics.cli import main
from metrics.problems import InputError
from tests.conftest import CATALOGUE, SHARED, SHIPPED_CATALOGUE, SHIPPED_GRAFANA, edit

SCHEMAS = SHARED / "schemas"
TODAY = dt.date(2026, 11, 23)
CAT = catalogue.load(CATALOGUE)
DASHBOARDS = {spec.name: build_dashboard(spec, today=TODAY) for spec in CAT}


def _schema(name: str, definition: str | None = None) -> dict:
    if not SCHEMAS.is_dir():
        pytest.skip(f"{SCHEMAS} is absent: the Grafana JSON Schemas live beside the project, not in it")
    schema = json.loads((SCHEMAS / f"grafana-{name}.jsonschema.json").read_text("utf-8"))
    return {**schema, "$ref": f"#/definitions/{definition}"} if definition else schema


def _panels(board: dict) -> list[dict]:
    return board["panels"]


def _targets(board: dict) -> list[str]:
    return [t["target"] for p in board["panels"] for t in p.get("targets", [])]


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_dashboard_matches_grafana_schema(name: str) -> None:
    jsonschema.Draft7Validator(_schema("dashboard")).validate(DASHBOARDS[name])


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_panels_match_their_plugin_schemas(name: str) -> None:
    for panel in _panels(DASHBOARDS[name]):
        kind = {"timeseries": "timeseries", "stat": "stat", "text": "text"}[panel["type"]]
        jsonschema.Draft7Validator(_schema(kind, "Options")).validate(panel["options"])
        if kind == "timeseries":
            jsonschema.Draft7Validator(_schema(kind, "FieldConfig")).validate(panel["fieldConfig"]["defaults"]["custom"])


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_layout_rules(name: str) -> None:
    board = DASHBOARDS[name]
    panels = _panels(board)
    assert panels[0]["type"] == "text" and panels[0]["gridPos"]["y"] == 0
    assert [p["id"] for p in panels] == list(range(1, len(panels) + 1))
    for panel in panels[1:]:
        assert panel["targets"], f"panel {panel['title']!r} has no target"
        assert all(t["target"] and t["refId"] for t in panel["targets"])
        if panel["type"] == "timeseries":
            custom = panel["fieldConfig"]["defaults"]["custom"]
            assert custom["stacking"]["mode"] == "none" and custom["drawStyle"] == "line" and custom["fillOpacity"] == 0
    cells = {
        (x, p["gridPos"]["y"] + dy) for p in panels for x in range(p["gridPos"]["x"], p["gridPos"]["x"] + p["gridPos"]["w"]) for dy in range(p["gridPos"]["h"])
    }
    assert len(cells) == sum(p["gridPos"]["w"] * p["gridPos"]["h"] for p in panels), "panels overlap"


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_every_variable_is_used_and_every_variable_query_is_a_string(name: str) -> None:
    board = DASHBOARDS[name]
    text = "\n".join(_targets(board))
    for variable in board["templating"]["list"]:
        assert isinstance(variable.get("query"), str)
        if variable["type"] == "query":
            assert re.search(rf"\${variable['name']}\b", text), f"${variable['name']} is used by no target"
            assert variable["multi"] and variable["includeAll"] and variable["allValue"] == "*"
    for panel in _panels(board)[1:]:
        assert panel["datasource"] == {"type": "graphite", "uid": "${datasource}"}


def test_every_metric_with_a_graphite_path_has_a_panel_and_the_others_are_named() -> None:
    for spec in CAT:
        board = DASHBOARDS[spec.name]
        about = _panels(board)[0]["options"]["content"]
        for metric in spec.metrics:
            if in_graphite(spec, metric):
                for part in aggregation.quantity(spec, metric).parts:
                    path = part.graphite_path.split("{")[0]
                    assert any(path in t for t in _targets(board)), metric.name
            else:
                assert f"`{metric.name}`" in about and "Not in Graphite" in about


def test_text_panel_says_who_what_and_which_version() -> None:
    spec = CAT.spec("codemirror")
    about = _panels(DASHBOARDS["codemirror"])[0]["options"]["content"]
    for needle in (spec.owner.team, spec.owner.responsible, str(spec.ticket), "| Status | active |", spec.version, spec.research_questions[0], "2027-12-31"):
        assert needle in about
    assert "Warning" not in about
    board = DASHBOARDS["codemirror"]
    assert "version:1.2.0" in board["tags"] and "v1.2.0" in board["title"]


def test_sunset_warning_when_past_or_within_90_days() -> None:
    spec = CAT.spec("codemirror")
    assert spec.sunset_warning(dt.date(2027, 10, 1)) is None
    assert "in 90 days" in spec.sunset_warning(dt.date(2027, 10, 2))
    assert "is past" in spec.sunset_warning(dt.date(2028, 1, 1))
    content = build_dashboard(spec, today=dt.date(2028, 1, 1))["panels"][0]["options"]["content"]
    assert content.startswith("> **Warning:**")
    assert CAT.spec("top_pageviews").sunset_warning(TODAY) is None


def test_uid_is_stable_and_short() -> None:
    assert DASHBOARDS["codemirror"]["uid"] == "metrics-codemirror"
    long = dashboard_uid("a" * 64)
    assert len(long) <= 40 and long == dashboard_uid("a" * 64) and long != dashboard_uid("a" * 63)


def test_building_twice_gives_identical_bytes(tmp_path: Path) -> None:
    first = build_all(CAT, tmp_path / "one", today=TODAY)
    second = build_all(CAT, tmp_path / "two", today=TODAY)
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    assert dumps(build_dashboard(CAT.spec("codemirror"), today=TODAY)) == dumps(DASHBOARDS["codemirror"])


def test_committed_dashboards_are_up_to_date(tmp_path: Path) -> None:
    """The files under grafana/ are what `metrics build grafana` makes of the shipped catalogue, whatever specs it holds.

    - A committed dashboard that differs from its spec's build is stale: a failure.
    - A committed dashboard whose spec was removed is a failure too (the build deletes it).
    - A spec with no committed dashboard yet (as `metrics new` leaves it) is a warning, not a
      failure: its dashboard is built and committed when the spec is ready to be shown; from then on
      it must stay in step.
    - A sunset warning that fell due since the last build (the only date-dependent part) is a
      warning to rebuild, not a failure: CI must not break on a date.
    """
    shipped = catalogue.load(SHIPPED_CATALOGUE)
    build_all(shipped, tmp_path / "today")
    build_all(shipped, tmp_path / "calm", today=dt.date(1970, 1, 1))  # no sunset warning at all
    built = sorted(p.relative_to(tmp_path / "today") for p in (tmp_path / "today").rglob("*.*"))
    orphans = sorted({p.name for p in (SHIPPED_GRAFANA / "dashboards").glob("*.json")} - {p.name for p in built})
    assert orphans == [], f"dashboards of removed specs in {SHIPPED_GRAFANA / 'dashboards'}: {', '.join(orphans)}: run `metrics build grafana`"
    for relative in built:
        committed = SHIPPED_GRAFANA / relative
        if not committed.exists():
            assert relative.parent.name == "dashboards", f"{committed} is missing: run `metrics build grafana`"
            warnings.warn(f"{committed} is not built yet: run `metrics build grafana` when the spec is ready", stacklevel=1)
            continue
        text = committed.read_text("utf-8")
        if text != (tmp_path / "today" / relative).read_text("utf-8"):
            assert text == (tmp_path / "calm" / relative).read_text("utf-8"), f"{committed} is stale: run `metrics build grafana`"
            warnings.warn(f"{committed}: a sunset warning is now due: run `metrics build grafana`", stacklevel=1)


def test_codemirror_targets() -> None:
    spec = CAT.spec("codemirror")
    graphs = {g.title: g for g in spec.graphs}
    per_session = graph_targets(spec, graphs["Toggles per editing session"])
    assert per_session[0].show == "normalized"
    assert per_session[0].expr == (
        "alias(consolidateBy(divideSeries("
        "integral(sumSeries(MediaWiki.CodeMirror.toggles.$editor.$enabled.$wiki)), "
        "integral(sumSeries(MediaWiki.CodeMirror.sessions.$editor.$wiki))), 'last'), 'toggles per editing session')"
    )
    by_editor = [t.expr for t in graph_targets(spec, graphs["Toggles by editor"])]
    toggles = "groupByNodes(MediaWiki.CodeMirror.toggles.$editor.$enabled.$wiki, 'sum', 0, 3)"
    assert by_editor == [
        f"group(aliasByNode(limit(sortByTotal({toggles}), 10), 1), "
        f"alias(diffSeries(sumSeries({toggles}), sumSeries(limit(sortByTotal({toggles}), 10))), 'Others'))",
        "aliasSub(aliasByNode(limit(sortByTotal(scale(asPercent("
        "groupByNodes(MediaWiki.CodeMirror.toggles.$editor.$enabled.$wiki, 'sum', 0, 3), "
        "groupByNodes(MediaWiki.CodeMirror.sessions.$editor.$wiki, 'sum', 0, 3), 1), 0.01)), 10), 1), '$', ' per editing session')",
    ]
    on_off = [t.expr for t in graph_targets(spec, graphs["Switched on vs off"])]
    shares = "asPercent(groupByNodes(MediaWiki.CodeMirror.toggles.$editor.$enabled.$wiki, 'sum', 0, 4))"
    assert on_off[1] == (
        f"group(aliasSub(aliasByNode(limit(sortByTotal({shares}), 10), 1), '$', ' %'), "
        f"alias(diffSeries(sumSeries({shares}), sumSeries(limit(sortByTotal({shares}), 10))), 'Others %'))"
    )
    table = [t.expr for t in graph_targets(spec, graphs["Toggles in the 2017 editor by wiki"])]
    assert (
        table[0]
        == "aliasSub(aliasByNode(limit(sortByTotal(groupByNodes(MediaWiki.CodeMirror.toggles.wikitext_2017.$enabled.$wiki, 'sum', 0, 5)), 10), 1), '^', 'toggles ')"
    )
    live = graph_targets(spec, graphs["Live toggle clicks"])[0].expr
    clicks = "groupByNodes(stats_counts.MediaWiki.CodeMirror.live.toggle_clicks.$editor.$enabled, 'sum', 0, 6)"
    assert (
        live
        == f"group(aliasByNode(limit(sortByTotal({clicks}), 10), 1), alias(diffSeries(sumSeries({clicks}), sumSeries(limit(sortByTotal({clicks}), 10))), 'Others'))"
    )
    timing = graph_targets(spec, graphs["Highlighting time"])[0].expr
    sums, counts = ("groupByNodes(stats.timers.MediaWiki.CodeMirror.live.render_ms.$editor.%s, 'sum', 0, 6)" % leaf for leaf in ("sum", "count"))
    assert (
        timing == f"aliasSub(aliasByNode(limit(sortByTotal(scale(asPercent({sums}, {counts}, 1), 0.1)), 10), 1), '$', ' mean')"
    )  # x100 / 100 / the 0.1 sample rate


def test_normalization_scale_and_split_by_a_dimension_the_denominator_lacks(catalogue_copy: Path) -> None:
    spec = CAT.spec("reference_previews")
    target = graph_targets(spec, spec.graphs[0])[0].expr
    assert "scale(asPercent(" in target and ", 1), 10)" in target  # per 1,000: x1000 /100 for asPercent
    edit(catalogue_copy / "codemirror.yaml", "    split_by: editor\n    show: [total, normalized]", "    split_by: enabled\n    show: [total, normalized]")
    # sessions have no `enabled`: no surface can divide toggles by enabled by sessions by enabled
    with pytest.raises(InputError, match="which its denominator 'editing_sessions' is not split by"):
        catalogue.load(catalogue_copy)


def test_timer_mean_is_sum_over_count_and_ratio_metrics_divide_their_parts() -> None:
    spec = CAT.spec("codemirror")
    mean = graph_targets(spec, next(g for g in spec.graphs if g.title == "Highlighting time"))[0].expr
    assert (
        "render_ms.$editor.sum, 'sum', 0, 6), groupByNodes(stats.timers.MediaWiki.CodeMirror.live.render_ms.$editor.count, 'sum', 0, 6), 1), 0.1)" in mean
    )  # StatsD scales count by 1 / 0.1
    assert ".mean" not in mean  # a mean of means would weigh a quiet editor like a busy one
    spec = CAT.spec("country_indicators")
    table = graph_targets(spec, next(g for g in spec.graphs if g.title == "Internet access by country"))
    pct = next(t.expr for t in table if t.metric == "internet_users_pct" and t.show == "total")
    # each part counts only where the other has a point for the same country (both are columns of one row)
    users, population = "equity_landscape.internet_users.$country", "equity_landscape.population.$country"
    paired_users = f"scale(asPercent({users}, offset(scale({population}, 0), 1), 2), 0.01)"
    paired_population = f"scale(asPercent({population}, offset(scale({users}, 0), 1), 2), 0.01)"
    assert f"asPercent(groupByNodes({paired_users}, 'sum', 0, 2), groupByNodes({paired_population}, 'sum', 0, 2), 1), 1)" in pct


def test_variable_queries() -> None:
    spec = CAT.spec("codemirror")
    queries = {v["name"]: v["query"] for v in DASHBOARDS["codemirror"]["templating"]["list"]}
    assert queries == {
        "datasource": "graphite",
        "editor": "MediaWiki.CodeMirror.toggles.*",
        "enabled": "MediaWiki.CodeMirror.toggles.*.*",
        "wiki": "MediaWiki.CodeMirror.toggles.*.*.*",
    }
    assert variable_query(spec, spec.dimension("editor")) == ("MediaWiki.CodeMirror.toggles.*", "")
    default = next(v for v in DASHBOARDS["reference_previews"]["templating"]["list"] if v["name"] == "wiki")
    assert default["current"] == {"text": ["dewiki"], "value": ["dewiki"]}


def test_cli_builds_into_a_folder(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--catalogue", str(CATALOGUE), "build", "grafana", "--out", str(tmp_path), "--datasource-uid", "gr1"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "dashboards").iterdir()) == [f"{s.name}.json" for s in CAT]
    board = json.loads((tmp_path / "dashboards" / "codemirror.json").read_text())
    assert board["templating"]["list"][0]["current"]["value"] == "gr1"
    assert "uid: gr1" in (tmp_path / "provisioning" / "datasources" / "graphite.yaml").read_text()
    assert "type: file" in (tmp_path / "provisioning" / "dashboards" / "metrics.yaml").read_text()


def test_graphite_credentials_are_left_to_the_environment_of_grafana(tmp_path: Path) -> None:
    import yaml

    url = "http://reader:graphite-canary-7@graphite.example:8080/render"
    result = CliRunner().invoke(main, ["--catalogue", str(CATALOGUE), "build", "grafana", "--out", str(tmp_path), "--graphite-url", url])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "provisioning" / "datasources" / "graphite.yaml").read_text()
    assert "graphite-canary-7" not in text
    (source,) = yaml.safe_load(text)["datasources"]
    assert source["url"] == "http://graphite.example:8080/render" and source["basicAuth"] is True and source["basicAuthUser"] == "reader"
    assert source["secureJsonData"] == {"basicAuthPassword": "${GRAPHITE_PASSWORD}"}  # Grafana interpolates it when it provisions
    refused = CliRunner().invoke(
        main, ["--catalogue", str(CATALOGUE), "build", "grafana", "--out", str(tmp_path), "--graphite-url", "http://g/?token=tok-canary"]
    )
    assert refused.exit_code != 0 and "tok-canary" not in refused.output and "--graphite-url: the Graphite URL http://g/?token=XXXXXXXXXX" in refused.output


def test_series_limit_units_and_table_legends(catalogue_copy: Path) -> None:
    edit(
        catalogue_copy / "codemirror.yaml",
        "    split_by: editor\n    show: [total, normalized]",
        "    split_by: editor\n    series_limit: 4\n    show: [total, normalized]",
    )
    spec = catalogue.load(catalogue_copy).spec("codemirror")
    by_editor = graph_targets(spec, next(g for g in spec.graphs if g.title == "Toggles by editor"))
    # the total ends with the rest as Others (the limit twice); a rate's rest is no difference, so it has none
    assert [(t.show, t.others, t.expr.count(", 4)")) for t in by_editor] == [("total", True, 2), ("normalized", False, 1)]
    table = graph_targets(spec, next(g for g in spec.graphs if g.kind == "table"))
    assert table and all("limit(sortByTotal(" in t.expr and t.expr.count(", 10)") == 1 for t in table)  # a table is lines too
    panels = {p["title"]: p for p in build_dashboard(spec, today=dt.date(2026, 11, 18))["panels"]}
    totals = panels["Toggles per day, by editor"]
    assert totals["options"]["legend"]["displayMode"] == "table"
    assert totals["fieldConfig"]["defaults"]["decimals"] == 0  # counts added up: no decimals
    share = panels["Toggles, by enabled: share of each day's total"]
    assert share["fieldConfig"]["defaults"]["unit"] == "percent"
    rate = panels["Toggles per editing session, daily, by editor"]
    assert rate["fieldConfig"]["defaults"] == {"unit": "short", "custom": rate["fieldConfig"]["defaults"]["custom"]}


def test_a_pie_is_a_pie_chart_panel(catalogue_copy: Path) -> None:
    edit(catalogue_copy / "codemirror.yaml", "  - title: Switched on vs off\n    kind: line", "  - title: Switched on vs off\n    kind: pie")
    edit(catalogue_copy / "codemirror.yaml", "    split_by: enabled\n    show: [total, percentage]", "    split_by: enabled\n    show: [total]")
    spec = catalogue.load(catalogue_copy).spec("codemirror")
    pie = next(p for p in build_dashboard(spec, today=dt.date(2026, 11, 18))["panels"] if p["title"] == "Switched on vs off")
    assert pie["type"] == "piechart" and pie["options"]["reduceOptions"]["calcs"] == ["sum"]
    assert "limit(sortByTotal(" in pie["targets"][0]["target"]


def test_every_split_panel_is_limited_and_one_unit_an_axis() -> None:
    # "Internet access by country" drew every country's population, internet share and editors
    # (~750 lines) on one axis labelled "percent, people, editors".
    shipped = catalogue.load(SHIPPED_CATALOGUE)
    for spec in shipped:
        titles = [p["title"] for p in build_dashboard(spec, today=TODAY)["panels"]]
        assert len(titles) == len(set(titles)), (spec.name, titles)
        for panel in build_dashboard(spec, today=TODAY)["panels"]:
            if panel["type"] != "timeseries":
                continue
            assert ", " not in panel["fieldConfig"]["defaults"]["custom"]["axisLabel"], (spec.name, panel["title"])
            for target in panel["targets"]:
                if "aliasByNode(" in target["target"]:  # one series per split value
                    assert "limit(sortByTotal(" in target["target"], (spec.name, panel["title"], target["target"])
    panels = {p["title"]: p for p in build_dashboard(shipped.spec("country_indicators"), today=TODAY)["panels"]}
    units = {title: panels[title]["fieldConfig"]["defaults"]["custom"]["axisLabel"] for title in panels if title.startswith("Internet access by country")}
    assert units == {
        "Internet access by country": "percent",
        "Internet access by country: population": "people",
        "Internet access by country: active editors": "editors",
    }


@pytest.mark.parametrize("source", ["test", "shipped"])
def test_panel_titles_are_the_superset_chart_titles(source: str) -> None:
    # "Footnote clicks per 1,000 pageviews: totals" plotted raw clicks: both surfaces now title each
    # chart by metrics.describe.chart_title, so the same graph reads the same in both.
    from superset_assets.charts import plan_charts
    from superset_assets.datasets import Planner

    cat = CAT if source == "test" else catalogue.load(SHIPPED_CATALOGUE)
    compared = 0
    for spec in cat:
        titles = [p["title"] for p in build_dashboard(spec, today=TODAY)["panels"][1:]]
        for chart in plan_charts(spec, Planner(cat, spec, "db")):
            drawn = {t.show for t in graph_targets(spec, chart.graph)}
            if chart.graph.kind == "world_map" or not drawn & set(chart.show):
                continue  # Grafana has no world map (nor the table of its values); a line's mean per period is the legend's mean column there
            assert chart.title in titles, (spec.name, chart.title, titles)
            compared += 1
    assert compared >= 10


def _evaluated(target: str, stored: dict[str, list[float | None]]) -> dict[str, list[float | None]]:
    from tests.graphite_eval import evaluate

    return {s.name: list(s.values) for s in evaluate(target, stored)}


def test_ratio_panel_plots_the_ratio_and_others_the_rest() -> None:
    spec = CAT.spec("reference_previews")
    board = {p["title"]: p for p in build_dashboard(spec, today=TODAY)["panels"]}
    rate = board["Footnote clicks per 1,000 pageviews, daily, by wiki"]
    total = board["Footnote clicks per day, by wiki"]
    assert "Footnote clicks per 1,000 pageviews: totals" not in board
    # 13 wikis, 3 days: the 10 with most clicks drawn, the other 3 as Others (a rate has none: its rest is no difference)
    wikis = [f"w{n:02d}wiki" for n in range(13)]
    clicks = {w: [float(n + 1), float(2 * n + 1), None if n == 0 else float(n)] for n, w in enumerate(wikis)}
    views = {w: [1000.0 * (n + 2), 500.0, 250.0] for n, w in enumerate(wikis)}
    stored = {f"reference_previews.baseline.footnote_clicks.{w}": v for w, v in clicks.items()}
    stored |= {f"reference_previews.baseline.pageviews.{w}": v for w, v in views.items()}
    [rate_target] = [t["target"] for t in rate["targets"]]
    rates = _evaluated(rate_target, stored)
    assert "Others" not in rates and len(rates) == 10
    for name, values in rates.items():
        w = name.removesuffix(" per 1,000 pageviews")
        assert values == pytest.approx([None if c is None else c / v * 1000 for c, v in zip(clicks[w], views[w])])
    [total_target] = [t["target"] for t in total["targets"]]
    totals = _evaluated(total_target, stored)
    ranked = sorted(wikis, key=lambda w: -sum(v or 0 for v in clicks[w]))
    assert list(totals) == ranked[:10] + ["Others"]  # largest first, Others last
    rest = ranked[10:]
    assert totals["Others"] == pytest.approx([sum(clicks[w][i] or 0 for w in rest) for i in range(3)])
    assert "sortBy" not in total["options"]["legend"]  # the legend keeps that order
