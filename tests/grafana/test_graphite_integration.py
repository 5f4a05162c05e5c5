"""Every query of every generated dashboard, run against a real StatsD + carbon + graphite-web.

Report values go to carbon as the runner sends them (daily points at midnight UTC, at
`expand(graphite_path, row)`), live values go through StatsD with the sampler; then every variable
query must find values and every panel target must render the values computed here independently.
graphite-web answers 200 with `[]` for a wrong path, so the tests check data, never the status.
"""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
import random
import re
import socket
import time
from collections import defaultdict

import httpx
import pytest

from grafana.builder import build_dashboard
from metrics import catalogue
from metrics.graphite_paths import expand
from metrics.statsd_client import MetricSummary, send_samples
from tests.conftest import CATALOGUE

pytestmark = pytest.mark.graphite

CAT = catalogue.load(CATALOGUE)
DASHBOARDS = {spec.name: build_dashboard(spec) for spec in CAT}
TODAY = dt.datetime.now(dt.timezone.utc).date()
DAYS = [TODAY - dt.timedelta(days=n) for n in range(14, 0, -1)]
DAY = 86400
FIRST = calendar.timegm(DAYS[0].timetuple())
REPORT_RANGE = {"from": str(FIRST - DAY), "until": str(calendar.timegm(TODAY.timetuple()))}
LIVE_RANGE = {"from": "-15min", "until": "now"}  # narrowed to this run's samples by the `samples` fixture


def _value(rng: random.Random, metric: str) -> int:
    low, high = {"population": (10**6, 10**8), "internet_users_pct": (1, 99), "editing_sessions": (100, 1000), "pageviews": (10**4, 10**6)}.get(
        metric, (1, 100)
    )
    return rng.randint(low, high)


@pytest.fixture(scope="module")
def graphite():
    from tests.services.graphite import running_graphite

    with running_graphite() as service:
        yield service


@pytest.fixture(scope="module")
def sent(graphite) -> dict[str, dict[int, float]]:
    """Daily report values for every report metric and every combination of dimension values."""
    rng = random.Random(6)
    values: dict[str, dict[int, float]] = defaultdict(dict)
    for spec in CAT:
        for metric in spec.metrics:
            if metric.table is None or not metric.graphite_path:
                continue
            dims = [spec.dimension(d) for d in metric.dimensions]
            for combo in itertools.product(*(d.allowed_values() for d in dims)):
                path = expand(metric.graphite_path, dict(zip(metric.dimensions, combo)))
                for day in DAYS:
                    values[path][calendar.timegm(day.timetuple())] = _value(rng, metric.name)
    lines = [f"{path} {value} {ts}\n" for path, points in values.items() for ts, value in points.items()]
    with socket.create_connection(("127.0.0.1", graphite.carbon_port), timeout=10) as sock:
        sock.sendall("".join(lines).encode())
    # carbon creates the whisper files a little later: wait until every dashboard query sees them
    _wait(graphite, [(path, REPORT_RANGE) for path in values] + [(_concrete(t), REPORT_RANGE) for *_, t in _targets(live=False)])
    return values


@pytest.fixture(scope="module")
def samples(graphite) -> list[MetricSummary]:
    """Sample values sent through StatsD, and waited for until StatsD flushed them to carbon."""
    # only this run's flushes count, even if the service kept data from an earlier run
    LIVE_RANGE["from"] = str(int(time.time()) - 1)
    summaries = send_samples(list(CAT), port=graphite.statsd_port, events=80, seed=11)
    expected = []
    for s in summaries:
        for bucket in s.buckets:
            prefix = {"counter": "stats_counts.", "gauge": "stats.gauges.", "timer": "stats.timers."}[s.type]
            expected.append((prefix + bucket + (".count" if s.type == "timer" else ""), LIVE_RANGE))
    _wait(graphite, expected + [(_concrete(t), LIVE_RANGE) for *_, t in _targets(live=True)])
    return summaries


def render(graphite, target: str, params: dict[str, str]) -> list[dict]:
    response = httpx.get(f"{graphite.web_url}/render", params={"target": target, "format": "json", **params}, timeout=30)
    assert response.status_code == 200, f"{target}: {response.status_code} {response.text[:300]}"
    return response.json()


def find(graphite, query: str) -> list[dict]:
    response = httpx.get(f"{graphite.web_url}/metrics/find", params={"query": query}, timeout=30)
    assert response.status_code == 200, response.text[:300]
    return response.json()


def _wait(graphite, paths: list[tuple[str, dict[str, str]]], timeout: float = 120) -> None:
    pending = list(paths)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        pending = [(p, r) for p, r in pending if not _points(render(graphite, p, r))]
        if pending:
            time.sleep(1)
    assert not pending, f"{len(pending)} series never showed up in graphite-web, e.g. {pending[0][0]}"


