"""The event schema registry: versioned JSON Schemas, their compiled validators and table layouts.

Schemas live in `ingestion/schemas/<title>/<version>.json` (title e.g. `analytics/legacy/codemirrorusage`)
and are named in events by `$schema: /<title>/<version>`. Each stream takes one schema title.

Events are flattened into columns: `meta.stream` -> `meta_stream`, `event.session_token` ->
`event_session_token`, plus `schema_version`. A stream's table layout is the union of every
version's columns, newest first: an event valid under an older version is stored under the newest
layout (fields it lacks are NULL), and a field a later version removed is kept.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import fastjsonschema
import pyarrow as pa

from metrics.problems import InputError

SCHEMAS = Path(__file__).parent / "schemas"
STREAMS = {
    "codemirrorusage": "analytics/legacy/codemirrorusage",
    "referencepreviewsbaseline": "analytics/legacy/referencepreviewsbaseline",
}
"""Stream name -> the schema title its events must have (as EventStreamConfig declares)."""

TIMESTAMP = pa.timestamp("us", tz="UTC")
SCALARS = {"string": pa.string(), "boolean": pa.bool_(), "integer": pa.int64(), "number": pa.float64()}
VERSION = re.compile(r"^\d+\.\d+\.\d+$")


@dataclass(frozen=True)
class Column:
    name: str
    path: tuple[str, ...]
    type: pa.DataType


@dataclass(frozen=True, eq=False)
class SchemaVersion:
    """One version of one schema: how to validate an event and turn it into a row."""

    title: str
    version: str
    columns: tuple[Column, ...]
    validate: Callable[[Any], Any]
    """Raises `fastjsonschema.JsonSchemaValueException` for an invalid event."""

    @property
    def uri(self) -> str:
        return f"/{self.title}/{self.version}"

    row: Callable[[dict, object], tuple]
    """`row(event, meta_dt)`: the event's values in column order, `meta_dt` (epoch microseconds) in its place."""


def _row_function(columns: tuple[Column, ...]) -> Callable[[dict, object], tuple]:
    """A compiled `row(event, meta_dt)` for these columns (one tuple per event, no per-field loop)."""
    parts = []
    for column in columns:
        if column.path == ("meta", "dt"):
            parts.append("moment")
            continue
        expr = "e"
        for i, key in enumerate(column.path):
            last = i == len(column.path) - 1
            expr = f"{expr}.get({key!r})" if last else f"({expr}.get({key!r}) or EMPTY)"
        parts.append(expr)
    return eval(f"lambda e, moment: ({', '.join(parts)},)", {"EMPTY": {}})  # noqa: S307 - built from schema keys with repr()


def is_date_time(text: str) -> bool:
    """ISO 8601 date and time with a time zone (what `format: date-time` means; faster than a regex)."""
    try:
        return dt.datetime.fromisoformat(text).tzinfo is not None and text[10:11] in ("T", "t")
    except ValueError:
        return False


def _flatten(schema: dict, path: tuple[str, ...] = ()) -> list[Column]:
    columns = []
    for key, sub in schema.get("properties", {}).items():
        if key == "$schema":
            continue  # becomes schema_version
        here = path + (key,)
        kind = sub.get("type")
        if kind == "object" and "properties" in sub:
            columns += _flatten(sub, here)
        elif here == ("meta", "dt"):
            columns.append(Column("meta_dt", here, TIMESTAMP))  # other date-time fields stay text
        elif kind in SCALARS:
            columns.append(Column("_".join(here).lower(), here, SCALARS[kind]))
        else:
            raise ValueError(f"field {'.'.join(here)} has type {kind!r}, which cannot be a column (use string, boolean, integer, number or object)")
    return columns


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


class Registry:
    """Every schema version under a folder, with a compiled validator each."""

    def __init__(self, root: Path | str = SCHEMAS, streams: dict[str, str] | None = None):
        self.root = Path(root)
        self.streams = dict(STREAMS if streams is None else streams)
        self.versions: dict[str, SchemaVersion] = {}
        for path in sorted(self.root.glob("**/*.json")):
            version = path.stem
            title = path.parent.relative_to(self.root).as_posix()
            if not VERSION.fullmatch(version):
                continue
            try:
                document = json.loads(path.read_text("utf-8"))
                validate = fastjsonschema.compile(document, formats={"date-time": is_date_time})
                columns = tuple(_flatten(document))
            except (ValueError, fastjsonschema.JsonSchemaDefinitionException) as exc:
                raise InputError.at(path, f"invalid event schema: {exc}", "fix the schema file") from None
            entry = SchemaVersion(title, version, columns, validate, _row_function(columns))
            self.versions[entry.uri] = entry

    def get(self, uri: str) -> SchemaVersion | None:
        """The schema version an event's `$schema` names (with or without the leading `/`)."""
        return self.versions.get(uri if uri.startswith("/") else "/" + uri)

    def history(self, title: str) -> list[SchemaVersion]:
        """Every version of a schema title, oldest first."""
        return sorted((v for v in self.versions.values() if v.title == title), key=lambda v: _version_key(v.version))

    @functools.cache
    def layout(self, title: str) -> pa.Schema:
        """The table columns of a schema title: the newest version's, then fields older versions had."""
        fields: dict[str, pa.DataType] = {}
        for entry in reversed(self.history(title)):
            for column in entry.columns:
                known = fields.get(column.name)
                if known is not None and known != column.type:
                    raise InputError.at(self.root / title, f"field {column.name} changes type between versions ({known} -> {column.type})", "add a new field instead of changing the type of one")
                fields.setdefault(column.name, column.type)
        names = list(fields)
        at = max((i + 1 for i, n in enumerate(names) if n.startswith("meta_")), default=0)
        names.insert(at, "schema_version")
        fields["schema_version"] = pa.string()
        return pa.schema([pa.field(n, fields[n]) for n in names])
