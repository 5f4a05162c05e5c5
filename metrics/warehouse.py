"""The warehouse: Hive-style partitioned Parquet tables under one root folder.

Layout: `<root>/<schema>/<table>/<key>=<value>/.../<file>.parquet`, plus `_table.json` (columns and
partition keys; Hive, Trino and Spark ignore files starting with `_` or `.`). Partition columns
live only in folder names, as Hive writes them. Writes are atomic:

- `replace_partition` writes the new partition into `<table>/.staging/<owner>/`, then renames it over
  the old one; a crash between the two renames is repaired the next time the table is written
  (the old partition is moved back), so a rerun replaces and never duplicates.
- `put_file` writes one keyed file inside a partition with `os.replace`, so loading the same
  source again replaces its file instead of adding a second copy.

Several processes may write one table at once (two loads of one hour, two query folders
writing one metric table). Each table has a lock file, `<table>/.lock` (`table_lock`, a
`filelock` lock: one holder among all threads and processes, whatever path they reach the
table by); a partition's commit (the two renames), `_table.json` and the repair of a crashed
write happen under it, and a caller that reads a partition to write it again holds it across
both. Staging folders and temporary files are named with their writer (`atomic.owner_tag`:
host and pid), and the repair removes only those whose writer is gone: no writer deletes
another's staging.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import queue
import re
import shutil
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from metrics import atomic
from metrics.locks import file_lock
from metrics.problems import InputError

NAME = re.compile(r"^[a-z][a-z0-9_]*$")
FIELD = re.compile(r"^[a-z_][a-z0-9_]*$")
STAGING = ".staging"
SINGLE_FILE = "part-0.parquet"
"""The one file of a partition written whole (`replace_partitions`)."""
META = "_table.json"
LOCK = ".lock"
COMPRESSION = "zstd"
ROW_GROUP_ROWS = 1 << 18
"""Rows per Parquet row group when a partition is streamed (`Warehouse.writing_partition`)."""

PartitionValue = int | str | dt.date
Partition = Mapping[str, PartitionValue]


@dataclass(frozen=True)
class TableInfo:
    """What `_table.json` records: the columns (name -> Arrow type string) and partition keys."""

    schema: str
    name: str
    columns: dict[str, str]
    partition_by: dict[str, str]
    uniform: bool = True
    """Whether every data file holds every column (then readers need not reconcile schemas)."""


def check_name(name: str, what: str = "name") -> str:
    """A schema, table or column name safe to quote in SQL and to use as a folder name."""
    if not NAME.fullmatch(name):
        raise InputError.at(name, f"invalid {what} {name!r}", "use lower-case letters, digits and _, starting with a letter")
    return name


def check_field_name(name: str, what: str = "column name") -> str:
    """A column or struct field name: as `check_name`, but may start with `_` (Hive's `_schema`)."""
    if not FIELD.fullmatch(name):
        raise InputError.at(name, f"invalid {what} {name!r}", "use lower-case letters, digits and _, starting with a letter or _")
    return name


SCALAR_TYPES = {
    "int8": pa.int8(),
    "int16": pa.int16(),
    "int32": pa.int32(),
    "int64": pa.int64(),
    "double": pa.float64(),
    "float": pa.float32(),
    "bool": pa.bool_(),
    "string": pa.string(),
    "date32[day]": pa.date32(),
    "timestamp[us, tz=UTC]": pa.timestamp("us", tz="UTC"),
    "timestamp[us]": pa.timestamp("us"),
    "null": pa.null(),
    "binary": pa.binary(),
}


def arrow_type_name(t: pa.DataType) -> str:
    """The name `_table.json` records for a column type: Arrow's, e.g. `struct<action: string, names: list<item: string>>`."""
    return str(_normal_type(t))


def arrow_type(name: str) -> pa.DataType:
    """The Arrow type of a `_table.json` type name (the inverse of `arrow_type_name`)."""
    parser = _TypeParser(name)
    t = parser.type()
    if parser.rest():
        raise ValueError(f"unsupported column type {name!r}")
    return t


class _TypeParser:
    """Reads Arrow's type names: scalars, `struct<a: T, ...>`, `list<item: T>`, `map<K, V>`."""

    def __init__(self, text: str):
        self.text, self.at = text, 0

    def rest(self) -> str:
        return self.text[self.at :].strip()

    def _take(self, token: str) -> bool:
        while self.text[self.at : self.at + 1] == " ":
            self.at += 1
        if self.text.startswith(token, self.at):
            self.at += len(token)
            return True
        return False

    def _name(self) -> str:
        self._take("")
        match = re.compile(r"[A-Za-z_][A-Za-z0-9_]*").match(self.text, self.at)
        if not match:
            raise ValueError(f"unsupported column type {self.text!r}")
        self.at = match.end()
        return match.group()

    def type(self) -> pa.DataType:
        for name in sorted(SCALAR_TYPES, key=len, reverse=True):  # `timestamp[us, tz=UTC]` before `timestamp[us]`
            if self._take(name) and not self.text[self.at : self.at + 1].isalnum():
                return SCALAR_TYPES[name]
        if self._take("struct<"):
            fields: list[pa.Field] = []
            while not self._take(">"):
                if fields and not self._take(","):
                    raise ValueError(f"unsupported column type {self.text!r}")
                name = self._name()
                self._take(":")
                fields.append(pa.field(name, self.type()))
            return pa.struct(fields)
        if self._take("list<"):
            self._name()
            self._take(":")
            item = self.type()
            self._take(">")
            return pa.list_(item)
        if self._take("map<"):
            key = self.type()
            self._take(",")
            value = self.type()
            self._take(">")
            return pa.map_(key, value)
        raise ValueError(f"unsupported column type {self.text!r}")


def _normal_type(t: pa.DataType) -> pa.DataType:
    """`t` as every engine reads it well: no 128-bit integers, UTC timestamps, plain strings; nested types field by field."""
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, _normal_type(f.type)) for f in t])
    if pa.types.is_map(t):
        return pa.map_(_normal_type(t.key_type), _normal_type(t.item_type))
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_list_view(t) or pa.types.is_fixed_size_list(t):
        return pa.list_(_normal_type(t.value_type))  # one child name (`item`), whoever wrote it
    if pa.types.is_decimal(t) and t.scale == 0:
        return pa.int64()  # DuckDB's sum(BIGINT) is HUGEINT, stored as DECIMAL(38,0)
    if pa.types.is_decimal(t):
        return pa.float64()
    if pa.types.is_integer(t) and t != pa.int64():
        return pa.int64()
    if pa.types.is_large_string(t) or str(t) == "string_view":
        return pa.string()
    if pa.types.is_timestamp(t):
        return pa.timestamp("us", tz="UTC")
    if pa.types.is_float32(t):
        return pa.float64()
    if pa.types.is_date64(t):
        return pa.date32()
    return t


