"""Top pages per wiki: the N most viewed pages of each domain, per hour or per day, minus a blacklist.

The pipeline, one stage a module, data flowing forward:

- `periods`: the hours (or, with `daily`, the days) of the range, each ranked on its own;
- `sources`: where a period's pageviews come from, dump files found by name or `wmf.pageview_hourly`;
- `dumps`: reading dumps fast, an hour straight into the ranker, a day summed per page first;
- `ranking`: the top N of each domain under a tie policy, blacklisted pages left out;
- `output`: the warehouse tables, the CSV files, and the run log that says what is done.

From Python, `top_pages(...)` is the `metrics toppages` command (it writes, skips what is done and
returns a `Summary`); `rank_file(path)` ranks one dump and writes nothing:

    from metrics import toppages
    toppages.rank_file("pageviews-20260101-050000.gz", top=10).to_pandas()
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

import pyarrow as pa

from ingestion import quarantine
from ingestion.pageviews import QUARANTINE
from ingestion.quarantine import Rejected
from ingestion.storage import source_key
from metrics.errors import MetricsError, UsageError
from metrics.toppages import blacklist as blacklist_mod, dumps, output, periods as periods_mod, sources
from metrics.toppages.blacklist import Blacklist
from metrics.toppages.output import Attempt, Output, Ranking
from metrics.toppages.periods import Period
from metrics.toppages.ranking import RESULT, TIES, Ranker
from metrics.warehouse import Warehouse

if TYPE_CHECKING:
    from metrics.engines import Engine

__all__ = ["RESULT", "TIES", "Blacklist", "Outcome", "Period", "Summary", "rank_file", "top_pages"]

DAY_MEMORY = "3GB"
"""DuckDB's memory limit while it sums a day's pages (it spills to a temporary folder beyond).
A day of 24 five-million-line hours peaks at about 0.8 GB; with a limit of 2 GB or less, DuckDB
switched to its external aggregation there and took three to four times as long."""


def default_workers() -> int:
    """Dumps read at once: one per CPU, at most 4 (each also has a decompressing thread)."""
    return max(1, min(os.cpu_count() or 1, 4))


@dataclass
class Outcome:
    """What happened to one period: `ok`, `skipped` (done before with the same settings) or `failed`."""

    period: Period
    status: str
    rows: int = 0
    lines: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0
    source: str = ""
    result: pa.Table | None = None
    """The ranked rows (`RESULT`), when asked for with `keep_results`."""
    kept: bool = False
    """For a failed period: whether a result of an earlier run is there, left as it was (tables and CSV)."""

    def line(self) -> str:
        """For a person: the period, what happened, and figures or the error.

        One line, but for a day that failed: then one more line per hour that failed, indented.
        """
        if self.status == "skipped":
            return f"{self.period.label}: skipped, done before with the same settings (--force computes it again)"
        if self.status == "failed":
            head, *more = self.error.splitlines() or [""]
            kept = "; the previous result is kept" if self.kept else ""
            return "\n".join([f"{self.period.label}: failed: {head}{kept}", *(f"  {line}" for line in more)])
        read = f"{self.lines:,} line(s)" if self.source != sources.TABLE else sources.TABLE
        text = f"{self.period.label}: {self.rows:,} row(s) from {read}, {self.seconds:.2f} s"
        if self.rejected:
            first = self.rejected[0]
            text += f"; {len(self.rejected):,} bad line(s) left out and quarantined, the first {first.source_file}:{first.line}: {first.reason}"
        return text


@dataclass
class Summary:
    """Every period's outcome, in order."""

    grain: str
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed

    def line(self) -> str:
        counts = {s: sum(o.status == s for o in self.outcomes) for s in ("ok", "skipped", "failed")}
        rows = sum(o.rows for o in self.outcomes if o.status == "ok")
        table = f"{output.SCHEMA}.{output.TABLES[self.grain]}"
        return (
            f"toppages: {counts['ok']} {self.grain}(s) ranked, {counts['skipped']} skipped, {counts['failed']} failed;"
            f" {rows:,} row(s) into {table}, {self.seconds:.1f} s"
        )


