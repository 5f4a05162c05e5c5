"""The quarantine: every rejected input line, with its source file, line number and reason.

`quarantine.<source>` (`events`, `pageviews`, `csv`, `world_bank`) is partitioned by the day of
the load (`dt`). One file per loaded source (keyed like the data files), so reloading a source
replaces what its earlier load quarantined, even when that load ran on another day.

A file refused whole (a damaged gzip file, see `ingestion.inputs`) is one row beside them, under
its own key: its `line` is the first line that could not be read, `raw` is empty and `reason` says
what is wrong. The rows of the file's earlier load stay (in the data and in the quarantine), and
the next load that reads the file whole removes the refusal.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Sequence

import pyarrow as pa

from ingestion.storage import put_keyed, remove_stale
from metrics.warehouse import Warehouse

SCHEMA = "quarantine"
COLUMNS = pa.schema(
    [
        pa.field("source_file", pa.string()),
        pa.field("line", pa.int64()),
        pa.field("raw", pa.string()),
        pa.field("reason", pa.string()),
        pa.field("loaded_at", pa.timestamp("us", tz="UTC")),
    ]
)


@dataclass(frozen=True)
class Rejected:
    """One input line (or record) that was not stored, and why; `line` is 1-based."""

    source_file: str
    line: int
    raw: str
    reason: str


def raw_text(line: bytes) -> str:
    """A raw input line as quarantine text: UTF-8 where it is, other bytes as `\\xNN` (nothing lost, nothing replaced)."""
    return line.decode("utf-8", "backslashreplace")


def refused_key(key: str) -> str:
    """The quarantine key of the refusal of the source file `key` (no source key starts so: those end in a hash of their own)."""
    return f"refused--{key}"


def to_table(rejected: Sequence[Rejected], loaded_at: dt.datetime) -> pa.Table:
    """The quarantine rows of `rejected`, all stamped `loaded_at`."""
    return pa.table(
        [
            pa.array([r.source_file for r in rejected], pa.string()),
            pa.array([r.line for r in rejected], pa.int64()),
            pa.array([r.raw for r in rejected], pa.string()),
            pa.array([r.reason for r in rejected], pa.string()),
            pa.array([loaded_at] * len(rejected), COLUMNS.field("loaded_at").type),
        ],
        schema=COLUMNS,
    )


def store(warehouse: Warehouse, source: str, key: str, rejected: Sequence[Rejected], loaded_at: dt.datetime | None = None) -> int:
    """Replace the quarantined rows of one source file (`key`) by `rejected`; returns their number.

    The table is created even when nothing is rejected, so `quarantine.<source>` can always be queried.
    """
    loaded_at = loaded_at or dt.datetime.now(dt.timezone.utc)
    warehouse.ensure_table(SCHEMA, source, COLUMNS, {"dt": "date"})
    remove_stale(warehouse, SCHEMA, source, refused_key(key))  # read whole this time: no longer refused
    if not rejected:
        remove_stale(warehouse, SCHEMA, source, key)
        return 0
    day = loaded_at.astimezone(dt.timezone.utc).date()
    put_keyed(warehouse, SCHEMA, source, key, {(day,): ({"dt": day}, to_table(rejected, loaded_at))})
    return len(rejected)


def refuse(warehouse: Warehouse, source: str, key: str, problem: Rejected, loaded_at: dt.datetime | None = None) -> None:
    """Record that the source file `key` was refused whole (one row, `problem`); its earlier rows stay."""
    loaded_at = loaded_at or dt.datetime.now(dt.timezone.utc)
    warehouse.ensure_table(SCHEMA, source, COLUMNS, {"dt": "date"})
    day = loaded_at.astimezone(dt.timezone.utc).date()
    put_keyed(warehouse, SCHEMA, source, refused_key(key), {(day,): ({"dt": day}, to_table([problem], loaded_at))})