def _points(series: list[dict]) -> dict[int, float]:
    return {ts: v for s in series for v, ts in s["datapoints"] if v is not None}


def _by_name(series: list[dict]) -> dict[str, dict[int, float]]:
    return {s["target"]: {ts: v for v, ts in s["datapoints"] if v is not None} for s in series}


def _concrete(target: str) -> str:
    """The target as Grafana sends it with every variable at "All" (allValue `*`)."""
    return re.sub(r"\$[a-z][a-z0-9_]*", "*", target)


def _targets(live: bool | None = None) -> list[tuple[str, str, str, str]]:
    """(spec, panel title, id, target) of every dashboard target; only live (StatsD) or report ones when asked."""
    return [
        (name, panel["title"], f"{name}-{panel['id']}{t['refId']}", t["target"])
        for name, board in DASHBOARDS.items()
        for panel in board["panels"]
        for t in panel.get("targets", [])
        if live is None or _live(t["target"]) == live
    ]


def _live(target: str) -> bool:
    return "stats_counts." in target or "stats.gauges." in target or "stats.timers." in target


def _sum_over(sent: dict[str, dict[int, float]], regex: str) -> dict[int, float]:
    out: dict[int, float] = defaultdict(float)
    for path, points in sent.items():
        if re.fullmatch(regex, path):
            for ts, v in points.items():
                out[ts] += v
    return out


def _target(spec: str, title: str, index: int = 0) -> str:
    panels = [p for p in DASHBOARDS[spec]["panels"] if p["title"] == title]
    return _concrete([t["target"] for p in panels for t in p["targets"]][index])


# --- every query of every dashboard ---------------------------------------------------------


def test_every_variable_query_finds_values(graphite, sent, samples) -> None:
    for name, board in DASHBOARDS.items():
        for variable in board["templating"]["list"]:
            if variable["type"] == "query":
                found = find(graphite, variable["query"])
                assert found, f"{name}: variable ${variable['name']} query {variable['query']!r} finds nothing"


@pytest.mark.parametrize(("spec", "title", "target"), [pytest.param(s, title, t, id=i) for s, title, i, t in _targets()])
def test_every_target_renders_data(graphite, sent, samples, spec: str, title: str, target: str) -> None:
    series = render(graphite, _concrete(target), LIVE_RANGE if _live(target) else REPORT_RANGE)
    assert series, f"{spec} / {title}: {target} renders no series"
    assert _points(series), f"{spec} / {title}: {target} renders only nulls"


# --- the values ----------------------------------------------------------------------------


def test_toggles_per_session_by_editor(graphite, sent) -> None:
    series = _by_name(render(graphite, _target("codemirror", "Toggles per editing session, daily, by editor"), REPORT_RANGE))
    assert set(series) == {"wikitext_2010 per editing session", "wikitext_2017 per editing session"}
    for editor in ("wikitext_2010", "wikitext_2017"):
        toggles = _sum_over(sent, rf"MediaWiki\.CodeMirror\.toggles\.{editor}\..*")
        sessions = _sum_over(sent, rf"MediaWiki\.CodeMirror\.sessions\.{editor}\..*")
        expected = {ts: toggles[ts] / sessions[ts] for ts in toggles}
        assert series[f"{editor} per editing session"] == pytest.approx(expected)


def test_toggles_per_session_big_number_is_the_ratio_over_the_range(graphite, sent) -> None:
    series = _by_name(render(graphite, _target("codemirror", "Toggles per editing session, over the whole range"), REPORT_RANGE))
    values = series["toggles per editing session"]
    toggles = sum(_sum_over(sent, r"MediaWiki\.CodeMirror\.toggles\..*").values())
    sessions = sum(_sum_over(sent, r"MediaWiki\.CodeMirror\.sessions\..*").values())
    assert values[max(values)] == pytest.approx(toggles / sessions)
    total = _by_name(render(graphite, _target("codemirror", "Toggles in total"), REPORT_RANGE))["toggles"]
    assert total[max(total)] == pytest.approx(toggles)


def test_switched_on_share(graphite, sent) -> None:
    series = _by_name(render(graphite, _target("codemirror", "Toggles, by enabled: share of each day's total"), REPORT_RANGE))
    on = _sum_over(sent, r"MediaWiki\.CodeMirror\.toggles\.[^.]+\.true\..*")
    off = _sum_over(sent, r"MediaWiki\.CodeMirror\.toggles\.[^.]+\.false\..*")
    assert series["true %"] == pytest.approx({ts: 100 * on[ts] / (on[ts] + off[ts]) for ts in on})


