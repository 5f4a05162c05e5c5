"""Hourly pageview dumps (`pageviews-YYYYMMDD-HH0000.gz`) into `wmf.pageview_hourly`.

Each line is `domain_code page_title count_views total_response_size`, space separated, written
by Spark's CSV writer: an empty field is `""`, a field holding `"` is quoted with backslash escapes.
Titles such as `NaN`, `null`, `-`, `None` and `NA` are text, and `""` is the empty string, never NULL.

Fast path: Arrow's streaming CSV reader (C++, typed columns, no null values at all), each batch
handed to a background Parquet writer while the next one is read. When it
meets a line it cannot take (wrong number of fields, a count that is not a number, bad UTF-8),
the file is read again line by line in Python, which stores the good lines and quarantines the
bad ones with their line numbers; a count must fit a BIGINT (0 to 2^63-1). The hour comes from
the file name; loading an hour again replaces its partition.

A damaged gzip file (truncated, a bad CRC) or a 0-byte file is refused whole, as every compressed input is (see
`ingestion.inputs`): its hour keeps what it held, the refusal is one row of `quarantine.pageviews`,
and `load` goes on with the other files, then raises `RefusedFiles` naming each refused one.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import time
from pathlib import Path
from typing import Callable, Iterable, Iterator, cast

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from isal import igzip, isal_zlib

from ingestion import inputs, quarantine
from ingestion.inputs import CorruptInput, RefusedFiles
from ingestion.quarantine import Rejected
from ingestion.storage import source_key
from ingestion.summary import LoadSummary
from metrics.problems import InputError
from metrics.warehouse import Warehouse

SCHEMA, TABLE, QUARANTINE = "wmf", "pageview_hourly", "pageviews"
COLUMNS = pa.schema(
    [
        pa.field("domain_code", pa.string()),
        pa.field("page_title", pa.string()),
        pa.field("count_views", pa.int64()),
        pa.field("total_response_size", pa.int64()),
    ]
)
NAME = re.compile(r"pageviews-(\d{4})(\d{2})(\d{2})-(\d{2})0000")
BLOCK = 1 << 20
BIGINT_MAX = (1 << 63) - 1

Progress = Callable[[int], None]
"""Called with the number of compressed bytes read since the last call."""


class BadLine(Exception):
    """The fast path met a line it cannot take; the slow path (`read_slow`) finds it and says why."""


def hour_of(path: Path | str) -> dt.datetime:
    """The UTC hour of a dump from its file name (`pageviews-20240803-060000.gz` -> 2024-08-03 06:00)."""
    match = NAME.search(Path(path).name)
    if not match:
        raise InputError.at(path, "file name does not say the hour of the dump", "name it pageviews-YYYYMMDD-HH0000.gz, as the dumps are named")
    year, month, day, hour = map(int, match.groups())
    try:
        return dt.datetime(year, month, day, hour, tzinfo=dt.timezone.utc)
    except ValueError as exc:
        raise InputError.at(path, f"file name has an impossible hour: {exc}", "name it pageviews-YYYYMMDD-HH0000.gz") from None


EMPTY = "empty file (0 bytes, not even a gzip header; a dump of an hour without pageviews is a gzip of about 20 bytes)"
"""What is wrong with a 0-byte dump, whatever its name: the trace of a download that failed, never an hour without pageviews."""


def _refuse_empty(path: Path, size: int) -> None:
    if size == 0:
        raise CorruptInput(path, EMPTY, 0)


def _open(path: Path) -> tuple[pa.NativeFile, pa.NativeFile, bool]:
    """(the file, the stream of its text, whether it is gzip): gzip is recognised by its magic bytes, not the name.

    Raises `CorruptInput` for a 0-byte file (`EMPTY`).
    """
    raw = pa.OSFile(str(path), "rb")
    try:
        _refuse_empty(path, raw.size())
    except CorruptInput:
        raw.close()
        raise
    gz = raw.read(2) == inputs.GZIP_MAGIC
    raw.seek(0)
    return raw, pa.CompressedInputStream(raw, "gzip") if gz else raw, gz


def open_dump(path: Path) -> tuple[io.BufferedIOBase, io.BufferedIOBase]:
    """(the file, the stream of its text): gzip is recognised by its magic bytes, not the name.

    Decompressed by ISA-L (`isal`), about three times as fast as zlib, CRC and length checked at
    the end of each member; close the stream, then the file. Raises `CorruptInput` for a 0-byte
    file (`EMPTY`), `OSError` when the file cannot be opened.
    """
    raw = open(path, "rb")
    try:
        _refuse_empty(path, os.fstat(raw.fileno()).st_size)
    except CorruptInput:
        raw.close()
        raise
    gz = raw.read(2) == inputs.GZIP_MAGIC
    raw.seek(0)
    return raw, igzip.IGzipFile(fileobj=raw, mode="rb") if gz else raw


UNREADABLE: tuple[type[BaseException], ...] = (OSError, EOFError, cast(type, isal_zlib.IsalError))  # its stub says an instance
"""What reading a truncated, corrupt or vanished dump raises."""


def damaged(path: Path | str, exc: BaseException) -> InputError:
    """The error for a dump that could not be read to its end (`exc`, one of `UNREADABLE`), the same wherever it is met.

    A damaged gzip file is `CorruptInput`, as every loader reports it (`ingestion.inputs`): the file
    is read again with zlib, which says what is wrong and how many lines were readable before it.
    A file that cannot be opened or read at all (gone, no permission) is an `InputError` with the
    system's reason.
    """
    try:
        inputs.check_whole(path)
        gz = inputs.is_gzip(path)
    except CorruptInput as corrupt:
        return corrupt
    except OSError as gone:
        exc, gz = gone, False
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    if not gz:
        return InputError.at(path, f"cannot read the dump: {reason}", "check that the file is there and readable")
    # zlib read it whole where the fast reader did not: refused all the same, with the fast reader's reason
    return CorruptInput(path, f"corrupt gzip stream ({reason})", 0)


QUOTED = r'^"(?:[^"\\]|\\.)*"$'

PARSE_OPTIONS = pacsv.ParseOptions(delimiter=" ", quote_char=False, escape_char=False, ignore_empty_lines=False)
"""How Arrow splits a dump: on spaces only, no quote or escape handling (fields never hold a space,
and Arrow would also apply backslash escapes outside quotes, which Spark does not write)."""


def convert_options(columns: pa.Schema, *, check_utf8: bool = True) -> pacsv.ConvertOptions:
    """Arrow's conversion of dump fields to `columns` (a subset of the four, in any Arrow type): no NULL values at all."""
    return pacsv.ConvertOptions(
        column_types=columns,
        include_columns=columns.names,
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
        null_values=[],
        check_utf8=check_utf8,
    )


