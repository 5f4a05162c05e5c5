"""Against a real StatsD, carbon and graphite-web: the lag gauge of each report, and the run event Grafana's annotation query reads.

`metrics run --statsd --graphite-web` over a real query folder with `now` controlled: the gauge
`stats.gauges.<prefix>.<folder>.<report>` reaches Graphite with the lag `metrics status` computes
(seconds from the end of the newest day done to `now`), and `/events/get_data` with the board's
tags (the request Grafana's "Graphite events tags" annotation makes) returns the run's event.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from grafana.builder import build_dashboard
from metrics import catalogue as catalogue_mod
from metrics.freshness import RUN_TAG, run_tag
from metrics.operations_cli import LAG_PREFIX
from metrics.warehouse import Warehouse
from tests.conftest import CATALOGUE
from tests.ops_world import DAYS, NOW, copy_folder, load_baseline
from tests.services.graphite import GraphiteInstance, known, running_graphite, wait_for_series

pytestmark = pytest.mark.graphite

GAUGE = f"stats.gauges.{LAG_PREFIX}.reference_previews.baseline"


@pytest.fixture(scope="module")
def graphite() -> Iterator[GraphiteInstance]:
    with running_graphite() as instance:
        yield instance


def metrics(warehouse: Warehouse, queries: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "metrics", "--warehouse", str(warehouse.root), "--queries", str(queries), "--catalogue", str(CATALOGUE)]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=120)


def lag_at(now: dt.datetime) -> float:
    """Seconds from the end of the last day done (midnight after DAYS[-1]) to `now`, computed here from the world's dates."""
    return (now - dt.datetime.combine(DAYS[-1] + dt.timedelta(days=1), dt.time())).total_seconds()


def test_a_run_sends_the_lag_gauge_and_posts_the_event_the_board_shows(graphite: GraphiteInstance, tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    load_baseline(warehouse)
    copy_folder("reference_previews", tmp_path / "q")
    copy_folder("reference_previews", tmp_path / "q", as_name="gated", add="depends_on: [event.referencepreviewsbaseline]")  # only waits
    statsd = f"{graphite.host}:{graphite.statsd_port}"
    before = int(dt.datetime.now(dt.timezone.utc).timestamp()) - 1

    run = metrics(warehouse, tmp_path / "q", "run", "--now", NOW.isoformat(), "--no-graphite", "--graphite-web", graphite.web_url, "--statsd", statsd)
    assert run.returncode == 0, run.stdout + run.stderr
    points = wait_for_series(graphite.web_url, GAUGE, lambda p: bool(known(p)), timeout=30, from_="-5min")
    assert {v for v, _ in known(points)} == {lag_at(NOW)}  # 12 hours

    # What Grafana asks graphite-web for the board's annotation query of this folder.
    annotation = next(a for a in build_dashboard(catalogue_mod.load(CATALOGUE).spec("reference_previews"))["annotations"]["list"] if "target" in a)
    assert annotation["target"]["tags"] == [run_tag("reference_previews")]
    answer = httpx.get(f"{graphite.web_url}/events/get_data", params={"tags": " ".join(annotation["target"]["tags"]), "from": "-1h", "until": "now"})
    assert answer.status_code == 200, answer.text
    events = answer.json()
    assert len(events) == 1, events
    assert events[0]["what"] == f"metrics run reference_previews: {len(DAYS)} ok, 0 failed"
    assert set(events[0]["tags"]) == {RUN_TAG, run_tag("reference_previews")} and events[0]["when"] >= before
    every_run = httpx.get(f"{graphite.web_url}/events/get_data", params={"tags": RUN_TAG, "from": "-1h", "until": "now"}).json()
    assert [e["what"] for e in every_run] == [events[0]["what"]]  # a folder whose intervals only wait posts no event
    other = httpx.get(f"{graphite.web_url}/events/get_data", params={"tags": run_tag("codemirror"), "from": "-1h", "until": "now"})
    assert other.json() == []  # the board of a folder that never ran shows no run of another one

    # Two days later nothing new ran: `metrics status` sends the grown lag, and alerts.
    later = NOW + dt.timedelta(days=2)
    status = metrics(warehouse, tmp_path / "q", "status", "--now", later.isoformat(), "--statsd", statsd)
    assert status.returncode == 1 and "reference_previews/baseline  late" in status.stdout, status.stdout
    assert "gated/baseline               waiting" in status.stdout, status.stdout
    points = wait_for_series(graphite.web_url, GAUGE, lambda p: bool(known(p)) and known(p)[-1][0] == lag_at(later), timeout=30, from_="-5min")
    assert {v for v, _ in known(points)} == {lag_at(NOW), lag_at(later)}

    # A run with nothing to do posts no event: the last annotation stays the last run that computed something.
    again = metrics(warehouse, tmp_path / "q", "run", "--now", NOW.isoformat(), "--no-graphite", "--graphite-web", graphite.web_url)
    assert again.returncode == 0, again.stderr
    assert len(httpx.get(f"{graphite.web_url}/events/get_data", params={"tags": run_tag("reference_previews"), "from": "-1h"}).json()) == 1
