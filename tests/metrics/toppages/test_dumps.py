"""Reading dumps for ranking: the fast path, the slow path and the plain reference agree, an hour and a day."""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

import pytest

from ingestion import generate, pageviews
from ingestion.inputs import CorruptInput, RefusedFiles
from metrics.toppages import dumps
from metrics.toppages.blacklist import Blacklist
from metrics.toppages.ranking import TIES, Ranker
from tests.metrics.toppages import oracle

HOUR = dt.datetime(2026, 11, 3, 7, tzinfo=dt.timezone.utc)
# Odd lines the dumps hold: the empty domain, escaped quotes, titles that are words for "missing", non-ASCII.
ODD = [
    '"" Empty_Domain_Page 4000 0',
    'odd "\\"Weird_Al\\"_Yankovic" 900 0',
    'odd "say_\\"hi\\"" 900 0',
    "odd NaN 800 0",
    "odd null 800 0",
    "odd - 800 0",
    "odd None 5 0",
    "odd NA 5 0",
    "odd a\\b 1000 0",
    "odd.m Äpfel_und_Öl 50 0",
    'odd.m "" 50 0',
    "tiny Only_Page 1 0",
]
"""Pages of their own (a dump lists each page once an hour), in domains the generator does not use, but the first."""


def write(path: Path, lines: list[str]) -> Path:
    return generate.write_dump(path, lines)


def hour_lines(seed: int = 5, count: int = 60_000) -> list[str]:
    return generate.pageview_lines(seed, HOUR, count) + ODD


def make(top: int = 25, ties: str = "row_number", blacklist: Blacklist | None = None):
    return lambda: Ranker(top, ties, blacklist)


@pytest.mark.parametrize("ties", TIES)
def test_an_hour_is_the_plain_ranking(tmp_path: Path, ties: str) -> None:
    lines = hour_lines()
    path = write(tmp_path / generate.dump_name(HOUR), lines)
    table, read = dumps.rank_hour(path, make(6, ties))
    assert read.lines == len(lines) and read.rejected == []
    rows = table.to_pylist()
    assert rows == oracle.top(oracle.sums(lines), 6, ties)
    got = {(r["domain_code"], r["page_title"]): r["count_views"] for r in rows}
    # the odd ones made it, as text: the empty domain, unescaped quotes, the words for missing values
    assert got[("", "Empty_Domain_Page")] == 4000 and got[("odd", '"Weird_Al"_Yankovic')] == 900 and got[("odd", 'say_"hi"')] == 900
    assert {("odd", "NaN"), ("odd", "null"), ("odd", "-"), ("odd", "a\\b"), ("odd.m", "Äpfel_und_Öl"), ("odd.m", "")} <= set(got)
    assert [r["page_title"] for r in rows if r["domain_code"] == "tiny"] == ["Only_Page"]  # fewer pages than N


def test_a_bad_line_sends_the_hour_to_the_slow_path_which_agrees(tmp_path: Path) -> None:
    lines = hour_lines()
    bad = ["en Broken_line 1", "en Negative -3 0", 'en "unclosed 4 0', "en Five fields 1 0 0"]
    path = write(tmp_path / generate.dump_name(HOUR), lines[:30_000] + bad + lines[30_000:])
    table, read = dumps.rank_hour(path, make(5, "rank"))
    assert table.to_pylist() == oracle.top(oracle.sums(lines), 5, "rank")
    assert read.lines == len(lines) + len(bad)
    assert [(r.line, r.raw) for r in read.rejected] == [(30_001 + i, b) for i, b in enumerate(bad)]
    assert all(r.source_file == str(path) and r.reason for r in read.rejected)


def test_bad_utf8_in_a_title_that_can_rank_is_found(tmp_path: Path) -> None:
    lines = hour_lines(count=2000)
    path = tmp_path / generate.dump_name(HOUR)
    path.write_bytes(gzip.compress(("\n".join(lines[:100]) + "\n").encode() + b"en Caf\xe9 99999 0\n" + ("\n".join(lines[100:]) + "\n").encode()))
    table, read = dumps.rank_hour(path, make(3))
    assert [(r.line, r.reason.split(":")[0]) for r in read.rejected] == [(101, "not UTF-8")]
    assert table.to_pylist() == oracle.top(oracle.sums(lines), 3)


def test_an_empty_hour_is_a_gzip_of_nothing_and_a_0_byte_file_is_damage(tmp_path: Path) -> None:
    empty = tmp_path / "pageviews-20261103-070000.gz"
    empty.write_bytes(gzip.compress(b""))
    table, read = dumps.rank_hour(empty, make())
    assert (table.num_rows, read.lines, read.rejected) == (0, 0, [])
    for name in ("pageviews-20261103-080000.gz", "pageviews-20261103-090000"):  # whatever the name says
        path = tmp_path / name
        path.write_bytes(b"")
        with pytest.raises(CorruptInput) as caught:
            dumps.rank_hour(path, make())
        assert str(caught.value) == (
            f"{path}:1:1: empty file (0 bytes, not even a gzip header; a dump of an hour without pageviews is a gzip of about 20 bytes):"
            " 0 line(s) readable before the damage; the file was refused whole, nothing of it stored (fetch or copy the file again, then run again)"
        )