def unquote(field: str) -> str:
    """A dump field as text: `""` is the empty string, `"a\\"b"` is `a"b` (escapes count only inside quotes)."""
    if not field.startswith('"'):
        return field
    if not re.fullmatch(QUOTED, field):
        raise ValueError(f"badly quoted field {field!r}")
    return re.sub(r"\\(.)", r"\1", field[1:-1])


def unquote_array(array: pa.Array) -> pa.Array | pa.ChunkedArray:
    """`unquote` over one batch's column, touching only the (rare) quoted values.

    The quoted values are unquoted on their own, then put between zero-copy slices of the
    column: no copy of the column at all (a masked replace over it would cost several).
    """
    mask = pc.starts_with(array, '"')
    if not pc.any(mask).as_py():
        return array
    indices = pc.indices_nonzero(mask)
    quoted = array.take(indices)  # an Arrow array of indices: a list would import pandas
    if not pc.all(pc.match_substring_regex(quoted, QUOTED)).as_py():
        raise BadLine("badly quoted field")
    plain = pc.replace_substring_regex(pc.utf8_slice_codeunits(quoted, 1, -1), r"\\(.)", r"\1")
    pieces, start = [], 0
    for k, position in enumerate(indices.to_pylist()):
        pieces += [array.slice(start, position - start), plain.slice(k, 1)]
        start = position + 1
    pieces.append(array.slice(start))
    return pa.chunked_array(pieces, array.type)


class LineEnds:
    """The text of a dump as Arrow reads it, watched for a carriage return that is not part of `\r\n`.

    Arrow's CSV reader also ends a line at a lone `\r`, so it would read one line as two rows;
    a dump's lines end at `\n`, as the slow path reads them. A lone `\r` raises `BadLine` (the
    slow path then decides). Arrow still decompresses: only each 1 MB block passes through here.
    """

    def __init__(self, stream: pa.NativeFile):
        self.stream = stream
        self.carriage = False  # the last block ended with `\r`: its `\n` may start the next one
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        if self.carriage and data and not data.startswith(b"\n"):
            raise BadLine("a carriage return inside a line")
        if b"\r" in data:
            lone = data.count(b"\r") - data.count(b"\r\n") - data.endswith(b"\r")
            if lone:
                raise BadLine("a carriage return inside a line")
        self.carriage = data.endswith(b"\r")
        return data

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True


def read_batches(path: Path, progress: Progress | None = None) -> Iterator[pa.Table]:
    """Read a dump with Arrow, batch by batch; raises `BadLine` at the first line it cannot take.

    Arrow splits on spaces only (no quote handling: fields never hold a space, and Arrow would
    also apply backslash escapes outside quotes, which Spark does not write); quoted fields are
    then unquoted column-wise. Lines end at `\n` (or `\r\n`) only (`LineEnds`).
    """

    raw, stream, gz = _open(path)
    try:
        reader = pacsv.open_csv(
            pa.PythonFile(LineEnds(stream), mode="r"),
            read_options=pacsv.ReadOptions(column_names=COLUMNS.names, block_size=BLOCK, use_threads=False),
            parse_options=PARSE_OPTIONS,
            convert_options=convert_options(COLUMNS),
        )
        done = 0
        for batch in reader:
            views, size = batch.column(2), batch.column(3)
            if views.null_count or size.null_count:
                raise BadLine("empty count")
            if batch.num_rows and min(pc.min(views).as_py(), pc.min(size).as_py()) < 0:
                raise BadLine("negative count")
            yield pa.table([unquote_array(batch.column(0)), unquote_array(batch.column(1)), views, size], schema=COLUMNS)
            if progress:
                position = raw.tell()
                progress(position - done)
                done = position
    except pa.ArrowInvalid as exc:
        raise BadLine(str(exc)) from None
    except OSError as exc:
        if not gz:
            raise
        stream.close()
        raise damaged(path, exc) from None
    finally:
        stream.close()
        raw.close()


