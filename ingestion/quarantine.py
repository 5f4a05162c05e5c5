"""The quarantine: every rejected input line, with its source file, line number and reason.

`quarantine.<source>` (`events`, `pageviews`, `csv`, `world_bank`) is partitioned by the day of
the load (`dt`). One file per loaded source (keyed like the data files), so reloading a source
replaces what its earlier load quarantined, even when that load ran on another day.
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
    if not rejected:
        remove_stale(warehouse, SCHEMA, source, key)
        return 0
    day = loaded_at.astimezone(dt.timezone.utc).date()
    put_keyed(warehouse, SCHEMA, source, key, {(day,): ({"dt": day}, to_table(rejected, loaded_at))})
    return len(rejected)
