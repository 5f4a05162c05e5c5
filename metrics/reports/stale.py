"""Stale partitions: intervals whose data was computed by another definition of their report than the current one.

An interval of one explode combination is **stale** when its latest run-log entry is `ok` and
records a `query_hash` other than the report's current one (`metrics.reports.definition`). It is
**unknown** when that entry records no hash: computed before definitions were recorded. Unknown
intervals are listed apart and not recomputed by default (`metrics backfill --unknown` does):
after an upgrade, every interval is unknown, and most were computed by today's definition.

Only intervals the runner would compute are listed: those due now, of the explode combinations
the config names today. A snapshot report measures the present, so only its newest interval can
be recomputed; its older stale intervals are counted (`out_of_reach`), not listed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Collection, Iterable, Sequence

from metrics.engines import Engine
from metrics.reports.config import Report, read_folder
from metrics.reports.definition import Definition, definition
from metrics.reports.intervals import Interval, due_intervals
from metrics.reports.selector import explode_combinations
from metrics.reports.store import Store, explode_key


@dataclass(frozen=True)
class StaleInterval:
    """One interval of one explode combination, and the definition its data was computed with."""

    key: str
    """The combination's `explode_key`."""
    interval: Interval
    query_hash: str | None
    spec_version: str | None


@dataclass(frozen=True)
class Range:
    """Consecutive stale intervals computed by one old definition: `start` to `end` (exclusive)."""

    start: dt.date
    end: dt.date
    intervals: int
    combinations: int
    query_hash: str | None
    spec_version: str | None

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def text(self) -> str:
        """`2026-01-01 .. 2026-03-31, 90 days, 3 combinations` (the last day inclusive)."""
        last = self.end - dt.timedelta(days=1)
        combos = f", {self.combinations} combination{'s' if self.combinations != 1 else ''}" if self.combinations > 1 else ""
        return f"{self.start} .. {last}, {self.days} day{'s' if self.days != 1 else ''}{combos}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "days": self.days,
            "intervals": self.intervals,
            "combinations": self.combinations,
            "query_hash": self.query_hash,
            "spec_version": self.spec_version,
        }


@dataclass
class ReportStale:
    """One report's stale and unknown intervals against its current definition."""

    folder: str
    report: str
    table: str
    current: Definition
    stale: list[StaleInterval] = field(default_factory=list)
    unknown: list[StaleInterval] = field(default_factory=list)
    out_of_reach: int = 0
    """Stale intervals of a snapshot report older than its newest: they cannot be recomputed."""

    @property
    def ref(self) -> str:
        return f"{self.folder}/{self.report}"

    def todo(self, unknown: bool = False) -> dict[str, set[dt.date]]:
        """Per explode key, the interval starts to recompute (the stale ones, and with `unknown` those without a hash)."""
        out: dict[str, set[dt.date]] = {}
        for item in [*self.stale, *(self.unknown if unknown else [])]:
            out.setdefault(item.key, set()).add(item.interval.start)
        return out

    def lines(self) -> list[str]:
        """The report as `metrics plan` and `metrics backfill --dry-run` print it (nothing when nothing is stale or unknown)."""
        out = []
        now_spec = f", specs {self.current.spec_version or '(none)'}" if self.current.spec_version is not None else ""
        for item in ranges(self.stale):
            was = f", specs {item.spec_version or '(none)'}" if item.spec_version is not None else ""
            out.append(f"    {item.text()}: computed by {item.query_hash}{was}; now {self.current.query_hash}{now_spec}")
        for item in ranges(self.unknown):
            out.append(f"    {item.text()}: computed before definitions were recorded (unknown)")
        if self.out_of_reach:
            out.append(
                f"    {self.out_of_reach} older snapshot interval(s) computed by another definition cannot be recomputed (a snapshot measures the present)"
            )
        return [f"  report {self.ref} (table metrics.{self.table}):", *out] if out else []

    def as_dict(self) -> dict[str, Any]:
        return {
            "folder": self.folder,
            "report": self.report,
            "table": self.table,
            "query_hash": self.current.query_hash,
            "spec_version": self.current.spec_version,
            "stale": [r.as_dict() for r in ranges(self.stale)],
            "unknown": [r.as_dict() for r in ranges(self.unknown)],
            "out_of_reach": self.out_of_reach,
        }


