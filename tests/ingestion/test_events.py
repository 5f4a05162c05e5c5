"""Events: validated per schema version, stored under the newest layout, bad ones quarantined, no duplicates."""

from __future__ import annotations

import datetime as dt
import io
import json
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from ingestion import events, generate
from ingestion.registry import Registry, is_date_time
from metrics.cli import main
from metrics.engines import open_engine
from metrics.problems import InputError
from metrics.warehouse import Warehouse
from tests.conftest import ROOT, SHARED
from tests.ingestion.conftest import read_events_both

DAY = dt.date(2026, 11, 3)
NOW = dt.datetime(2026, 11, 10, tzinfo=dt.timezone.utc)


def test_a_day_of_events_is_stored_exactly(warehouse: Warehouse, tmp_path: Path) -> None:
    cm = generate.codemirror_events(5, DAY, sessions_per_day=3000, rollout=0.5)
    rp = generate.reference_previews_events(5, DAY, pageviews_per_day=300)
    path = generate.write_events(tmp_path / "mixed.json", cm + rp)
    summary = events.load(warehouse, [path], now=NOW)
    assert (summary.read, summary.stored, summary.quarantined) == (len(cm) + len(rp), len(cm) + len(rp), 0)

    table = read_events_both(warehouse, "codemirrorusage")
    parsed = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    sent = sorted((e for e in parsed if e["meta"]["stream"] == "codemirrorusage"), key=lambda e: e["meta"]["id"])
    assert len(table) == len(sent)
    for row, event in zip(table, sent):  # the event's shape, field by field; names as Hive has them
        hour = dt.datetime.fromisoformat(event["meta"]["dt"])
        assert (row["year"], row["month"], row["day"], row["hour"]) == (hour.year, hour.month, hour.day, hour.hour)
        assert row["_schema"] == event["$schema"] and row["wiki"] == event["wiki"] and row["webhost"] == event["webHost"]
        assert row["meta"] == event["meta"]
        assert row["useragent"] == event["useragent"]
        assert dict(row["http"]["request_headers"]) == event["http"]["request_headers"]
        assert row["event"] == {"edit_count_bucket": None, **event["event"]}  # older version: newer field is NULL
    assert {r["_schema"].rsplit("/", 1)[1] for r in table} == {"1.0.0", "1.1.0"}
    assert any(r["event"]["edit_count_bucket"] for r in table)

    with open_engine(warehouse) as engine:
        types = engine.columns("event", "codemirrorusage")
        by_action = engine.query("SELECT event.action AS action, count(*) AS n FROM event.referencepreviewsbaseline GROUP BY event.action").to_pylist()
    assert types["event"].startswith("STRUCT(") and types["http"] == "STRUCT(request_headers MAP(VARCHAR, VARCHAR))"
    assert list(types) == ["_schema", "meta", "wiki", "http", "useragent", "webhost", "event", "year", "month", "day", "hour"]
    expected = Counter(e["event"]["action"] for e in parsed if e["meta"]["stream"] == "referencepreviewsbaseline")
    assert {r["action"]: r["n"] for r in by_action} == dict(expected)


def test_sampling_follows_eventlogging() -> None:
    cm = generate.codemirror_events(1, DAY, sessions_per_day=2000)
    assert cm and all(generate.in_sample(e["event"]["session_token"]) for e in cm)
    first = {}
    for e in cm:  # each session starts with one non-toggle event
        first.setdefault(e["event"]["session_token"], e["event"]["toggled"])
    assert set(first.values()) == {False}


def test_loading_the_same_file_twice_does_not_duplicate(warehouse: Warehouse, tmp_path: Path) -> None:
    path = generate.write_events(tmp_path / "cm.json", generate.codemirror_events(2, DAY, sessions_per_day=2000))
    first = events.load(warehouse, [path], now=NOW)
    events.load(warehouse, [path], now=NOW)
    with open_engine(warehouse) as engine:
        assert engine.query("SELECT count(*) AS n FROM event.codemirrorusage").to_pylist() == [{"n": first.stored}]
    # a shorter file under the same name replaces the old rows, even in hours it no longer has
    kept = path.read_text("utf-8").splitlines()[:10]
    path.write_text("\n".join(kept) + "\n", "utf-8")
    events.load(warehouse, [path], now=NOW)
    with open_engine(warehouse) as engine:
        assert engine.query("SELECT count(*) AS n FROM event.codemirrorusage").to_pylist() == [{"n": 10}]


