"""Events: validated per schema version, stored under the newest layout, bad ones quarantined, no duplicates."""

from __future__ import annotations

import datetime as dt
import io
import json
import sys
from collections import Counter
from pathlib import Path

import pytest

from ingestion import events, generate
from ingestion.registry import Registry
from metrics.engines import open_engine
from metrics.warehouse import Warehouse
from tests.ingestion.conftest import read_both

DAY = dt.date(2026, 11, 3)
NOW = dt.datetime(2026, 11, 10, tzinfo=dt.timezone.utc)


def test_a_day_of_events_is_stored_exactly(warehouse: Warehouse, tmp_path: Path) -> None:
    cm = generate.codemirror_events(5, DAY, sessions_per_day=3000, rollout=0.5)
    rp = generate.reference_previews_events(5, DAY, pageviews_per_day=300)
    path = generate.write_events(tmp_path / "mixed.json", cm + rp)
    summary = events.load(warehouse, [path], now=NOW)
    assert (summary.read, summary.stored, summary.quarantined) == (len(cm) + len(rp), len(cm) + len(rp), 0)

    table = read_both(warehouse, "event", "codemirrorusage", ["meta_id"])
    lines = path.read_text("utf-8").splitlines()
    parsed = [json.loads(line) for line in lines]
    assert table.num_rows == sum(1 for e in parsed if e["meta"]["stream"] == "codemirrorusage")
    expect = Counter((e["meta"]["dt"][:13], e["event"]["toggled"]) for e in parsed if e["meta"]["stream"] == "codemirrorusage")
    got = Counter((f"{r['year']:04d}-{r['month']:02d}-{r['day']:02d}T{r['hour']:02d}", r["event_toggled"]) for r in table.to_pylist())
    assert got == expect
    versions = Counter(r["schema_version"] for r in table.to_pylist())
    assert set(versions) == {"1.0.0", "1.1.0"}
    old = [r for r in table.to_pylist() if r["schema_version"] == "1.0.0"]
    assert all(r["event_edit_count_bucket"] is None for r in old)  # older version: newer field is NULL
    assert table.schema.field("meta_dt").type.tz == "UTC"

    clicks = read_both(warehouse, "event", "referencepreviewsbaseline", ["meta_id"])
    assert Counter(clicks["event_action"].to_pylist()) == Counter(e["event"]["action"] for e in parsed if e["meta"]["stream"] == "referencepreviewsbaseline")


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
        ids = engine.query("SELECT meta_id FROM event.codemirrorusage").to_pylist()
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


def test_layout_is_the_union_of_versions_newest_first(tmp_path: Path) -> None:
    root = tmp_path / "schemas" / "t" / "s"
    root.mkdir(parents=True)
    base = {
        "type": "object",
        "properties": {
            "$schema": {"type": "string"},
            "meta": {"type": "object", "properties": {"stream": {"type": "string"}, "dt": {"type": "string", "format": "date-time"}}},
        },
    }
    v1 = json.loads(json.dumps(base))
    v1["properties"]["gone"] = {"type": "integer"}
    v2 = json.loads(json.dumps(base))
    v2["properties"]["added"] = {"type": "boolean"}
    (root / "1.0.0.json").write_text(json.dumps(v1))
    (root / "2.0.0.json").write_text(json.dumps(v2))
    layout = Registry(tmp_path / "schemas", {"s": "t/s"}).layout("t/s")
    assert layout.names == ["meta_stream", "meta_dt", "schema_version", "added", "gone"]
