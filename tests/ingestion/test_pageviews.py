"""Hourly pageview dumps: exact rows, odd titles kept as text, bad lines quarantined, reloads replace."""

from __future__ import annotations

import datetime as dt
import gzip
import shutil
from pathlib import Path

import pytest

from ingestion import generate, pageviews
from metrics import warehouse as warehouse_module
from metrics.engines import open_engine
from metrics.problems import InputError
from metrics.warehouse import Warehouse
from tests.conftest import SHARED
from tests.ingestion.conftest import read_both

HOUR = dt.datetime(2026, 11, 3, 7, tzinfo=dt.timezone.utc)
SAMPLE = SHARED / "data" / "pageviews-20240803-060000-sample-1000.txt"


def independent(lines: list[str]) -> tuple[int, int]:
    """(lines, views) counted with plain Python: the views are the third field from the end."""
    return len(lines), sum(int(line.rsplit(" ", 2)[1]) for line in lines)


def test_generated_hour_loads_exactly(warehouse: Warehouse, tmp_path: Path) -> None:
    lines = generate.pageview_lines(7, HOUR, 5000)
    path = generate.write_dump(tmp_path / generate.dump_name(HOUR), lines)
    summary = pageviews.load(warehouse, [path])
    count, views = independent(lines)
    assert (summary.read, summary.stored, summary.quarantined, summary.files) == (count, count, 0, 1)
    table = read_both(warehouse, "wmf", "pageview_hourly", ["domain_code", "page_title"])
    assert table.num_rows == count
    assert sum(table["count_views"].to_pylist()) == views
    rows = table.to_pylist()
    assert {r["page_title"] for r in rows} >= {"NaN", "null", "-", "None", "NA", '"Weird_Al"_Yankovic'}
    assert "" in {r["domain_code"] for r in rows}
    assert {(r["year"], r["month"], r["day"], r["hour"]) for r in rows} == {(2026, 11, 3, 7)}


def test_loading_an_hour_twice_replaces_it(warehouse: Warehouse, tmp_path: Path) -> None:
    path = generate.write_dump(tmp_path / generate.dump_name(HOUR), generate.pageview_lines(7, HOUR, 500))
    pageviews.load(warehouse, [path])
    pageviews.load(warehouse, [path])
    with open_engine(warehouse) as engine:
        assert engine.query("SELECT count(*) AS n FROM wmf.pageview_hourly").to_pylist() == [{"n": 500}]


