"""The Graphite harness works: a real StatsD aggregates UDP packets into carbon at 1 s steps,
daily values sent straight to carbon with timestamps far in the past are stored and rendered at
those exact timestamps, and /metrics/find lists the series created.

Run: python -m pytest tests/services/test_graphite_harness.py -m graphite -x -q
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator

import pytest

from tests.services.graphite import (
    GraphiteInstance,
    find,
    known,
    render,
    running_graphite,
    send_to_carbon,
    wait_for_series,
)

pytestmark = pytest.mark.graphite

DAY = 86400


@pytest.fixture(scope="module")
def graphite() -> Iterator[GraphiteInstance]:
    with running_graphite() as instance:
        yield instance


@pytest.fixture
def prefix() -> str:
    """A path prefix no other test (or earlier run) has used."""
    return f"harness.t{uuid.uuid4().hex[:10]}"


class UdpStatsd:
    """Raw StatsD lines over UDP, for when the PyPI `statsd` client is not installed."""

    def __init__(self, host: str, port: int) -> None:
        self._address = (host, port)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def incr(self, bucket: str, count: int = 1) -> None:
        self._socket.sendto(f"{bucket}:{count}|c".encode(), self._address)

    def gauge(self, bucket: str, value: float) -> None:
        self._socket.sendto(f"{bucket}:{value}|g".encode(), self._address)

    def close(self) -> None:
        self._socket.close()


def statsd_client(graphite: GraphiteInstance):  # type: ignore[no-untyped-def]
    try:
        from statsd import StatsClient
    except ImportError:
        return UdpStatsd(graphite.host, graphite.statsd_port)
    return StatsClient(graphite.host, graphite.statsd_port)


def test_statsd_counter_and_gauge_arrive_at_one_second_steps(graphite: GraphiteInstance, prefix: str) -> None:
    client = statsd_client(graphite)
    counter = f"{prefix}.clicks"
    gauge = f"{prefix}.open"
    try:
        for _ in range(5):
            client.incr(counter)
        client.gauge(gauge, 42)
    finally:
        if hasattr(client, "close"):
            client.close()

    # Counter: legacy namespace, count per flush at stats_counts.<bucket>; 0 sent every later
    # flush (deleteIdleStats false). Wait until a 0 follows the counts, then the sum is final.
    points = wait_for_series(
        graphite.web_url,
        f"stats_counts.{counter}",
        lambda dps: sum(v for v, _ in known(dps)) >= 5 and known(dps)[-1][0] == 0,
        timeout=30,
        from_="-5min",
    )
    values = known(points)
    assert sum(v for v, _ in values) == 5, values
    assert all(v in (0, 1, 2, 3, 4, 5) for v, _ in values), values
    # The stats_counts schema has 1 s steps: consecutive timestamps 1 s apart.
    steps = {b - a for (_, a), (_, b) in zip(points, points[1:])}
    assert steps == {1}, steps

    # Per-second rate at stats.<bucket>: count / flush interval (1 s), so it sums to 5 too.
    rate = wait_for_series(
        graphite.web_url,
        f"stats.{counter}",
        lambda dps: sum(v for v, _ in known(dps)) >= 5,
        timeout=15,
        from_="-5min",
    )
    assert sum(v for v, _ in known(rate)) == pytest.approx(5.0)

    # Gauge: the value sent, repeated every flush.
    points = wait_for_series(
        graphite.web_url,
        f"stats.gauges.{gauge}",
        lambda dps: len(known(dps)) >= 2,
        timeout=30,
        from_="-5min",
    )
    assert {v for v, _ in known(points)} == {42.0}, known(points)

    # A new value replaces it.
    client = statsd_client(graphite)
    try:
        client.gauge(gauge, 17)
    finally:
        if hasattr(client, "close"):
            client.close()
    points = wait_for_series(
        graphite.web_url,
        f"stats.gauges.{gauge}",
        lambda dps: bool(known(dps)) and known(dps)[-1][0] == 17,
        timeout=30,
        from_="-5min",
    )
    levels = [v for v, _ in known(points)]
    assert set(levels) == {42.0, 17.0}, levels
    assert levels.index(17.0) > levels.index(42.0)


def test_backfilled_daily_values_are_stored_at_their_timestamps(graphite: GraphiteInstance, prefix: str) -> None:
    today = int(time.time()) // DAY * DAY  # midnight UTC
    old, recent = today - 400 * DAY, today - 30 * DAY
    path = f"{prefix}.report.daily_clicks"
    sent = send_to_carbon(
        graphite.host,
        graphite.carbon_port,
        [f"{path} 123.5 {old}", f"{path} 7 {recent}"],
    )
    assert sent == 2

    start, end = old - 2 * DAY, today + DAY
    points = wait_for_series(
        graphite.web_url,
        path,
        lambda dps: len(known(dps)) >= 2,
        timeout=30,
        from_=start,
        until=end,
    )
    assert known(points) == [(123.5, old), (7.0, recent)]
    # One point per day over the whole range (the 1d archive), everything else empty.
    timestamps = [ts for _, ts in points]
    assert {b - a for a, b in zip(timestamps, timestamps[1:])} == {DAY}
    assert timestamps[0] <= old and timestamps[-1] >= recent

    # A rerun overwrites the day's value instead of adding a second point.
    send_to_carbon(graphite.host, graphite.carbon_port, [f"{path} 8 {recent}"])
    points = wait_for_series(
        graphite.web_url,
        path,
        lambda dps: (8.0, recent) in known(dps),
        timeout=30,
        from_=start,
        until=end,
    )
    assert known(points) == [(123.5, old), (8.0, recent)]

    # A wrong path is not an error for graphite-web: 200 with no series.
    assert render(graphite.web_url, f"{prefix}.report.no_such_metric", start, end) == []


def test_metrics_find_lists_children(graphite: GraphiteInstance, prefix: str) -> None:
    now = int(time.time()) // DAY * DAY - DAY
    wikis = ["dewiki", "enwiki", "frwiki"]
    send_to_carbon(
        graphite.host,
        graphite.carbon_port,
        [f"{prefix}.pageviews.{wiki} {n} {now}" for n, wiki in enumerate(wikis, 1)] + [f"{prefix}.edits.total 5 {now}"],
    )

    deadline = time.monotonic() + 30
    while True:
        leaves = find(graphite.web_url, f"{prefix}.pageviews.*")
        if len(leaves) >= len(wikis) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert sorted(node["text"] for node in leaves) == wikis
    assert {node["id"] for node in leaves} == {f"{prefix}.pageviews.{w}" for w in wikis}
    assert all(node["leaf"] == 1 for node in leaves), leaves

    branches = find(graphite.web_url, f"{prefix}.*")
    assert sorted((node["text"], node["leaf"]) for node in branches) == [
        ("edits", 0),
        ("pageviews", 0),
    ]
    assert find(graphite.web_url, f"{prefix}.nothing.*") == []

    # The rendered values match what was sent, per child, via a wildcard target.
    series = render(graphite.web_url, f"{prefix}.pageviews.*", now - DAY, now + DAY)
    got = {s["target"]: known([(v, t) for v, t in s["datapoints"]]) for s in series}
    assert got == {f"{prefix}.pageviews.{w}": [(float(n), now)] for n, w in enumerate(wikis, 1)}
