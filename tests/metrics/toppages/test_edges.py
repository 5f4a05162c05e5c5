"""Edges of `metrics toppages`: sums past BIGINT, naive datetimes, the source of a period done, a day
from the table missing hours, the name of the dump expected, a blacklist with a byte order mark."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ingestion import generate, pageviews
from metrics.toppages import top_pages
from metrics.warehouse import Warehouse
from tests.metrics.toppages import oracle
from tests.metrics.toppages.test_toppages import START, cli, hourly

HOUR = dt.timedelta(hours=1)
BIG = ["en Big 9223372036854775807 0", "en Big 1 0"]


def three_hours(raw: Path, middle: list[str]) -> list[Path]:
    """Dumps of 2026-01-01T00..T02, the middle hour's lines being `middle` plus the generated ones."""
    paths = []
    for hour in range(3):
        lines = generate.pageview_lines(hour, START + hour * HOUR, 500) + (middle if hour == 1 else [])
        paths.append(generate.write_dump(raw / generate.dump_name(START + hour * HOUR), lines))
    return paths


def test_an_hour_whose_page_sums_past_bigint_fails_alone_from_files_and_from_the_table(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    paths = three_hours(raw, BIG)
    warehouse = tmp_path / "wh"
    result = cli(warehouse, str(raw))
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert lines[1].startswith("2026-01-01T01: failed: views of en/Big sum past 2^63-1")
    assert "Traceback" not in result.stderr and lines[-1].startswith("toppages: 2 hour(s) ranked, 0 skipped, 1 failed;")
    for hour in (0, 2):
        assert hourly(warehouse, hour) == oracle.top(oracle.sums(oracle.lines_of(paths[hour])), 25)
    runs = pq.read_table(Warehouse(warehouse).table_dir("metrics", "top_pages_runs")).to_pylist()
    assert sorted(r["status"] for r in runs) == ["failed", "ok", "ok"]
    # the same from wmf.pageview_hourly
    loaded = tmp_path / "loaded"
    pageviews.load(loaded, paths)
    from_table = cli(loaded, "--from", "2026-01-01T00", "--to", "2026-01-01T03")
    assert from_table.returncode == 1, from_table.stderr
    assert from_table.stderr.splitlines()[1].startswith("2026-01-01T01: failed: views of en/Big sum past 2^63-1")
    assert hourly(loaded, 2) == hourly(warehouse, 2)


def test_a_day_whose_page_sums_past_bigint_fails_alone(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    for hour in range(48):  # two days; the first has en/Big at its maximum in two hours
        extra = ["en Big 9223372036854775807 0"] if hour in (3, 9) else []
        generate.write_dump(raw / generate.dump_name(START + hour * HOUR), generate.pageview_lines(hour, START + hour * HOUR, 50) + extra)
    warehouse = tmp_path / "wh"
    result = cli(warehouse, "--daily", str(raw))
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith("2026-01-01: failed: views of en/Big sum past 2^63-1")
    assert lines[1].startswith("2026-01-02: ") and "row(s)" in lines[1]
    assert (Warehouse(warehouse).table_dir("metrics", "top_pages_daily") / "dt=2026-01-02").is_dir()


def test_the_python_api_takes_naive_datetimes_as_utc_and_refuses_other_types(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    three_hours(raw, [])
    naive = top_pages(tmp_path / "wh", dt.datetime(2026, 1, 1, 0), dt.datetime(2026, 1, 1, 3), [raw], top=2)
    assert naive.ok and [o.status for o in naive.outcomes] == ["ok"] * 3
    aware = top_pages(tmp_path / "wh", START, START + 3 * HOUR, [raw], top=2)
    assert [o.status for o in aware.outcomes] == ["skipped"] * 3  # the same hours
    with pytest.raises(TypeError, match="^top_pages: end must be a datetime or a date, not str"):
        top_pages(tmp_path / "wh", START, "2026-01-02", [raw])  # type: ignore[arg-type]


def test_a_date_is_its_midnight_utc(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    for hour in range(24):
        generate.write_dump(raw / generate.dump_name(START + hour * HOUR), generate.pageview_lines(hour, START + hour * HOUR, 30))
    summary = top_pages(tmp_path / "wh", dt.date(2026, 1, 1), dt.date(2026, 1, 2), [raw], top=2, daily=True)
    assert summary.ok and [o.period.start for o in summary.outcomes] == [START]


def test_a_period_done_from_files_is_not_done_for_the_table_and_back(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    paths = three_hours(raw, [])
    warehouse = tmp_path / "wh"
    assert cli(warehouse, str(raw)).returncode == 0
    from_table = cli(warehouse, "--from", "2026-01-01T00", "--to", "2026-01-01T03")  # no wmf.pageview_hourly here
    assert from_table.returncode == 1 and "skipped, done before" not in from_table.stderr
    assert "2026-01-01T00: failed: wmf.pageview_hourly has no partition for 2026-01-01T00" in from_table.stderr
    pageviews.load(warehouse, paths)
    assert cli(warehouse, "--from", "2026-01-01T00", "--to", "2026-01-01T03").returncode == 0
    again = cli(warehouse, "--from", "2026-01-01T00", "--to", "2026-01-01T03")
    assert again.returncode == 0 and again.stderr.count("skipped, done before") == 3
    back = cli(warehouse, str(raw))  # done from the table: from the files it is computed again
    assert back.returncode == 0 and back.stderr.splitlines()[-1].startswith("toppages: 3 hour(s) ranked, 0 skipped, 0 failed;")


def test_a_day_from_the_table_names_each_missing_hour_on_its_own_line(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    paths = generate.pageview_dumps(4, raw, START, 24, 50)
    warehouse = tmp_path / "wh"
    pageviews.load(warehouse, [p for i, p in enumerate(paths) if i not in (3, 4, 17)])
    result = cli(warehouse, "--daily", "--from", "2026-01-01", "--to", "2026-01-02")
    assert result.returncode == 1, result.stderr
    hint = "load the dumps first (metrics ingest pageviews FILE...), or give them to toppages"
    assert result.stderr.splitlines()[:4] == [
        "2026-01-01: failed: 3 of its 24 hours cannot be ranked",
        f"  2026-01-01T03: no partition in wmf.pageview_hourly ({hint})",
        f"  2026-01-01T04: no partition in wmf.pageview_hourly ({hint})",
        f"  2026-01-01T17: no partition in wmf.pageview_hourly ({hint})",
    ]


def test_a_missing_hour_names_the_dump_expected_and_a_blacklist_may_start_with_a_bom(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    paths = three_hours(raw, [])
    paths[1].unlink()
    blacklist = tmp_path / "blacklist.txt"
    top = oracle.top(oracle.sums(oracle.lines_of(paths[0])), 1)[0]
    blacklist.write_bytes(b"\xef\xbb\xbf" + f"{top['domain_code']} {top['page_title']}\n".encode())
    warehouse = tmp_path / "wh"
    result = cli(warehouse, str(raw), "--blacklist", str(blacklist), "--top", "1")
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines()[1] == f"2026-01-01T01: failed: no dump for 2026-01-01T01 (expected pageviews-20260101-010000.gz in {raw})"
    assert top["page_title"] not in {r["page_title"] for r in hourly(warehouse, 0) if r["domain_code"] == top["domain_code"]}


def test_a_page_summed_past_bigint_in_an_hour_read_line_by_line_is_named(tmp_path: Path) -> None:
    """A bad line sends the hour to the line-by-line reader, which sums pages another way."""
    from metrics.errors import MetricsError
    from metrics.toppages import rank_file

    lines = generate.pageview_lines(1, START, 200) + BIG + ["en only_two_fields"]
    path = generate.write_dump(tmp_path / generate.dump_name(START), lines)
    with pytest.raises(MetricsError, match="^views of en/Big sum past 2\\^63-1"):
        rank_file(path)
    fine = generate.write_dump(tmp_path / "other" / generate.dump_name(START), [*lines[:-3], "en Big 9223372036854775806 0", "en Big 1 0", "en x"])
    en = [(r["page_title"], r["count_views"]) for r in rank_file(fine, top=1).to_pylist() if r["domain_code"] == "en"]
    assert en == [("Big", 2**63 - 1)]  # exactly the largest BIGINT still ranks


def test_a_dump_reached_twice_counts_once(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    paths = three_hours(raw, [])
    warehouse = tmp_path / "wh"
    result = cli(warehouse, str(raw), str(paths[1]), str(raw / "." / paths[1].name))  # the folder, and a file in it twice
    assert result.returncode == 0, result.stderr
    for hour in range(3):
        assert hourly(warehouse, hour) == oracle.top(oracle.sums(oracle.lines_of(paths[hour])), 25)


@pytest.mark.parametrize(
    ("start", "end", "daily"),
    [(START + HOUR / 2, START + 2 * HOUR, False), (START, START + HOUR / 2, False), (START.replace(minute=30), START + 48 * HOUR, True)],
)
def test_the_python_api_refuses_times_not_on_the_hour(tmp_path: Path, start: dt.datetime, end: dt.datetime, daily: bool) -> None:
    from metrics.errors import UsageError

    raw = tmp_path / "raw"
    three_hours(raw, [])
    with pytest.raises(UsageError, match="not on the hour"):
        top_pages(tmp_path / "wh", start, end, [raw], daily=daily)
    assert not (tmp_path / "wh" / "metrics").exists() or not list((tmp_path / "wh" / "metrics").rglob("*.parquet"))