def widen(old: pa.DataType, new: pa.DataType) -> pa.DataType | None:
    """One type that holds both (a struct gains the other's fields, recursively; BIGINT widens to DOUBLE), or None."""
    if old == new or pa.types.is_null(new):
        return old
    if pa.types.is_null(old):
        return new
    if {old, new} == {pa.int64(), pa.float64()}:
        return pa.float64()  # old integer files read as double
    if pa.types.is_struct(old) and pa.types.is_struct(new):
        fields = {f.name: f.type for f in old}
        for f in new:
            merged = widen(fields[f.name], f.type) if f.name in fields else f.type
            if merged is None:
                return None
            fields[f.name] = merged
        return pa.struct([pa.field(n, t) for n, t in fields.items()])
    if pa.types.is_list(old) and pa.types.is_list(new):
        item = widen(old.value_type, new.value_type)
        return None if item is None else pa.list_(item)
    if pa.types.is_map(old) and pa.types.is_map(new) and old.key_type == new.key_type:
        value = widen(old.item_type, new.item_type)
        return None if value is None else pa.map_(old.key_type, value)
    return None


def conform(array: pa.Array | pa.ChunkedArray, target: pa.DataType) -> pa.Array | pa.ChunkedArray:
    """`array` as type `target`, a widened form of its type: struct fields it lacks are NULL, by name at any depth."""
    if array.type == target:
        return array
    if isinstance(array, pa.ChunkedArray):
        return pa.chunked_array([conform(chunk, target) for chunk in array.chunks], target)
    mask = array.is_null() if array.null_count else None
    if pa.types.is_struct(target) and pa.types.is_struct(array.type):
        have = {f.name for f in array.type}
        children = [conform(array.field(f.name), f.type) if f.name in have else pa.nulls(len(array), f.type) for f in target]
        return pa.StructArray.from_arrays(children, fields=list(target), mask=mask)
    if pa.types.is_list(target) and pa.types.is_list(array.type):
        return pa.ListArray.from_arrays(array.offsets, conform(array.flatten(), target.value_type), type=target, mask=mask)
    return array.cast(target)