@pytest.mark.parametrize("damage", ["truncated", "crc"])
def test_a_corrupt_gzip_is_the_error_ingestion_gives(tmp_path: Path, damage: str) -> None:
    lines = hour_lines(count=20_000)
    data = bytearray(gzip.compress(("\n".join(lines) + "\n").encode()))
    if damage == "truncated":
        data = data[: len(data) // 2]
    else:
        data[-8] ^= 0xFF  # the CRC of the member
    path = tmp_path / generate.dump_name(HOUR)
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptInput) as caught:
        dumps.rank_hour(path, make())
    with pytest.raises(RefusedFiles) as loading:  # `metrics ingest pageviews` refuses it with the same error
        pageviews.load(tmp_path / "wh", [path])
    assert [str(e) for e in loading.value.refused] == [str(caught.value)]
    what = "truncated gzip stream" if damage == "truncated" else "corrupt gzip"
    readable = caught.value.readable
    assert str(caught.value).startswith(f"{path}:{readable + 1}:1: {what}") and "refused whole" in str(caught.value)
    assert readable < len(lines) or damage == "crc"  # a bad CRC is found at the end of the member


def test_a_duplicated_page_is_summed_before_ranking(tmp_path: Path) -> None:
    lines = hour_lines(count=5000)
    # `Dup` comes on 40 lines of one view each, spread over the file: below every floor one by one,
    # first of its domain summed; `Twice` on two lines whose sum beats the head of `odd`.
    spread = ["dupdomain Dup 1 0"] * 40 + [f"dupdomain Single_{i} {i + 2} 0" for i in range(30)] + ['odd "say_\\"hi\\"" 500 0']
    mixed = list(lines)
    for i, line in enumerate(spread):
        mixed.insert((i * 97) % len(mixed), line)
    path = write(tmp_path / generate.dump_name(HOUR), mixed)
    for ties in TIES:
        table, read = dumps.rank_hour(path, make(3, ties))
        rows = table.to_pylist()
        assert rows == oracle.top(oracle.sums(mixed), 3, ties) and read.lines == len(mixed)
        assert [(r["page_title"], r["count_views"]) for r in rows if r["domain_code"] == "dupdomain"][0] == ("Dup", 40)
        assert ("odd", 'say_"hi"', 1400) in {(r["domain_code"], r["page_title"], r["count_views"]) for r in rows}
    # the slow path (a bad line) sums too
    path = write(tmp_path / generate.dump_name(HOUR), mixed + ["en Broken 1"])
    table, read = dumps.rank_hour(path, make(3))
    assert table.to_pylist() == oracle.top(oracle.sums(mixed), 3) and len(read.rejected) == 1


def day_files(tmp_path: Path, hours: int = 5, count: int = 8000) -> tuple[list[Path], list[str]]:
    paths, every = [], []
    for h in range(hours):
        lines = generate.pageview_lines(h, HOUR + dt.timedelta(hours=h), count) + ODD
        paths.append(write(tmp_path / generate.dump_name(HOUR + dt.timedelta(hours=h)), lines))
        every += lines
    return paths, every


@pytest.mark.parametrize("ties", TIES)
def test_a_day_ranks_views_summed_per_page(tmp_path: Path, ties: str) -> None:
    paths, every = day_files(tmp_path)
    blacklist = Blacklist({("odd", "NaN"), ("", "Main_Page"), ("en", "Main_Page")})
    table, reads = dumps.rank_day(paths, make(4, ties, blacklist), workers=2, memory_limit="200MB", spill=tmp_path / "spill")
    assert table.to_pylist() == oracle.top(oracle.sums(every), 4, ties, blacklist.pairs)
    assert [r.lines for r in reads] == [8000 + len(ODD)] * 5
    assert not {("odd", "NaN"), ("en", "Main_Page")} & {(r["domain_code"], r["page_title"]) for r in table.to_pylist()}


def test_a_day_with_a_bad_line_is_summed_again_with_that_hour_read_slowly(tmp_path: Path) -> None:
    paths, every = day_files(tmp_path)
    lines = oracle.lines_of(paths[2])
    write(paths[2], lines[:4000] + ["en Broken 1"] + lines[4000:])
    table, reads = dumps.rank_day(paths, make(4), workers=2, memory_limit="200MB", spill=tmp_path / "spill")
    assert table.to_pylist() == oracle.top(oracle.sums(every), 4)
    assert [(r.path, [b.line for b in r.rejected]) for r in reads if r.rejected] == [(paths[2], [4001])]


def test_a_day_with_a_corrupt_hour_fails_naming_it(tmp_path: Path) -> None:
    paths, _ = day_files(tmp_path, hours=3)
    paths[1].write_bytes(paths[1].read_bytes()[:1000])
    with pytest.raises(CorruptInput, match=f"^{paths[1]}:[0-9]+:1: truncated gzip stream"):
        dumps.rank_day(paths, make(), workers=2, memory_limit="200MB", spill=tmp_path / "spill")