def find(report: Report, store: Store, current: Definition, now: dt.datetime) -> ReportStale:
    """The report's stale and unknown intervals: latest run-log entry `ok` with another or no `query_hash`."""
    found = ReportStale(report.folder_name, report.key, report.table, current)
    intervals = due_intervals(report.starts, report.granularity, now, lag=report.lag, max_data_points=report.max_data_points, ends=report.ends)
    reachable = {i.start: i for i in (intervals[-1:] if report.snapshot else intervals)}
    due = {i.start for i in intervals}
    latest = store.latest(report.folder_name, report.key)
    for combo in explode_combinations(report.explode_by):
        key = explode_key(combo)
        for start, entry in sorted(latest.get(key, {}).items()):
            if entry.status != "ok" or entry.query_hash == current.query_hash or start not in due:
                continue
            if start not in reachable:
                found.out_of_reach += entry.query_hash is not None
                continue
            item = StaleInterval(key, reachable[start], entry.query_hash, entry.spec_version)
            (found.stale if entry.query_hash is not None else found.unknown).append(item)
    return found


def ranges(items: Iterable[StaleInterval]) -> list[Range]:
    """Intervals grouped by the definition they were computed with, then merged where consecutive, in date order."""
    groups: dict[tuple[str | None, str | None], dict[dt.date, tuple[Interval, set[str]]]] = {}
    for item in items:
        by_start = groups.setdefault((item.query_hash, item.spec_version), {})
        by_start.setdefault(item.interval.start, (item.interval, set()))[1].add(item.key)
    out = []
    for (query_hash, spec_version), by_start in groups.items():
        run: list[tuple[Interval, set[str]]] = []
        for start in sorted(by_start):
            if run and run[-1][0].end != start:
                out.append(_range(run, query_hash, spec_version))
                run = []
            run.append(by_start[start])
        if run:
            out.append(_range(run, query_hash, spec_version))
    return sorted(out, key=lambda r: (r.start, r.query_hash or "", r.spec_version or ""))


def _range(run: list[tuple[Interval, set[str]]], query_hash: str | None, spec_version: str | None) -> Range:
    keys = set().union(*(keys for _, keys in run))
    return Range(run[0][0].start, run[-1][0].end, len(run), len(keys), query_hash, spec_version)


def find_all(
    folders: Sequence[Path], engine: Engine, catalogue=None, now: dt.datetime | None = None, reports: Collection[str] | None = None
) -> list[ReportStale]:
    """`find` for every report of the folders (only `folder/report` refs in `reports`, when given), in folder order.

    Reads only (no lock): what `metrics plan` and `metrics backfill --dry-run` show. A report whose
    query file cannot be read is left out (its config check says why).
    """
    now = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    store = Store(engine)
    out = []
    for folder in folders:
        for report in read_folder(folder).reports:
            if reports is not None and f"{report.folder_name}/{report.key}" not in reports:
                continue
            try:
                current = definition(report, catalogue)
            except OSError:
                continue
            out.append(find(report, store, current, now))
    return out


def lines(found: Sequence[ReportStale]) -> list[str]:
    """What `metrics plan` prints: the reports with stale or unknown intervals, and how to recompute them."""
    shown = [line for item in found for line in item.lines()]
    if not found:
        return ["data computed by an old definition: no report"]
    if not shown:
        return [f"data computed by an old definition: none ({len(found)} report(s) checked against the run log)"]
    out = ["data computed by an old definition (per report: the intervals, the definition they were computed by, and the current one):", *shown]
    if any(item.stale for item in found):
        out.append("  recompute them: `metrics backfill` (all), `metrics backfill --report FOLDER/REPORT`; `--dry-run` lists them first")
    if any(item.unknown for item in found):
        out.append("  intervals computed before definitions were recorded are recomputed only with `metrics backfill --unknown`")
    return out
