"""The fast event decoder (msgspec Structs built from the schemas) never accepts what the JSON
Schema refuses, and a load with it stores and quarantines exactly what the validator alone would."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any, Iterator

import jsonschema
import pytest

from ingestion import events, generate
from ingestion.events import Batch
from ingestion.registry import Registry
from metrics.engines import open_engine
from metrics.warehouse import Warehouse

DAY = dt.date(2026, 11, 3)
NOW = dt.datetime(2026, 11, 10, tzinfo=dt.timezone.utc)
ODD_VALUES: list[Any] = [None, 0, 1, -1, 1.0, 1.5, 2**63, -(2**63) - 1, 10**400, "", "x", True, False, {}, [], "2026-11-03T07:00:00Z"]
ODD_TIMES = [
    "2026-11-03 07:00:00Z",
    "2026-11-03T07:00:00",
    "2026-11-03T07:00:00+02:00",
    "2026-11-03t07:00:00z",
    "2026-11-03",
    "2026-11-03T07:00:00.123456789Z",
    "2026-11-03T25:00:00Z",
    "2026-11-03T23:59:60Z",
    "not a time",
    "2026-11-30T07:00:00Z",
]

TEST_SCHEMA_V1 = {
    "$id": "/test/thing/1.0.0",
    "title": "test/thing",
    "type": "object",
    "additionalProperties": False,
    "required": ["$schema", "meta", "count"],
    "properties": {
        "$schema": {"type": "string"},
        "meta": {
            "type": "object",
            "required": ["stream", "dt"],
            "properties": {  # additional properties allowed
                "stream": {"type": "string", "minLength": 1},
                "dt": {"type": "string", "format": "date-time"},
            },
        },
        "count": {"type": "integer", "minimum": 0, "maximum": 1000},
        "ratio": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
        "score": {"type": "number"},
        "seen": {"type": "string", "format": "date-time"},
        "label": {"type": "string", "minLength": 2, "maxLength": 4},
        "kind": {"type": "string", "enum": ["a", "bb", "ccccc"], "maxLength": 3},
        "detail": {
            "type": "object",
            "additionalProperties": False,
            "required": ["flag"],
            "properties": {"flag": {"type": "boolean"}, "big": {"type": "integer"}, "note": {"type": "string"}},
        },
    },
}
TEST_SCHEMA_V2 = {**copy.deepcopy(TEST_SCHEMA_V1), "$id": "/test/thing/2.0.0"}
TEST_SCHEMA_V2["properties"]["label"]["pattern"] = "^[a-z]+$"  # a keyword the fast decoder leaves to the validator
TEST_SCHEMA_V2["properties"]["meta"] = {
    "type": "object",
    "required": ["dt"],
    "properties": {  # loose: the loader still checks
        "stream": {"type": "string"},
        "dt": {},
    },
}


def good_thing(version: str) -> dict:
    return {
        "$schema": f"/test/thing/{version}",
        "meta": {"stream": "things", "dt": "2026-11-03T07:15:00Z", "extra": 1},
        "count": 3,
        "ratio": 0.5,
        "score": 9007199254740993,
        "seen": "2026-11-01T00:00:00+00:00",
        "label": "abc",
        "kind": "bb",
        "detail": {"flag": True, "big": 5, "note": "n"},
    }


def mutations(event: dict) -> Iterator[dict]:
    """Variants of a valid event: each field dropped, given odd values, unknown keys added, odd times."""

    def paths(node: dict, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
        for key, value in node.items():
            yield prefix + (key,)
            if isinstance(value, dict):
                yield from paths(value, prefix + (key,))

    def at(root: dict, path: tuple[str, ...]) -> dict:
        for key in path:
            root = root[key]
        return root

    for path in list(paths(event)):
        parent = path[:-1]
        dropped = copy.deepcopy(event)
        del at(dropped, parent)[path[-1]]
        yield dropped
        for value in ODD_VALUES:
            changed = copy.deepcopy(event)
            at(changed, parent)[path[-1]] = value
            yield changed
    for path in [()] + [p for p in paths(event) if isinstance(at(event, p), dict)]:
        extra = copy.deepcopy(event)
        at(extra, path)["unknown_field"] = "x"
        yield extra
    for text in ODD_TIMES:
        changed = copy.deepcopy(event)
        changed["meta"]["dt"] = text
        yield changed
    for uri in [event["$schema"].lstrip("/"), event["$schema"] + "x", "", None]:
        changed = copy.deepcopy(event)
        changed["$schema"] = uri
        yield changed


def lines_of(good: list[dict]) -> list[bytes]:
    lines = [json.dumps(e, separators=(",", ":")).encode() for e in good]
    for event in good[:4]:
        lines += [json.dumps(m).encode() for m in mutations(event)]
    lines += [line.encode() for line in generate.bad_event_lines(NOW).values()]
    lines += [b'{"$schema":"/analytics/legacy/codemirrorusage/1.1.0","wiki":"enwiki","wiki":NaN}', b'{"a":"\\ud800"}', b"\xff\xfe", b"", b"  ", b"[]"]
    sample = json.dumps(good[0])
    lines += [sample.replace('"meta"', '"meta": {}, "meta"', 1).encode(), (sample + "\n").encode(), sample.encode("utf-16")]
    return lines


def load_both(tmp_path: Path, root: Path, streams: dict[str, str] | None, lines: list[bytes]) -> tuple[list, list]:
    results = []
    for fast in (True, False):
        registry = Registry(root, streams, fast=fast)
        warehouse = Warehouse(tmp_path / f"fast-{fast}")
        summary = events.load_lines(warehouse, "src", "src", lines, registry=registry, now=NOW)
        assert summary.read == summary.stored + summary.quarantined == len(lines)
        with open_engine(warehouse) as engine:
            stored = {t.name: engine.query(f"SELECT * FROM event.{t.name}").to_pylist() for t in warehouse.tables() if t.schema == "event"}
            rejected = engine.query("SELECT line, raw, reason FROM quarantine.events ORDER BY line").to_pylist()
        results.append(({k: sorted(v, key=repr) for k, v in stored.items()}, rejected))
    return results[0], results[1]


def reference_validators(registry: Registry) -> dict[str, jsonschema.Draft7Validator]:
    """Plain `jsonschema` with its own format checks (date-time by rfc3339_validator), not the loader's."""
    checker = jsonschema.Draft7Validator.FORMAT_CHECKER
    assert "date-time" in checker.checkers and not jsonschema.Draft7Validator({"format": "date-time"}, format_checker=checker).is_valid("2026-11-01T05Z")
    return {
        uri: jsonschema.Draft7Validator(json.loads((registry.root / (uri.lstrip("/") + ".json")).read_text()), format_checker=checker)
        for uri in registry.versions
    }