SQL_SCALARS = {
    "int32": "INTEGER",
    "int64": "BIGINT",
    "double": "DOUBLE",
    "bool": "BOOLEAN",
    "string": "VARCHAR",
    "date32[day]": "DATE",
    "timestamp[us, tz=UTC]": "TIMESTAMP WITH TIME ZONE",
    "timestamp[us]": "TIMESTAMP",
    "null": "VARCHAR",
    "binary": "BLOB",
    "int": "INTEGER",
    "date": "DATE",
}
"""SQL type of each scalar column type of `_table.json` (Arrow names) and partition kind."""


def sql_type(name: str, scalars: Mapping[str, str] = SQL_SCALARS, *, struct: str = "STRUCT", array: str = "{}[]") -> str:
    """The SQL type of a `_table.json` column type or partition kind: DuckDB's by default
    (`STRUCT("action" VARCHAR)`, `VARCHAR[]`, `MAP(VARCHAR, BIGINT)`); Trino gives its scalars, `ROW` and `ARRAY({})`."""
    if name in scalars:
        return scalars[name]
    return _sql_type(arrow_type(name), scalars, struct, array)


def _sql_type(t: pa.DataType, scalars: Mapping[str, str], struct: str, array: str) -> str:
    if pa.types.is_struct(t):
        return f"{struct}(" + ", ".join(f'"{check_field_name(f.name, "struct field name")}" {_sql_type(f.type, scalars, struct, array)}' for f in t) + ")"
    if pa.types.is_list(t):
        return array.format(_sql_type(t.value_type, scalars, struct, array))
    if pa.types.is_map(t):
        return f"MAP({_sql_type(t.key_type, scalars, struct, array)}, {_sql_type(t.item_type, scalars, struct, array)})"
    return scalars[str(t)]


class _SqlTypes(dict):
    """`SQL_TYPES[name]`: `sql_type(name)` for any `_table.json` type, nested ones included."""

    def __missing__(self, name: str) -> str:
        return sql_type(name)

    def get(self, name: str, default: object = None) -> str:
        try:
            return self[name]
        except (ValueError, KeyError):
            return default  # type: ignore[return-value]


PARTITION_TYPES = {"int": pa.int32(), "string": pa.string(), "date": pa.date32()}

SQL_TYPES: dict[str, str] = _SqlTypes(SQL_SCALARS)
"""SQL type of each column type of `_table.json` (Arrow names, nested ones included) and partition kind."""


def normalized_schema(schema: pa.Schema) -> pa.Schema:
    """The types every engine reads well: no 128-bit integers, UTC timestamps, plain strings (also inside structs and lists)."""
    return pa.schema([pa.field(f.name, _normal_type(f.type)) for f in schema])


def normalize(table: pa.Table) -> pa.Table:
    """`table` cast to its `normalized_schema`."""
    schema = normalized_schema(table.schema)
    return table if schema == table.schema else table.cast(schema)


def partition_path(partition: Partition) -> str:
    """`year=2026/month=11/day=3` for `{"year": 2026, "month": 11, "day": 3}` (Hive style, no zero padding)."""
    parts = []
    for key, value in partition.items():
        text = value.isoformat() if isinstance(value, dt.date) else str(value)
        if not text or "/" in text or text.startswith("."):
            raise InputError.at(key, f"invalid partition value {text!r} for {key}", "partition values are plain dates, numbers or words")
        parts.append(f"{check_name(key, 'partition key')}={text}")
    return "/".join(parts)


