"""`metrics toppages` and `metrics.toppages.top_pages` end to end: tables, CSV files, the run log,
skipping, --force, failed hours, the table as source, and errors as one line."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ingestion import generate, inputs, pageviews
from ingestion.inputs import CorruptInput
from metrics.engines import open_engine
from metrics.toppages import output, top_pages
from metrics.warehouse import Warehouse
from tests.conftest import ROOT
from tests.metrics.toppages import oracle

START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
LINES = 20_000


def cli(warehouse: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "metrics", "--warehouse", str(warehouse), "toppages", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    """Four hours of dumps, 2026-01-01T00 to T03, in a nested folder as the dump site lays them out."""
    folder = tmp_path / "raw" / "2026" / "2026-01"
    generate.pageview_dumps(3, folder, START, 4, LINES)
    return tmp_path / "raw"


def hourly(warehouse: Path, hour: int) -> list[dict]:
    with open_engine(warehouse) as engine:
        return engine.query(
            "SELECT domain_code, page_title, count_views, rank FROM metrics.top_pages_hourly WHERE dt = DATE '2026-01-01' AND hour = :hour"
            " ORDER BY domain_code, count_views DESC, page_title",
            {"hour": hour},
        ).to_pylist()


def expected(raw: Path, hour: int, top: int = 25, ties: str = "row_number", blacklist: set = frozenset()) -> list[dict]:
    path = next(raw.rglob(generate.dump_name(START + dt.timedelta(hours=hour))))
    return oracle.top(oracle.sums(oracle.lines_of(path)), top, ties, blacklist)


def test_hours_of_a_folder_into_the_table_and_csv_files(tmp_path: Path, raw: Path) -> None:
    warehouse, csv_dir = tmp_path / "wh", tmp_path / "csv"
    blacklist = tmp_path / "blacklist.txt"
    blacklist.write_text('en Main_Page\n"" Main_Page\nen "\\"Weird_Al\\"_Yankovic"\n', "utf-8")
    listed = {("en", "Main_Page"), ("", "Main_Page"), ("en", '"Weird_Al"_Yankovic')}
    result = cli(warehouse, str(raw), "--from", "2026-01-01T00", "--to", "2026-01-01T04", "--blacklist", str(blacklist), "--csv-dir", str(csv_dir))
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert [line.split(":")[0] for line in lines[:4]] == ["2026-01-01T00", "2026-01-01T01", "2026-01-01T02", "2026-01-01T03"]
    assert lines[-1].startswith("toppages: 4 hour(s) ranked, 0 skipped, 0 failed;")
    for hour in range(4):
        want = expected(raw, hour, blacklist=listed)
        assert hourly(warehouse, hour) == want
        with gzip.open(csv_dir / f"toppages-20260101-{hour:02d}.csv.gz", "rt", encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
        assert rows[0] == ["domain_code", "page_title", "count_views", "rank"]
        assert rows[1:] == [[r["domain_code"], r["page_title"], str(r["count_views"]), str(r["rank"])] for r in want]
    assert any(r["domain_code"] == "" for r in want)  # the empty domain code is a domain like the others
    assert any(r["page_title"] in ("NaN", "null", "-") for r in want)


def test_a_rerun_skips_what_is_done_and_force_or_new_settings_compute_again(tmp_path: Path, raw: Path) -> None:
    warehouse = tmp_path / "wh"
    assert cli(warehouse, str(raw)).returncode == 0
    log = output.Output(Warehouse(warehouse)).last
    first = {h: log(output_period(h))["finished_at"] for h in range(4)}
    again = cli(warehouse, str(raw))
    assert again.returncode == 0 and again.stderr.count("skipped, done before with the same settings") == 4, again.stderr
    assert {h: log(output_period(h))["finished_at"] for h in range(4)} == first
    forced = cli(warehouse, str(raw), "--from", "2026-01-01T02", "--to", "2026-01-01T03", "--force")
    assert forced.returncode == 0 and "toppages: 1 hour(s) ranked, 0 skipped" in forced.stderr
    assert log(output_period(2))["finished_at"] > first[2] and log(output_period(1))["finished_at"] == first[1]
    fewer = cli(warehouse, str(raw), "--top", "3", "--ties", "dense_rank")  # other settings: not done yet
    assert fewer.returncode == 0 and "toppages: 4 hour(s) ranked, 0 skipped" in fewer.stderr
    assert hourly(warehouse, 1) == expected(raw, 1, 3, "dense_rank")
    assert log(output_period(1))["top"] == 3 and log(output_period(1))["ties"] == "dense_rank"


def output_period(hour: int):
    from metrics.toppages.periods import Period

    return Period(START + dt.timedelta(hours=hour), "hour")


def test_a_corrupt_or_missing_hour_fails_alone_and_the_exit_status_says_so(tmp_path: Path, raw: Path) -> None:
    warehouse = tmp_path / "wh"
    broken = next(raw.rglob(generate.dump_name(START + dt.timedelta(hours=1))))
    broken.write_bytes(broken.read_bytes()[:2000])
    result = cli(warehouse, str(raw), "--from", "2026-01-01T00", "--to", "2026-01-01T05")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    with pytest.raises(CorruptInput) as loading:  # the error `metrics ingest pageviews` gives for the same file
        inputs.check_whole(broken)
    assert lines[1] == f"2026-01-01T01: failed: {loading.value}"
    assert str(loading.value).startswith(f"{broken}:{loading.value.readable + 1}:1: truncated gzip stream")
    assert lines[4] == f"2026-01-01T04: failed: no dump for 2026-01-01T04 (expected pageviews-20260101-040000.gz in {raw})"
    assert lines[-1].startswith("toppages: 3 hour(s) ranked, 0 skipped, 2 failed;")
    assert "Traceback" not in result.stderr
    for hour in (0, 2, 3):
        assert hourly(warehouse, hour) == expected(raw, hour)
    assert hourly(warehouse, 1) == []
    assert output.Output(Warehouse(warehouse)).last(output_period(1))["status"] == "failed"
    # the next run tries the failed hour again, and only it
    generate.pageview_dumps(3, broken.parent, START + dt.timedelta(hours=1), 1, LINES)
    retried = cli(warehouse, str(raw), "--from", "2026-01-01T00", "--to", "2026-01-01T04")
    assert retried.returncode == 0 and retried.stderr.count("skipped, done before") == 3 and hourly(warehouse, 1) == expected(raw, 1)


def test_a_0_byte_dump_fails_like_a_truncated_one_and_the_other_hours_are_done(tmp_path: Path, raw: Path) -> None:
    warehouse = tmp_path / "wh"
    empty = next(raw.rglob(generate.dump_name(START + dt.timedelta(hours=2))))
    empty.write_bytes(b"")
    result = cli(warehouse, str(raw))
    assert result.returncode == 1
    assert result.stderr.splitlines()[2] == (
        f"2026-01-01T02: failed: {empty}:1:1: empty file (0 bytes, not even a gzip header; a dump of an hour without pageviews is a gzip"
        " of about 20 bytes): 0 line(s) readable before the damage; the file was refused whole, nothing of it stored (fetch or copy the file again, then run again)"
    )
    assert result.stderr.splitlines()[-1].startswith("toppages: 3 hour(s) ranked, 0 skipped, 1 failed;")
    assert not (Warehouse(warehouse).table_dir("metrics", "top_pages_hourly") / "dt=2026-01-01" / "hour=2").exists()
    assert [hourly(warehouse, h) == expected(raw, h) for h in (0, 1, 3)] == [True] * 3


def test_a_failed_rerun_says_the_previous_result_is_kept_and_keeps_it(tmp_path: Path, raw: Path) -> None:
    warehouse, csv_dir = tmp_path / "wh", tmp_path / "csv"
    assert cli(warehouse, str(raw), "--csv-dir", str(csv_dir)).returncode == 0
    before, csv_before = hourly(warehouse, 1), (csv_dir / "toppages-20260101-01.csv.gz").read_bytes()
    broken = next(raw.rglob(generate.dump_name(START + dt.timedelta(hours=1))))
    broken.write_bytes(broken.read_bytes()[:3000])
    forced = cli(warehouse, str(raw), "--from", "2026-01-01T01", "--to", "2026-01-01T03", "--force", "--csv-dir", str(csv_dir))
    assert forced.returncode == 1
    first = forced.stderr.splitlines()[0]
    assert first.startswith(f"2026-01-01T01: failed: {broken}:") and first.endswith(
        "(fetch or copy the file again, then run again); the previous result is kept"
    )
    assert hourly(warehouse, 1) == before and (csv_dir / "toppages-20260101-01.csv.gz").read_bytes() == csv_before
    assert "previous result" not in forced.stderr.splitlines()[1]  # hour 02 was ranked again
    # an hour that never had a result does not claim one
    never = cli(tmp_path / "other", str(broken))
    assert never.returncode == 1 and "previous result" not in never.stderr


def test_an_empty_hour_is_an_empty_partition_and_done(tmp_path: Path) -> None:
    warehouse = tmp_path / "wh"
    path = tmp_path / generate.dump_name(START)
    path.write_bytes(gzip.compress(b""))
    summary = top_pages(warehouse, files=[path])
    assert [(o.status, o.rows, o.lines) for o in summary.outcomes] == [("ok", 0, 0)]
    assert (Warehouse(warehouse).table_dir("metrics", "top_pages_hourly") / "dt=2026-01-01" / "hour=0").is_dir()
    assert hourly(warehouse, 0) == []
    assert [o.status for o in top_pages(warehouse, files=[path]).outcomes] == ["skipped"]


def test_bad_lines_are_left_out_quarantined_and_counted(tmp_path: Path) -> None:
    warehouse = tmp_path / "wh"
    lines = generate.pageview_lines(4, START, 2000)
    path = generate.write_dump(tmp_path / generate.dump_name(START), lines[:10] + ["en Broken 1"] + lines[10:])
    summary = top_pages(warehouse, files=[path], keep_results=True)
    (outcome,) = summary.outcomes
    assert outcome.status == "ok" and len(outcome.rejected) == 1 and outcome.lines == 2001
    assert outcome.line().endswith(f"1 bad line(s) left out and quarantined, the first {path}:11: expected 4 space-separated fields, found 3")
    assert outcome.result is not None and outcome.result.to_pylist() == oracle.top(oracle.sums(lines), 25)
    with open_engine(warehouse) as engine:
        assert engine.query("SELECT line, raw FROM quarantine.pageviews").to_pylist() == [{"line": 11, "raw": "en Broken 1"}]


def test_daily_from_dumps_and_from_the_table_agree_with_the_plain_sums(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    paths = generate.pageview_dumps(5, raw, START, 24, 600)
    warehouse = tmp_path / "wh"
    from_files = cli(warehouse, "--daily", str(raw), "--top", "5", "--ties", "rank", "--csv-dir", str(tmp_path / "csv"))
    assert from_files.returncode == 0, from_files.stderr
    assert from_files.stderr.splitlines()[0].startswith("2026-01-01: ") and "toppages: 1 day(s) ranked" in from_files.stderr
    want = oracle.top(oracle.sums(line for p in paths for line in oracle.lines_of(p)), 5, "rank")
    daily = pq.read_table(Warehouse(warehouse).table_dir("metrics", "top_pages_daily") / "dt=2026-01-01").to_pylist()
    assert daily == want
    assert (tmp_path / "csv" / "toppages-20260101.csv.gz").is_file()
    # the same day from wmf.pageview_hourly, loaded from the same dumps, into another warehouse
    loaded = tmp_path / "loaded"
    pageviews.load(loaded, paths)
    from_table = cli(loaded, "--daily", "--from", "2026-01-01", "--to", "2026-01-02", "--top", "5", "--ties", "rank")
    assert from_table.returncode == 0, from_table.stderr
    assert pq.read_table(Warehouse(loaded).table_dir("metrics", "top_pages_daily") / "dt=2026-01-01").to_pylist() == want
    # hourly from the table too, and an hour the table lacks fails alone
    hours = cli(loaded, "--from", "2026-01-01T22", "--to", "2026-01-02T01")
    assert hours.returncode == 1
    assert hours.stderr.splitlines()[2] == (
        "2026-01-02T00: failed: wmf.pageview_hourly has no partition for 2026-01-02T00"
        " (load the dumps first (metrics ingest pageviews FILE...), or give them to toppages)"
    )
    assert hourly(loaded, 23) == oracle.top(oracle.sums(oracle.lines_of(paths[23])), 25)


def test_a_day_names_every_hour_that_fails_with_its_reason(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    paths = generate.pageview_dumps(6, raw, START, 24, 300)
    warehouse = tmp_path / "wh"
    assert cli(warehouse, "--daily", str(raw)).returncode == 0
    before = pq.read_table(Warehouse(warehouse).table_dir("metrics", "top_pages_daily") / "dt=2026-01-01").to_pylist()
    paths[4].unlink()
    paths[7].write_bytes(paths[7].read_bytes()[:500])
    paths[19].write_bytes(b"")
    result = cli(warehouse, "--daily", str(raw), "--force")
    assert result.returncode == 1
    with pytest.raises(CorruptInput) as truncated:  # the error `metrics ingest pageviews` gives for the same file
        inputs.check_whole(paths[7])
    errors = {7: str(truncated.value), 19: str(CorruptInput(paths[19], pageviews.EMPTY, 0))}
    assert result.stderr.splitlines()[:4] == [
        "2026-01-01: failed: 3 of its 24 hours cannot be ranked; the previous result is kept",
        f"  2026-01-01T04: no dump (expected pageviews-20260101-040000.gz in {raw})",
        f"  2026-01-01T07: {errors[7]}",
        f"  2026-01-01T19: {errors[19]}",
    ]
    assert pq.read_table(Warehouse(warehouse).table_dir("metrics", "top_pages_daily") / "dt=2026-01-01").to_pylist() == before
    with open_engine(warehouse) as engine:  # the run log keeps every hour's reason
        error = engine.query("SELECT error FROM metrics.top_pages_runs WHERE grain = 'day'").column(0)[0].as_py()
    assert error.splitlines()[1:] == [line.strip() for line in result.stderr.splitlines()[1:4]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--from", "2026-01-02T00", "--to", "2026-01-01T00"),
            "--to: the range 2026-01-02T00 to 2026-01-01T00 is empty (--to is the first hour after the range: give a later one)",
        ),
        (
            ("--from", "2026-13-01", "--to", "2026-01-01"),
            "--from: '2026-13-01' is not an hour: month must be in 1..12 (write YYYY-MM-DDTHH (UTC), e.g. 2026-01-01T00)",
        ),
        (
            ("--daily", "--from", "2026-01-01T05", "--to", "2026-01-02"),
            "--from: --daily ranks whole days, but --from is 2026-01-01T05 (give --from as a day (YYYY-MM-DD) or its midnight (THH = T00))",
        ),
        ((), "error: no range to rank (give --from and --to, or dump files)"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = cli(tmp_path / "wh", *args)
    assert (result.returncode, result.stderr) == (2, message + "\n")
    assert not (tmp_path / "wh").exists()  # before anything is read or written


def test_a_bad_blacklist_or_a_missing_folder_is_named(tmp_path: Path, raw: Path) -> None:
    bad = tmp_path / "blacklist.txt"
    bad.write_text("en Main_Page\nen\n", "utf-8")
    result = cli(tmp_path / "wh", str(raw), "--blacklist", str(bad))
    assert result.returncode == 2 and result.stderr.startswith(f"{bad}:2:1: expected 2 space-separated fields, found 1: 'en'")
    missing = cli(tmp_path / "wh", str(tmp_path / "nowhere"))
    assert (missing.returncode, missing.stderr) == (
        2,
        f"{tmp_path / 'nowhere'}:1:1: no such file or folder (give dump files (pageviews-YYYYMMDD-HH0000.gz) or folders holding them)\n",
    )
    assert not (tmp_path / "wh" / "metrics").exists()  # nothing was written


def test_csv_quotes_what_needs_it_and_writes_the_empty_string_as_two_quotes(tmp_path: Path) -> None:
    lines = ["en Washington,_D.C. 9 0", 'en "say_\\"hi\\"" 8 0', '"" x 1 0', 'en "" 2 0', "en NaN 2 0"]
    path = generate.write_dump(tmp_path / generate.dump_name(START), lines)
    top_pages(tmp_path / "wh", files=[path], csv_dir=tmp_path / "csv")
    csv_path = tmp_path / "csv" / "toppages-20260101-00.csv.gz"
    text = gzip.decompress(csv_path.read_bytes()).decode()
    assert text == 'domain_code,page_title,count_views,rank\n"",x,1,1\nen,"Washington,_D.C.",9,1\nen,"say_""hi""",8,2\nen,"",2,3\nen,NaN,2,4\n'
    assert list(csv.reader(io.StringIO(text)))[1:] == [
        ["", "x", "1", "1"],
        ["en", "Washington,_D.C.", "9", "1"],
        ["en", 'say_"hi"', "8", "2"],
        ["en", "", "2", "3"],
        ["en", "NaN", "2", "4"],
    ]
    # a reader told that "" is text reads the empty strings, never a missing value
    import duckdb

    read = duckdb.sql("SELECT domain_code, page_title FROM read_csv(?, header = true, allow_quoted_nulls = false, all_varchar = true)", params=[str(csv_path)])
    assert read.fetchall() == [("", "x"), ("en", "Washington,_D.C."), ("en", 'say_"hi"'), ("en", ""), ("en", "NaN")]


def test_a_page_listed_twice_ranks_the_same_from_the_files_and_from_the_table(tmp_path: Path) -> None:
    lines = generate.pageview_lines(8, START, 3000)
    twice = ["dup Spread 1 0"] * 12 + [f"dup Page_{i} {i + 2} 0" for i in range(10)] + ["dup Page_3 9 0", '"" "" 4 0', '"" "" 4 0']
    for i, line in enumerate(twice):
        lines.insert(i * 211 % len(lines), line)
    path = generate.write_dump(tmp_path / "raw" / generate.dump_name(START), lines)
    from_files = top_pages(tmp_path / "files", files=[path], top=3, keep_results=True).outcomes[0].result
    pageviews.load(tmp_path / "table", [path])
    from_table = top_pages(tmp_path / "table", START, START + dt.timedelta(hours=1), top=3, keep_results=True).outcomes[0].result
    assert from_files is not None and from_table is not None
    assert from_files.to_pylist() == from_table.to_pylist() == oracle.top(oracle.sums(lines), 3)
    assert [(r["page_title"], r["count_views"]) for r in from_files.to_pylist() if r["domain_code"] == "dup"] == [
        ("Page_3", 14),
        ("Spread", 12),
        ("Page_9", 11),
    ]