def test_every_kind_of_bad_event_is_quarantined(warehouse: Warehouse, tmp_path: Path) -> None:
    bad = generate.bad_event_lines(NOW)
    good = [json.dumps(e) for e in generate.codemirror_events(3, DAY, sessions_per_day=500)]
    lines = good[:5] + list(bad.values()) + ["", "\xff not utf-8"] + good[5:]
    path = tmp_path / "bad.json"
    path.write_bytes("\n".join(lines).encode("utf-8").replace("\xff".encode("utf-8"), b"\xff") + b"\n")
    summary = events.load(warehouse, [path], now=NOW)
    assert summary.read == len(lines) == summary.stored + summary.quarantined
    assert summary.quarantined == len(bad) + 2
    with open_engine(warehouse) as engine:
        rows = engine.query("SELECT source_file, line, raw, reason FROM quarantine.events ORDER BY line").to_pylist()
    assert [r["line"] for r in rows] == list(range(6, 6 + len(bad) + 2))
    assert [r["raw"] for r in rows][: len(bad)] == list(bad.values())
    assert all(r["source_file"] == str(path) for r in rows)
    reasons = [r["reason"] for r in rows]
    for kind, needle in [
        ("bad_json", "bad JSON"),
        ("not_an_object", "not a JSON object"),
        ("unknown_schema", "unknown schema"),
        ("schema_violation", "must be boolean"),
        ("missing_dt", "missing meta.dt"),
        ("future_dt", "future"),
        ("wrong_stream", "does not take schema"),
        ("bad_date_time", "must be date-time"),
        ("nested_too_deep", "nested too deeply"),
    ]:
        assert needle in reasons[list(bad).index(kind)], (kind, reasons)


def test_a_file_is_read_in_chunks_with_exact_line_numbers(warehouse: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events, "STEP", 7)  # many chunks, and flushes of rows into Arrow
    good = [json.dumps(e) for e in generate.codemirror_events(6, DAY, sessions_per_day=400)]
    bad = list(generate.bad_event_lines(NOW).values())
    lines = good[:10] + bad[:3] + good[10:30] + bad[3:] + good[30:]
    path = tmp_path / "crlf.json"
    path.write_bytes("\r\n".join(lines).encode())  # Windows line ends, no final newline
    seen: list[int] = []
    summary = events.load(warehouse, [path], now=NOW, progress=seen.append)
    assert (summary.read, summary.stored, summary.quarantined) == (len(lines), len(good), len(bad))
    assert sum(seen) == len(lines) and max(seen) == 7
    with open_engine(warehouse) as engine:
        rows = engine.query("SELECT line, raw FROM quarantine.events ORDER BY line").to_pylist()
        ids = engine.query("SELECT meta.id AS meta_id FROM event.codemirrorusage").to_pylist()
    assert [r["line"] for r in rows] == [11, 12, 13] + list(range(34, 34 + len(bad) - 3))
    assert [r["raw"] for r in rows] == bad
    assert sorted(r["meta_id"] for r in ids) == sorted(json.loads(line)["meta"]["id"] for line in good)


