"""Property-based tests of the event loader and the pageview parser: nothing lost, nothing escapes.

Each generated input is a file of lines built from valid ones by mutation (a field set to any JSON
value, deleted or added, a date or schema changed, nesting thousands deep, a count beyond BIGINT,
broken quoting, stray spaces and carriage returns), plus raw bytes, written plain or gzip, and
sometimes damaged. The only outcomes allowed: every line stored or quarantined with its number and
a reason (counted in the tables, not only in the summary), or, for a damaged gzip file, a located
one-line error with nothing stored; each load within a time bound, the process within a memory bound.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import resource
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ingestion import events, generate, pageviews
from ingestion.inputs import RefusedFiles
from ingestion.registry import SCHEMAS, Registry
from ingestion.summary import LoadSummary
from metrics.warehouse import Warehouse
from tests.reliability import long_run, record, scale

pytestmark = pytest.mark.reliability

NOW = dt.datetime(2026, 11, 10, tzinfo=dt.timezone.utc)
HOUR = dt.datetime(2026, 11, 3, 7, tzinfo=dt.timezone.utc)
INPUTS = scale(600, 10_000)
"""Generated lines (each an input whose own outcome is checked), in files of 5 to 40 lines."""
FILES = INPUTS // 5
SECONDS_PER_FILE = 20.0
"""A load of one generated file (at most ~40 lines of ~100 KB) must end within this."""
MAX_RSS_BYTES = 3 << 30
FUZZ = settings(
    max_examples=FILES,
    deadline=None,  # the bound is ours (SECONDS_PER_FILE), measured on the load alone
    derandomize=not long_run(),  # the short version tries the same inputs on every run
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

# --- what is generated ----------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(1 << 70), max_value=1 << 70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
DATE_TIMES = st.one_of(
    st.sampled_from(
        ["2026-11-03T07:00:00Z", "2026-11-03t07:00:00z", "2026-02-30T00:00:00Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2026-11-03T07Z", ""]
    ),
    st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30)).map(lambda d: d.isoformat() + "Z"),
    st.text(max_size=30),
)
RAW_LINES = st.binary(max_size=200).map(lambda b: b.replace(b"\n", b" "))


def thing_schema() -> dict:
    """A schema with what the shipped ones lack: integers, arrays of objects, maps and optional objects."""
    return {
        "$id": "/test/things/1.0.0",
        "title": "test/things",
        "type": "object",
        "required": ["$schema", "meta"],
        "properties": {
            "$schema": {"type": "string"},
            "meta": {
                "type": "object",
                "required": ["stream", "dt"],
                "properties": {"stream": {"type": "string"}, "dt": {"type": "string", "format": "date-time"}},
            },
            "n": {"type": "integer", "minimum": 0},
            "x": {"type": "number"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "items": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}},
            "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
            "who": {"type": "object", "properties": {"id": {"type": "integer"}, "anon": {"type": "boolean"}}},
        },
    }


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    root = tmp_path_factory.mktemp("schemas")
    shutil.copytree(SCHEMAS, root, dirs_exist_ok=True)
    (root / "test" / "things").mkdir(parents=True)
    (root / "test" / "things" / "1.0.0.json").write_text(json.dumps(thing_schema()), "utf-8")
    return Registry(root)


VALID_EVENTS = (
    generate.codemirror_events(1, HOUR.date(), sessions_per_day=40)[:30]
    + generate.reference_previews_events(1, HOUR.date(), pageviews_per_day=40)[:30]
    + [
        {
            "$schema": "/test/things/1.0.0",
            "meta": {"stream": "things", "dt": f"2026-11-03T07:{i:02d}:00Z"},
            "n": i,
            "x": i / 3,
            "tags": ["a", "b"][: i % 3],
            "items": [{"id": i, "name": "x"}],
            "counts": {"a": i},
            **({"who": {"id": i, "anon": bool(i % 2)}} if i % 2 else {}),
        }
        for i in range(30)
    ]
)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value inside a JSON document (keys and list indexes)."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, prefix + (key,))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            found += _paths(child, prefix + (i,))
    return found


def event_lines(draw: st.DrawFn) -> bytes:
    """One line: a valid event, mutated (or not), then perhaps its bytes damaged; or raw bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(RAW_LINES)
    event = json.loads(json.dumps(draw(st.sampled_from(VALID_EVENTS))))
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["set", "delete", "add", "schema", "dt", "stream", "int"]))
        paths = _paths(event)
        if kind in ("set", "delete") and paths:
            path = draw(st.sampled_from(paths))
            parent = event
            for step in path[:-1]:
                parent = parent[step]
            if kind == "set":
                parent[path[-1]] = draw(JSON_VALUES)
            elif isinstance(parent, dict):
                del parent[path[-1]]
        elif kind == "add":
            event[draw(st.text(max_size=10))] = draw(JSON_VALUES)
        elif kind == "schema":
            event["$schema"] = draw(st.sampled_from(["/test/things/1.0.0", "/analytics/legacy/codemirrorusage/1.0.0", "test/things/1.0.0", "/nope/1.0.0", ""]))
        elif kind == "dt" and isinstance(event.get("meta"), dict):
            event["meta"]["dt"] = draw(DATE_TIMES)
        elif kind == "stream" and isinstance(event.get("meta"), dict):
            event["meta"]["stream"] = draw(st.sampled_from(["things", "codemirrorusage", "referencepreviewsbaseline", "nope", "../x", ""]))
        elif kind == "int":
            event["n"] = draw(st.sampled_from([1 << 63, (1 << 63) - 1, -1, 2.0, 1e300, 10**400]))
    text = json.dumps(event, ensure_ascii=draw(st.booleans()))
    damage = draw(st.sampled_from(["none"] * 6 + ["truncate", "insert", "deep", "nan", "surrogate"]))
    if damage == "truncate":
        text = text[: draw(st.integers(0, len(text)))]
    elif damage == "insert":
        at = draw(st.integers(0, len(text)))
        return (text[:at].encode() + draw(RAW_LINES) + text[at:].encode()).replace(b"\n", b" ")
    elif damage == "deep":
        depth = draw(st.sampled_from([200, 600, 1100, 5000]))
        text = text[:-1] + ', "deep": ' + "[" * depth + "]" * depth + "}"
    elif damage == "nan":
        text = text.replace("0", "NaN", 1)
    elif damage == "surrogate":
        text = text[:-1] + ', "s": "\\ud800"}'
    return text.encode("utf-8", "surrogatepass")