def read_fast(path: Path, progress: Progress | None = None) -> pa.Table:
    """A whole dump as one table (see `read_batches`)."""
    return pa.concat_tables(read_batches(path, progress)).combine_chunks()


def parse_line(line: str) -> tuple[str, str, int, int]:
    """One dump line as (domain_code, page_title, count_views, total_response_size); ValueError says why not."""
    fields = line.split(" ")
    if len(fields) != 4:
        raise ValueError(f"expected 4 space-separated fields, found {len(fields)}")
    domain, title, views, size = fields
    return unquote(domain), unquote(title), _count("count_views", views), _count("total_response_size", size)


def _count(name: str, text: str) -> int:
    if not text.isdigit() or not text.isascii():
        raise ValueError(f"{name} {text!r} is not a non-negative integer")
    if len(text) > 19 or int(text) > BIGINT_MAX:  # the length first: int() of a huge text is slow
        raise ValueError(f"{name} {text} does not fit a BIGINT (at most {BIGINT_MAX})")
    return int(text)


def read_slow(path: Path, source: str) -> tuple[pa.Table, list[Rejected]]:
    """Read a dump line by line: the good lines as a table, the others as quarantine rows."""
    columns: list[list] = [[], [], [], []]
    rejected: list[Rejected] = []
    for number, data in enumerate(inputs.lines(path), 1):
        text = data.rstrip(b"\n").rstrip(b"\r")
        try:
            line = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            rejected.append(Rejected(source, number, quarantine.raw_text(text), f"not UTF-8: byte 0x{text[exc.start]:02x} at column {exc.start + 1}"))
            continue
        try:
            values = parse_line(line)
        except ValueError as exc:
            rejected.append(Rejected(source, number, line, str(exc)))
            continue
        for column, value in zip(columns, values):
            column.append(value)
    table = pa.table([pa.array(c, f.type) for c, f in zip(columns, COLUMNS)], schema=COLUMNS)
    return table, rejected


def load_file(warehouse: Warehouse, path: Path | str, *, progress: Progress | None = None) -> LoadSummary:
    """Load one hourly dump into `wmf.pageview_hourly`, replacing the hour; bad lines go to quarantine.

    Raises `CorruptInput` for a damaged gzip file, after recording its refusal in the quarantine.
    """
    started = time.perf_counter()
    path = Path(path)
    hour = hour_of(path)
    if not path.is_file():
        raise InputError.at(path, "no such file", "check the path of the dump")
    source = str(path)
    partition = {"year": hour.year, "month": hour.month, "day": hour.day, "hour": hour.hour}
    stored = 0
    try:
        try:  # streamed: the file is decompressed and parsed while the previous rows are encoded
            with warehouse.writing_partition(SCHEMA, TABLE, partition, COLUMNS, high_cardinality=["page_title"]) as write:
                for batch in read_batches(path, progress):
                    write(batch)
                    stored += batch.num_rows
            rejected: list[Rejected] = []
        except BadLine:  # nothing was replaced: read again line by line, keeping the good lines
            table, rejected = read_slow(path, source)
            warehouse.replace_partition(SCHEMA, TABLE, partition, table)
            stored = table.num_rows
            if progress:
                progress(0)
    except CorruptInput as exc:  # nothing was replaced
        quarantine.refuse(warehouse, QUARANTINE, source_key(path), Rejected(source, exc.readable + 1, "", exc.what))
        raise
    quarantined = quarantine.store(warehouse, QUARANTINE, source_key(path), rejected)
    summary = LoadSummary("pageviews", files=1, read=stored + quarantined, stored=stored, quarantined=quarantined)
    summary.add_table(f"{SCHEMA}.{TABLE}")
    if quarantined:
        summary.add_table(f"quarantine.{QUARANTINE}")
    summary.seconds = time.perf_counter() - started
    return summary


def load(warehouse: Warehouse | Path | str, paths: Iterable[Path | str], *, progress: Progress | None = None) -> LoadSummary:
    """Load hourly pageview dumps (each replaces its hour) and return what was stored and quarantined.

    Raises `RefusedFiles` (with the summary of the others) when damaged gzip files were refused whole.
    """
    if not isinstance(warehouse, Warehouse):
        warehouse = Warehouse(warehouse)
    paths = [Path(p) for p in paths]
    for path in paths:  # every name is checked before anything is written
        hour_of(path)
    total = LoadSummary("pageviews")
    refused: list[CorruptInput] = []
    for path in paths:
        try:
            total.merge(load_file(warehouse, path, progress=progress))
        except CorruptInput as exc:
            refused.append(exc)
    if refused:
        raise RefusedFiles(refused, total)
    return total