def test_stdin(warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [json.dumps(e) for e in generate.codemirror_events(4, DAY, sessions_per_day=500)]
    data = ("\n".join(lines) + "\n").encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    summary = events.load(warehouse, ["-"], now=NOW)
    assert summary.stored == len(lines)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    events.load(warehouse, ["-"], now=NOW)  # the same content again: replaced, not added
    with open_engine(warehouse) as engine:
        assert engine.query("SELECT count(*) AS n FROM event.codemirrorusage").to_pylist() == [{"n": len(lines)}]


def write_schema(root: Path, document: dict) -> Path:
    path = root / (document["$id"].lstrip("/") + ".json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document), "utf-8")
    return path


def thing_schema(version: str, event: dict, *, extra: dict | None = None) -> dict:
    return {
        "$id": f"/test/Things/{version}",
        "title": "test/Things",
        "type": "object",
        "required": ["$schema", "meta", "event"],
        "properties": {
            "$schema": {"type": "string"},
            "meta": {
                "type": "object",
                "required": ["stream", "dt"],
                "properties": {"stream": {"type": "string"}, "dt": {"type": "string", "format": "date-time"}},
            },
            "event": {"type": "object", "properties": event},
            **(extra or {}),
        },
    }


def thing(version: str, dt_text: str, **event: object) -> str:
    return json.dumps({"$schema": f"/test/Things/{version}", "meta": {"stream": "things", "dt": dt_text}, "event": event})


def test_layout_is_the_union_of_versions_newest_first(tmp_path: Path) -> None:
    root = tmp_path / "schemas"
    write_schema(root, thing_schema("1.0.0", {"gone": {"type": "integer"}, "kept": {"type": "string"}}, extra={"Top": {"type": "boolean"}}))
    write_schema(root, thing_schema("2.0.0", {"kept": {"type": "string"}, "added": {"type": "boolean"}}))
    registry = Registry(root)
    assert registry.streams == {"things": "test/Things"}  # named after the title, no list to keep
    layout = registry.layout("test/Things")
    assert layout.names == ["_schema", "meta", "event", "top"]
    assert layout.field("event").type.names == ["kept", "added", "gone"]

    write_schema(root, thing_schema("3.0.0", {"kept": {"type": "integer"}}))
    with pytest.raises(InputError, match="field event changes type between versions"):
        Registry(root).layout("test/Things")


def test_a_new_schema_version_adds_struct_fields_and_old_rows_read_null(warehouse: Warehouse, tmp_path: Path) -> None:
    root = tmp_path / "schemas"
    write_schema(root, thing_schema("1.0.0", {"action": {"type": "string"}}))
    old = tmp_path / "old.json"
    old.write_text(thing("1.0.0", "2026-11-03T07:00:00Z", action="open") + "\n")
    assert events.load(warehouse, [old], registry=Registry(root), now=NOW).stored == 1

    write_schema(
        root, thing_schema("1.1.0", {"action": {"type": "string"}, "count": {"type": "integer"}, "tags": {"type": "array", "items": {"type": "string"}}})
    )
    new = tmp_path / "new.json"
    new.write_text(
        thing("1.1.0", "2026-11-03T07:30:00Z", action="save", count=3, tags=["a", "b"]) + "\n" + thing("1.0.0", "2026-11-03T08:00:00Z", action="x") + "\n"
    )
    assert events.load(warehouse, [new], registry=Registry(root), now=NOW).stored == 2
    info = warehouse.info("event", "things")
    assert info.columns["event"] == "struct<action: string, count: int64, tags: list<item: string>>" and not info.uniform
    with open_engine(warehouse) as engine:
        rows = engine.query(
            "SELECT event.action AS action, event.count AS n, event.tags AS tags, len(event.tags) AS size FROM event.things ORDER BY meta.dt"
        ).to_pylist()
    assert rows == [
        {"action": "open", "n": None, "tags": None, "size": None},  # written before 1.1.0 existed
        {"action": "save", "n": 3, "tags": ["a", "b"], "size": 2},
        {"action": "x", "n": None, "tags": None, "size": None},
    ]
    assert [r["event"] for r in read_events_both(warehouse, "things")] == [
        {"action": a, "count": n, "tags": t} for a, n, t in [("open", None, None), ("save", 3, ["a", "b"]), ("x", None, None)]
    ]


def test_rfc_3339_date_times(warehouse: Warehouse) -> None:
    """The shared case: lowercase `t` and `z` are RFC 3339; `2026-11-01T05Z` (no minutes, seconds) is not."""
    case = SHARED / "cases" / "events" / "date-time.jsonl"
    summary = events.load(warehouse, [case], now=NOW)
    assert (summary.read, summary.stored, summary.quarantined) == (2, 1, 1)
    with open_engine(warehouse) as engine:
        stored = engine.query("SELECT meta.dt AS dt, event.session_token AS token, year, month, day, hour FROM event.codemirrorusage").to_pylist()
        rejected = engine.query("SELECT line, reason FROM quarantine.events").to_pylist()
    assert stored == [{"dt": "2026-11-01t05:00:00z", "token": "tok1", "year": 2026, "month": 11, "day": 1, "hour": 5}]
    assert rejected == [{"line": 2, "reason": "does not match /analytics/legacy/codemirrorusage/1.1.0: data.meta.dt must be date-time"}]


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("2026-11-01T05:00:00Z", True),
        ("2026-11-01t05:00:00z", True),
        ("2026-11-01T05:00:00.123456789+05:30", True),
        ("2026-11-01T05Z", False),
        ("2026-11-01T05:00Z", False),
        ("2026-11-01 05:00:00Z", False),
        ("2026-11-01T05:00:00", False),
        ("2026-02-30T05:00:00Z", False),
        ("2026-11-01T05:00:00Z\n", False),
        ("20261101T050000Z", False),
    ],
)
def test_date_time_is_rfc_3339_in_every_path(text: str, valid: bool) -> None:
    """The loader's check, fastjsonschema's and plain jsonschema's (given a FormatChecker) agree."""
    assert is_date_time(text) is valid
    schema = {"type": "string", "format": "date-time"}
    plain = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER).is_valid(text)
    assert plain is valid or text.endswith("\n")  # rfc3339_validator's `$` also matches before a final newline; the loader refuses it
    registry = Registry()
    line = json.dumps({**json.loads(generate.bad_event_lines(NOW)["wrong_stream"]), "meta": {"stream": "codemirrorusage", "dt": text}})
    batch = events.Batch(registry, "src", dt.datetime(2026, 11, 10, tzinfo=dt.timezone.utc))
    batch.add_lines([line.encode()])
    assert (not batch.rejected) is valid


