"""The event schema registry: versioned JSON Schemas, their compiled validators and table layouts.

Schemas live in a folder (`ingestion/schemas/` by default, `--schemas DIR`), one file per version:
`<title>/<version>.json` (title e.g. `analytics/legacy/codemirrorusage`), and are named in events by
`$schema: /<title>/<version>` (the schema's `$id`). Each schema title is one stream, named after the
title's last part (`codemirrorusage`), which is also its table `event.<stream>`: no list of streams
is kept anywhere.

Events keep their shape, as in Wikimedia's Hive event tables: top-level fields are columns, nested
objects are struct columns (`event.action`, `meta.dt`), arrays are arrays and objects of free keys
(`additionalProperties: {...}`) are maps. Names are normalised as Wikimedia's Refine does
(lower case, anything but `a-z0-9_` becomes `_`: `$schema` -> `_schema`). A stream's layout is
the union of every version's, newest first, struct fields included: an event of an older version is
stored in the newest layout with the fields it lacks NULL, and a field a later version removed is kept.

An event becomes one tuple of leaf values (`SchemaVersion.leaves`: each scalar, array or map, and
whether each optional object is there), which `SchemaVersion.columns` turns into (struct) columns.

Fast path: each version whose schema uses only the keywords listed in `_fast_type` is also turned
into a msgspec Struct type, tagged by its `$schema`, so one C call parses and checks a typical event.
The Struct is never laxer than the JSON Schema (it may be stricter: `1.0` for an integer, NaN,
lone surrogates); an event it refuses goes through `json` + the compiled JSON Schema validator,
which has the last word and names the reason.

`format: date-time` means RFC 3339 (`rfc3339_validator`, as `jsonschema` uses it): `t` and `z` may be
lower case, seconds are required (`2026-11-01T05Z` is refused), and so is a time zone.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Callable, Literal, Mapping, Union

import fastjsonschema
import msgspec
import pyarrow as pa
import pyarrow.compute as pc
from rfc3339_validator import RFC3339_REGEX, validate_rfc3339  # type: ignore[import-untyped]

from metrics.problems import InputError
from metrics.warehouse import FIELD, NAME, widen

SCHEMAS = Path(__file__).parent / "schemas"
SCALARS = {"string": pa.string(), "boolean": pa.bool_(), "integer": pa.int64(), "number": pa.float64()}
VERSION = re.compile(r"^\d+\.\d+\.\d+$")
INT64 = (-(1 << 63), (1 << 63) - 1)


def field_name(key: str) -> str:
    """A JSON key as a Hive column or struct field name, as Wikimedia's Refine normalises it (`$schema` -> `_schema`)."""
    return re.sub(r"[^a-z0-9_]", "_", key.lower())


def stream_name(title: str) -> str:
    """The stream (and table) of a schema title: its last part, normalised (`analytics/legacy/CodeMirrorUsage` -> `codemirrorusage`)."""
    return field_name(title.rstrip("/").rsplit("/", 1)[-1])


def is_date_time(text: str) -> bool:
    """An RFC 3339 date-time (`format: date-time` of JSON Schema), as `jsonschema` checks it."""
    return validate_rfc3339(text.upper()) and not text.endswith("\n")


def moment(text: str) -> dt.datetime:
    """The time of an RFC 3339 date-time (already checked by `is_date_time`)."""
    return dt.datetime.fromisoformat(text.upper())


_rfc3339 = RFC3339_REGEX.match
_fromisoformat = dt.datetime.fromisoformat


def seconds_of(text: str) -> float | None:
    """Epoch seconds of an RFC 3339 date-time, None when `text` is not one (`is_date_time` and `moment` in one, for the fast path)."""
    upper = text.upper()
    if _rfc3339(upper) is None or text[-1] == "\n":
        return None
    try:
        return _fromisoformat(upper).timestamp()  # also refuses what the grammar allows but the calendar does not (February 30)
    except ValueError:
        return None


@dataclass(frozen=True)
class Leaf:
    """One value an event's row holds: a scalar, an array or a map at `path`, or (`present`) whether the optional object at `path` is there."""

    path: tuple[str, ...]
    type: pa.DataType
    present: bool = False
    fix: Callable[[Any], Any] | None = None
    """For the slow path: checks (integers fit 64 bits) and converts (JSON 3 for a number -> 3.0) a value; raises ValueError."""