def rank_file(path: Path | str, *, top: int = 25, ties: str = "row_number", blacklist: Blacklist | Path | str | None = None) -> pa.Table:
    """The top `top` pages of each domain of one hourly dump (`RESULT` columns), writing nothing.

    Raises `InputError` when the file cannot be read; bad lines are left out (see `top_pages`).
    """
    listed = _blacklist(blacklist)
    table, _ = dumps.rank_hour(Path(path), lambda: Ranker(top, ties, listed))
    return table


def _blacklist(blacklist: Blacklist | Path | str | None) -> Blacklist:
    if blacklist is None or isinstance(blacklist, Blacklist):
        return blacklist or Blacklist()
    return blacklist_mod.read(blacklist)


def _utc(moment: dt.datetime | dt.date | None, name: str) -> dt.datetime | None:
    """`moment` as an aware UTC datetime: a naive datetime is taken as UTC, a `date` as its midnight UTC."""
    if moment is None:
        return None
    if isinstance(moment, dt.datetime):
        return moment.replace(tzinfo=periods_mod.UTC) if moment.tzinfo is None else moment.astimezone(periods_mod.UTC)
    if isinstance(moment, dt.date):
        return dt.datetime(moment.year, moment.month, moment.day, tzinfo=periods_mod.UTC)
    raise TypeError(f"top_pages: {name} must be a datetime or a date, not {type(moment).__name__} ({moment!r})")


