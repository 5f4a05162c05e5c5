"""A report's definition, as a hash recorded with every interval it computes, and the spec versions that read it.

The hash covers what decides the numbers of one interval of one explode combination:

| part | why |
| --- | --- |
| the query file's bytes (SQL text, or the script file) | the computation itself |
| `type`, `dialect` (after the folder's default), `db` and its database name | how and where the query runs |
| `granularity` | how long each interval is |
| `backfill` | whether the query runs per interval or over a range (its `{from_date}`/`{to_date}`) |
| `snapshot` | a snapshot measures the present |
| the explode placeholder names | which columns and placeholders the query gets |
| for Hive-dialect SQL: the Hive semantics rules (`metrics.engines.hive_semantics.RULES`: key and action per engine) | how Hive meaning is kept on the engine |

Left out, since they decide *which* intervals and combinations exist or where results go, not
an interval's numbers: `starts`, `ends`, `lag`, `depends_on`, the explode *values* (a new wiki is a
missing combination, computed by the next run), `max_data_points` and `group` (TSV only),
`graphite` (Graphite paths), the engine (DuckDB and Trino give the same numbers: one meaning per
metric). Files a script reads besides itself are not hashed: recompute its dates with
`metrics rerun-reports` when they change.

The spec versions (`spec_versions`) are recorded beside the hash, not in it: a spec reads a
report's column, it does not change it.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass

from metrics.reports.config import Report
from metrics.spec import ReportSource

HASH_LENGTH = 16
"""Hex digits kept of the SHA-256 (64 bits)."""


@dataclass(frozen=True)
class Definition:
    """What a report's intervals are computed with: `query_hash` (HASH_LENGTH hex digits) and
    `spec_version` (`name version` of each spec reading the report, sorted, joined with `, `;
    empty when none does; None when no catalogue was given)."""

    query_hash: str | None
    """None when the query file cannot be read (its intervals fail)."""
    spec_version: str | None


def query_hash(report: Report) -> str:
    """The hash of what decides a report's numbers (see the module's table); reads the query file.

    Raises OSError when the query file cannot be read.
    """
    settings = {
        "type": report.type,
        "dialect": report.dialect,
        "db": report.db,
        "database": report.database.db if report.database else None,
        "wiki_db_placeholder": report.database.wiki_db_placeholder if report.database else None,
        "granularity": report.granularity,
        "backfill": report.backfill,
        "snapshot": report.snapshot,
        "explode": sorted(report.explode_by),
        "semantics": _semantics() if report.dialect == "hive" and report.type != "script" else None,
    }
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, separators=(",", ":")).encode())
    digest.update(b"\0")
    digest.update(report.query_file.read_bytes())
    return digest.hexdigest()[:HASH_LENGTH]


def spec_versions(catalogue, folder: str, report: str) -> str:
    """`name version` of each spec with a metric whose source is `<folder>/<report>`, sorted, joined with `, `."""
    ref = f"{folder}/{report}"
    found = {
        f"{spec.name} {spec.version}" for spec in catalogue or () if any(isinstance(m.source, ReportSource) and m.source.report == ref for m in spec.metrics)
    }
    return ", ".join(sorted(found))


def definition(report: Report, catalogue=None) -> Definition:
    """The report's `Definition` now (spec_version None without a catalogue)."""
    versions = spec_versions(catalogue, report.folder_name, report.key) if catalogue is not None else None
    return Definition(query_hash(report), versions)


@functools.cache
def _semantics() -> str:
    from metrics.engines import hive_semantics

    rules = [[rule.key, {engine: str(action) for engine, action in sorted(rule.action.items())}] for rule in hive_semantics.RULES]
    return hashlib.sha256(json.dumps(rules, sort_keys=True).encode()).hexdigest()[:HASH_LENGTH]
