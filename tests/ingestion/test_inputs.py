"""Compressed inputs: one policy for every loader. A damaged gzip file is refused whole, named, and recorded."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import sys
from pathlib import Path
from typing import Callable

import pytest
from click.testing import CliRunner

from ingestion import events, generate, inputs, pageviews, tabular
from ingestion.inputs import CorruptInput, RefusedFiles
from ingestion.summary import LoadSummary
from metrics.cli import main
from metrics.engines import open_engine
from metrics.problems import InputError
from metrics.warehouse import Warehouse

HOUR = dt.datetime(2026, 11, 3, 7, tzinfo=dt.timezone.utc)
NOW = dt.datetime(2026, 11, 10, tzinfo=dt.timezone.utc)
LINES = [f"line {i}\n".encode() for i in range(20_000)]
DATA = b"".join(LINES)


def damaged(kind: str, data: bytes = DATA) -> bytes:
    """`data` gzipped, then damaged the way `kind` says."""
    whole = gzip.compress(data)
    if kind == "truncated":
        return whole[: len(whole) // 2]
    if kind == "bad crc":
        return whole[:-8] + bytes(4) + whole[-4:]
    if kind == "garbage after":
        return whole + b"not gzip"
    if kind == "corrupt inside":
        return whole[:3000] + b"\xff" * 64 + whole[3064:]
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind, what", [("truncated", "truncated gzip stream"), ("bad crc", "corrupt gzip"), ("garbage after", "not gzip data"), ("corrupt inside", "corrupt gzip")]
)
def test_damage_is_named_with_the_lines_read_before_it(tmp_path: Path, kind: str, what: str) -> None:
    path = tmp_path / "x.gz"
    path.write_bytes(damaged(kind))
    read: list[bytes] = []
    with pytest.raises(CorruptInput) as caught:
        read.extend(inputs.lines(path))
    assert caught.value.readable == len(read) < len(LINES) or kind in ("bad crc", "garbage after")
    if kind != "corrupt inside":  # deflate has no checksum before the end: bytes past damage inside may decode to garbage first
        assert read == LINES[: len(read)]
    (line,) = caught.value.lines()
    assert line.startswith(f"{path}:{caught.value.readable + 1}:1: ") and what in line and "refused whole" in line


def test_whole_files_read_as_their_content(tmp_path: Path) -> None:
    (tmp_path / "two.gz").write_bytes(gzip.compress(DATA) + gzip.compress(b"tail\n"))  # concatenated members, as `cat a.gz b.gz`
    assert list(inputs.lines(tmp_path / "two.gz")) == LINES + [b"tail\n"]
    (tmp_path / "plain.txt").write_bytes(DATA + b"no newline")
    assert list(inputs.lines(tmp_path / "plain.txt")) == LINES + [b"no newline"]
    (tmp_path / "empty.gz").write_bytes(gzip.compress(b""))
    assert list(inputs.lines(tmp_path / "empty.gz")) == []


# --- the same policy in every loader ------------------------------------------------------

EVENT_LINES = [json.dumps(e) for e in generate.codemirror_events(3, HOUR.date(), sessions_per_day=2000)]
DUMP_LINES = generate.pageview_lines(3, HOUR, 3000)
CSV_LINES = ["country,year,active_editors"] + [f"C{i:02d},{2000 + i % 20},{i}" for i in range(3000)]


def _load_events(warehouse: Warehouse, path: Path) -> LoadSummary:
    return events.load(warehouse, [path], now=NOW)


def _load_pageviews(warehouse: Warehouse, path: Path) -> LoadSummary:
    return pageviews.load(warehouse, [path])


def _load_csv(warehouse: Warehouse, path: Path) -> LoadSummary:
    return tabular.load_csv(warehouse, path, "external.editors", "country:varchar,year:bigint,active_editors:bigint", ["year"])


LOADERS: dict[str, tuple[Callable[[Warehouse, Path], LoadSummary], str, list[str], str, str, list[str]]] = {
    # loader, file name, lines, table, quarantine, command
    "events": (_load_events, "events.json.gz", EVENT_LINES, "event.codemirrorusage", "events", ["ingest", "events"]),
    "pageviews": (_load_pageviews, generate.dump_name(HOUR), DUMP_LINES, "wmf.pageview_hourly", "pageviews", ["ingest", "pageviews"]),
    "csv": (
        _load_csv,
        "editors.csv.gz",
        CSV_LINES,
        "external.editors",
        "csv",
        ["ingest", "csv", "--table", "external.editors", "--columns", "country:varchar,year:bigint,active_editors:bigint", "--partition-by", "year"],
    ),
}


def _count(warehouse: Warehouse, table: str) -> int:
    with open_engine(warehouse) as engine:
        return int(engine.query(f"SELECT count(*) AS n FROM {table}").to_pylist()[0]["n"])


def _quarantine(warehouse: Warehouse, source: str) -> list[dict]:
    with open_engine(warehouse) as engine:
        return engine.query(f"SELECT source_file, line, raw, reason FROM quarantine.{source} ORDER BY line").to_pylist()


@pytest.mark.parametrize("loader", list(LOADERS))
def test_a_damaged_gzip_file_is_refused_whole_in_every_loader(warehouse: Warehouse, tmp_path: Path, loader: str) -> None:
    load, name, lines, table, source, _ = LOADERS[loader]
    data = ("\n".join(lines) + "\n").encode()
    path = tmp_path / name
    path.write_bytes(gzip.compress(data))
    first = load(warehouse, path)  # a good load of the file: its rows
    assert first.stored == len(lines) - (loader == "csv") and _count(warehouse, table) == first.stored

    path.write_bytes(damaged("truncated", data))
    with pytest.raises(InputError) as caught:  # CorruptInput from one file, RefusedFiles from a load of several
        load(warehouse, path)
    (line,) = caught.value.lines()
    assert _count(warehouse, table) == first.stored  # nothing of the damaged copy; the earlier rows kept
    (refusal,) = _quarantine(warehouse, source)
    assert refusal["source_file"] == str(path) and "truncated gzip stream" in refusal["reason"]
    assert line.startswith(f"{path}:{refusal['line']}:1: truncated gzip stream")

    path.write_bytes(gzip.compress(data))  # fetched again: loaded, and no longer refused
    assert load(warehouse, path).stored == first.stored
    assert _quarantine(warehouse, source) == [] and _count(warehouse, table) == first.stored


@pytest.mark.parametrize("loader", list(LOADERS))
def test_the_command_names_the_damaged_file_in_one_line(tmp_path: Path, loader: str) -> None:
    _, name, lines, _, _, command = LOADERS[loader]
    path = tmp_path / name
    path.write_bytes(damaged("bad crc", ("\n".join(lines) + "\n").encode()))
    result = CliRunner().invoke(main, ["--warehouse", str(tmp_path / "wh"), *command, str(path)])
    assert result.exit_code != 0, result.output  # which code a user error gets is the root group's to say
    errors = [line for line in result.stderr.splitlines() if str(path) in line]
    assert len(errors) == 1 and errors[0].startswith(f"{path}:") and "corrupt gzip stream" in errors[0]
    assert "Traceback" not in result.output


def test_a_0_byte_dump_is_refused_whole_and_its_hour_kept(warehouse: Warehouse, tmp_path: Path) -> None:
    path = generate.write_dump(tmp_path / generate.dump_name(HOUR), DUMP_LINES)
    stored = pageviews.load(warehouse, [path]).stored
    path.write_bytes(b"")  # a download that failed: not an hour without pageviews (that is a gzip of nothing)
    with pytest.raises(RefusedFiles) as caught:
        pageviews.load(warehouse, [path])
    assert caught.value.lines() == [str(CorruptInput(path, pageviews.EMPTY, 0))]
    assert _count(warehouse, "wmf.pageview_hourly") == stored
    assert [r["reason"] for r in _quarantine(warehouse, "pageviews")] == [pageviews.EMPTY]
    path.write_bytes(gzip.compress(b""))
    assert pageviews.load(warehouse, [path]).stored == 0 and _count(warehouse, "wmf.pageview_hourly") == 0


def test_other_files_of_the_load_are_loaded(warehouse: Warehouse, tmp_path: Path) -> None:
    good = generate.write_events(tmp_path / "good.json", [json.loads(line) for line in EVENT_LINES[:500]])
    bad = tmp_path / "bad.json.gz"
    bad.write_bytes(damaged("truncated", ("\n".join(EVENT_LINES) + "\n").encode()))
    with pytest.raises(RefusedFiles) as caught:
        events.load(warehouse, [bad, good], now=NOW)
    assert caught.value.summary.stored == 500 and [e.path for e in caught.value.refused] == [str(bad)]
    assert _count(warehouse, "event.codemirrorusage") == 500
    result = CliRunner().invoke(main, ["--warehouse", str(tmp_path / "wh2"), "ingest", "events", str(bad), str(good)])
    assert result.exit_code != 0 and "500 stored" in result.stderr and f"{bad}:" in result.stderr


def test_gzip_on_stdin(warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    data = gzip.compress(("\n".join(EVENT_LINES) + "\n").encode())
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert events.load(warehouse, ["-"], now=NOW).stored == len(EVENT_LINES)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data[:-100])))
    with pytest.raises(RefusedFiles, match="<stdin>"):
        events.load(warehouse, ["-"], now=NOW)
    assert _count(warehouse, "event.codemirrorusage") == len(EVENT_LINES)


@pytest.mark.parametrize("kind", ["truncated", "bad crc", "garbage after", "corrupt inside"])
def test_arrows_gzip_reader_refuses_what_zlib_refuses(warehouse: Warehouse, tmp_path: Path, kind: str) -> None:
    # the pageview fast path decompresses with Arrow, not `inputs.lines`: the same damage is refused the same way
    path = tmp_path / generate.dump_name(HOUR)
    path.write_bytes(damaged(kind, ("\n".join(DUMP_LINES) + "\n").encode()))
    with pytest.raises(RefusedFiles) as caught:
        pageviews.load(warehouse, [path])
    with pytest.raises(CorruptInput) as direct:
        inputs.check_whole(path)
    assert caught.value.lines() == direct.value.lines()
