"""The runner end to end on DuckDB: real query folders, real Parquet tables, real TSV files.

Every expected number is computed independently from the generated rows with plain Python.
"""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import sys
import threading
from collections import Counter, defaultdict
from pathlib import Path

import pyarrow as pa
import pytest

from metrics.engines import open_engine
from metrics.reports.lock import Locked, folder_lock
from metrics.reports.reruns import request
from metrics.reports.runner import update_reports
from metrics.warehouse import Warehouse

D = dt.date
NOW = dt.datetime(2026, 11, 23, 10, 0)
WIKIS = ["enwiki", "dewiki", "cawiki"]


def make_events(root: Path, days: int = 22, seed: int = 7) -> list[dict]:
    """Toy click events for Nov 1..days, one partition per day; returns the rows for checking."""
    import random

    rng = random.Random(seed)
    warehouse = Warehouse(root)
    rows = []
    for day in range(1, days + 1):
        part = [
            {"wiki": rng.choice(WIKIS), "action": rng.choice(["click", "view", "view"]), "n": rng.randint(1, 9), "day": day} for _ in range(rng.randint(5, 30))
        ]
        rows += part
        table = pa.table({"wiki": [r["wiki"] for r in part], "action": [r["action"] for r in part], "n": pa.array([r["n"] for r in part], pa.int64())})
        warehouse.replace_partition("event", "toy", {"year": 2026, "month": 11, "day": day, "hour": 0}, table)
    return rows


def query_folder(root: Path, config: str, files: dict[str, str]) -> Path:
    q = root / "toy"
    q.mkdir(parents=True, exist_ok=True)
    (q / "config.yaml").write_text(config)
    for name, text in files.items():
        path = q / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if text.startswith("#!"):
            path.chmod(0o755)
    return q


CLICKS_SQL = """
SELECT DATE '{from_date}' AS date, count(*) AS clicks, sum(n) / 2 AS half_n
FROM event.toy
WHERE wiki = '{wiki}' AND action = 'click' AND year = {year} AND month = {month} AND day = {day}
"""

BY_WIKI_HQL = """
SELECT '{from_date}' AS `date`, wiki, count(*) AS views
FROM event.toy
WHERE action = 'view' AND year = {year} AND month = {month} AND day >= {day}
  AND day < {day} + 7
GROUP BY wiki ORDER BY wiki
"""


@pytest.fixture
def env(tmp_path: Path):
    rows = make_events(tmp_path / "wh")
    engine = open_engine(tmp_path / "wh")
    yield tmp_path, engine, rows
    engine.close()