def assert_fast_never_laxer(registry: Registry, lines: list[bytes]) -> int:
    """Every line the fast path stores is valid under plain `jsonschema`; returns how many it stored."""
    validators = reference_validators(registry)
    stored = 0
    for line in lines:
        batch = Batch(registry, "src", NOW)
        try:
            event = registry.decode(line)
        except Exception:
            continue
        if batch._add_struct(event):
            parsed = json.loads(line)
            errors = list(validators[parsed["$schema"]].iter_errors(parsed))
            assert not errors, (line, errors[0].message)
            stored += 1
    return stored


def test_shipped_schemas_all_have_the_fast_decoder() -> None:
    registry = Registry()
    assert {f.version.uri for f in registry.fast.values()} == set(registry.versions)


def test_shipped_streams_fast_and_slow_agree(tmp_path: Path) -> None:
    good = generate.codemirror_events(3, DAY, sessions_per_day=400, rollout=0.5) + generate.reference_previews_events(3, DAY, pageviews_per_day=100)
    lines = lines_of(good)
    fast, slow = load_both(tmp_path, Registry().root, None, lines)
    assert fast == slow
    stored, rejected = fast
    assert sum(len(rows) for rows in stored.values()) > len(good) and len(rejected) > 100
    assert assert_fast_never_laxer(Registry(), lines) >= len(good)


@pytest.fixture
def thing_schemas(tmp_path: Path) -> Path:
    root = tmp_path / "schemas"
    for schema in (TEST_SCHEMA_V1, TEST_SCHEMA_V2):
        path = root / (schema["$id"].lstrip("/") + ".json")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(schema), "utf-8")
    return root


def test_every_supported_keyword_fast_and_slow_agree(tmp_path: Path, thing_schemas: Path) -> None:
    registry = Registry(thing_schemas, {"things": "test/thing"})
    assert {f.version.uri for f in registry.fast.values()} == {"/test/thing/1.0.0"}  # 2.0.0 has a pattern
    good = [
        good_thing("1.0.0"),
        good_thing("2.0.0"),
        {**good_thing("1.0.0"), "ratio": 1, "kind": "a"},
        {k: v for k, v in good_thing("1.0.0").items() if k not in ("ratio", "seen", "label", "kind", "detail")},
    ]
    lines = lines_of(good)
    fast, slow = load_both(tmp_path, thing_schemas, {"things": "test/thing"}, lines)
    assert fast == slow
    stored, rejected = fast
    assert len(stored["things"]) > len(good)
    reasons = " ".join(r["reason"] for r in rejected)
    assert "does not fit a 64-bit integer" in reasons and "bad JSON" in reasons
    assert "missing meta.stream" in reasons and "'2026-11-03T07:00:00' is not an RFC 3339 date-time" in reasons
    assert assert_fast_never_laxer(registry, lines) >= 3