@dataclass(frozen=True, eq=False)
class SchemaVersion:
    """One version of one schema: how to validate an event and turn it into a row."""

    title: str
    version: str
    uri: str
    leaves: tuple[Leaf, ...]
    type: pa.StructType
    """The event as a row: one field per column, nested objects as structs (normalised names)."""
    validate: Callable[[Any], Any]
    """Raises `fastjsonschema.JsonSchemaValueException` for an invalid event."""
    row: Callable[[dict], tuple]
    """`row(event)`: the event's leaf values, in `leaves` order."""
    fixes: tuple[int, ...] = ()
    """Positions in `leaves` of the leaves with a `fix`."""

    @property
    def stream(self) -> str:
        return stream_name(self.title)

    def columns(self, values: list[pa.Array]) -> list[pa.Array]:
        """The columns of `type` from the leaf arrays (objects that are not there are NULL structs)."""
        by_path = {leaf.path + (("",) if leaf.present else ()): array for leaf, array in zip(self.leaves, values)}
        return [_assemble(by_path, (key,), f.type) for key, f in zip(_keys(self.type), self.type)]


def _keys(struct: pa.StructType) -> list[str]:
    """The JSON keys of a struct's fields (kept in the field metadata: names are normalised)."""
    return [f.metadata[b"key"].decode() for f in struct]


def _assemble(by_path: Mapping[tuple[str, ...], pa.Array], path: tuple[str, ...], t: pa.DataType) -> pa.Array:
    if path in by_path:
        return by_path[path]
    children = [_assemble(by_path, path + (key,), f.type) for key, f in zip(_keys(t), t)]
    present = by_path.get(path + ("",))
    mask = pc.invert(present) if present is not None and present.false_count else None
    return pa.StructArray.from_arrays(children, fields=[pa.field(f.name, f.type) for f in t], mask=mask)


def _field(key: str, t: pa.DataType) -> pa.Field:
    return pa.field(field_name(key), t, metadata={"key": key})


def _plain(t: pa.DataType) -> pa.DataType:
    """`t` without the key metadata of its fields (the stored type)."""
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, _plain(f.type)) for f in t])
    if pa.types.is_list(t):
        return pa.list_(_plain(t.value_type))
    if pa.types.is_map(t):
        return pa.map_(t.key_type, _plain(t.item_type))
    return t


def _layout(schema: dict, path: tuple[str, ...], leaves: list[Leaf], required: bool = True) -> pa.DataType:
    """The Arrow type of a (sub)schema, adding its leaves; raises ValueError for what cannot be a column."""
    kind = schema.get("type")
    where = ".".join(path) or "the event"
    if path == ("meta", "dt"):  # text, as in Hive; the loader checks it is an RFC 3339 date-time whatever the schema says
        leaves.append(Leaf(path, pa.string()))
        return pa.string()
    if kind == "object" and schema.get("properties"):
        fields, names = [], set()
        for key, sub in schema["properties"].items():
            if not isinstance(sub, dict):
                raise ValueError(f"field {'.'.join(path + (key,))} has no schema object")
            name = field_name(key)
            if not FIELD.fullmatch(name) or name in names:
                raise ValueError(f"field {'.'.join(path + (key,))} becomes {name!r}, which is not a valid column name or is taken (rename the field)")
            names.add(name)
            fields.append(_field(key, _layout(sub, path + (key,), leaves, key in schema.get("required", ()))))
        if path and not required:
            leaves.append(Leaf(path, pa.bool_(), present=True))
        return pa.struct(fields)
    t = _value_type(schema, where)
    leaves.append(Leaf(path, _plain(t), fix=_fix(t)))
    return t


def _value_type(schema: dict, where: str) -> pa.DataType:
    """The type of a value stored whole: a scalar, an array (`items`) or a map (`additionalProperties` schema)."""
    kind = schema.get("type")
    if kind in SCALARS:
        return SCALARS[kind]
    if kind == "array" and isinstance(schema.get("items"), dict):
        return pa.list_(_item_type(schema["items"], where + "[]"))
    if kind == "object" and not schema.get("properties") and isinstance(schema.get("additionalProperties"), dict):
        return pa.map_(pa.string(), _item_type(schema["additionalProperties"], where + "{}"))
    raise ValueError(
        f"field {where} has type {kind!r}, which cannot be a column "
        "(use string, boolean, integer, number, object with properties, array with items, or object with an additionalProperties schema)"
    )


