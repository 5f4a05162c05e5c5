"""The checked StatsD client and the sampler, against a real UDP socket on 127.0.0.1."""

from __future__ import annotations

import json
import socket
from typing import Iterator

import pytest
from click.testing import CliRunner

from metrics import catalogue
from metrics.cli import main
from metrics.statsd_client import StatsdUsageError, send_samples, statsd_client
from tests.conftest import CATALOGUE

CAT = catalogue.load(CATALOGUE)


@pytest.fixture
def udp() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(2)
    yield sock
    sock.close()


def received(sock: socket.socket) -> list[str]:
    lines = []
    sock.settimeout(0.2)
    try:
        while True:
            lines += sock.recv(65535).decode().splitlines()
    except socket.timeout:
        return lines


def test_sends_the_bucket_built_from_the_spec(udp: socket.socket) -> None:
    stats = statsd_client("codemirror", port=udp.getsockname()[1], catalogue=CATALOGUE)
    stats.incr("codemirror_toggle_clicks", editor="wikitext_2017", enabled="true")
    stats.incr("codemirror_toggle_clicks", 3, editor="wikitext_2010", enabled="false")
    stats = statsd_client(CAT.spec("reference_previews"), port=udp.getsockname()[1])
    stats.gauge("reference_previews_open", 12, wiki="enwiki")
    assert received(udp) == [
        "MediaWiki.CodeMirror.live.toggle_clicks.wikitext_2017.true:1|c",
        "MediaWiki.CodeMirror.live.toggle_clicks.wikitext_2010.false:3|c",
        "reference_previews.live.open.enwiki:12|g",
    ]


def test_timer_carries_the_sample_rate(udp: socket.socket) -> None:
    stats = statsd_client(CAT.spec("codemirror"), port=udp.getsockname()[1])
    for _ in range(200):
        stats.timing("codemirror_render_time", 42, editor="wikitext_2010")
    lines = received(udp)
    assert 0 < len(lines) < 60  # rate 0.1
    assert set(lines) == {"MediaWiki.CodeMirror.live.render_ms.wikitext_2010:42.000000|ms|@0.1"}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda s: s.incr("codemirror_toggle_click", editor="wikitext_2010", enabled="true"),
            "no metric 'codemirror_toggle_click' (did you mean 'codemirror_toggle_clicks'?)",
        ),
        (lambda s: s.incr("codemirror_toggle_clicks", editor="wikitext_2019", enabled="true"), "value 'wikitext_2019' is not allowed for dimension 'editor'"),
        (lambda s: s.incr("codemirror_toggle_clicks", editor="wikitext_2010"), "needs a value for 'enabled'"),
        (lambda s: s.incr("codemirror_toggle_clicks", editor="wikitext_2010", enabled="true", wiki="enwiki"), "has no dimension 'wiki'"),
        (lambda s: s.incr("codemirror_toggle_clicks", editor="wikitext_2010", enabled=True), "value True is not allowed"),
        (lambda s: s.incr("toggles", editor="wikitext_2010", enabled="true", wiki="enwiki"), "computed by a report, not sent through StatsD"),
        (lambda s: s.gauge("codemirror_toggle_clicks", 1, editor="wikitext_2010", enabled="true"), "is a counter: use .incr(), not .gauge()"),
        (lambda s: s.incr("codemirror_render_time", editor="wikitext_2010"), "is a timer: use .timing(), not .incr()"),
    ],
)
def test_refusals(udp: socket.socket, call, message: str) -> None:
    stats = statsd_client(CAT.spec("codemirror"), port=udp.getsockname()[1])
    with pytest.raises(StatsdUsageError) as exc:
        call(stats)
    assert message in str(exc.value)
    assert received(udp) == []


def test_open_dimension_checks_the_pattern(udp: socket.socket) -> None:
    stats = statsd_client(CAT.spec("reference_previews"), port=udp.getsockname()[1])
    stats.gauge("reference_previews_open", 1, wiki="any_wiki_not_in_examples")
    with pytest.raises(StatsdUsageError, match="must match"):
        stats.gauge("reference_previews_open", 1, wiki="en.wiki")
    assert received(udp) == ["reference_previews.live.open.any_wiki_not_in_examples:1|g"]


def test_sampler_sends_every_statsd_metric_and_reports_exactly_what_it_sent(udp: socket.socket) -> None:
    summaries = send_samples(list(CAT), port=udp.getsockname()[1], events=60, seed=7)
    lines = received(udp)
    assert [s.metric for s in summaries] == ["codemirror_render_time", "codemirror_toggle_clicks", "reference_previews_open"]
    assert sum(s.sent for s in summaries) == len(lines)
    by_bucket: dict[str, list[str]] = {}
    for line in lines:
        bucket, _, rest = line.partition(":")
        by_bucket.setdefault(bucket, []).append(rest)
    for summary in summaries:
        assert summary.events == 60
        for bucket, b in summary.buckets.items():
            assert len(by_bucket[bucket]) == b.sent
            if summary.type == "counter":
                assert sum(int(r.split("|")[0]) for r in by_bucket[bucket]) == sum(b.values) == b.statsd_count
            if summary.type == "timer":
                assert all(r.endswith("|ms|@0.1") for r in by_bucket[bucket])
                assert b.statsd_count == pytest.approx(b.sent * 10)
    timer = summaries[0]
    assert 0 < timer.sent < 30
    assert {k.rsplit(".", 1)[1] for k in summaries[1].buckets} <= {"true", "false"}
    again = send_samples(list(CAT), port=udp.getsockname()[1], events=60, seed=7)
    assert [s.as_dict() for s in again] == [s.as_dict() for s in summaries]


def test_cli_sample_prints_a_summary(udp: socket.socket) -> None:
    port = str(udp.getsockname()[1])
    result = CliRunner().invoke(
        main, ["--catalogue", str(CATALOGUE), "statsd", "sample", "--port", port, "--spec", "reference_previews", "--events", "5", "--json"]
    )
    assert result.exit_code == 0, result.output
    [summary] = json.loads(result.stdout)
    assert summary["metric"] == "reference_previews_open" and summary["sent"] == 5 == len(received(udp))
    result = CliRunner().invoke(main, ["--catalogue", str(CATALOGUE), "statsd", "sample", "--port", port, "--spec", "top_pageviews"])
    assert result.exit_code == 1 and "no StatsD metrics in top_pageviews" in result.output


def test_cli_sample_sends_under_the_environments_prefix(udp: socket.socket, tmp_path) -> None:
    config = tmp_path / "metrics.toml"
    config.write_text('[env.staging]\ngraphite_prefix = "staging"\n')
    port = str(udp.getsockname()[1])
    args = ["--config", str(config), "--env", "staging", "--catalogue", str(CATALOGUE), "statsd", "sample", "--port", port, "--spec", "reference_previews"]
    result = CliRunner().invoke(main, [*args, "--events", "5"])
    assert result.exit_code == 0, result.output
    lines = received(udp)
    assert len(lines) == 5 and all(line.startswith("staging.reference_previews.live.open.") for line in lines), lines