def dump_lines(draw: st.DrawFn) -> bytes:
    """One dump line: a valid one with fields replaced, added or bytes inserted; or raw bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(RAW_LINES)
    line = draw(st.sampled_from(VALID_DUMP_LINES))
    fields = line.split(" ")
    for _ in range(draw(st.integers(0, 2))):
        i = draw(st.integers(0, len(fields) - 1))
        fields[i] = draw(
            st.sampled_from([str(1 << 63), str((1 << 63) - 1), "-1", "1.5", "\u0661", "", '""', '"a\\"b"', '"open', "x y", "1" * 400, "NaN", "\t3", "3\r"])
            | st.text(max_size=12)
        )
    if draw(st.integers(0, 7)) == 0:
        fields.append(draw(st.text(max_size=5)))
    data = " ".join(fields).encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 11)) == 0:  # two valid lines joined by a lone carriage return: one line, not two rows
        data = data + draw(st.sampled_from([b"\r", b"\r\r"])) + draw(st.sampled_from(VALID_DUMP_LINES)).encode()
    if draw(st.integers(0, 15)) == 0:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"\xe9", b"\xff\xfe", b"\r", b"\x00", b"\xc3"])) + data[at:]
    return data.replace(b"\n", b" ")


VALID_DUMP_LINES = generate.pageview_lines(2, HOUR, 300)


@st.composite
def files(draw: st.DrawFn, line: Callable[[st.DrawFn], bytes]) -> tuple[list[bytes], str]:
    """(the lines, how the file is written: plain, gzip, or gzip cut short)."""
    lines = [line(draw) for _ in range(draw(st.integers(5, 40)))]
    return lines, draw(st.sampled_from(["plain"] * 4 + ["gzip"] * 2 + ["damaged gzip"]))


def write(path: Path, lines: list[bytes], how: str) -> Path:
    data = b"".join(line + b"\n" for line in lines)
    if how != "plain":
        data = gzip.compress(data)
        if how == "damaged gzip":
            data = data[: max(10, len(data) - 9)]  # the CRC and length at the end are cut: always damaged
    path.write_bytes(data)
    return path


# --- what is checked ------------------------------------------------------------------------


def rows_in(warehouse: Warehouse, schema: str) -> int:
    return sum(pq.ParquetFile(f).metadata.num_rows for f in (warehouse.root / schema).rglob("*.parquet"))


def quarantine_rows(warehouse: Warehouse, source: str) -> list[dict]:
    return [row for f in sorted((warehouse.root / "quarantine" / source).rglob("*.parquet")) for row in pq.read_table(f).to_pylist()]


class Tally:
    """What the generated inputs gave, for the record."""

    def __init__(self) -> None:
        self.files = self.lines = self.losses = self.duplicates = self.tracebacks = 0
        self.outcomes: Counter[str] = Counter()
        self.slowest = 0.0


def check(tally: Tally, load: Callable[[Warehouse, Path], LoadSummary], lines: list[bytes], how: str, name: str, data_schema: str, source: str) -> None:
    """Load the file; assert every line is stored or quarantined (counted in the tables), or the damaged file refused whole."""
    tally.files += 1
    tally.lines += len(lines)
    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder) / name, lines, how)
        warehouse = Warehouse(Path(folder) / "warehouse")
        started = time.perf_counter()
        try:
            summary = load(warehouse, path)
        except RefusedFiles as exc:  # a whole-file problem: a located one-line error, nothing stored
            # gzip is recognised by its magic bytes: a "plain" file starting with them (not UTF-8 text) is a damaged gzip file
            assert how == "damaged gzip" or path.read_bytes()[:2] == b"\x1f\x8b", exc
            (problem,) = exc.lines()
            assert problem.startswith(f"{path}:") and "\n" not in problem and "gzip" in problem
            assert rows_in(warehouse, data_schema) == 0
            (refusal,) = quarantine_rows(warehouse, source)
            assert refusal["source_file"] == str(path) and refusal["reason"]
            tally.outcomes["file refused"] += 1
            return
        except BaseException:
            tally.tracebacks += 1
            raise
        finally:
            tally.slowest = max(tally.slowest, time.perf_counter() - started)
        assert how != "damaged gzip", "a damaged gzip file was loaded"
        assert time.perf_counter() - started < SECONDS_PER_FILE
        stored, rejected = rows_in(warehouse, data_schema), quarantine_rows(warehouse, source)
        numbers = [r["line"] for r in rejected]
        tally.losses += max(0, len(lines) - stored - len(rejected))
        tally.duplicates += max(0, stored + len(rejected) - len(lines)) + len(numbers) - len(set(numbers))
        assert (summary.read, summary.stored, summary.quarantined) == (len(lines), stored, len(rejected))
        assert stored + len(rejected) == len(lines), "a line was lost or counted twice"
        assert len(set(numbers)) == len(numbers) and all(1 <= n <= len(lines) for n in numbers)
        assert all(r["reason"] and r["source_file"] == str(path) for r in rejected)
        tally.outcomes["stored"] += stored
        tally.outcomes["quarantined"] += len(rejected)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 < MAX_RSS_BYTES


def publish(tally: Tally, check_name: str, what: str) -> None:
    record(
        "fuzz",
        check_name,
        trials=tally.lines,
        losses=tally.losses,
        duplicates=tally.duplicates,
        tracebacks=tally.tracebacks,
        detail=f"{tally.files} generated files, {tally.lines} {what} lines: {tally.outcomes['stored']} stored, "
        f"{tally.outcomes['quarantined']} quarantined with a reason, {tally.outcomes['file refused']} damaged gzip files refused whole; "
        f"slowest load {tally.slowest:.2f} s",
    )
    assert tally.losses == tally.duplicates == tally.tracebacks == 0
    assert tally.lines >= INPUTS


def test_event_loader_stores_or_quarantines_every_line(registry: Registry) -> None:
    tally = Tally()

    def load(warehouse: Warehouse, path: Path) -> LoadSummary:
        return events.load(warehouse, [path], registry=registry, now=NOW)

    @FUZZ
    @given(files(event_lines))
    def one(file: tuple[list[bytes], str]) -> None:
        check(tally, load, *file, "events.json", "event", "events")

    one()
    publish(tally, "event-loader", "event")


def test_pageview_parser_stores_or_quarantines_every_line() -> None:
    tally = Tally()

    def load(warehouse: Warehouse, path: Path) -> LoadSummary:
        return pageviews.load(warehouse, [path])

    @FUZZ
    @given(files(dump_lines))
    def one(file: tuple[list[bytes], str]) -> None:
        check(tally, load, *file, generate.dump_name(HOUR), "wmf", "pageviews")

    one()
    publish(tally, "pageview-parser", "dump")