def _item_type(schema: dict, where: str) -> pa.DataType:
    if schema.get("type") == "object" and schema.get("properties"):
        fields = []
        for key, sub in schema["properties"].items():
            name = field_name(key)
            if not FIELD.fullmatch(name):
                raise ValueError(f"field {where}.{key} becomes {name!r}, which is not a valid field name (rename the field)")
            fields.append(_field(key, _item_type(sub, f"{where}.{key}")))
        return pa.struct(fields)
    return _value_type(schema, where)


def _fix(t: pa.DataType) -> Callable[[Any], Any] | None:
    """What the slow path does to a JSON value of type `t` before Arrow gets it (None: nothing)."""
    if t == pa.int64():

        def integer(value: Any) -> Any:
            if value is not None and not INT64[0] <= value <= INT64[1]:
                raise ValueError(f"{value} does not fit a 64-bit integer")
            return value

        return integer
    if t == pa.float64():

        def number(value: Any) -> Any:
            if isinstance(value, int):  # JSON 3 for a number: a double
                try:
                    return float(value)
                except OverflowError:
                    raise ValueError(f"{value} does not fit a double") from None
            return value

        return number
    if pa.types.is_list(t) or pa.types.is_map(t):
        each = _fix(t.value_type if pa.types.is_list(t) else t.item_type)
        if each is None:
            return None
        if pa.types.is_list(t):
            return lambda value: None if value is None else [each(v) for v in value]
        return lambda value: None if value is None else {k: each(v) for k, v in value.items()}
    if pa.types.is_struct(t):
        parts = [(key, f.name, _fix(f.type)) for key, f in zip(_keys(t), t)]

        def struct(value: Any) -> Any:  # an object in an array or map: keys renamed to the field names
            if value is None:
                return None
            return {name: (fix(value.get(key)) if fix else value.get(key)) for key, name, fix in parts}

        return struct
    return None


def _row_function(leaves: tuple[Leaf, ...]) -> Callable[[dict], tuple]:
    """A compiled `row(event)` for these leaves (one tuple per event, no per-field loop)."""
    parts = []
    for leaf in leaves:
        expr = "e"
        for i, key in enumerate(leaf.path):
            last = i == len(leaf.path) - 1
            expr = f"{expr}.get({key!r})" if last else f"({expr}.get({key!r}) or EMPTY)"
        parts.append(f"({expr} is not None)" if leaf.present else expr)
    return eval(f"lambda e: ({', '.join(parts)},)", {"EMPTY": {}})  # noqa: S307 - built from schema keys with repr()


@dataclass(frozen=True, eq=False)
class FastVersion:
    """A schema version as a msgspec Struct type, with its accessors compiled for that type."""

    version: SchemaVersion
    type: type
    fields: Callable[[Any], tuple]
    """`fields(struct)`: (meta.stream, meta.dt, other date-time strings...) of a decoded event."""
    row: Callable[[Any], tuple]
    """Same as `SchemaVersion.row`, for the decoded Struct."""


class _Unsupported(Exception):
    """A schema keyword the fast decoder does not express: the version keeps the validator only."""


