"""Keyed files: one Parquet file per (source file, partition), so reloading a source replaces it.

A source's key is derived from its identity (its absolute path, or the content of stdin). A load
writes `part-<key>.parquet` into every partition it has rows for and removes the files of the same
key that an earlier load of the same source left in other partitions, so reloading never
duplicates and never leaves stale rows behind. Every load also removes the temporary files
(`.part-*.tmp`) that killed loads left in the table (`metrics.atomic.abandoned`: never one a
live process is writing).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Iterable, Mapping

import pyarrow as pa

from metrics import atomic
from metrics.warehouse import Partition, Warehouse


def source_key(path: Path | str, content: bytes | None = None, digest: "hashlib._Hash | None" = None) -> str:
    """A file key for a source: its name (readable) plus a hash of its absolute path, or of its
    `content` (or the SHA-1 `digest` of the content, fed while it was read)."""
    if content is not None:
        digest = hashlib.sha1(content)
    if digest is not None:
        return "stdin-" + digest.hexdigest()[:16]
    resolved = Path(path).resolve()
    stem = re.sub(r"[^A-Za-z0-9_\-]+", "_", resolved.name)[:60].strip("_") or "file"
    return f"{stem}-{hashlib.sha1(str(resolved).encode()).hexdigest()[:12]}"


def _files(warehouse: Warehouse, schema: str, table: str, name: str) -> list[Path]:
    """The files called `name` (a glob) in every partition of the table."""
    info = warehouse.info(schema, table)
    if info is None:
        return []
    base = warehouse.table_dir(schema, table)
    depth = "/".join(f"{k}=*" for k in info.partition_by)
    return sorted(base.glob(f"{depth}/{name}" if depth else name))


def keyed_files(warehouse: Warehouse, schema: str, table: str, key: str) -> list[Path]:
    """Every data file of `key` in the table, whatever its partition."""
    return _files(warehouse, schema, table, f"part-{key}.parquet")


def remove_orphans(warehouse: Warehouse, schema: str, table: str) -> int:
    """Delete the temporary files killed writers left in the table's partitions; returns how many."""
    return atomic.remove_orphans(_files(warehouse, schema, table, ".part-*.tmp"))


def put_keyed(warehouse: Warehouse, schema: str, table: str, key: str, parts: Mapping[tuple, tuple[Partition, pa.Table]]) -> list[Path]:
    """Write one file per partition for `key`, then remove the key's files in partitions not written now."""
    written = [warehouse.put_file(schema, table, partition, key, data) for partition, data in parts.values()]
    remove_stale(warehouse, schema, table, key, keep=written)
    return written


def remove_stale(warehouse: Warehouse, schema: str, table: str, key: str, keep: Iterable[Path] = ()) -> int:
    """Delete the files of `key` in `schema.table` other than `keep` (and the table's orphaned temporary files); returns how many of `key`."""
    remove_orphans(warehouse, schema, table)
    keep_set = {p.resolve() for p in keep}
    removed = 0
    for path in keyed_files(warehouse, schema, table, key):
        if path.resolve() not in keep_set:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