def test_per_thousand_pageviews(graphite, sent) -> None:
    series = _by_name(
        render(
            graphite,
            _target("reference_previews", "Footnote clicks per 1,000 pageviews, daily, by wiki"),
            REPORT_RANGE,
        )
    )
    for wiki in CAT.spec("reference_previews").dimension("wiki").examples:
        clicks = sent[f"reference_previews.baseline.footnote_clicks.{wiki}"]
        views = sent[f"reference_previews.baseline.pageviews.{wiki}"]
        assert series[f"{wiki} per 1,000 pageviews"] == pytest.approx({ts: clicks[ts] / views[ts] * 1000 for ts in clicks})


def test_editors_per_million(graphite, sent) -> None:
    series = _by_name(render(graphite, _target("country_indicators", "Active editors per million people"), REPORT_RANGE))
    for country in CAT.spec("country_indicators").dimension("country").examples:
        editors = sent[f"equity_landscape.active_editors.{country}"]
        people = sent[f"equity_landscape.population.{country}"]
        assert series[f"{country} per million people"] == pytest.approx({ts: editors[ts] / people[ts] * 1e6 for ts in editors})


def test_all_pageviews_total_and_mean(graphite, sent) -> None:
    daily = _sum_over(sent, r"pageviews\.by_domain\..*")
    total = _by_name(render(graphite, _target("top_pageviews", "Domain views in total"), REPORT_RANGE))["domain_views"]
    mean = _by_name(render(graphite, _target("top_pageviews", "Domain views, mean per stored period"), REPORT_RANGE))["domain_views mean"]
    assert total[max(total)] == pytest.approx(sum(daily.values()))
    assert mean[max(mean)] == pytest.approx(sum(daily.values()) / len(daily))
    by_domain = _by_name(render(graphite, _target("top_pageviews", "Domain views per day, by domain_code"), REPORT_RANGE))
    assert list(by_domain)[-1] == "Others" and set(by_domain) == {"en", "en_m", "de", "de_m", "commons_m", "zh-min-nan_m", "Others"}
    assert set(by_domain["Others"].values()) == {0}  # every domain is drawn: the rest adds up to nothing


def test_statsd_counter_sum_equals_what_was_sent(graphite, samples) -> None:
    [clicks] = [s for s in samples if s.metric == "codemirror_toggle_clicks"]
    series = _by_name(render(graphite, _target("codemirror", "Live toggle clicks"), LIVE_RANGE))
    for enabled in ("true", "false"):
        expected = sum(b.statsd_count for key, b in clicks.buckets.items() if key.endswith("." + enabled))
        assert sum(series.get(enabled, {}).values()) == pytest.approx(expected)


def test_statsd_timer_count_and_mean(graphite, samples) -> None:
    [timer] = [s for s in samples if s.metric == "codemirror_render_time"]
    assert timer.sent > 0
    means = _by_name(render(graphite, _target("codemirror", "Highlighting time"), LIVE_RANGE))
    for bucket, b in timer.buckets.items():
        editor = bucket.rsplit(".", 1)[1]
        counts = _points(render(graphite, f"stats.timers.{bucket}.count", LIVE_RANGE))
        assert sum(counts.values()) == pytest.approx(b.statsd_count)  # scaled by 1 / 0.1
        assert all(min(b.values) <= v <= max(b.values) for v in means[f"{editor} mean"].values())


def test_statsd_gauge_keeps_the_last_value(graphite, samples) -> None:
    [gauge] = [s for s in samples if s.metric == "reference_previews_open"]
    series = _by_name(render(graphite, _target("reference_previews", "Open previews"), LIVE_RANGE))
    for bucket, b in gauge.buckets.items():
        wiki = bucket.rsplit(".", 1)[1]
        points = series[wiki]
        assert points[max(points)] == b.values[-1]


def test_concrete_variable_values_narrow_the_series(graphite, sent) -> None:
    target = next(t["target"] for p in DASHBOARDS["codemirror"]["panels"] if p["title"] == "Toggles per day, by editor" for t in p["targets"])
    narrowed = target.replace("$editor", "{wikitext_2010}").replace("$enabled", "true").replace("$wiki", "{dewiki,enwiki}")
    series = _by_name(render(graphite, narrowed, REPORT_RANGE))
    expected = _sum_over(sent, r"MediaWiki\.CodeMirror\.toggles\.wikitext_2010\.true\.(dewiki|enwiki)")
    assert series == {"wikitext_2010": pytest.approx(dict(expected)), "Others": {ts: 0 for ts in expected}}