ANNOTATIONS = {"description", "title", "$id", "$schema", "$comment", "examples"}
ALLOWED = {
    "object": {"type", "properties", "required", "additionalProperties"},
    "string": {"type", "minLength", "maxLength", "enum", "format"},
    "boolean": {"type"},
    "integer": {"type", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"},
    "number": {"type", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"},
    "array": {"type", "items", "minItems", "maxItems"},
}


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
    schema: dict,
    path: tuple[str, ...],
    access: dict[tuple[str, ...], _Access],
    parent: _Access,
    datetimes: list[tuple[str, ...]],
    tag: str | None = None,
    inside: bool = False,
) -> Any:
    """The msgspec type of one (sub)schema; raises `_Unsupported` for what it cannot express exactly or stricter.

    `inside`: the schema of an array's items or a map's values (scalars only, no date-time check).
    """
    kind = schema.get("type")
    if not isinstance(kind, str) or kind not in ALLOWED:
        raise _Unsupported(f"type {kind!r}")
    extra = set(schema) - ALLOWED[kind] - ANNOTATIONS
    if extra:
        raise _Unsupported(", ".join(sorted(extra)))
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict) and not schema.get("properties") and not schema.get("required") and not inside:
        return dict[str, _fast_type(schema["additionalProperties"], path, {}, parent, datetimes, inside=True)]  # type: ignore[misc]
    if kind == "array" and not inside and isinstance(schema.get("items"), dict):
        item = _fast_type(schema["items"], path, {}, parent, datetimes, inside=True)
        items = {"min_length": schema.get("minItems"), "max_length": schema.get("maxItems")}
        if any(v is not None and (isinstance(v, bool) or not isinstance(v, int)) for v in items.values()):
            raise _Unsupported("minItems or maxItems")
        sized = {k: v for k, v in items.items() if v is not None}
        return Annotated[list[item], msgspec.Meta(**sized)] if sized else list[item]  # type: ignore[valid-type]
    if kind in ("object", "array"):
        if inside or kind == "array":
            raise _Unsupported(f"{kind} here")
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        additional = schema.get("additionalProperties", True)
        if not properties or not isinstance(additional, bool) or not required <= set(properties) | ({"$schema"} if tag else set()):
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
        name = "_".join(("Event",) + tuple(field_name(p) for p in path))
        options: dict[str, Any] = {"tag_field": "$schema", "tag": tag} if tag else {}
        return msgspec.defstruct(name, fields, kw_only=True, forbid_unknown_fields=not additional, **options)
    if kind == "string":
        if "format" in schema:
            if schema["format"] != "date-time" or "enum" in schema or inside:
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
    except (_Unsupported, RecursionError):
        return None
    if ("meta", "stream") not in access or ("meta", "dt") not in access:
        return None
    others = [p for p in datetimes if p != ("meta", "dt")]
    wanted = [("meta", "stream"), ("meta", "dt")] + others
    fields = ", ".join(access[p].expr("s", f"t{i}") for i, p in enumerate(wanted))
    parts = []
    for i, leaf in enumerate(version.leaves):
        if leaf.path == ("$schema",):
            parts.append(repr(version.uri))
            continue
        expr = access[leaf.path].expr("s", f"c{i}")
        parts.append(f"({expr} is not None)" if leaf.present else expr)
    env = {"UNSET": msgspec.UNSET}
    return FastVersion(
        version,
        struct,
        eval(f"lambda s: ({fields},)", env),  # noqa: S307 - built from generated attribute names
        eval(f"lambda s: ({', '.join(parts)},)", env),  # noqa: S307
    )


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def _merge(newer: pa.DataType, older: pa.DataType) -> pa.DataType | None:
    """The layout holding both versions' fields (the newer's order first), or None when a field changes type."""
    if pa.types.is_struct(newer) and pa.types.is_struct(older) or pa.types.is_list(newer) and pa.types.is_list(older):
        merged = widen(newer, older)
        return merged if merged is not None and _same_leaves(merged, newer) and _same_leaves(merged, older) else None
    return newer if newer == older else None


def _same_leaves(merged: pa.DataType, part: pa.DataType) -> bool:
    """Whether every leaf of `part` keeps its type in `merged` (widening BIGINT to DOUBLE is a type change here)."""
    if pa.types.is_struct(part):
        return all(_same_leaves(merged.field(f.name).type, f.type) for f in part)
    if pa.types.is_list(part):
        return _same_leaves(merged.value_type, part.value_type)
    return bool(merged == part)


def _no_remote(uri: str) -> Any:
    raise fastjsonschema.JsonSchemaDefinitionException(f"$ref {uri!r} points outside the schema: references to other files or URLs are not followed")


class _NoRemoteHandlers(dict):
    """fastjsonschema's handlers by URI scheme: every scheme refused (it would fetch unknown ones with urlopen)."""

    def __contains__(self, scheme: object) -> bool:
        return True

    def __missing__(self, scheme: str) -> Callable[[str], Any]:
        return _no_remote


_NO_REMOTE = _NoRemoteHandlers()