def test_bad_line_after_several_batches_replaces_the_hour_once(warehouse: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the fast path has already written row groups when it meets the bad line: they must not stay
    monkeypatch.setattr(warehouse_module, "ROW_GROUP_ROWS", 1000)
    path = generate.write_dump(tmp_path / generate.dump_name(HOUR), generate.pageview_lines(5, HOUR, 1000))
    pageviews.load(warehouse, [path])
    good = generate.pageview_lines(6, HOUR, 100_000)
    assert len(list(pageviews.read_batches(generate.write_dump(tmp_path / "pageviews-20261103-080000.gz", good)))) > 1
    lines = good + ["en Broken_line 1"]
    generate.write_dump(path, lines)
    summary = pageviews.load(warehouse, [path])
    assert (summary.read, summary.stored, summary.quarantined) == (len(lines), len(good), 1)
    with open_engine(warehouse) as engine:
        got = engine.query("SELECT count(*) AS n, sum(count_views) AS views FROM wmf.pageview_hourly").to_pylist()
    assert got == [{"n": len(good), "views": independent(good)[1]}]
    assert not any((warehouse.table_dir("wmf", "pageview_hourly") / ".staging").iterdir())


def test_bad_lines_are_quarantined_with_line_and_reason(warehouse: Warehouse, tmp_path: Path) -> None:
    good = generate.pageview_lines(3, HOUR, 200)
    bad = list(generate.BAD_DUMP_LINES.values())
    lines = good[:100] + bad + good[100:]
    path = generate.write_dump(tmp_path / generate.dump_name(HOUR), lines)
    summary = pageviews.load(warehouse, [path])
    assert (summary.read, summary.stored, summary.quarantined) == (len(lines), 200, len(bad))
    table = read_both(warehouse, "wmf", "pageview_hourly", ["domain_code", "page_title"])
    assert sum(table["count_views"].to_pylist()) == independent(good)[1]
    with open_engine(warehouse) as engine:
        rows = engine.query("SELECT source_file, line, raw, reason FROM quarantine.pageviews ORDER BY line").to_pylist()
    assert [r["line"] for r in rows] == list(range(101, 101 + len(bad)))
    assert [r["raw"] for r in rows] == bad
    assert all(r["source_file"] == str(path) and r["reason"] for r in rows)
    pageviews.load(warehouse, [path])  # reloading replaces the quarantined rows too
    with open_engine(warehouse) as engine:
        assert engine.query("SELECT count(*) AS n FROM quarantine.pageviews").to_pylist() == [{"n": len(bad)}]


def test_quoting_as_spark_writes_it() -> None:
    assert pageviews.parse_line('"" Z11550 1 0') == ("", "Z11550", 1, 0)
    assert pageviews.parse_line('en "say_\\"hi\\"" 2 0') == ("en", 'say_"hi"', 2, 0)
    assert pageviews.parse_line("en a\\b 3 0") == ("en", "a\\b", 3, 0)  # escapes count only inside quotes
    with pytest.raises(ValueError):
        pageviews.parse_line("en x 1")


def test_fast_and_slow_paths_agree(warehouse: Warehouse, tmp_path: Path) -> None:
    # enough lines for several of Arrow's blocks and several row groups, quoted fields in each
    lines = generate.pageview_lines(11, HOUR, 120_000) + ["en a\\b 3 0"]
    path = generate.write_dump(tmp_path / generate.dump_name(HOUR), lines)
    assert len(list(pageviews.read_batches(path))) > 1
    fast = pageviews.read_fast(path)
    slow, rejected = pageviews.read_slow(path, str(path))
    assert not rejected
    assert sum(1 for v in slow["page_title"].to_pylist() if '"' in v) > 10
    assert fast.to_pylist() == slow.to_pylist()
    # what the streamed load stores is the slow path's reading, row for row
    assert pageviews.load(warehouse, [path]).stored == len(lines)
    order = ["domain_code", "page_title", "count_views", "total_response_size"]
    stored = read_both(warehouse, "wmf", "pageview_hourly", order).select(order)
    assert stored.to_pylist() == slow.sort_by([(c, "ascending") for c in order]).to_pylist()


def test_file_name_must_name_the_hour(warehouse: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / "views.gz"
    path.write_bytes(gzip.compress(b"en A 1 0\n"))
    with pytest.raises(InputError, match="does not say the hour"):
        pageviews.load(warehouse, [path])


@pytest.mark.skipif(not SAMPLE.is_file(), reason=f"the real dump sample is not there ({SAMPLE})")
def test_real_sample_loads_every_line(warehouse: Warehouse, tmp_path: Path) -> None:
    lines = SAMPLE.read_text("utf-8").splitlines()
    path = tmp_path / "pageviews-20240803-060000.gz"
    with open(SAMPLE, "rb") as src, gzip.open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    summary = pageviews.load(warehouse, [path])
    assert (summary.stored, summary.quarantined) == (1000, 0)
    table = read_both(warehouse, "wmf", "pageview_hourly", ["domain_code", "page_title"])
    assert sum(table["count_views"].to_pylist()) == independent(lines)[1]
    assert table["domain_code"].null_count == 0 and table["page_title"].null_count == 0
    assert sum(1 for d in table["domain_code"].to_pylist() if d == "") == sum(1 for line in lines if line.startswith('"" '))
    assert {(r["year"], r["month"], r["day"], r["hour"]) for r in table.to_pylist()} == {(2024, 8, 3, 6)}
    # the uncompressed sample loads as well (gzip is recognised by its bytes, not the name)
    assert pageviews.load(warehouse, [SAMPLE]).stored == 1000


def test_a_count_beyond_bigint_is_one_quarantined_line(warehouse: Warehouse, tmp_path: Path) -> None:
    good = generate.pageview_lines(9, HOUR, 3000)
    lines = good[:1000] + [f"en Big {1 << 63} 10", f"en Big 1 {10**30}", f"en Small {(1 << 63) - 1} 0"] + good[1000:]
    path = generate.write_dump(tmp_path / generate.dump_name(HOUR), lines)
    summary = pageviews.load(warehouse, [path])
    assert (summary.read, summary.stored, summary.quarantined) == (len(lines), len(good) + 1, 2)
    with open_engine(warehouse) as engine:
        rows = engine.query("SELECT line, raw, reason FROM quarantine.pageviews ORDER BY line").to_pylist()
        biggest = engine.query("SELECT max(count_views) AS m FROM wmf.pageview_hourly").to_pylist()[0]["m"]
    assert [(r["line"], r["raw"]) for r in rows] == [(1001, lines[1000]), (1002, lines[1001])]
    assert "count_views" in rows[0]["reason"] and "BIGINT" in rows[0]["reason"] and "total_response_size" in rows[1]["reason"]
    assert biggest == (1 << 63) - 1  # the largest BIGINT is a value like any other


def test_a_line_that_is_not_utf8_keeps_its_bytes_in_the_quarantine(warehouse: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / generate.dump_name(HOUR)
    path.write_bytes(gzip.compress(b"en A 1 0\nde Caf\xe9 2 0\nfr B 3 0\n"))
    summary = pageviews.load(warehouse, [path])
    assert (summary.stored, summary.quarantined) == (2, 1)
    with open_engine(warehouse) as engine:
        (row,) = engine.query("SELECT line, raw, reason FROM quarantine.pageviews").to_pylist()
    assert row == {"line": 2, "raw": "de Caf\\xe9 2 0", "reason": "not UTF-8: byte 0xe9 at column 7"}


def test_a_carriage_return_inside_a_line_does_not_make_two_rows(warehouse: Warehouse, tmp_path: Path) -> None:
    # Arrow's reader would end a line at a lone \r; a dump's lines end at \n (or \r\n), as the slow path reads them
    path = tmp_path / generate.dump_name(HOUR)
    path.write_bytes(gzip.compress(b"en A 1 0\r\nen B 1 0\rde C 2 0\nfr D 3 0\r"))
    summary = pageviews.load(warehouse, [path])
    assert (summary.read, summary.stored, summary.quarantined) == (3, 2, 1)
    with open_engine(warehouse) as engine:
        (row,) = engine.query("SELECT line, raw FROM quarantine.pageviews").to_pylist()
    assert row == {"line": 2, "raw": "en B 1 0\rde C 2 0"}