def top_pages(
    warehouse: Warehouse | Path | str,
    start: dt.datetime | dt.date | None = None,
    end: dt.datetime | dt.date | None = None,
    files: Sequence[Path | str] = (),
    *,
    top: int = 25,
    ties: str = "row_number",
    blacklist: Blacklist | Path | str | None = None,
    daily: bool = False,
    csv_dir: Path | str | None = None,
    force: bool = False,
    engine: Engine | None = None,
    workers: int | None = None,
    keep_results: bool = False,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> Summary:
    """Rank every hour (or, `daily`, every day) of `[start, end)` (UTC) and write the results.

    - Range: `start` and `end` are datetimes on the hour; a naive datetime is taken as UTC (as the
      dumps are named), an aware one converted to UTC, a `date` is its midnight UTC. Anything else
      raises `TypeError` naming the argument.

    - Source: the dumps among `files` (files, or folders searched at any depth), or, when none is
      given, the `wmf.pageview_hourly` table through `engine` (default: DuckDB over `warehouse`).
      With files, `start` and `end` default to the whole periods the files cover.
    - Ranking: `top` pages per domain code under `ties` (`row_number`: exactly `top` rows, ties
      broken by title; `rank`, `dense_rank`: every row tied at the last place kept), the
      `blacklist` pairs (a `Blacklist` or its file) left out first. A day ranks views summed per page
      over its 24 hours.
    - Output (`metrics.output`): `metrics.top_pages_hourly` (partitioned by dt and hour) or
      `metrics.top_pages_daily` (by dt), and with `csv_dir` one gzip CSV per period.
    - A period done before with the same top, ties and blacklist, from the same kind of source
      (files, or the table), is skipped unless `force`. A period
      that fails (no dump for an hour, a truncated, corrupt or 0-byte dump: `CorruptInput`, an hour
      not loaded in the table) is recorded as failed and the others still run; a day names every
      hour that fails, one line each. A page whose views sum past 2^63-1 fails its period alone. A failed period's earlier result, if any, is left as it was (its outcome's
      `kept`). Lines a dump cannot be parsed at are left out, quarantined in `quarantine.pageviews`
      with their line numbers, and counted.

    Returns a `Summary` (its `ok` is False when a period failed); `on_outcome` is called as each
    period ends. Raises `MetricsError` for bad arguments (no range and no files, a bad blacklist).
    """
    started = time.perf_counter()
    start, end = _utc(start, "start"), _utc(end, "end")
    warehouse = warehouse if isinstance(warehouse, Warehouse) else Warehouse(warehouse)
    grain: periods_mod.Grain = "day" if daily else "hour"
    listed = _blacklist(blacklist)
    Ranker(top, ties)  # checks top and ties before anything is read
    found = sources.find_dumps(files) if files else {}
    if files and not found:
        raise UsageError("no dump among the files and folders given", "dumps are named pageviews-YYYYMMDD-HH0000.gz")
    if start is None or end is None:
        if not found:
            raise UsageError("no range to rank", "give --from and --to, or dump files")
        first, last = periods_mod.covering(list(found), grain)
        start, end = start or first, end or last
    todo = periods_mod.periods(start, end, grain)
    ranking = Ranking(top, ties, listed.digest, "files" if files else "table")
    out = Output(warehouse, Path(csv_dir) if csv_dir else None)
    given = ", ".join(str(f) for f in files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
    make = lambda: Ranker(top, ties, listed)  # noqa: E731
    workers = workers or default_workers()
    summary = Summary(grain)

    def compute(period: Period) -> Outcome:
        began = time.perf_counter()
        try:
            if files:
                paths = sources.dumps_of(period, found, given)
                if period.grain == "hour":
                    result, read = dumps.rank_hour(paths[0], make)
                    reads = [read]
                    source = str(paths[0])
                else:
                    with tempfile.TemporaryDirectory(prefix="toppages-spill-") as spill:
                        result, reads = dumps.rank_day(paths, make, workers=workers, memory_limit=DAY_MEMORY, spill=Path(spill))
                    source = f"{len(paths)} dumps, {paths[0]} to {paths[-1].name}"
            else:
                ranker = make()
                ranker.feed(sources.table_sums(engine_for_table(), warehouse, period))
                result, reads, source = ranker.result(), [], sources.TABLE
        except MetricsError as exc:
            error = str(exc)
            if files and period.grain == "day":  # every hour that fails, not only the first met
                failed = sources.failed_hours(period, found, given, dumps.check, workers)
                error = str(sources.HoursFailed(failed)) if failed else error
            return Outcome(period, "failed", error=error, seconds=time.perf_counter() - began)
        lines = sum(r.lines for r in reads) if reads else 0
        rejected = [bad for r in reads for bad in r.rejected]
        return Outcome(period, "ok", result.num_rows, lines, rejected, seconds=time.perf_counter() - began, source=source, result=result)

    opened: list[Engine] = []

    def engine_for_table() -> Engine:
        if engine is not None:
            return engine
        if not opened:
            from metrics.engines import open_engine

            opened.append(open_engine(warehouse, lazy=True))
            opened[0].prepare([("wmf", "pageview_hourly")])
        return opened[0]

    def outcomes() -> Iterator[Outcome]:
        pending = [p for p in todo if force or not out.done(p, ranking)]
        skipped = set(todo) - set(pending)
        # Hours of dumps are read `workers` at a time; a day uses the workers itself; the table's engine is its own pool.
        parallel = bool(files) and grain == "hour" and workers > 1
        with ThreadPoolExecutor(max_workers=workers if parallel else 1, thread_name_prefix="toppages") as pool:
            results = iter(pool.map(compute, pending)) if parallel else (compute(p) for p in pending)
            for period in todo:
                yield Outcome(period, "skipped") if period in skipped else next(results)

    try:
        for outcome in outcomes():
            if outcome.status == "ok":
                assert outcome.result is not None
                out.write(outcome.period, outcome.result)
                if outcome.rejected:
                    for path in sorted({Path(r.source_file) for r in outcome.rejected}):
                        quarantine.store(warehouse, QUARANTINE, source_key(path), [r for r in outcome.rejected if r.source_file == str(path)])
            if outcome.status == "failed":
                outcome.kept = out.has_result(outcome.period)
            if outcome.status != "skipped":
                attempt = Attempt(outcome.status, outcome.source, outcome.rows, outcome.lines, len(outcome.rejected), outcome.seconds, outcome.error)
                out.log(outcome.period, ranking, attempt)
            if not keep_results:
                outcome.result = None
            summary.outcomes.append(outcome)
            if on_outcome:
                on_outcome(outcome)
    finally:
        for opened_engine in opened:
            opened_engine.close()
    summary.seconds = time.perf_counter() - started
    return summary