class Registry:
    """Every schema version under a folder, with a compiled validator each.

    `streams` (stream -> schema title) is derived from the titles; give it only to restrict or rename.
    """

    def __init__(self, root: Path | str = SCHEMAS, streams: dict[str, str] | None = None, *, fast: bool = True):
        self.root = Path(root)
        if not self.root.is_dir():
            raise InputError.at(self.root, "no such folder of event schemas", "give the folder holding <title>/<version>.json files")
        self.versions: dict[str, SchemaVersion] = {}
        self.fast: dict[type, FastVersion] = {}
        """Struct type -> its version, for the versions the fast decoder covers (`fast=False`: none)."""
        derived: dict[str, str] = {}
        for path in sorted(self.root.glob("**/*.json")):
            if not VERSION.fullmatch(path.stem):
                continue  # latest.json and the like: copies of a version
            entry, document = self._read(path)
            if derived.setdefault(entry.stream, entry.title) != entry.title:
                raise InputError.at(
                    path,
                    f"schema titles {derived[entry.stream]} and {entry.title} would both be stream {entry.stream}",
                    "keep one of them in this folder of schemas",
                )
            self.versions[entry.uri] = entry
            fast_entry = _fast_version(document, entry) if fast else None
            if fast_entry is not None:
                self.fast[fast_entry.type] = fast_entry
        self.streams = dict(derived if streams is None else streams)
        """Stream name -> the schema title its events must have (the title's last part, normalised)."""
        self.decode: Callable[[bytes], Any] | None = None
        """Parses and checks an event with the fast Structs in one call (None: no version has one)."""
        if self.fast:
            # Always a union: msgspec checks the tag of a union's members, not of a lone Struct type.
            types = tuple(self.fast) + (_NO_VERSION,)
            self.decode = msgspec.json.Decoder(Union[types]).decode

    def _read(self, path: Path) -> tuple[SchemaVersion, dict]:
        try:
            document = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError.at(path, f"cannot read the event schema: {exc}", "write the schema as a JSON object") from None
        except RecursionError:
            raise InputError.at(path, "the event schema is JSON nested too deeply to read", "write the schema with fewer levels of nesting") from None
        if not isinstance(document, dict):
            raise InputError.at(path, "an event schema is a JSON object", "write the schema as a JSON object")
        folder = path.parent.relative_to(self.root).as_posix()
        uri = document.get("$id") or f"/{folder}/{path.stem}"
        title = document.get("title") or folder
        if not isinstance(uri, str) or not isinstance(title, str) or uri != f"/{title}/{path.stem}":
            raise InputError.at(
                path, f"$id {uri!r} is not /<title>/<version> of title {title!r} and file {path.name}", f"set $id to /{title}/{path.stem} (or move the file)"
            )
        stream = stream_name(title)
        if not NAME.fullmatch(stream):
            raise InputError.at(path, f"title {title!r} gives stream name {stream!r}, which is not a table name", "end the title with a name such as my_stream")
        leaves: list[Leaf] = []
        try:
            validate = fastjsonschema.compile(document, formats={"date-time": is_date_time}, handlers=_NO_REMOTE)
            record = _layout(document, (), leaves)
            if not pa.types.is_struct(record):
                raise ValueError("the event is not an object with properties")
        except (ValueError, fastjsonschema.JsonSchemaDefinitionException) as exc:
            raise InputError.at(path, f"invalid event schema: {exc}", "fix the schema file") from None
        except (RecursionError, SyntaxError):  # the validator is Python code: ~40 levels of objects exceed its indentation limit
            raise InputError.at(path, "invalid event schema: nested too deeply to compile", "write the schema with fewer levels of nesting") from None
        fixes = tuple(i for i, leaf in enumerate(leaves) if leaf.fix is not None)
        entry = SchemaVersion(title, path.stem, uri, tuple(leaves), record, validate, _row_function(tuple(leaves)), fixes)
        return entry, document

    def get(self, uri: str) -> SchemaVersion | None:
        """The schema version an event's `$schema` names (with or without the leading `/`)."""
        return self.versions.get(uri if uri.startswith("/") else "/" + uri)

    def history(self, title: str) -> list[SchemaVersion]:
        """Every version of a schema title, oldest first."""
        return sorted((v for v in self.versions.values() if v.title == title), key=lambda v: _version_key(v.version))

    @functools.cache  # noqa: B019  registries live as long as the process (events keeps one), so holding them costs nothing
    def layout(self, title: str) -> pa.Schema:
        """The table columns of a schema title: the newest version's (structs with every version's fields), then fields older versions had."""
        fields: dict[str, pa.DataType] = {}
        for entry in reversed(self.history(title)):
            for f in entry.type:
                plain = _plain(f.type)
                known = fields.get(f.name)
                merged = plain if known is None else _merge(known, plain)
                if merged is None:
                    raise InputError.at(
                        self.root / title,
                        f"field {f.name} changes type between versions ({known} -> {plain})",
                        "add a new field instead of changing the type of one",
                    )
                fields[f.name] = merged
        return pa.schema([pa.field(n, t) for n, t in fields.items()])
