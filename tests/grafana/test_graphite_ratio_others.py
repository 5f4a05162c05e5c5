"""The ratio panel and the "Others" series, rendered by a real carbon + graphite-web, in an environment with a prefix.

Thirteen wikis' daily clicks and pageviews go to carbon through the runner's outbox under the
environment's `graphite_prefix`; the committed-style (neutral) reference_previews dashboard is
rewritten for that environment as `metrics import grafana` does; graphite-web's render API must
then give, per day, clicks per 1,000 pageviews for each drawn wiki and, in the totals panel, the ten
largest wikis followed by "Others" = the sum of the three smallest, all computed here from what was sent.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import time
from pathlib import Path

import httpx
import pytest

from grafana.builder import build_dashboard
from grafana.prefix import prefix_dashboard
from metrics import catalogue
from metrics.reports.graphite import Outbox, Point, day_timestamp
from tests.conftest import SHIPPED_CATALOGUE

pytestmark = pytest.mark.graphite

PREFIX = "staging.eqiad"
SPEC = catalogue.load(SHIPPED_CATALOGUE).spec("reference_previews")
TODAY = dt.datetime.now(dt.timezone.utc).date()
DAYS = [TODAY - dt.timedelta(days=n) for n in range(6, 0, -1)]
WIKIS = [f"w{n:02d}wiki" for n in range(13)]
RANGE = {"from": str(day_timestamp(DAYS[0]) - 86400), "until": str(day_timestamp(TODAY))}


@pytest.fixture(scope="module")
def sent(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from tests.services.graphite import running_graphite

    rng = random.Random(17)
    clicks = {w: {d: rng.randint(1, 40) * (n + 1) for d in DAYS} for n, w in enumerate(WIKIS)}
    views = {w: {d: rng.randint(10_000, 90_000) for d in DAYS} for w in WIKIS}
    points = [Point(f"reference_previews.baseline.footnote_clicks.{w}", float(v), day_timestamp(d)) for w in WIKIS for d, v in clicks[w].items()]
    points += [Point(f"reference_previews.baseline.pageviews.{w}", float(v), day_timestamp(d)) for w in WIKIS for d, v in views[w].items()]
    with running_graphite() as graphite:
        outbox = Outbox(Path(tmp_path_factory.mktemp("outbox")), "reference_previews")
        outbox.add(points)
        assert outbox.send("127.0.0.1", graphite.carbon_port, prefix=PREFIX) == len(points)
        _wait(graphite.web_url, [f"{PREFIX}.reference_previews.baseline.{m}.{w}" for m in ("footnote_clicks", "pageviews") for w in WIKIS])
        yield {"web": graphite.web_url, "clicks": clicks, "views": views}


def _render(web: str, target: str) -> dict[str, dict[int, float]]:
    response = httpx.get(f"{web}/render", params={"target": target, "format": "json", **RANGE}, timeout=30)
    assert response.status_code == 200, response.text[:300]
    return {s["target"]: {ts: v for v, ts in s["datapoints"] if v is not None} for s in response.json()}


def _wait(web: str, paths: list[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    pending = paths
    while pending and time.monotonic() < deadline:
        pending = [p for p in pending if len(next(iter(_render(web, p).values()), {})) < len(DAYS)]
        time.sleep(0.5 if pending else 0)
    assert not pending, f"{len(pending)} series never reached graphite-web, e.g. {pending[0]}"


def _panel_target(title: str) -> str:
    # the neutral board, rewritten for the environment as the import does; variables at All
    board = prefix_dashboard(build_dashboard(SPEC), PREFIX)
    [target] = [t["target"] for p in board["panels"] if p["title"] == title for t in p["targets"]]
    assert PREFIX + ".reference_previews" in target
    return re.sub(r"\$[a-z_]+", "*", target)


def test_the_ratio_panel_plots_clicks_per_thousand_pageviews(sent: dict) -> None:
    series = _render(sent["web"], _panel_target("Footnote clicks per 1,000 pageviews, daily, by wiki"))
    assert len(series) == 10 and "Others" not in series  # a rate's rest is no difference of rates: left out
    # ranked by the total of the rate over the range, as sortByTotal ranks what it is given
    rates = {w: {day_timestamp(d): sent["clicks"][w][d] / sent["views"][w][d] * 1000 for d in DAYS} for w in WIKIS}
    top = sorted(WIKIS, key=lambda w: -sum(rates[w].values()))[:10]
    assert list(series) == [f"{w} per 1,000 pageviews" for w in top]
    for w in top:
        assert series[f"{w} per 1,000 pageviews"] == pytest.approx(rates[w])


def test_the_totals_panel_ends_with_others_the_sum_of_the_rest(sent: dict) -> None:
    series = _render(sent["web"], _panel_target("Footnote clicks per day, by wiki"))
    totals = {w: sum(sent["clicks"][w].values()) for w in WIKIS}
    ranked = sorted(WIKIS, key=lambda w: -totals[w])
    assert list(series) == ranked[:10] + ["Others"]  # largest first, Others last
    for w in ranked[:10]:
        assert series[w] == {day_timestamp(d): float(sent["clicks"][w][d]) for d in DAYS}
    rest = ranked[10:]
    assert series["Others"] == {day_timestamp(d): float(sum(sent["clicks"][w][d] for w in rest)) for d in DAYS}
    assert sum(series["Others"].values()) > 0
