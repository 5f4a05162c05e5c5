"""Graphite points from a report's `graphite:` section, expanded as Reportupdater did."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from metrics.reports.graphite import Outbox, Point, day_timestamp, report_points

D = dt.date


def test_path_expansion_lookups_columns_and_metric() -> None:
    rows = [
        {"__date__": D(2024, 1, 2), "edit_count_bucket": "1-4 edits", "toggled_on": 5, "wiki": "from column"},
        {"__date__": D(2024, 1, 3), "edit_count_bucket": "100+", "toggled_on": None, "wiki": "x"},
    ]
    points = report_points(
        "{_metric}.byEditCount.{edit_count_bucket}.byWiki.{wiki_db}",
        {"MediaWiki.CodeMirror.toggles": "toggled_on"},
        rows,
        {"wiki_db": "enwiki"},
        {"wiki_db": {"enwiki": "en.wikipedia"}},
    )
    # the lookup applies to explode values; spaces become _; the null value is not sent
    assert points == [Point("MediaWiki.CodeMirror.toggles.byEditCount.1-4_edits.byWiki.en.wikipedia", 5.0, day_timestamp(D(2024, 1, 2)))]
    assert points[0].line() == "MediaWiki.CodeMirror.toggles.byEditCount.1-4_edits.byWiki.en.wikipedia 5.0 1704153600\n"


def test_row_columns_override_explode_values() -> None:
    [point] = report_points("{_metric}.{wiki}", {"m": "v"}, [{"__date__": D(2024, 1, 1), "wiki": "dewiki", "v": "7"}], {"wiki": "enwiki"}, {})
    assert point.path == "m.dewiki" and point.value == 7.0


def test_outbox_keeps_points_until_sent(tmp_path: Path) -> None:
    box = Outbox(tmp_path, "folder")
    assert box.add([Point("a.b", 1.0, 10), Point("a.c", 2.5, 20)]) == 2
    assert box.pending() == 2
    try:
        box.send("127.0.0.1", 1, timeout=1)  # nothing listens on port 1
    except OSError:
        pass
    assert box.pending() == 2  # moved aside for the next try, not lost
    box.add([Point("a.d", 3.0, 30)])
    assert box.pending() == 3


def test_the_environments_prefix_goes_before_every_path_sent_not_into_the_outbox(tmp_path: Path) -> None:
    import socket
    import threading

    box = Outbox(tmp_path, "folder")
    box.add([Point("a.b", 1.0, 10), Point("stats_counts.c", 2.5, 20)])
    queued = box.path.read_text()
    received: list[bytes] = []
    with socket.create_server(("127.0.0.1", 0)) as server:  # a real carbon-like plaintext listener

        def accept() -> None:
            conn, _ = server.accept()
            with conn:
                while chunk := conn.recv(65536):
                    received.append(chunk)

        thread = threading.Thread(target=accept)
        thread.start()
        assert box.send("127.0.0.1", server.getsockname()[1], prefix="metrics.staging") == 2
        thread.join(5)
    assert b"".join(received).decode() == "metrics.staging.a.b 1.0 10\nmetrics.staging.stats_counts.c 2.5 20\n"
    assert queued == "a.b 1.0 10\nstats_counts.c 2.5 20\n" and box.pending() == 0
