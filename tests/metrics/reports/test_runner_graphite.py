"""The runner sends report values to a real carbon, each at its own date, and reruns again.

Uses scripts/graphite/ (carbon-cache + graphite-web on 127.0.0.1); the values read back through
/render are compared with the metric table.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from metrics import catalogue
from metrics.engines import open_engine
from metrics.reports.reruns import request
from metrics.reports.runner import update_reports
from metrics.warehouse import Warehouse
from tests.conftest import CATALOGUE, QUERIES
from tests.ops_world import baseline_events as events
from tests.services.graphite import known, running_graphite, wait_for_series

pytestmark = pytest.mark.graphite

DAYS = [dt.date(2026, 11, d) for d in (18, 19, 20)]
NOW = dt.datetime(2026, 11, 21, 12)


def test_report_values_reach_graphite_with_their_dates(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    counts = {(d, w): (3 + i + j, 100 + 10 * i + j) for i, d in enumerate(DAYS) for j, w in enumerate(["enwiki", "dewiki", "zh.min"])}
    for (day, wiki), (clicks, views) in counts.items():
        warehouse.put_file(
            "event",
            "referencepreviewsbaseline",
            {"year": day.year, "month": day.month, "day": day.day, "hour": 5},
            wiki.replace(".", "_"),
            events(day, wiki, clicks, views),
        )
    folder = shutil.copytree(QUERIES / "reference_previews", tmp_path / "reference_previews")
    (folder / "config.yaml").write_text((folder / "config.yaml").read_text().replace("starts: 2026-09-01", "starts: 2026-11-18"))
    cat = catalogue.load(CATALOGUE)
    with running_graphite() as graphite, open_engine(warehouse) as engine:
        address = ("127.0.0.1", graphite.carbon_port)
        summary = update_reports(folder, engine, catalogue=cat, now=NOW, graphite_address=address)
        assert summary.ok, summary.lines()
        assert summary.points_sent == 2 * len(counts)  # clicks and pageviews per wiki and day
        table = {
            (r["dt"], r["wiki"]): r["footnote_clicks"]
            for r in engine.query("SELECT dt, wiki, footnote_clicks FROM metrics.reference_previews_baseline").to_pylist()
        }
        assert table == {k: v[0] for k, v in counts.items()}
        start = int(dt.datetime(2026, 11, 17, tzinfo=dt.timezone.utc).timestamp())
        # 'zh.min' is one node: the dot of a dimension value becomes _
        points = wait_for_series(
            graphite.web_url, "reference_previews.baseline.footnote_clicks.zh_min", lambda p: len(known(p)) == 3, from_=start, until=start + 5 * 86400
        )
        assert known(points) == [(float(counts[(d, "zh.min")][0]), int(dt.datetime(d.year, d.month, d.day, tzinfo=dt.timezone.utc).timestamp())) for d in DAYS]

        # a late event changes Nov 19; a rerun recomputes it and sends the new value again
        warehouse.put_file("event", "referencepreviewsbaseline", {"year": 2026, "month": 11, "day": 19, "hour": 6}, "late", events(DAYS[1], "enwiki", 50, 0))
        engine.refresh()
        request(folder, "2026-11-19", "2026-11-20", today=dt.date(2026, 11, 21))
        again = update_reports(folder, engine, catalogue=cat, now=NOW, graphite_address=address)
        assert again.ok and again.points_sent == 2 * 3
        expected = float(counts[(DAYS[1], "enwiki")][0] + 50)
        points = wait_for_series(
            graphite.web_url,
            "reference_previews.baseline.footnote_clicks.enwiki",
            lambda p: (expected, int(dt.datetime(2026, 11, 19, tzinfo=dt.timezone.utc).timestamp())) in known(p),
            from_=start,
            until=start + 5 * 86400,
        )
        assert len(known(points)) == 3
