"""EventGate-style events (newline-delimited JSON) into `event.<stream>` tables.

Each line is one event with `$schema` (e.g. `/analytics/legacy/codemirrorusage/1.1.0`), `meta.stream`
and `meta.dt`. It is validated against its schema version (compiled validators) and stored in its
shape (nested objects as struct columns, see `ingestion.registry`) in the table of its stream, in the
partition of its hour (`year/month/day/hour` of `meta.dt`, UTC). Everything else goes to
`quarantine.events` with the raw line, the file, the line number and the reason: bad JSON,
an unknown schema, a schema violation, a missing `meta.dt` or one that is not an RFC 3339 date-time,
a `meta.dt` more than a day in the future, or a stream that does not take the event's schema.

Each source file writes one file per (stream, hour) keyed by the file's identity, so loading
the same file again replaces its rows instead of adding them twice. A file (or stdin) may be gzip;
a damaged one is refused whole, as every compressed input is (see `ingestion.inputs`).

JSON nested deeper than the decoder can follow (about a thousand levels: Python's recursion
limit) is quarantined like any other bad JSON; no schema column is that deep.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import itertools
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import fastjsonschema
import msgspec
import pyarrow as pa

from ingestion import inputs, quarantine
from ingestion.inputs import CorruptInput, RefusedFiles
from ingestion.quarantine import Rejected
from ingestion.registry import Registry, SchemaVersion, is_date_time, moment, seconds_of
from ingestion.storage import put_keyed, remove_stale, source_key
from ingestion.summary import LoadSummary
from metrics.problems import InputError
from metrics.warehouse import Warehouse, check_name, conform

SCHEMA, QUARANTINE = "event", "events"
FUTURE = dt.timedelta(days=1)
UTC = dt.timezone.utc

Progress = Callable[[int], None]
"""Called with the number of lines handled since the last call."""


class _Reject(Exception):
    pass


_decode = msgspec.json.decode  # strict JSON (no NaN, no lone surrogates: neither can be stored)
_NOT_FAST = (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError, RecursionError)


class Batch:
    """The parsed events of one source, grouped by (stream, hour, schema version)."""

    def __init__(self, registry: Registry, source: str, now: dt.datetime):
        self.registry = registry
        self.source = source
        self.horizon = (now + FUTURE).timestamp()
        self.rows: dict[tuple[str, int, SchemaVersion], list[tuple]] = defaultdict(list)
        """(stream, hours since the epoch, schema version) -> rows not yet flushed."""
        self.pieces: dict[str, dict[int, list[pa.Table]]] = defaultdict(lambda: defaultdict(list))
        """stream -> hours since the epoch -> flushed rows, in the stream's layout."""
        self.rejected: list[Rejected] = []
        self.read = 0

    def add_lines(self, lines: Iterable[bytes], first: int = 1) -> None:
        """Parse, validate and group lines (numbered from `first`); bad ones are rejected with a reason.

        Each line is first decoded with the registry's fast Structs (parse and check in one call);
        a line they refuse, or one that fails a later check, takes the slow path, which decides.
        """
        decode = self.registry.decode
        gc_enabled = gc.isenabled()
        gc.disable()  # only acyclic tuples and strings are made here: collections would cost, not free
        try:
            for number, line in enumerate(lines, first):
                self.read += 1
                if decode is not None:
                    try:
                        if self._add_struct(decode(line)):
                            continue
                    except _NOT_FAST:
                        pass
                try:
                    self._add(line)
                except _Reject as exc:
                    self.rejected.append(Rejected(self.source, number, quarantine.raw_text(line), str(exc)))
        finally:
            if gc_enabled:
                gc.enable()

    def _add_struct(self, event: Any) -> bool:
        """Store an event the fast Structs decoded; False (nothing stored) when a check fails."""
        fast = self.registry.fast.get(event.__class__)
        if fast is None:
            return False
        stream, text, *others = fast.fields(event)
        seconds = seconds_of(text)
        if seconds is None or seconds > self.horizon:
            return False
        if others and not all(v is None or is_date_time(v) for v in others):
            return False
        version = fast.version
        if self.registry.streams.get(stream) != version.title:
            return False
        self.rows[(stream, int(seconds // 3600), version)].append(fast.row(event))
        return True

    def _add(self, line: bytes) -> None:
        try:
            event = _decode(line)
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:
            raise _Reject(f"bad JSON: {exc}") from None
        except RecursionError:
            raise _Reject(f"bad JSON: nested too deeply to decode (deeper than about {sys.getrecursionlimit()} levels)") from None
        if not isinstance(event, dict):
            raise _Reject("not a JSON object")
        uri = event.get("$schema")
        if not isinstance(uri, str):
            raise _Reject("no $schema")
        version = self.registry.get(uri)
        if version is None:
            raise _Reject(f"unknown schema {uri}")
        meta = event.get("meta")
        if not isinstance(meta, dict) or "dt" not in meta:
            raise _Reject("missing meta.dt")
        try:
            version.validate(event)
        except fastjsonschema.JsonSchemaValueException as exc:
            raise _Reject(f"does not match {version.uri}: {exc.message}") from None
        stream = meta.get("stream")
        if not isinstance(stream, str):
            raise _Reject("missing meta.stream")
        if self.registry.streams.get(stream) != version.title:
            raise _Reject(f"stream {stream!r} does not take schema {version.title}" if stream in self.registry.streams else f"unknown stream {stream!r}")
        text = meta["dt"]
        if not isinstance(text, str) or not is_date_time(text):  # also where a schema does not say `format: date-time`
            raise _Reject(f"meta.dt {text!r} is not an RFC 3339 date-time (write e.g. 2026-11-03T07:00:00Z)")
        seconds = moment(text).timestamp()
        if seconds > self.horizon:
            raise _Reject(f"meta.dt {text} is more than a day in the future")
        row = version.row(event)
        if version.fixes:
            values = list(row)
            for i in version.fixes:
                leaf = version.leaves[i]
                try:
                    values[i] = leaf.fix(values[i])  # type: ignore[misc]
                except (ValueError, TypeError, AttributeError) as exc:
                    raise _Reject(f"{'.'.join(leaf.path)}: {exc}") from None
            row = tuple(values)
        self.rows[(stream, int(seconds // 3600), version)].append(row)

    def flush(self) -> None:
        """Turn the rows gathered so far into Arrow tables (a tenth of the memory of Python tuples)."""
        for (stream, hour, version), rows in self.rows.items():
            layout = self.registry.layout(version.title)
            leaves = [pa.array(v, leaf.type) for leaf, v in zip(version.leaves, zip(*rows))]
            columns = dict(zip(version.type.names, version.columns(leaves)))
            n = len(rows)
            arrays = [conform(columns[f.name], f.type) if f.name in columns else pa.nulls(n, f.type) for f in layout]
            self.pieces[stream][hour].append(pa.table(arrays, schema=layout))
        self.rows.clear()

    def tables(self) -> dict[str, dict[tuple, tuple[dict, pa.Table]]]:
        """Per stream, per hour: (partition, rows in the stream's layout)."""
        self.flush()
        out: dict[str, dict[tuple, tuple[dict, pa.Table]]] = {}
        for stream, hours in self.pieces.items():
            out[stream] = {}
            for hours_since_epoch, tables in hours.items():
                hour = dt.datetime.fromtimestamp(hours_since_epoch * 3600, UTC)
                table = pa.concat_tables(tables)  # not sorted (a copy of every column): Hive's tables are not either
                partition = {"year": hour.year, "month": hour.month, "day": hour.day, "hour": hour.hour}
                out[stream][(hour.year, hour.month, hour.day, hour.hour)] = (partition, table)
        return out


def _source(path: str) -> tuple[str, Iterator[bytes], Callable[[], str]]:
    """(the name stored in the quarantine, its lines, its file key) of a path or of stdin (`-`).

    A file is read line by line. Stdin's key is a hash of its content, known once it is all read.
    """
    if path == "-":
        digest = hashlib.sha1()

        def stdin_lines() -> Iterator[bytes]:
            for line in inputs.stream_lines(sys.stdin.buffer, "<stdin>"):
                digest.update(line)
                yield line

        return "<stdin>", _strip(stdin_lines()), lambda: source_key("-", digest=digest)
    file = Path(path)
    if not file.is_file():
        raise InputError.at(path, "no such file", "check the path of the events file")
    return str(file), _strip(inputs.lines(file)), lambda: source_key(file)


def _strip(lines: Iterable[bytes]) -> Iterator[bytes]:
    """Lines without their end (`\n` or `\r\n`); a final newline does not start an empty line."""
    for line in lines:
        if line.endswith(b"\n"):
            line = line[:-1]
        yield line[:-1] if line.endswith(b"\r") else line


STEP = 50_000
"""Lines parsed between two flushes of rows into Arrow (and two progress updates)."""


def load_lines(
    warehouse: Warehouse,
    source: str,
    key: str | Callable[[], str],
    lines: Iterable[bytes],
    *,
    registry: Registry | None = None,
    now: dt.datetime | None = None,
    progress: Progress | None = None,
) -> LoadSummary:
    """Load one source's lines; its earlier rows (same `key`) are replaced, in data and quarantine.

    `lines` may be any iterable: it is read STEP lines at a time, so a file never sits in memory
    as text or as Python objects, only as Arrow columns. `key` may be a function called once all
    lines are read (the key of stdin is the hash of its content). When reading `lines` raises
    `CorruptInput` (a damaged gzip file), nothing is stored, the refusal is recorded in the
    quarantine and the error raised.
    """
    started = time.perf_counter()
    registry = registry or default_registry()
    now = now or dt.datetime.now(UTC)
    batch = Batch(registry, source, now)
    lines = iter(lines)
    try:
        while chunk := list(itertools.islice(lines, STEP)):
            batch.add_lines(chunk, first=batch.read + 1)
            batch.flush()
            if progress:
                progress(len(chunk))
    except CorruptInput as exc:
        refused = key() if callable(key) else key
        quarantine.refuse(warehouse, QUARANTINE, refused, Rejected(source, exc.readable + 1, "", exc.what), loaded_at=now)
        raise
    key = key() if callable(key) else key
    summary = LoadSummary("events", files=1, read=batch.read)
    tables = batch.tables()
    for stream in sorted(set(tables) | set(registry.streams)):
        check_name(stream, "stream name")
        parts = tables.get(stream)
        if parts:
            put_keyed(warehouse, SCHEMA, stream, key, parts)
            summary.stored += sum(t.num_rows for _, t in parts.values())
            summary.add_table(f"{SCHEMA}.{stream}")
        else:
            remove_stale(warehouse, SCHEMA, stream, key)
    summary.quarantined = quarantine.store(warehouse, QUARANTINE, key, batch.rejected, loaded_at=now)
    if summary.quarantined:
        summary.add_table(f"quarantine.{QUARANTINE}")
    summary.seconds = time.perf_counter() - started
    return summary


def load(
    warehouse: Warehouse | Path | str,
    paths: Iterable[str | Path],
    *,
    registry: Registry | None = None,
    now: dt.datetime | None = None,
    progress: Progress | None = None,
) -> LoadSummary:
    """Load newline-delimited JSON event files (`-` is stdin; plain or gzip); returns files, rows stored and quarantined.

    Raises `RefusedFiles` (with the summary of the others) when damaged gzip files were refused whole.
    """
    if not isinstance(warehouse, Warehouse):
        warehouse = Warehouse(warehouse)
    total = LoadSummary("events")
    refused: list[CorruptInput] = []
    for path in paths:
        source, lines, key = _source(str(path))
        try:
            total.merge(load_lines(warehouse, source, key, lines, registry=registry, now=now, progress=progress))
        except CorruptInput as exc:
            refused.append(exc)
    if refused:
        raise RefusedFiles(refused, total)
    return total


_DEFAULT: Registry | None = None


def default_registry() -> Registry:
    """The registry of the schemas shipped in `ingestion/schemas` (loaded once)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Registry()
    return _DEFAULT