def test_any_stream_with_a_schema_loads_through_the_command(tmp_path: Path) -> None:
    """`metrics ingest events --schemas DIR`: a stream nobody listed, arrays, maps and optional objects kept in shape."""
    root = tmp_path / "schemas"
    write_schema(
        root,
        thing_schema(
            "1.0.0",
            {"tags": {"type": "array", "items": {"type": "string"}}, "counts": {"type": "object", "additionalProperties": {"type": "integer"}}},
            extra={"performer": {"type": "object", "properties": {"user_id": {"type": "integer"}, "isAnon": {"type": "boolean"}}}},
        ),
    )
    source = tmp_path / "things.json"
    lines = [
        json.dumps({"$schema": "/test/Things/1.0.0", "meta": {"stream": "things", "dt": "2026-11-03T07:00:00Z"}, "event": {"tags": ["x"], "counts": {"a": 1}}}),
        json.dumps(
            {
                "$schema": "/test/Things/1.0.0",
                "meta": {"stream": "things", "dt": "2026-11-03T07:00:01Z"},
                "event": {},
                "performer": {"user_id": 7, "isAnon": False},
            }
        ),
        json.dumps({"$schema": "/test/Things/1.0.0", "meta": {"stream": "things", "dt": "2026-11-03T07:00:02Z"}, "event": {"counts": {"a": 2**64}}}),
    ]
    source.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(main, ["--warehouse", str(tmp_path / "wh"), "ingest", "events", "--schemas", str(root), str(source)])
    assert result.exit_code == 0, result.output
    assert "3 row(s) read, 2 stored into event.things" in result.output and "1 quarantined" in result.output
    with open_engine(tmp_path / "wh") as engine:
        rows = engine.query(
            "SELECT event.tags AS tags, event.counts['a'] AS a, performer.user_id AS user_id, performer.isanon AS anon, performer IS NULL AS nobody"
            " FROM event.things ORDER BY meta.dt"
        ).to_pylist()
        reason = engine.query("SELECT reason FROM quarantine.events").to_pylist()
    assert rows == [
        {"tags": ["x"], "a": 1, "user_id": None, "anon": None, "nobody": True},
        {"tags": None, "a": None, "user_id": 7, "anon": False, "nobody": False},
    ]
    assert reason == [{"reason": "event.counts: 18446744073709551616 does not fit a 64-bit integer"}]

    missing = CliRunner().invoke(main, ["--warehouse", str(tmp_path / "wh"), "ingest", "events", "--schemas", str(tmp_path / "nope"), str(source)])
    assert missing.exit_code == 2 and "no such folder of event schemas" in missing.output


def test_a_schema_whose_id_disagrees_with_its_place_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "schemas"
    path = write_schema(root, thing_schema("1.0.0", {"a": {"type": "string"}}))
    path.rename(path.with_name("1.0.1.json"))
    with pytest.raises(InputError) as raised:
        Registry(root)
    assert "1.0.1.json" in str(raised.value) and "set $id to /test/Things/1.0.1" in str(raised.value)