def test_sql_report_with_explode_matches_an_independent_count(env) -> None:
    tmp, engine, rows = env
    q = query_folder(
        tmp, 'reports:\n  clicks:\n    granularity: days\n    starts: 2026-11-01\n    explode_by: {wiki: "enwiki, dewiki"}\n', {"clicks.sql": CLICKS_SQL}
    )
    summary = update_reports(q, engine, tmp / "out", now=NOW, graphite=False)
    assert summary.ok, summary.lines()
    assert len(summary.outcomes) == 2 * 22

    expected = {}
    for wiki in ["enwiki", "dewiki"]:
        for day in range(1, 23):
            clicks = [r for r in rows if r["wiki"] == wiki and r["action"] == "click" and r["day"] == day]
            total = sum(r["n"] for r in clicks)
            expected[(wiki, D(2026, 11, day))] = (len(clicks), total // 2 if clicks else None)
    got = engine.query("SELECT wiki, dt, clicks, half_n FROM metrics.toy_clicks").to_pylist()
    assert {(r["wiki"], r["dt"]): (r["clicks"], r["half_n"]) for r in got} == expected
    # Trino integer division stays integer on DuckDB: half_n is BIGINT, not 2.5-style floats
    assert engine.query("SELECT typeof(half_n) t FROM metrics.toy_clicks LIMIT 1").to_pylist() == [{"t": "BIGINT"}]

    # TSV, written by the rules: header, rows by date, empty for null, CRLF
    for wiki in ["enwiki", "dewiki"]:
        lines = ["date\tclicks\thalf_n"] + [
            f"2026-11-{day:02d}\t{expected[(wiki, D(2026, 11, day))][0]}\t{'' if expected[(wiki, D(2026, 11, day))][1] is None else expected[(wiki, D(2026, 11, day))][1]}"
            for day in range(1, 23)
        ]
        assert (tmp / "out" / "clicks" / f"{wiki}.tsv").read_bytes() == ("\r\n".join(lines) + "\r\n").encode()


def test_second_run_does_nothing_and_hive_weeks(env) -> None:
    tmp, engine, rows = env
    q = query_folder(tmp, "reports:\n  by_wiki:\n    type: hive\n    granularity: weeks\n    starts: 2026-11-01\n", {"by_wiki.hql": BY_WIKI_HQL})
    first = update_reports(q, engine, tmp / "out", now=NOW, graphite=False)
    assert first.ok, first.lines()
    assert [o.interval.start for o in first.outcomes] == [D(2026, 11, 1), D(2026, 11, 8), D(2026, 11, 15)]
    counts = Counter((r["wiki"], D(2026, 11, 1 + 7 * ((r["day"] - 1) // 7))) for r in rows if r["action"] == "view" and r["day"] <= 21)
    got = engine.query("SELECT wiki, dt, views FROM metrics.toy_by_wiki").to_pylist()
    assert {(r["wiki"], r["dt"]): r["views"] for r in got} == dict(counts)
    before = (tmp / "out" / "by_wiki.tsv").read_bytes()
    second = update_reports(q, engine, tmp / "out", now=NOW, graphite=False)
    assert second.outcomes == [] and second.ok
    assert (tmp / "out" / "by_wiki.tsv").read_bytes() == before
    assert engine.query("SELECT count(*) n FROM metrics.toy_by_wiki").to_pylist() == [{"n": len(counts)}]


def test_months_lag_and_max_data_points(env) -> None:
    tmp, engine, _ = env
    config = (
        "reports:\n"
        "  monthly: {granularity: months, starts: 2026-08-01, execute: count}\n"
        "  lagged: {granularity: days, starts: 2026-11-20, lag: 39600, execute: count}\n"
        "  recent: {granularity: days, starts: 2026-01-01, max_data_points: 3, execute: count}\n"
    )
    q = query_folder(
        tmp, config, {"count.sql": "SELECT DATE '{from_date}' AS date, count(*) AS n FROM event.toy WHERE year = {year} AND month = {month} AND day = {day}"}
    )
    summary = update_reports(q, engine, tmp / "out", now=NOW, graphite=False)
    assert summary.ok, summary.lines()
    starts = defaultdict(list)
    for o in summary.outcomes:
        starts[o.report].append(o.interval.start)
    assert starts["monthly"] == [D(2026, 8, 1), D(2026, 9, 1), D(2026, 10, 1)]
    assert starts["lagged"] == [D(2026, 11, 20), D(2026, 11, 21)]  # 11 h lag at 10:00: Nov 22 not due
    assert starts["recent"] == [D(2026, 11, 20), D(2026, 11, 21), D(2026, 11, 22)]
    # no events in Aug-Oct: the empty results are done, with Reportupdater's null row in the TSV
    assert (tmp / "out" / "monthly.tsv").read_bytes() == b"date\tn\r\n2026-08-01\t0\r\n2026-09-01\t0\r\n2026-10-01\t0\r\n"


def test_script_failures_stay_with_their_interval(env) -> None:
    tmp, engine, _ = env
    script = (
        "#!/bin/sh\n"
        "case $1 in\n"
        "  2026-11-03) echo 'boom' >&2; exit 3;;\n"
        "  2026-11-04) printf 'date\\tvalue\\n%s\\t1\\t2\\n' $1;;\n"
        "  *) printf 'date\\tvalue\\tfolder\\n%s\\t%s\\t%s\\n' $1 $2 $3;;\n"
        "esac\n"
    )
    q = query_folder(
        tmp,
        "reports:\n  scripted: {type: script, granularity: days, starts: 2026-11-01}\n  clicks: {granularity: days, starts: 2026-11-21, explode_by: {wiki: enwiki}}\n",
        {"scripted": script, "clicks.sql": CLICKS_SQL},
    )
    summary = update_reports(q, engine, tmp / "out", now=NOW, graphite=False)
    assert not summary.ok
    failed = {o.interval.start: o.error for o in summary.failed}
    assert set(failed) == {D(2026, 11, 3), D(2026, 11, 4)}
    assert "exit status 3: boom" in failed[D(2026, 11, 3)]
    assert "output line 2 has 3 fields, the header has 2" in failed[D(2026, 11, 4)]
    assert sum(o.status == "ok" for o in summary.outcomes if o.report == "clicks") == 2  # the other report ran
    text = (tmp / "out" / "scripted.tsv").read_text()
    assert [line[:10] for line in text.splitlines()[1:]] == [f"2026-11-{d:02d}" for d in range(1, 23) if d not in (3, 4)]
    assert "2026-11-02\t2026-11-03\t" + str(q.absolute()) in text  # argv: start, end, script folder
    # the failed intervals are retried on the next run, and only they
    again = update_reports(q, engine, tmp / "out", now=NOW, graphite=False)
    assert sorted(o.interval.start for o in again.outcomes) == [D(2026, 11, 3), D(2026, 11, 4)]
    log = engine.query("SELECT status, count(*) n FROM metrics.report_runs WHERE report = 'scripted' GROUP BY 1 ORDER BY 1").to_pylist()
    assert log == [{"status": "failed", "n": 4}, {"status": "ok", "n": 20}]


def test_rerun_replaces_rows_and_stays_pending_until_success(env) -> None:
    tmp, engine, rows = env
    q = query_folder(
        tmp, 'reports:\n  clicks:\n    granularity: days\n    starts: 2026-11-01\n    explode_by: {wiki: "enwiki, dewiki"}\n', {"clicks.sql": CLICKS_SQL}
    )
    assert update_reports(q, engine, tmp / "out", now=NOW, graphite=False).ok
    # the data of Nov 5 changes: 100 more enwiki clicks
    warehouse = Warehouse(tmp / "wh")
    extra = pa.table({"wiki": ["enwiki"] * 100, "action": ["click"] * 100, "n": pa.array([2] * 100, pa.int64())})
    warehouse.put_file("event", "toy", {"year": 2026, "month": 11, "day": 5, "hour": 1}, "late", extra)
    engine.refresh()
    path = request(q, "2026-11-05", "2026-11-06", ["clicks"], today=D(2026, 11, 23))
    assert path.read_text() == "2026-11-05\n2026-11-06\nclicks\n"
    summary = update_reports(q, engine, tmp / "out", now=NOW, graphite=False)
    assert summary.ok and {(o.explode["wiki"], o.interval.start) for o in summary.outcomes} == {("enwiki", D(2026, 11, 5)), ("dewiki", D(2026, 11, 5))}
    base = [r for r in rows if r["wiki"] == "enwiki" and r["action"] == "click" and r["day"] == 5]
    got = engine.query("SELECT clicks, half_n FROM metrics.toy_clicks WHERE wiki = 'enwiki' AND dt = DATE '2026-11-05'").to_pylist()
    assert got == [{"clicks": len(base) + 100, "half_n": (sum(r["n"] for r in base) + 200) // 2}]
    assert engine.query("SELECT count(*) n FROM metrics.toy_clicks").to_pylist() == [{"n": 44}]  # replaced, not appended
    line = next(t for t in (tmp / "out/clicks/enwiki.tsv").read_text().splitlines() if t.startswith("2026-11-05"))
    assert line == f"2026-11-05\t{len(base) + 100}\t{(sum(r['n'] for r in base) + 200) // 2}"
    assert not path.exists()

    # a rerun whose interval fails stays pending
    (q / "clicks.sql").write_text("SELECT nope FROM event.toy")
    path = request(q, "2026-11-07", "2026-11-08", today=D(2026, 11, 23))
    summary = update_reports(q, engine, now=NOW, graphite=False)
    assert len(summary.failed) == 2 and path.exists()


def test_rerun_request_validation(env) -> None:
    tmp, _, _ = env
    from metrics.problems import InputError

    q = query_folder(tmp, "reports:\n  a: {granularity: days, starts: 2026-11-01}\n", {"a.sql": "select 1"})
    for args, message in [
        (("2026-11-05", "2026-11-05"), "is not before end"),
        (("2026-11-05", "2026-12-30"), "is after today"),
        (("2026-13-01", "2026-11-06"), "invalid date"),
        (("2026-10-01", "2026-10-05"), "starts on 2026-11-01, after the range"),
    ]:
        with pytest.raises(InputError, match=message):
            request(q, *args, today=D(2026, 11, 23))
    with pytest.raises(InputError, match="report 'b' is not in the config"):
        request(q, "2026-11-02", "2026-11-03", ["b"], today=D(2026, 11, 23))


def test_header_change_evolves_table_and_tsv(env) -> None:
    tmp, engine, _ = env
    q = query_folder(tmp, "reports:\n  r: {granularity: days, starts: 2026-11-20}\n", {"r.sql": "SELECT DATE '{from_date}' AS date, 1 AS a, 2 AS b"})
    assert update_reports(q, engine, tmp / "out", now=dt.datetime(2026, 11, 22, 1), graphite=False).ok
    (q / "r.sql").write_text("SELECT DATE '{from_date}' AS date, 3 AS c, 4.5 AS b")
    assert update_reports(q, engine, tmp / "out", now=NOW, graphite=False).ok
    assert (tmp / "out" / "r.tsv").read_bytes() == b"date\tc\tb\ta\r\n2026-11-20\t\t2\t1\r\n2026-11-21\t\t2\t1\r\n2026-11-22\t3\t4.5\t\r\n"
    got = engine.query("SELECT dt, a, b, c FROM metrics.toy_r ORDER BY dt").to_pylist()
    assert [(r["a"], r["b"], r["c"]) for r in got] == [(1, 2.0, None), (1, 2.0, None), (None, 4.5, 3)]


def test_range_backfill_runs_once_per_gap_with_the_same_numbers(env) -> None:
    tmp, engine, _ = env
    range_sql = (
        "SELECT make_date(year, month, day) AS date, wiki, count(*) AS clicks FROM event.toy "
        "WHERE action = 'click' AND make_date(year, month, day) >= DATE '{from_date}' AND make_date(year, month, day) < DATE '{to_date}' "
        "GROUP BY 1, 2 ORDER BY 1, 2"
    )
    config = "dialect: duckdb\nreports:\n  ranged: {granularity: days, starts: 2026-11-01, backfill: range, execute: q}\n  single: {granularity: days, starts: 2026-11-01, execute: q}\n"
    q = query_folder(tmp, config, {"q.sql": range_sql})
    summary = update_reports(q, engine, now=NOW, graphite=False)
    assert summary.ok, summary.lines()
    ranged = engine.query("SELECT dt, wiki, clicks FROM metrics.toy_ranged ORDER BY ALL").to_pylist()
    single = engine.query("SELECT dt, wiki, clicks FROM metrics.toy_single ORDER BY ALL").to_pylist()
    assert ranged == single and len(ranged) > 22
    seconds = {o.seconds for o in summary.outcomes if o.report == "ranged"}
    assert len(seconds) == 1  # one execution shared by the 22 intervals


def test_snapshot_and_ends(env) -> None:
    tmp, engine, _ = env
    config = "reports:\n  snap: {granularity: days, starts: 2026-11-01, snapshot: true, execute: q}\n  ended: {granularity: days, starts: 2026-11-01, ends: 2026-11-04, execute: q}\n  future: {granularity: days, starts: 2027-01-01, execute: q}\n"
    q = query_folder(tmp, config, {"q.sql": "SELECT DATE '{from_date}' AS date, 1 AS one"})
    summary = update_reports(q, engine, now=NOW, graphite=False)
    assert [o.interval.start for o in summary.outcomes if o.report == "snap"] == [D(2026, 11, 22)]
    assert [o.interval.start for o in summary.outcomes if o.report == "ended"] == [D(2026, 11, 1), D(2026, 11, 2), D(2026, 11, 3)]
    assert summary.skipped == [("future", "starts 2027-01-01 is in the future")]
    later = update_reports(q, engine, now=NOW + dt.timedelta(days=2), graphite=False)
    assert [o.interval.start for o in later.outcomes if o.report == "snap"] == [D(2026, 11, 24)]  # never Nov 23


def update_reports_cli(tmp: Path, q: Path) -> subprocess.CompletedProcess[str]:
    """`metrics update-reports` in a process of its own (the lock is per process)."""
    cli = [
        sys.executable,
        "-m",
        "metrics",
        "--warehouse",
        str(tmp / "wh"),
        "--catalogue",
        str(tmp / "none"),
        "update-reports",
        str(q),
        "--now",
        "2026-11-23T10:00",
    ]
    return subprocess.run(cli, capture_output=True, text=True, timeout=120)


def test_lock_second_instance_exits_zero(env) -> None:
    tmp, engine, _ = env
    q = query_folder(tmp, "reports:\n  a: {granularity: days, starts: 2026-11-21}\n", {"a.sql": "SELECT DATE '{from_date}' AS date, 1 AS one"})
    with folder_lock(q):
        with pytest.raises(Locked):
            update_reports(q, engine, now=NOW, graphite=False)
        result = update_reports_cli(tmp, q)
        assert result.returncode == 0 and "another run" in result.stderr and "exiting" in result.stderr
    result = update_reports_cli(tmp, q)
    assert result.returncode == 0, result.stderr
    assert "a: 2 interval(s) ok, 0 failed, 2 row(s)" in result.stderr


def test_graphite_outbox_survives_an_outage(env) -> None:
    """carbon down (nothing listens), then up: the points are kept, then sent once, with their dates."""
    tmp, engine, _ = env
    config = "graphite: {host: 127.0.0.1, port: 1}\nreports:\n  a:\n    granularity: days\n    starts: 2026-11-21\n    explode_by: {wiki: enwiki}\n    graphite:\n      path: '{_metric}.{wiki}'\n      metrics: {toy.clicks: clicks}\n"
    q = query_folder(tmp, config, {"a.sql": CLICKS_SQL})
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    down = update_reports(q, engine, now=NOW, graphite_address=("127.0.0.1", port))  # bound, not listening: refused
    assert down.graphite_error and "cannot send to carbon" in down.graphite_error and down.points_queued == 2
    listener.listen()
    received: list[bytes] = []

    def accept() -> None:
        conn, _ = listener.accept()
        with conn:
            while chunk := conn.recv(65536):
                received.append(chunk)

    thread = threading.Thread(target=accept)
    thread.start()
    up = update_reports(q, engine, now=NOW, graphite_address=("127.0.0.1", port))
    thread.join(timeout=10)
    listener.close()
    assert up.points_sent == 2 and up.graphite_error is None and up.outcomes == []
    clicks = {r["dt"]: r["clicks"] for r in engine.query("SELECT dt, clicks FROM metrics.toy_a").to_pylist()}
    lines = b"".join(received).decode().splitlines()
    assert lines == [
        f"toy.clicks.enwiki {float(clicks[d])!r} {int(dt.datetime(d.year, d.month, d.day, tzinfo=dt.timezone.utc).timestamp())}" for d in sorted(clicks)
    ]


def test_empty_sql_result_declares_the_table(env) -> None:
    tmp, engine, _ = env
    q = query_folder(
        tmp,
        "reports:\n  none: {granularity: days, starts: 2026-11-21}\n",
        {"none.sql": "SELECT DATE '{from_date}' AS date, wiki, count(*) AS n FROM event.toy WHERE false GROUP BY wiki"},
    )
    assert update_reports(q, engine, now=NOW, graphite=False).ok
    assert engine.query(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'toy_none' ORDER BY ordinal_position"
    ).to_pylist() == [
        {"column_name": "wiki", "data_type": "VARCHAR"},
        {"column_name": "n", "data_type": "BIGINT"},
        {"column_name": "dt", "data_type": "DATE"},
    ]
    assert engine.query("SELECT count(*) c FROM metrics.toy_none").to_pylist() == [{"c": 0}]


SLOW_SCRIPT = "#!/bin/sh\nsleep 0.15\nprintf 'date\\twiki\\tday\\n%s\\t%s\\t%s\\n' $1 $3 $(echo $1 | cut -c9-10)\n"
SLOW_CONFIG = 'reports:\n  slow:\n    type: script\n    granularity: days\n    starts: 2026-11-01\n    explode_by: {wiki: "enwiki, dewiki"}\n'


def _logged_ok(warehouse: Path) -> set[tuple[str, dt.date]]:
    """(explode key, interval start) of every `ok` entry in the run log files, read as another process would."""
    import pyarrow.parquet as pq

    done = set()
    for path in sorted((warehouse / "metrics" / "report_runs").glob("month=*/part-*.parquet")):
        for row in pq.read_table(path, columns=["explode", "interval_start", "status"]).to_pylist():
            if row["status"] == "ok":
                done.add((row["explode"], row["interval_start"]))
    return done


def test_a_killed_run_keeps_what_it_logged_and_the_next_computes_the_rest(tmp_path: Path) -> None:
    """SIGKILL a real `metrics update-reports` midway: what it logged ok is in the table and TSV, the
    next run computes only the rest, and the end state equals an uninterrupted run's, byte for byte."""
    import signal
    import time

    import pyarrow.parquet as pq

    killed, whole = tmp_path / "killed", tmp_path / "whole"
    for root in (killed, whole):
        query_folder(root, SLOW_CONFIG, {"slow": SLOW_SCRIPT})
    cli = [sys.executable, "-m", "metrics", "--warehouse", str(killed / "wh"), "--catalogue", str(killed / "none"), "update-reports"]
    cli += [str(killed / "toy"), str(killed / "out"), "--now", "2026-11-23T10:00", "--flush-seconds", "0.2", "--workers", "2", "--no-graphite"]
    proc = subprocess.Popen(cli, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(_logged_ok(killed / "wh")) < 6 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL, "the run finished before it could be killed"
    logged = _logged_ok(killed / "wh")
    assert 6 <= len(logged) < 22  # fewer than one combination's intervals: they are logged as they finish

    # what was logged ok is durable: its rows are in the table files and its lines in the TSV
    rows = {(r["wiki"], r["dt"]) for f in (killed / "wh/metrics/toy_slow").glob("dt=*/*.parquet") for r in _with_dt(pq.read_table(f), f.parent.name)}
    lines = {
        (w, D.fromisoformat(line[:10]))
        for w in ("enwiki", "dewiki")
        if (killed / f"out/slow/{w}.tsv").exists()
        for line in (killed / f"out/slow/{w}.tsv").read_text().splitlines()[1:]
    }
    for key, day in logged:
        wiki = key.split('"')[3]
        assert (wiki, day) in rows and (wiki, day) in lines

    with open_engine(killed / "wh") as engine:
        resumed = update_reports(killed / "toy", engine, killed / "out", now=NOW, graphite=False)
        assert resumed.ok, resumed.lines()
        redone = {(f'{{"wiki":"{o.explode["wiki"]}"}}', o.interval.start) for o in resumed.outcomes}
        assert redone.isdisjoint(logged) and len(redone | logged) == 44
        resumed_rows = engine.query("SELECT wiki, dt, day FROM metrics.toy_slow ORDER BY wiki, dt").to_pylist()
    with open_engine(whole / "wh") as engine:
        assert update_reports(whole / "toy", engine, whole / "out", now=NOW, graphite=False).ok
        whole_rows = engine.query("SELECT wiki, dt, day FROM metrics.toy_slow ORDER BY wiki, dt").to_pylist()
    assert resumed_rows == whole_rows and len(whole_rows) == 44
    assert whole_rows[0] == {"wiki": "dewiki", "dt": D(2026, 11, 1), "day": "01"}  # zero-padded: kept as printed
    for wiki in ("enwiki", "dewiki"):
        assert (killed / f"out/slow/{wiki}.tsv").read_bytes() == (whole / f"out/slow/{wiki}.tsv").read_bytes()
    assert (whole / "out/slow/enwiki.tsv").read_bytes().startswith(b"date\twiki\tday\r\n2026-11-01\tenwiki\t01\r\n2026-11-02\tenwiki\t02\r\n")


def _with_dt(table: pa.Table, folder: str) -> list[dict]:
    """Rows of one partition file, with the `dt` its folder name gives."""
    day = D.fromisoformat(folder.removeprefix("dt="))
    return [{**row, "dt": day} for row in table.to_pylist()]


def test_depends_on_waits_for_the_source_partitions(tmp_path: Path) -> None:
    """An interval whose source day has not landed (no partition, or not its last hour) waits, is
    not done, and is computed by the run after it lands; the run log says `waiting` once."""
    warehouse = Warehouse(tmp_path / "wh")

    def land(day: int, hours: range) -> None:
        for hour in hours:
            rows = pa.table({"n": pa.array([day * 100 + hour], pa.int64())})
            warehouse.replace_partition("event", "src", {"year": 2026, "month": 11, "day": day, "hour": hour}, rows)

    for day in range(1, 20):
        land(day, range(22, 24))
    land(20, range(0, 6))  # Nov 20 partly landed
    sql = "SELECT DATE '{from_date}' AS date, count(*) AS hours FROM event.src WHERE year = {year} AND month = {month} AND day = {day}"
    config = "reports:\n  waits: {granularity: days, starts: 2026-11-15, depends_on: [event.src]}\n  plain: {granularity: days, starts: 2026-11-15, execute: waits}\n"
    q = query_folder(tmp_path, config, {"waits.sql": sql})
    with open_engine(tmp_path / "wh") as engine:
        first = update_reports(q, engine, tmp_path / "out", now=NOW, graphite=False)
        assert first.ok, first.lines()
        status = {(o.report, o.interval.start.day): o.status for o in first.outcomes}
        assert [d for d in range(15, 23) if status[("waits", d)] == "ok"] == [15, 16, 17, 18, 19]
        assert [d for d in range(15, 23) if status[("waits", d)] == "waiting"] == [20, 21, 22]
        assert all(status[("plain", d)] == "ok" for d in range(15, 23))  # without depends_on: Reportupdater's rule
        assert "waits: 5 interval(s) ok, 0 failed, 5 row(s), 3 waiting for depends_on tables (event.src: 3 day(s) missing)" in first.lines()
        assert (tmp_path / "out/waits.tsv").read_text().splitlines()[-1] == "2026-11-19\t2"

        again = update_reports(q, engine, tmp_path / "out", now=NOW, graphite=False)
        assert [(o.interval.start.day, o.status) for o in again.outcomes] == [(20, "waiting"), (21, "waiting"), (22, "waiting")]
        land(20, range(6, 24))
        land(21, range(23, 24))
        engine.refresh()
        third = update_reports(q, engine, tmp_path / "out", now=NOW, graphite=False)
        assert [(o.interval.start.day, o.status) for o in third.outcomes] == [(20, "ok"), (21, "ok"), (22, "waiting")]
        got = engine.query("SELECT dt, hours FROM metrics.toy_waits WHERE dt >= DATE '2026-11-19' ORDER BY dt").to_pylist()
        assert got == [{"dt": D(2026, 11, 19), "hours": 2}, {"dt": D(2026, 11, 20), "hours": 24}, {"dt": D(2026, 11, 21), "hours": 1}]
        log = engine.query(
            "SELECT interval_start, list(status ORDER BY finished_at) s FROM metrics.report_runs WHERE report = 'waits' AND interval_start >= DATE '2026-11-20'"
            " GROUP BY 1 ORDER BY 1"
        ).to_pylist()
        assert [r["s"] for r in log] == [["waiting", "ok"], ["waiting", "ok"], ["waiting"]]


CODES_SCRIPT = """#!/bin/sh
# a code column: digits on some days, digits with a leading zero or an exponent on others
case "$1" in
  2026-11-20) code=0042 ;;
  2026-11-21) code=12e3 ;;
  *) code=${1##*-}7 ;;
esac
printf 'date\\tcode\\tn\\n%s\\t%s\\t1\\n' "$1" "$code"
"""


def test_codes_keep_their_text_in_the_table(tmp_path: Path) -> None:
    """`0042` and `12e3` are codes, not numbers: the table keeps the text the TSV shows, on every day."""
    q = query_folder(tmp_path, "reports:\n  codes: {type: script, granularity: days, starts: 2026-11-20}\n", {"codes": CODES_SCRIPT})
    with open_engine(tmp_path / "wh") as engine:
        summary = update_reports(q, engine, tmp_path / "out", now=NOW, graphite=False)
        assert summary.ok, summary.lines()
        got = engine.query("SELECT dt, code, n FROM metrics.toy_codes ORDER BY dt").to_pylist()
    tsv = [line.split("\t") for line in (tmp_path / "out/codes.tsv").read_text().splitlines()[1:]]
    assert [[str(r["dt"]), r["code"], str(r["n"])] for r in got] == tsv
    assert [r["code"] for r in got] == ["0042", "12e3", "227"]


CLASH_SCRIPT = """#!/bin/sh
# prints a column named like its explode placeholder, with another value on one wiki
wiki=$3
[ "$wiki" = dewiki ] && wiki=dewiki-extra
printf 'date\\twiki\\tn\\n%s\\t%s\\t1\\n' "$1" "$wiki"
"""


def test_a_result_column_named_like_a_placeholder_must_hold_its_value(tmp_path: Path) -> None:
    """Else a rerun would not find the rows to replace and double them: the interval fails, saying why."""
    config = 'reports:\n  clash: {type: script, granularity: days, starts: 2026-11-21, explode_by: {wiki: "enwiki, dewiki"}}\n'
    q = query_folder(tmp_path, config, {"clash": CLASH_SCRIPT})
    with open_engine(tmp_path / "wh") as engine:
        first = update_reports(q, engine, tmp_path / "out", now=NOW, graphite=False)
        request(q, "2026-11-21", "2026-11-22")
        again = update_reports(q, engine, tmp_path / "out", now=NOW, graphite=False)
        rows = engine.query("SELECT dt, wiki, count(*) AS n FROM metrics.toy_clash GROUP BY ALL ORDER BY ALL").to_pylist()
    assert {(o.explode["wiki"], o.status) for o in first.outcomes} == {("enwiki", "ok"), ("dewiki", "failed")}
    assert all("result column wiki holds 'dewiki-extra', but wiki is an explode_by placeholder" in o.error for o in first.failed)
    assert rows == [{"dt": D(2026, 11, 21), "wiki": "enwiki", "n": 1}, {"dt": D(2026, 11, 22), "wiki": "enwiki", "n": 1}]
    assert [(o.interval.start, o.status) for o in again.outcomes if o.explode["wiki"] == "enwiki"] == [(D(2026, 11, 21), "ok")]


def test_text_in_a_column_the_table_holds_as_numbers_fails_saying_what_to_do(tmp_path: Path) -> None:
    script = '#!/bin/sh\n[ "$1" = 2026-11-22 ] && code=abc || code=${1##*-}\nprintf \'date\\tcode\\n%s\\t%s\\n\' "$1" "$code"\n'
    q = query_folder(tmp_path, "reports:\n  codes: {type: script, granularity: days, starts: 2026-11-20}\n", {"codes": script})
    with open_engine(tmp_path / "wh") as engine:
        first = update_reports(q, engine, tmp_path / "out", now=dt.datetime(2026, 11, 22), graphite=False)
        later = update_reports(q, engine, tmp_path / "out", now=NOW, graphite=False)
        kept = engine.query("SELECT dt, code FROM metrics.toy_codes ORDER BY dt").to_pylist()
    assert first.ok and [o.status for o in later.outcomes] == ["failed"]
    assert later.failed[0].error.startswith("column code of the table holds int64 values, and the script printed 'abc' in it (print numbers")
    assert kept == [{"dt": D(2026, 11, 20), "code": 20}, {"dt": D(2026, 11, 21), "code": 21}]


def test_a_misspelt_depends_on_table_is_named_in_the_summary(tmp_path: Path) -> None:
    config = "reports:\n  waits: {granularity: days, starts: 2026-11-21, depends_on: [event.scr]}\n"
    q = query_folder(tmp_path, config, {"waits.sql": "SELECT DATE '{from_date}' AS date, 1 AS n"})
    with open_engine(tmp_path / "wh") as engine:
        summary = update_reports(q, engine, now=NOW, graphite=False)
    assert summary.lines()[0] == "waits: 0 interval(s) ok, 0 failed, 0 row(s), 2 waiting for depends_on tables (event.scr: not in the warehouse)"
    assert summary.lines()[-1].startswith("2 interval(s) in ")


def test_the_summary_lists_the_first_failures_and_counts_the_rest(tmp_path: Path) -> None:
    q = query_folder(tmp_path, "reports:\n  broken: {granularity: days, starts: 2026-10-01}\n", {"broken.sql": "SELECT * FROM event.nowhere"})
    with open_engine(tmp_path / "wh") as engine:
        summary = update_reports(q, engine, now=NOW, graphite=False)
    failed_lines = [line for line in summary.lines() if line.startswith("FAILED ")]
    assert len(summary.failed) == 53 and len(failed_lines) == 20
    assert "... and 33 more failed interval(s)" in summary.lines()[-2]


def test_the_next_run_repairs_what_a_killed_run_left(env) -> None:
    """A run killed between the two renames of a partition, mid-TSV and mid-run-log leaves a partition
    aside and temporaries named with its pid; the next run, even with nothing to compute, puts the
    partition back and removes them, and leaves a live writer's alone."""
    from metrics import atomic

    tmp, engine, _ = env
    q = query_folder(tmp, "reports:\n  a: {granularity: days, starts: 2026-11-20}\n", {"a.sql": "SELECT DATE '{from_date}' AS date, 1 AS one"})
    out = tmp / "out"
    assert update_reports(q, engine, out, now=NOW, graphite=False).ok
    before = engine.query("SELECT dt, one FROM metrics.toy_a ORDER BY dt").to_pylist()
    tsv_before = (out / "a.tsv").read_bytes()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    host = atomic.owner_tag().rsplit("-", 2)[0]
    try:
        table = tmp / "wh" / "metrics" / "toy_a"
        work = table / ".staging" / f"{host}-{dead.pid}-0123456789abcdef"
        work.mkdir(parents=True)
        (work / "TARGET").write_text("dt=2026-11-21")
        (table / "dt=2026-11-21").rename(work / "old")
        in_progress = table / ".staging" / f"{host}-{live.pid}-0123456789abcdef"
        (in_progress / "data").mkdir(parents=True)
        stale = [out / f".a.tsv.{host}-{dead.pid}-0123456789abcdef.tmp"]
        [month] = (tmp / "wh" / "metrics" / "report_runs").glob("month=*")
        stale.append(month / f".part-x-00001.parquet.{host}-{dead.pid}-0123456789abcdef.tmp")
        for path in stale:
            path.write_text("half")
        again = update_reports(q, engine, out, now=NOW, graphite=False)
        assert again.ok and again.outcomes == []
        assert engine.query("SELECT dt, one FROM metrics.toy_a ORDER BY dt").to_pylist() == before
        assert (out / "a.tsv").read_bytes() == tsv_before
        assert [p for p in stale if p.exists()] == []
        assert sorted(p.name for p in (table / ".staging").iterdir()) == [in_progress.name]
    finally:
        live.kill()
        live.wait()
