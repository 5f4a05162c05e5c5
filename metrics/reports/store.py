"""Writer: report results into `metrics.<folder>_<report>` tables, and the run log that is the state.

Each table is partitioned by `dt`; explode values are columns named by their placeholder. A
write replaces, in each affected `dt` partition, the rows of the explode combinations that were
computed, and keeps the others: a rerun replaces, never appends. Tables are Parquet in the
warehouse folder (`write_mode = "files"`) or written through Trino (`"sql"`). The run log
(`metrics.report_runs`) records every interval (status, rows, seconds, error); what is done is
read from it, not from output files.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Iterable, Mapping

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from metrics.engines import Engine
from metrics.warehouse import Warehouse, arrow_type, partition_path

SCHEMA = "metrics"
RUN_LOG = "report_runs"
RUN_LOG_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("folder", pa.string()),
        ("report", pa.string()),
        ("explode", pa.string()),
        ("interval_start", pa.date32()),
        ("interval_end", pa.date32()),
        ("status", pa.string()),
        ("rows", pa.int64()),
        ("seconds", pa.float64()),
        ("error", pa.string()),
        ("finished_at", pa.timestamp("us", tz="UTC")),
        ("query_hash", pa.string()),
        ("spec_version", pa.string()),
    ]
)
"""The run log's columns. `query_hash` and `spec_version` (`metrics.reports.definition`) are the
report's definition the entry was computed with; they read as null in entries written before
they were recorded."""


def explode_key(explode: Mapping[str, str]) -> str:
    """A stable text form of one explode combination, as stored in the run log."""
    return json.dumps(dict(sorted(explode.items())), separators=(",", ":"))


@dataclass
class LogEntry:
    folder: str
    report: str
    explode: str
    interval_start: dt.date
    interval_end: dt.date
    status: str
    rows: int = 0
    seconds: float = 0.0
    error: str | None = None
    finished_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    query_hash: str | None = None
    spec_version: str | None = None


Replaced = Mapping[dt.date, "list[dict[str, str]] | None"]
"""Per `dt` partition, the explode combinations whose rows a write replaces (None: every row)."""


class Store:
    """Writes report results and run-log entries; one instance per run, safe across threads, and
    across processes writing the same tables (`files` mode: each table's lock, `Warehouse.table_lock`).

    Where the tables live follows the engine's `write_mode`: `files` writes Parquet into the
    warehouse folder and publishes it to the engine; `sql` has the engine write its own tables
    (Trino `INSERT` with partition overwrite), for a warehouse the writer cannot reach.
    """

    def __init__(self, engine: Engine, run_id: str | None = None):
        self.engine = engine
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.tables: _Tables = _EngineTables(engine) if engine.write_mode == "sql" else _FolderTables(engine)
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._pending: list[LogEntry] = []
        self._flushes = 0

    def _lock(self, table: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(table, threading.Lock())

    # --- results -------------------------------------------------------------------------

    def write(self, table: str, results: pa.Table, combos: Mapping[str, Iterable[dt.date]], explode_columns: list[str]) -> int:
        """Replace, for each combination (explode key) and each of its dates, its rows in the table.

        `results` has `dt` and the explode columns; `combos` maps each computed explode key to the
        dates it recomputed (rows of other combinations in those partitions are kept).
        """
        dates: set[dt.date] = set()
        covered: dict[dt.date, list[dict[str, str]]] = {}
        for key, days in combos.items():
            for day in days:
                dates.add(day)
                covered.setdefault(day, []).append(json.loads(key))
        if results.num_rows:
            dates.update(results.column("dt").to_pylist())
        replaced: dict[dt.date, list[dict[str, str]] | None] = {}
        for day in sorted(dates):
            if explode_columns:
                replaced[day] = covered.get(day, [])
            else:
                replaced[day] = None if day in covered else []
        with self._lock(table):
            self.tables.replace(table, results, replaced)
        return results.num_rows

    def column_types(self, table: str) -> dict[str, pa.DataType] | None:
        """The types of the table's columns, when it exists and this store keeps it in the warehouse folder (None otherwise)."""
        info = self.engine.warehouse.info(SCHEMA, table) if self.engine.write_mode != "sql" else None
        return {name: arrow_type(kind) for name, kind in info.columns.items()} if info is not None else None

    def declare(self, table: str, schema: pa.Schema) -> None:
        """Create the table from a result's columns even before it has rows (dashboards need it)."""
        with self._lock(table):
            self.tables.declare(table, schema)

    def recover(self, tables: Iterable[str]) -> None:
        """Repair what killed runs left in these tables and in the run log (`Warehouse.recover`), before anything reads them."""
        for table in sorted({*tables, RUN_LOG}):
            self.tables.recover(table)

    # --- run log ---------------------------------------------------------------------------

    def log(self, entry: LogEntry) -> None:
        with self._guard:
            self._pending.append(entry)

    def flush_log(self) -> None:
        """Write pending run-log entries as one file (atomic) in the run log table."""
        with self._guard:
            entries, self._pending = self._pending, []
            self._flushes += 1
            number = self._flushes
        if not entries:
            return
        columns = {name: [getattr(e, name) if name != "run_id" else self.run_id for e in entries] for name in RUN_LOG_SCHEMA.names}
        self.tables.append_log(pa.table(columns, schema=RUN_LOG_SCHEMA), entries[0].finished_at.date().replace(day=1), f"{self.run_id}-{number:05d}")

    def done(self, folder: str, report: str) -> dict[str, dict[dt.date, str]]:
        """explode key -> interval start -> latest status, from the run log."""
        table = self.tables.read_log(folder, report).sort_by([("finished_at", "ascending")])
        out: dict[str, dict[dt.date, str]] = {}
        for key, start, status in zip(table.column("explode").to_pylist(), table.column("interval_start").to_pylist(), table.column("status").to_pylist()):
            out.setdefault(key, {})[start] = status
        return out

    def latest(self, folder: str, report: str) -> dict[str, dict[dt.date, LogEntry]]:
        """explode key -> interval start -> the latest run-log entry (status, error, finished_at), from the run log."""
        table = self.tables.read_log(folder, report).sort_by([("finished_at", "ascending")])
        out: dict[str, dict[dt.date, LogEntry]] = {}
        for row in table.select([n for n in RUN_LOG_SCHEMA.names if n != "run_id"]).to_pylist():
            out.setdefault(row["explode"], {})[row["interval_start"]] = LogEntry(**row)
        return out


class _Tables(ABC):
    """Where a Store's tables live: the warehouse folder, or the engine's own tables."""

    @abstractmethod
    def replace(self, table: str, results: pa.Table, replaced: Replaced) -> None:
        """Swap, per `dt` partition of `replaced`, the rows of its combinations for `results`' rows of that date."""

    @abstractmethod
    def declare(self, table: str, schema: pa.Schema) -> None:
        """Create the table (columns of `schema`, partitioned by `dt`) when it does not exist."""

    def recover(self, table: str) -> None:  # noqa: B027  optional: an engine's own tables need no repair
        """Put back partitions and remove staging and temporary files that killed writers left in the table."""

    @abstractmethod
    def append_log(self, entries: pa.Table, month: dt.date, key: str) -> None:
        """Add run-log rows (RUN_LOG_SCHEMA) to the `month` partition; `key` names them once."""

    @abstractmethod
    def read_log(self, folder: str, report: str) -> pa.Table:
        """The run log rows of one report: `explode`, `interval_start`, `status`, `finished_at`."""


class _FolderTables(_Tables):
    """Tables as Parquet partitions in the warehouse folder, published to the engine after each write."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.warehouse: Warehouse = engine.warehouse

    def replace(self, table: str, results: pa.Table, replaced: Replaced) -> None:
        by_day = _by_day(results)
        # Under the table's lock from the read of the kept rows to the write: another process
        # writing other combinations of the same partitions (two folders sharing the table)
        # waits, instead of writing a partition that this write then overwrites without its rows.
        with self.warehouse.table_lock(SCHEMA, table):
            self.warehouse.restore(SCHEMA, table)  # a partition a killed write left aside is back before its rows are kept
            exists = self.warehouse.info(SCHEMA, table) is not None
            writes: list[tuple[dict[str, dt.date], pa.Table]] = []
            for day, combos in replaced.items():
                kept = self._kept_rows(table, day, combos) if exists else None
                parts = [t for t in (kept, by_day.get(day)) if t is not None and t.num_rows]
                if not parts:
                    if exists:
                        self.warehouse.drop_partition(SCHEMA, table, {"dt": day})
                    continue
                writes.append(({"dt": day}, pa.concat_tables(parts, promote_options="permissive") if len(parts) > 1 else parts[0]))
            self.warehouse.replace_partitions(SCHEMA, table, writes)
        self.engine.publish(SCHEMA, table)

    def recover(self, table: str) -> None:
        self.warehouse.recover(SCHEMA, table)

    def declare(self, table: str, schema: pa.Schema) -> None:
        if self.warehouse.info(SCHEMA, table) is None:
            self.warehouse.ensure_table(SCHEMA, table, pa.schema([f for f in schema if f.name != "dt"]), {"dt": "date"})
            self.engine.publish(SCHEMA, table, new=True)

    def _kept_rows(self, table: str, day: dt.date, combos: list[dict[str, str]] | None) -> pa.Table | None:
        """The rows of a partition (of a table that exists) that this write does not replace."""
        if combos is None:
            return None
        directory = self.warehouse.table_dir(SCHEMA, table) / partition_path({"dt": day})
        files = sorted(directory.glob("*.parquet")) if directory.is_dir() else []
        if not files:
            return None
        existing = pa.concat_tables([pq.read_table(f) for f in files], promote_options="permissive")
        return existing.filter(pc.invert(_matching(existing, combos)))

    def append_log(self, entries: pa.Table, month: dt.date, key: str) -> None:
        self.warehouse.put_file(SCHEMA, RUN_LOG, {"month": month}, key, entries)
        self.engine.publish(SCHEMA, RUN_LOG, {"month": month})

    def read_log(self, folder: str, report: str) -> pa.Table:
        info = self.warehouse.info(SCHEMA, RUN_LOG)
        files = [str(f) for f in self.warehouse.files(info)] if info is not None else []
        if not files:
            return RUN_LOG_SCHEMA.empty_table()
        dataset = ds.dataset(files, format="parquet", schema=RUN_LOG_SCHEMA)
        return dataset.to_table(filter=(ds.field("folder") == folder) & (ds.field("report") == report))


def _matching(rows: pa.Table, combos: list[dict[str, str]]) -> pa.Array:
    """Which rows belong to any of the explode combinations (a combination's columns that `rows` lacks match any value)."""
    wanted: dict[tuple[str, ...], set[str]] = {}
    for combo in combos:
        columns = tuple(c for c in sorted(combo) if c in rows.column_names)
        wanted.setdefault(columns, set()).add(_SEPARATOR.join(str(combo[c]) for c in columns))
    match = pa.array([False] * rows.num_rows, pa.bool_())
    for columns, keys in wanted.items():
        if not columns:
            return pa.array([True] * rows.num_rows, pa.bool_())
        parts = [pc.cast(rows.column(c), pa.string()) for c in columns]
        joined = pc.binary_join_element_wise(*parts, _SEPARATOR) if len(parts) > 1 else parts[0]
        match = pc.or_(match, pc.fill_null(pc.is_in(joined, pa.array(sorted(keys), pa.string())), False))
    return match


_SEPARATOR = "\x1f"  # never in an explode value (letters, digits, `_`, `.`, `-`)


def _by_day(results: pa.Table) -> dict[dt.date, pa.Table]:
    """The rows of each `dt`, without the `dt` column, in their order (one stable sort, not a scan per day)."""
    if not results.num_rows:
        return {}
    ordered = results.take(pc.sort_indices(results.column("dt")))  # Arrow's sort is stable
    days = ordered.column("dt").to_pylist()
    rest = ordered.drop_columns(["dt"])
    out: dict[dt.date, pa.Table] = {}
    start = 0
    for i in range(1, len(days) + 1):
        if i == len(days) or days[i] != days[start]:
            out[days[start]] = rest.slice(start, i - start)
            start = i
    return out


class _EngineTables(_Tables):
    """Tables the engine writes itself (`write_mode = "sql"`): the warehouse folder is never touched."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def replace(self, table: str, results: pa.Table, replaced: Replaced) -> None:
        self.engine.replace_rows(SCHEMA, table, results, "dt", replaced)

    def declare(self, table: str, schema: pa.Schema) -> None:
        self.engine.create_table(SCHEMA, table, schema, ["dt"])

    def append_log(self, entries: pa.Table, month: dt.date, key: str) -> None:
        rows = entries.append_column("month", pa.array([month] * entries.num_rows, pa.date32()))
        self.engine.append_rows(SCHEMA, RUN_LOG, rows, ["month"])

    def read_log(self, folder: str, report: str) -> pa.Table:
        if not self.engine.columns(SCHEMA, RUN_LOG):
            return RUN_LOG_SCHEMA.empty_table()
        rows = self.engine.query(
            f"SELECT * FROM {SCHEMA}.{RUN_LOG} WHERE folder = :folder AND report = :report", {"folder": folder, "report": report}, dialect="trino"
        )
        for name in RUN_LOG_SCHEMA.names:  # a run log written before a column was added has none: null
            if name not in rows.column_names:
                rows = rows.append_column(RUN_LOG_SCHEMA.field(name), pa.nulls(rows.num_rows, RUN_LOG_SCHEMA.field(name).type))
        return rows.select(RUN_LOG_SCHEMA.names)