@pytest.mark.parametrize("depth", [600, 1100, 100_000])
def test_an_event_nested_deeper_than_the_decoder_is_one_quarantined_line(warehouse: Warehouse, tmp_path: Path, depth: int) -> None:
    root = tmp_path / "schemas"
    write_schema(root, thing_schema("1.0.0", {"a": {"type": "string"}}))  # `event` takes any other key, of any depth
    good = [thing("1.0.0", f"2026-11-03T07:00:{s:02d}Z", a=str(s)) for s in range(40)]
    deep = thing("1.0.0", "2026-11-03T07:01:00Z", a="deep").replace('"a": "deep"', '"a": "deep", "free": ' + "[" * depth + "]" * depth)
    path = tmp_path / "deep.json"
    path.write_text("\n".join(good[:20] + [deep] + good[20:]) + "\n", "utf-8")
    summary = events.load(warehouse, [path], registry=Registry(root), now=NOW)
    assert summary.read == 41 == summary.stored + summary.quarantined
    with open_engine(warehouse) as engine:
        rows = engine.query("SELECT line, reason FROM quarantine.events").to_pylist()
        stored = engine.query("SELECT event.a AS a FROM event.things").to_pylist()
    if depth < 900:  # decoded: valid (the free key is not a column), stored without it
        assert (summary.stored, rows) == (41, [])
    else:
        assert summary.stored == 40 and rows == [{"line": 21, "reason": rows[0]["reason"]}] and "nested too deeply" in rows[0]["reason"]
    assert sorted(r["a"] for r in stored) == sorted([str(s) for s in range(40)] + (["deep"] if depth < 900 else []))


def test_the_next_load_removes_what_a_killed_load_left(warehouse: Warehouse, tmp_path: Path) -> None:
    """A writer killed between writing its temporary file and renaming it (a real SIGKILL of a real process)."""
    path = generate.write_events(tmp_path / "a.json", generate.codemirror_events(3, DAY, sessions_per_day=300))
    events.load(warehouse, [path], now=NOW)
    target = sorted(warehouse.table_dir("event", "codemirrorusage").glob("*/*/*/*/part-*.parquet"))[0]
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_WRITER, str(target.with_name("part-killed.parquet"))], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    live = subprocess.Popen(
        [sys.executable, "-c", LIVE_WRITER, str(target.with_name("part-live.parquet"))], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert live.stdout is not None and live.stdout.readline().strip() == b"writing"
        left = sorted(p.name for p in target.parent.glob(".part-*.tmp"))
        assert len(left) == 2 and any(f"-{live.pid}-" in name for name in left)
        events.load(warehouse, [generate.write_events(tmp_path / "b.json", generate.codemirror_events(4, DAY, sessions_per_day=300))], now=NOW)
        assert [p.name for p in target.parent.glob(".part-*.tmp")] == [name for name in left if f"-{live.pid}-" in name]  # the live one stays
    finally:
        live.communicate(b"done\n", timeout=60)
    assert live.returncode == 0 and target.with_name("part-live.parquet").read_bytes() == b"live"
    assert list(target.parent.glob(".part-*.tmp")) == []


KILLED_WRITER = """
import os, signal, sys
from metrics import atomic
with atomic.temporary(sys.argv[1]) as tmp:
    tmp.write_bytes(b"half a file")
    os.kill(os.getpid(), signal.SIGKILL)
"""
LIVE_WRITER = """
import sys
from metrics import atomic
with atomic.temporary(sys.argv[1]) as tmp:
    tmp.write_bytes(b"live")
    print("writing", flush=True)
    sys.stdin.readline()
"""


def test_schemas_too_deep_or_pointing_outside_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "schemas"
    node: dict = {"type": "string"}
    for _ in range(60):
        node = {"type": "object", "properties": {"a": node}}
    path = write_schema(root, thing_schema("1.0.0", {"a": node}))
    with pytest.raises(InputError, match="nested too deeply"):
        Registry(root)
    path.write_text(json.dumps(thing_schema("1.0.0", {"a": {"$ref": "http://127.0.0.1:9/elsewhere.json"}})), "utf-8")
    with pytest.raises(InputError, match="points outside the schema"):
        Registry(root)
    path.write_text('{"a": ' * 100_000 + "1" + "}" * 100_000, "utf-8")
    with pytest.raises(InputError, match="nested too deeply to read"):
        Registry(root)
