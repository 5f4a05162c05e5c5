"""The event schema registry: versioned JSON Schemas, their compiled validators and table layouts.

Schemas live in `ingestion/schemas/<title>/<version>.json` (title e.g. `analytics/legacy/codemirrorusage`)
and are named in events by `$schema: /<title>/<version>`. Each stream takes one schema title.

Events are flattened into columns: `meta.stream` -> `meta_stream`, `event.session_token` ->
`event_session_token`, plus `schema_version`. A stream's table layout is the union of every
version's columns, newest first: an event valid under an older version is stored under the newest
layout (fields it lacks are NULL), and a field a later version removed is kept.

Fast path: each version whose schema uses only the keywords listed in `_fast_type` is also turned
into a msgspec Struct type, tagged by its `$schema`, so one C call parses and checks a typical event.
The Struct is never laxer than the JSON Schema (it may be stricter: `1.0` for an integer, NaN,
lone surrogates); an event it refuses goes through `json` + the compiled JSON Schema validator,
which has the last word and names the reason.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Callable, Literal, Union

import fastjsonschema
import msgspec
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
    integer_columns: tuple[int, ...] = ()
    """Positions in `row` of the integer columns (stored as BIGINT: values must fit 64 bits)."""
    number_columns: tuple[int, ...] = ()
    """Positions in `row` of the number columns (stored as DOUBLE: integers are converted)."""


@dataclass(frozen=True, eq=False)
class FastVersion:
    """A schema version as a msgspec Struct type, with its accessors compiled for that type."""

    version: SchemaVersion
    type: type
    fields: Callable[[Any], tuple]
    """`fields(struct)`: (meta.stream, meta.dt, other date-time strings...) of a decoded event."""
    row: Callable[[Any, object], tuple]
    """Same as `SchemaVersion.row`, for the decoded Struct."""


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


class _Unsupported(Exception):
    """A schema keyword the fast decoder does not express: the version keeps the validator only."""


ANNOTATIONS = {"description", "title", "$id", "$schema", "$comment", "examples"}
ALLOWED = {
    "object": {"type", "properties", "required", "additionalProperties"},
    "string": {"type", "minLength", "maxLength", "enum", "format"},
    "boolean": {"type"},
    "integer": {"type", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"},
    "number": {"type", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"},
}
INT64 = (-(1 << 63), (1 << 63) - 1)


@dataclass
class _Access:
    """How to reach one field of a decoded Struct: attribute names, and which steps may be UNSET."""

    attrs: tuple[str, ...]
    optional: tuple[bool, ...]

    def expr(self, var: str, tmp: str) -> str:
        """A Python expression of the field's value, None where it (or an object above it) is absent."""
        expr = var
        for depth, (attr, optional) in enumerate(zip(self.attrs, self.optional)):
            expr = f"{expr}.{attr}"
            if optional:
                name = f"{tmp}_{depth}"
                rest = self.expr_from(name, depth + 1, tmp)
                return f"(None if ({name} := {expr}) is UNSET else {rest})"
        return expr

    def expr_from(self, var: str, start: int, tmp: str) -> str:
        return _Access(self.attrs[start:], self.optional[start:]).expr(var, f"{tmp}_{start}") if start < len(self.attrs) else var