class Warehouse:
    """A folder of Hive-layout Parquet tables."""

    def __init__(self, root: Path | str):
        self.root = Path(root).absolute()
        self._swept: set[tuple[str, str]] = set()
        self._held = threading.local()  # the tables whose lock this thread holds, through this object

    def table_dir(self, schema: str, table: str) -> Path:
        return self.root / check_name(schema, "schema") / check_name(table, "table")

    @contextmanager
    def table_lock(self, schema: str, table: str) -> Iterator[None]:
        """Hold the table's lock (`<table>/.lock`): waits while another thread or process holds it;
        a thread that holds it may take it again. Creates the table's folder."""
        held: set[tuple[str, str]] = self._held.__dict__.setdefault("tables", set())
        if (schema, table) in held:
            yield  # taken again inside a write: the lock file is held already
            return
        directory = self.table_dir(schema, table)
        directory.mkdir(parents=True, exist_ok=True)
        with file_lock(directory / LOCK):
            held.add((schema, table))
            try:
                yield
            finally:
                held.discard((schema, table))

    # --- metadata ------------------------------------------------------------------------

    def tables(self) -> list[TableInfo]:
        """Every table that has a `_table.json`, sorted by schema and name."""
        found = []
        if self.root.is_dir():
            for meta in sorted(self.root.glob(f"*/*/{META}")):
                found.append(self._read_info(meta))
        return found

    def sql_schema(self) -> dict[str, dict[str, dict[str, str]]]:
        """Every table's columns (partition keys last) as schema -> table -> column -> SQL type, sqlglot's form."""
        out: dict[str, dict[str, dict[str, str]]] = {}
        for info in self.tables():
            columns = {**info.columns, **info.partition_by}
            out.setdefault(info.schema, {})[info.name] = {c: SQL_TYPES.get(t, "VARCHAR") for c, t in columns.items()}
        return out

    def info(self, schema: str, table: str) -> TableInfo | None:
        meta = self.table_dir(schema, table) / META
        return self._read_info(meta) if meta.is_file() else None

    def _read_info(self, meta: Path) -> TableInfo:
        data = json.loads(meta.read_text("utf-8"))
        return TableInfo(meta.parent.parent.name, meta.parent.name, data["columns"], data["partition_by"], data.get("uniform", True))

    def ensure_table(self, schema: str, table: str, columns: pa.Schema, partition_by: Mapping[str, str]) -> TableInfo:
        """Create the table, or widen it with new columns (a column is never dropped: old files keep it)."""
        for name in list(columns.names):
            check_field_name(name)
        for name in partition_by:
            check_name(name, "partition key")
        with self.table_lock(schema, table):  # read, widen and write `_table.json` as one step
            return self._ensure_table(schema, table, columns, partition_by)

    def _ensure_table(self, schema: str, table: str, columns: pa.Schema, partition_by: Mapping[str, str]) -> TableInfo:
        directory = self.table_dir(schema, table)
        current = self.info(schema, table)
        cols = dict(current.columns) if current else {}
        uniform = current.uniform if current else True
        for f in columns:
            if f.name in partition_by:
                continue
            new_type = arrow_type_name(f.type)
            old_type = cols.get(f.name)
            if old_type is None or old_type == "null":
                if current is not None and new_type != old_type and uniform and self.files(current):
                    uniform = False  # files written before lack this column, or hold it untyped (all NULL)
                cols[f.name] = new_type
            elif old_type != new_type:
                merged = widen(arrow_type(old_type), _normal_type(f.type))
                if merged is None:
                    raise InputError.at(
                        directory, f"column {f.name} of {schema}.{table} is {old_type}, new data has {new_type}", "cast the new data, or write to a new table"
                    )
                merged_name = arrow_type_name(merged)
                if merged_name != old_type and pa.types.is_nested(merged) and current is not None and self.files(current):
                    uniform = False  # older files lack the new struct fields, which then read as NULL
                cols[f.name] = merged_name
        parts = dict(current.partition_by) if current else dict(partition_by)
        if current and list(current.partition_by) != list(partition_by):
            raise InputError.at(
                directory, f"{schema}.{table} is partitioned by {list(current.partition_by)}, not {list(partition_by)}", "write with the table's partition keys"
            )
        info = TableInfo(schema, table, cols, parts, uniform)
        if current != info:
            atomic.write_json(directory / META, {"columns": cols, "partition_by": parts, "uniform": uniform}, sort_keys=False)
        return info

    def arrow_schema(self, info: TableInfo, *, with_partitions: bool = True) -> pa.Schema:
        fields = [pa.field(n, arrow_type(t)) for n, t in info.columns.items()]
        if with_partitions:
            fields += [pa.field(n, PARTITION_TYPES[t]) for n, t in info.partition_by.items()]
        return pa.schema(fields)

    # --- writes --------------------------------------------------------------------------

    def _layout(self, schema: str, table: str, partition: Partition, columns: pa.Schema) -> tuple[TableInfo, Callable[[pa.Table], pa.Table]]:
        """The table (created or widened for `columns`) and a function that shapes data for its files."""
        columns = normalized_schema(pa.schema([f for f in columns if f.name not in partition]))
        kinds = {k: "date" if isinstance(v, dt.date) else "int" if isinstance(v, int) else "string" for k, v in partition.items()}
        info = self.ensure_table(schema, table, columns, kinds)
        # Every file gets every column of the table, in its order: readers need not reconcile.
        target = self.arrow_schema(info, with_partitions=False)

        def shape(data: pa.Table) -> pa.Table:
            data = normalize(data.drop_columns([c for c in partition if c in data.column_names]))
            for name in target.names:
                if name not in data.column_names:
                    data = data.append_column(name, pa.nulls(data.num_rows, target.field(name).type))
            data = data.select(target.names)
            if target == data.schema:
                return data
            return pa.table([conform(data.column(f.name), f.type) for f in target], schema=target)

        return info, shape

    def _prepare(self, schema: str, table: str, partition: Partition, data: pa.Table) -> tuple[TableInfo, pa.Table]:
        info, shape = self._layout(schema, table, partition, data.schema)
        return info, shape(data)

    def replace_partition(self, schema: str, table: str, partition: Partition, data: pa.Table) -> Path:
        """Atomically replace one partition with `data` (partition columns are dropped from the files)."""
        with self.writing_partition(schema, table, partition, data.schema) as write:
            write(data)
        return self.table_dir(schema, table) / partition_path(partition)

    def replace_partitions(self, schema: str, table: str, parts: Sequence[tuple[Partition, pa.Table]]) -> None:
        """`replace_partition` for each (partition, data), one after another, under one hold of the
        table's lock: the table is repaired once, and its layout read (and widened) once per set of
        columns instead of once per partition. Each partition is replaced atomically, as by
        `replace_partition`; one that fails leaves the others of the call as they were written."""
        with self.table_lock(schema, table):
            self.restore(schema, table)
            layouts: dict[tuple, tuple[TableInfo, Callable[[pa.Table], pa.Table]]] = {}
            directory = self.table_dir(schema, table)
            for partition, data in parts:
                signature = (data.schema, tuple((k, type(v)) for k, v in partition.items()))
                if signature not in layouts:
                    layouts[signature] = self._layout(schema, table, partition, data.schema)
                    self._mark_if_widened(layouts[signature][0])
                info, shape = layouts[signature]
                shaped = shape(data)
                if self._replace_single_file(info, directory / partition_path(partition), shaped):
                    continue
                work, final = self._stage(schema, table, partition)
                try:
                    if shaped.num_rows:
                        others = list(info.columns)
                        pq.write_table(shaped, work / "data" / SINGLE_FILE, compression=COMPRESSION, use_dictionary=others, write_statistics=others)
                except BaseException:
                    shutil.rmtree(work, ignore_errors=True)
                    raise
                self._publish(schema, table, info, work, final)

    def _replace_single_file(self, info: TableInfo, final: Path, shaped: pa.Table) -> bool:
        """Replace a partition that is one `part-0.parquet` file (or nothing) by renaming a new file
        over it: as atomic for readers as swapping the folder, without creating and removing two
        folders (folder removal costs milliseconds on ext4). False, having done nothing, for a
        partition of other files, which `replace_partitions` swaps as a folder.

        The new file is written beside the old as `.part-0.parquet.<owner tag>.tmp`; a killed
        write leaves it, and `restore` sweeps it once its writer is gone. The caller holds the
        table's lock.
        """
        try:
            entries = [name for name in os.listdir(final) if not name.startswith(".")]
        except FileNotFoundError:
            entries = []
            final.mkdir(parents=True, exist_ok=True)
        if entries not in ([], [SINGLE_FILE]):
            return False
        target = final / SINGLE_FILE
        if not shaped.num_rows:
            target.unlink(missing_ok=True)
            return True
        tmp = final / f".{SINGLE_FILE}.{atomic.owner_tag()}.tmp"
        try:
            others = list(info.columns)
            pq.write_table(shaped, tmp, compression=COMPRESSION, use_dictionary=others, write_statistics=others)
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return True

    def _stage(self, schema: str, table: str, partition: Partition) -> tuple[Path, Path]:
        """A staging folder for a new version of `partition` (its files go in `data/`), and the partition's folder."""
        directory = self.table_dir(schema, table)
        work = directory / STAGING / atomic.owner_tag()
        (work / "data").mkdir(parents=True)
        (work / "TARGET").write_text(partition_path(partition), "utf-8")
        return work, directory / partition_path(partition)

    def _publish(self, schema: str, table: str, info: TableInfo, work: Path, final: Path) -> None:
        """Swap the staged `work/data` in for the partition `final` (the old one is put back on failure), then remove `work`."""
        with self.table_lock(schema, table):
            try:
                self._mark_if_widened(info)
                final.parent.mkdir(parents=True, exist_ok=True)
                if final.exists():
                    os.rename(final, work / "old")
                os.rename(work / "data", final)
            except BaseException:
                if (work / "old").is_dir() and not final.exists():
                    os.rename(work / "old", final)  # the old partition back, as if nothing happened
                shutil.rmtree(work, ignore_errors=True)
                raise
        shutil.rmtree(work)

    @contextmanager
    def writing_partition(
        self, schema: str, table: str, partition: Partition, columns: pa.Schema, *, high_cardinality: Iterable[str] = ()
    ) -> Iterator[Callable[[pa.Table | pa.RecordBatch], None]]:
        """Stream a new version of one partition: `write(batch)` inside the block, then the partition is
        replaced atomically when the block ends. If the block raises, the old partition stays as it was.

        Parquet encoding runs in a background thread (it releases the GIL) while the caller produces
        the next batches; at most two row groups wait in between, so memory stays bounded.
        Columns named in `high_cardinality` (e.g. page titles) get neither a dictionary nor min/max
        statistics: both cost much to build and never help for nearly unique, unsorted text.
        """
        with self.table_lock(schema, table):
            self.restore(schema, table)
            info, shape = self._layout(schema, table, partition, columns)
        work, final = self._stage(schema, table, partition)
        plain = set(high_cardinality)
        others = [name for name in info.columns if name not in plain]
        target = work / "data" / "part-0.parquet"
        # The background writer starts with the first full row group: a small partition is
        # written at the end in this thread, without the cost of starting one.
        writer: _BackgroundWriter | None = None
        try:
            pending: list[pa.Table] = []
            rows = 0

            def write(data: pa.Table | pa.RecordBatch) -> None:
                nonlocal rows, writer
                data = shape(pa.Table.from_batches([data]) if isinstance(data, pa.RecordBatch) else data)
                if data.num_rows:
                    pending.append(data)
                    rows += data.num_rows
                if rows >= ROW_GROUP_ROWS:
                    writer = writer or _BackgroundWriter(target, use_dictionary=others, write_statistics=others)
                    writer.put(pa.concat_tables(pending))
                    pending.clear()
                    rows = 0

            yield write
            if writer is not None:
                if pending:
                    writer.put(pa.concat_tables(pending))
                writer.close()
            elif pending:
                pq.write_table(pa.concat_tables(pending), target, compression=COMPRESSION, use_dictionary=others, write_statistics=others)
        except BaseException:
            if writer is not None:
                writer.abort()
            shutil.rmtree(work, ignore_errors=True)
            raise
        self._publish(schema, table, info, work, final)

    def _mark_if_widened(self, info: TableInfo) -> None:
        """Say in `_table.json` that files may lack columns, when another writer added some since `info` was read."""
        current = self.info(info.schema, info.name)
        if current is None or not current.uniform or current.columns == info.columns:
            return
        with self.table_lock(info.schema, info.name):
            current = self.info(info.schema, info.name)
            if current is not None and current.uniform and current.columns != info.columns:
                data = {"columns": current.columns, "partition_by": current.partition_by, "uniform": False}
                atomic.write_json(self.table_dir(info.schema, info.name) / META, data, sort_keys=False)

    def put_file(self, schema: str, table: str, partition: Partition, key: str, data: pa.Table) -> Path:
        """Atomically write (or replace) the file named by `key` inside a partition."""
        if not re.fullmatch(r"[A-Za-z0-9_\-]+", key):
            raise ValueError(f"invalid file key {key!r}")
        info, data = self._prepare(schema, table, partition, data)
        self.restore(schema, table)
        target = self.table_dir(schema, table) / partition_path(partition) / f"part-{key}.parquet"
        with atomic.temporary(target) as tmp:
            pq.write_table(data, tmp, compression=COMPRESSION)
        self._mark_if_widened(info)
        return target

    def drop_partition(self, schema: str, table: str, partition: Partition) -> bool:
        """Remove one partition; True when it existed."""
        final = self.table_dir(schema, table) / partition_path(partition)
        if not final.exists():
            return False
        trash = self.table_dir(schema, table) / STAGING / atomic.owner_tag()
        with self.table_lock(schema, table):
            if not final.exists():
                return False
            trash.parent.mkdir(parents=True, exist_ok=True)
            os.rename(final, trash)
        shutil.rmtree(trash)
        return True

    def recover(self, schema: str, table: str) -> list[str]:
        """Repair what killed writers left in the table: put back an old partition whose replacement
        never arrived, remove their staging folders and their temporary files. Staging and files of
        a live writer (this process's included) are left alone. Returns the partitions restored."""
        restored = self.restore(schema, table)
        self._sweep(schema, table)
        return restored

    def restore(self, schema: str, table: str) -> list[str]:
        """`recover`, but temporary files only the first time for this `Warehouse` and table (listing
        every partition costs): what each write does first. Returns the partitions restored."""
        directory = self.table_dir(schema, table)
        restored: list[str] = []
        if not directory.is_dir():
            return restored
        staging = directory / STAGING
        with self.table_lock(schema, table):
            for work in sorted(staging.iterdir()) if staging.is_dir() else []:
                if not atomic.abandoned(work.name):
                    continue  # a live writer's, or another host's
                target_file = work / "TARGET"
                if target_file.is_file() and (work / "old").is_dir():
                    final = directory / target_file.read_text("utf-8")
                    if not final.exists():
                        os.rename(work / "old", final)
                        restored.append(target_file.read_text("utf-8"))
                shutil.rmtree(work, ignore_errors=True)
        if (schema, table) not in self._swept:
            self._sweep(schema, table)
        return restored

    def _sweep(self, schema: str, table: str) -> None:
        """Remove the temporary files of writers that are gone, beside `_table.json` and in every partition."""
        self._swept.add((schema, table))
        directory = self.table_dir(schema, table)
        info = self.info(schema, table)
        folders = [directory] if directory.is_dir() else []
        if info is not None and info.partition_by:
            folders += [p for p in directory.glob("/".join(f"{key}=*" for key in info.partition_by)) if p.is_dir()]
        for folder in folders:
            atomic.sweep(folder)

    # --- reads ---------------------------------------------------------------------------

    def glob(self, info: TableInfo) -> str:
        """The exact-depth glob of the table's data files (never matches staging or hidden folders)."""
        parts = "/".join(f"{key}=*" for key in info.partition_by)
        return str(self.table_dir(info.schema, info.name) / parts / "*.parquet") if parts else str(self.table_dir(info.schema, info.name) / "*.parquet")

    def partitions(self, info: TableInfo) -> list[dict[str, str]]:
        """Every partition folder of the table, as partition key -> value text (none for an unpartitioned table)."""
        if not info.partition_by:
            return []
        base = self.table_dir(info.schema, info.name)
        pattern = "/".join(f"{key}=*" for key in info.partition_by)
        return [dict(part.split("=", 1) for part in path.relative_to(base).parts) for path in base.glob(pattern) if path.is_dir()]

    def files(self, info: TableInfo) -> list[Path]:
        base = self.table_dir(info.schema, info.name)
        return sorted(base.glob(self.glob(info).removeprefix(str(base) + "/")))


class _BackgroundWriter:
    """One Parquet file written by a worker thread from a small queue of tables (row groups)."""

    def __init__(self, path: Path, **options: object):
        self.path = path
        self.options = options
        self.queue: queue.Queue[pa.Table | None] = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.stop = False
        self.thread = threading.Thread(target=self._run, name=f"parquet-writer {path.parent.name}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        writer = None
        try:
            while (table := self.queue.get()) is not None:
                if self.stop:
                    continue  # drain after an abort
                if writer is None:
                    writer = pq.ParquetWriter(self.path, table.schema, compression=COMPRESSION, **self.options)
                writer.write_table(table, row_group_size=table.num_rows)
        except BaseException as exc:  # reported to the producer by put() or close()
            self.error = exc
            self.stop = True
            while self.queue.get() is not None:
                pass
        finally:
            if writer is not None:
                try:
                    writer.close()  # writes the footer: a failure here must fail the write too
                except BaseException as exc:
                    self.error = self.error or exc

    def put(self, table: pa.Table) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(table)

    def close(self) -> None:
        """Wait for every queued table to be written; raises what the worker met."""
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error

    def abort(self) -> None:
        self.stop = True
        if self.thread.is_alive():
            self.queue.put(None)
            self.thread.join()