def _bounds(schema: dict, integer: bool) -> dict[str, object]:
    meta: dict[str, object] = {}
    for key, name in (("minimum", "ge"), ("maximum", "le"), ("exclusiveMinimum", "gt"), ("exclusiveMaximum", "lt")):
        if key in schema:
            value = schema[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise _Unsupported(key)  # draft-4 boolean exclusive bounds
            meta[name] = value
    if integer:  # what does not fit a BIGINT column is left to the slow path, which quarantines it
        meta["ge"] = max(meta.get("ge", INT64[0]), INT64[0])  # type: ignore[call-overload]
        meta["le"] = min(meta.get("le", INT64[1]), INT64[1])  # type: ignore[call-overload]
    return meta


def _fast_type(
    schema: dict, path: tuple[str, ...], access: dict[tuple[str, ...], _Access], parent: _Access, datetimes: list[tuple[str, ...]], tag: str | None = None
) -> Any:
    """The msgspec type of one (sub)schema; raises `_Unsupported` for what it cannot express exactly or stricter."""
    kind = schema.get("type")
    if not isinstance(kind, str) or kind not in ALLOWED:
        raise _Unsupported(f"type {kind!r}")
    extra = set(schema) - ALLOWED[kind] - ANNOTATIONS
    if extra:
        raise _Unsupported(", ".join(sorted(extra)))
    if kind == "object":
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        additional = schema.get("additionalProperties", True)
        if not isinstance(additional, bool) or not required <= set(properties) | ({"$schema"} if tag else set()):
            raise _Unsupported("additionalProperties or required")
        fields = []
        for i, (key, sub) in enumerate(properties.items()):
            if tag and key == "$schema":
                if set(sub) - {"type"} - ANNOTATIONS or sub.get("type") != "string" or "$schema" not in required:
                    raise _Unsupported("$schema")
                continue  # the Struct's tag: present and equal to the version's URI
            attr = f"f{i}"
            here = _Access(parent.attrs + (attr,), parent.optional + (key not in required,))
            access[path + (key,)] = here
            sub_type = _fast_type(sub, path + (key,), access, here, datetimes)
            if key in required:
                fields.append((attr, sub_type, msgspec.field(name=key)))
            else:
                fields.append((attr, Union[sub_type, msgspec.UnsetType], msgspec.field(name=key, default=msgspec.UNSET)))
        name = "_".join(("Event",) + path).replace("-", "_")
        options: dict[str, Any] = {"tag_field": "$schema", "tag": tag} if tag else {}
        return msgspec.defstruct(name, fields, kw_only=True, forbid_unknown_fields=not additional, **options)
    if kind == "string":
        if "format" in schema:
            if schema["format"] != "date-time" or "enum" in schema:
                raise _Unsupported(f"format {schema['format']!r}")
            datetimes.append(path)  # checked after decoding, as the validator checks it
        bounds = {"min_length": schema.get("minLength"), "max_length": schema.get("maxLength")}
        lengths: dict[str, int] = {k: v for k, v in bounds.items() if v is not None}
        if "enum" in schema:
            values = schema["enum"]
            if not values or not all(isinstance(v, str) for v in values):
                raise _Unsupported("enum")
            low, high = lengths.get("min_length", 0), lengths.get("max_length", float("inf"))
            allowed = tuple(v for v in values if low <= len(v) <= high)
            if not allowed:
                raise _Unsupported("enum")
            return Literal[allowed]
        return Annotated[str, msgspec.Meta(min_length=lengths.get("min_length"), max_length=lengths.get("max_length"))] if lengths else str
    if kind == "boolean":
        return bool
    meta = _bounds(schema, kind == "integer")
    base = int if kind == "integer" else float
    return Annotated[base, msgspec.Meta(**meta)] if meta else base  # type: ignore[call-overload]


_NO_VERSION = msgspec.defstruct("NoVersion", [], tag_field="$schema", tag="")
"""A union member no version matches (`$schema: ""` decodes to it, and then takes the slow path)."""


def _fast_version(document: dict, version: SchemaVersion) -> FastVersion | None:
    """The fast decoder of a version, or None when its schema uses keywords it does not express."""
    access: dict[tuple[str, ...], _Access] = {}
    datetimes: list[tuple[str, ...]] = []
    try:
        struct = _fast_type(document, (), access, _Access((), ()), datetimes, tag=version.uri)
    except _Unsupported:
        return None
    if ("meta", "stream") not in access or ("meta", "dt") not in access:
        return None
    others = [p for p in datetimes if p != ("meta", "dt")]
    wanted = [("meta", "stream"), ("meta", "dt")] + others
    fields = ", ".join(access[p].expr("s", f"t{i}") for i, p in enumerate(wanted))
    parts = []
    for i, column in enumerate(version.columns):
        parts.append("moment" if column.path == ("meta", "dt") else access[column.path].expr("s", f"c{i}"))
    env = {"UNSET": msgspec.UNSET}
    return FastVersion(
        version,
        struct,
        eval(f"lambda s: ({fields},)", env),  # noqa: S307 - built from generated attribute names
        eval(f"lambda s, moment: ({', '.join(parts)},)", env),  # noqa: S307
    )


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

    def __init__(self, root: Path | str = SCHEMAS, streams: dict[str, str] | None = None, *, fast: bool = True):
        self.root = Path(root)
        self.streams = dict(STREAMS if streams is None else streams)
        self.versions: dict[str, SchemaVersion] = {}
        self.fast: dict[type, FastVersion] = {}
        """Struct type -> its version, for the versions the fast decoder covers (`fast=False`: none)."""
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
            integers = tuple(i for i, c in enumerate(columns) if c.type == pa.int64())
            numbers = tuple(i for i, c in enumerate(columns) if c.type == pa.float64())
            entry = SchemaVersion(title, version, columns, validate, _row_function(columns), integers, numbers)
            self.versions[entry.uri] = entry
            fast_entry = _fast_version(document, entry) if fast else None
            if fast_entry is not None:
                self.fast[fast_entry.type] = fast_entry
        self.decode: Callable[[bytes], Any] | None = None
        """Parses and checks an event with the fast Structs in one call (None: no version has one)."""
        if self.fast:
            # Always a union: msgspec checks the tag of a union's members, not of a lone Struct type.
            types = tuple(self.fast) + (_NO_VERSION,)
            self.decode = msgspec.json.Decoder(Union[types]).decode

    def get(self, uri: str) -> SchemaVersion | None:
        """The schema version an event's `$schema` names (with or without the leading `/`)."""
        return self.versions.get(uri if uri.startswith("/") else "/" + uri)

    def history(self, title: str) -> list[SchemaVersion]:
        """Every version of a schema title, oldest first."""
        return sorted((v for v in self.versions.values() if v.title == title), key=lambda v: _version_key(v.version))

    @functools.cache  # noqa: B019  registries live as long as the process (events keeps one), so holding them costs nothing
    def layout(self, title: str) -> pa.Schema:
        """The table columns of a schema title: the newest version's, then fields older versions had."""
        fields: dict[str, pa.DataType] = {}
        for entry in reversed(self.history(title)):
            for column in entry.columns:
                known = fields.get(column.name)
                if known is not None and known != column.type:
                    raise InputError.at(
                        self.root / title,
                        f"field {column.name} changes type between versions ({known} -> {column.type})",
                        "add a new field instead of changing the type of one",
                    )
                fields.setdefault(column.name, column.type)
        names = list(fields)
        at = max((i + 1 for i, n in enumerate(names) if n.startswith("meta_")), default=0)
        names.insert(at, "schema_version")
        fields["schema_version"] = pa.string()
        return pa.schema([pa.field(n, fields[n]) for n in names])
