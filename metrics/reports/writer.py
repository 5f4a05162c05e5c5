"""Writer: each result to its table, its TSV file and the Graphite outbox, in batches.

Results arrive in the order the selector chose them and are kept until the batch is due
(`flush_seconds` after the last write, or `flush_intervals` intervals), then written together:
each `dt` partition of a table is rewritten once per batch, each TSV file once per batch, the
outbox appended once. Only then are the batch's intervals logged `ok` and the run log written,
so a run killed at any moment keeps every interval it logged, with its rows and TSV lines, and
computes the others again next time (every write replaces, so nothing is doubled).

A batch leaves what Reportupdater's one-interval-at-a-time writer leaves: a later result of an
explode combination replaces the rows an earlier one gave for the same dates, and the TSV merges
(header evolution, `max_data_points` trimming) are applied in interval order. A batch that cannot
be written is written again one result at a time, so a failure stays with its own intervals.
"""

from __future__ import annotations

import bisect
import datetime as dt
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from metrics import redact
from metrics.graphite_paths import expand
from metrics.reports import graphite as graphite_out, tsv
from metrics.reports.config import Report
from metrics.reports.definition import Definition, definition
from metrics.reports.execute import Computed, ExecutionError, Result
from metrics.reports.intervals import Interval
from metrics.reports.selector import Unit
from metrics.reports.store import LogEntry, Store, explode_key
from metrics.spec import ReportSource
from metrics.warehouse import normalize

log = logging.getLogger(__name__)

FLUSH_SECONDS = 2.0
"""How long a finished interval waits, at most, to be written and logged (while the next ones run)."""
FLUSH_INTERVALS = 2000
"""Most intervals in one batch (bounds memory, and the statement a `write_mode: sql` write sends)."""
TSV_THREADS = 8
"""TSV files of one batch written at once (their time is mostly the disk's)."""


@dataclass
class Outcome:
    """What happened to one interval of one report and explode combination."""

    report: str
    explode: dict[str, str]
    interval: Interval
    status: str  # ok, failed, waiting (for the tables of `depends_on`)
    rows: int = 0
    seconds: float = 0.0
    error: str | None = None


@dataclass
class CatalogueMetric:
    """A catalogue metric computed by a report: where its value is and where it goes in Graphite."""

    name: str
    column: str
    graphite_path: str | None


def catalogue_metrics(catalogue, folder: str, report: str) -> list[CatalogueMetric]:
    """The catalogue metrics whose source is `<folder>/<report>`."""
    if catalogue is None:
        return []
    ref = f"{folder}/{report}"
    return [
        CatalogueMetric(m.name, m.source.column, m.graphite_path)
        for spec in catalogue
        for m in spec.metrics
        if isinstance(m.source, ReportSource) and m.source.report == ref
    ]


class Writer:
    """Writes computed results and records every interval's outcome; used from one thread.

    `output` is the TSV folder (None: no TSV); `outbox` receives Graphite points (None: none).
    """

    def __init__(
        self,
        store: Store,
        folder: str,
        *,
        output: Path | None,
        outbox: graphite_out.Outbox | None,
        lookups: Mapping[str, Mapping[str, str]],
        catalogue=None,
        flush_seconds: float = FLUSH_SECONDS,
        flush_intervals: int = FLUSH_INTERVALS,
    ):
        self.store = store
        self.folder = folder
        self.output = output
        self.outbox = outbox
        self.lookups = lookups
        self.catalogue = catalogue
        self.flush_seconds = flush_seconds
        self.flush_intervals = flush_intervals
        self.outcomes: list[Outcome] = []
        self.points = 0
        self._batch: list[Computed] = []
        self._waiting = 0
        self._since = time.monotonic()
        self._metrics: dict[str, list[CatalogueMetric]] = {}
        self._definitions: dict[str, Definition] = {}
        self._swept = False

    def definition(self, report: Report) -> Definition:
        """The report's definition, recorded with each of its intervals: hashed once per run (its query file read once)."""
        if report.key not in self._definitions:
            try:
                self._definitions[report.key] = definition(report, self.catalogue)
            except OSError:  # its intervals fail to read the query file too, and say so
                self._definitions[report.key] = Definition(None, None)
        return self._definitions[report.key]

    def recover(self, reports: Sequence[Report]) -> None:
        """Repair what killed runs left in the reports' tables, the run log and the TSV folders, before the run reads them."""
        self.store.recover(r.table for r in reports)
        if self.output is not None:
            tsv.sweep(self.output, [r.key for r in reports])
            self._swept = True  # each TSV write need not list its folder again

    def add(self, computed: Computed) -> None:
        """Keep a result for the batch (a failed execution is recorded); writes the batch when it is due."""
        unit = computed.unit
        if computed.result is None:
            self._record(unit.report, unit.explode, unit.intervals, "failed", {}, computed.seconds, computed.error, unit.key)
        else:
            self._batch.append(computed)
            self._waiting += len(unit.intervals)
        if self._waiting >= self.flush_intervals or time.monotonic() - self._since >= self.flush_seconds:
            self.flush()

    def wait(self, report: Report, explode: dict[str, str], intervals: list[Interval], logged: set[dt.date]) -> None:
        """Record intervals whose source tables are not there yet; the run log gets those it does not already say so."""
        recorded = self.definition(report)
        for interval in intervals:
            self.outcomes.append(Outcome(report.key, explode, interval, "waiting"))
            if interval.start not in logged:
                self.store.log(
                    LogEntry(
                        self.folder,
                        report.key,
                        explode_key(explode),
                        interval.start,
                        interval.end,
                        "waiting",
                        query_hash=recorded.query_hash,
                        spec_version=recorded.spec_version,
                    )
                )

    def flush(self) -> None:
        """Write the batch (tables, TSV, outbox), then log its intervals and write the run log."""
        batch, self._batch, self._waiting = self._batch, [], 0
        by_report: dict[str, list[Computed]] = {}
        for computed in batch:
            by_report.setdefault(computed.unit.report.key, []).append(computed)
        for items in by_report.values():
            self._write_or_fail(items)
        self.store.flush_log()
        self._since = time.monotonic()

    def _write_or_fail(self, items: list[Computed]) -> None:
        started = time.perf_counter()
        try:
            counts = self._write(items)
        except Exception as exc:  # noqa: BLE001 - a failure stays with its intervals
            if len(items) > 1:
                for item in items:  # which result was it? each on its own, as Reportupdater wrote them
                    self._write_or_fail([item])
                return
            log.debug("write failed", exc_info=True)
            unit = items[0].unit
            self._record(
                unit.report,
                unit.explode,
                unit.intervals,
                "failed",
                {},
                items[0].seconds,
                str(exc) if isinstance(exc, ExecutionError) else f"writing results failed: {type(exc).__name__}: {exc}",
                unit.key,
            )
            return
        share = (time.perf_counter() - started) / len(items)
        for item, per_interval in zip(items, counts):
            self._record(item.unit.report, item.unit.explode, item.unit.intervals, "ok", per_interval, item.seconds + share, None, item.unit.key)

    def _write(self, items: list[Computed]) -> list[dict[dt.date, int]]:
        """Write the results of one report: table, then TSV files, then Graphite points; rows per interval of each."""
        report = items[0].unit.report
        pieces: list[pa.Table] = []
        holder: dict[str, dict[dt.date, int]] = {}
        """Per combination, which piece holds the rows of each date (a later result replaces an earlier one's)."""
        combos: dict[str, set[dt.date]] = {}
        for unit, result in _results(items):
            key = unit.key
            dates = set(result.dates())
            replaced = dates | {i.start for i in unit.intervals}
            held = holder.setdefault(key, {})
            overlaps: dict[int, list[dt.date]] = {}
            for day in replaced:
                n = held.pop(day, None)
                if n is not None:
                    overlaps.setdefault(n, []).append(day)
            for n, overlap in overlaps.items():  # a later result of the combination replaces its rows of these dates
                pieces[n] = pieces[n].filter(pc.invert(pc.is_in(pieces[n].column("dt"), pa.array(sorted(overlap), pa.date32()))))
            held.update(dict.fromkeys(dates, len(pieces)))
            pieces.append(_with_explode(result.table, unit.explode))
            combos.setdefault(key, set()).update(replaced)
        if report.type == "script":
            pieces = _one_type_per_column(pieces, [result for _, result in _results(items)], self.store.column_types(report.table))
        table = pa.concat_tables(pieces, promote_options="permissive") if len(pieces) > 1 else pieces[0]
        if report.type != "script" and not table.num_rows:
            self.store.declare(report.table, normalize(table).schema)  # an engine's empty result still has types
        self.store.write(report.table, table, combos, sorted(report.explode_by))
        counts = [_rows_per_interval(unit, result) for unit, result in _results(items)]
        if self.output is not None:
            self._write_tsv(report, items, counts)
        if self.outbox is not None:
            self.points += self.outbox.add(p for unit, result in _results(items) for p in self.graphite_points(unit, result))
        return counts

    def _write_tsv(self, report: Report, items: list[Computed], counts: list[dict[dt.date, int]]) -> None:
        """Each combination's TSV file read and written once, its results merged in interval order."""
        assert self.output is not None
        steps: dict[str, list[tsv.Step]] = {}
        explodes: dict[str, dict[str, str]] = {}
        for (unit, result), per_interval in zip(_results(items), counts):
            by_date: dict[dt.date, list[list]] = {}
            for day, text in zip(result.days(), result.text):
                by_date.setdefault(day, []).append(list(text))
            for interval in unit.intervals:
                if not per_interval[interval.start] and interval.start not in by_date:
                    by_date[interval.start] = [[None] * (len(result.header) - 1)]  # Reportupdater's null row
            key = unit.key
            explodes[key] = unit.explode
            steps.setdefault(key, []).append(tsv.Step(result.header, by_date, unit.intervals[0].start))
        output = self.output

        def write(key: str) -> None:
            tsv.update_many(
                tsv.output_path(output, report.key, explodes[key]),
                steps[key],
                max_data_points=report.max_data_points,
                granularity=report.granularity,
                group=report.group,
                swept=self._swept,
            )

        if len(steps) == 1:
            write(next(iter(steps)))
            return
        # One file per combination: their writes wait on the disk (each file is synced before it
        # replaces the old one), and syncs issued together cost about one.
        with ThreadPoolExecutor(max_workers=min(TSV_THREADS, len(steps)), thread_name_prefix="tsv") as pool:
            for done in [pool.submit(write, key) for key in steps]:
                done.result()

    def graphite_points(self, unit: Unit, result: Result) -> list[graphite_out.Point]:
        """The points of one result: its report's `graphite:` section, then its catalogue metrics."""
        report, explode = unit.report, unit.explode
        points: list[graphite_out.Point] = []
        metrics = self._metrics.setdefault(report.key, [m for m in catalogue_metrics(self.catalogue, self.folder, report.key) if m.graphite_path])
        if not report.graphite and not metrics:
            return points
        rows = result.table.to_pylist()
        # Paths are filled with the text the TSV shows; values come from the typed rows.
        if report.graphite:
            by_header = [{"__date__": r["dt"], **dict(zip(result.header[1:], text))} for r, text in zip(rows, result.text)]
            points += graphite_out.report_points(report.graphite.path, report.graphite.metrics, by_header, explode, self.lookups)
        for metric in metrics:
            assert metric.graphite_path is not None
            for row, text in zip(rows, result.text):
                value = graphite_out.number(row.get(metric.column))
                if value is not None:
                    path = expand(metric.graphite_path, {**explode, **row, **dict(zip(result.table.column_names[1:], text))})
                    points.append(graphite_out.Point(path, value, graphite_out.day_timestamp(row["dt"])))
        return points

    def _record(
        self,
        report: Report,
        explode: dict[str, str],
        batch: Sequence[Interval],
        status: str,
        rows: Mapping[dt.date, int],
        seconds: float,
        error: str | None,
        key: str,
    ) -> None:
        error = redact.mask_text(error) if error else error  # the run log, the summary and the log: no secret
        recorded = self.definition(report)
        for interval in batch:
            outcome = Outcome(report.key, explode, interval, status, rows.get(interval.start, 0), seconds / len(batch), error)
            self.outcomes.append(outcome)
            self.store.log(
                LogEntry(
                    self.folder,
                    report.key,
                    key,
                    interval.start,
                    interval.end,
                    status,
                    outcome.rows,
                    outcome.seconds,
                    error,
                    query_hash=recorded.query_hash,
                    spec_version=recorded.spec_version,
                )
            )
            if error:
                log.info("failed: %s %s %s: %s", report.key, explode or "", interval.start, error)  # the summary lists it too


def _results(items: list[Computed]) -> list[tuple[Unit, Result]]:
    """The units and results of executions that succeeded (the writer is given no others)."""
    return [(item.unit, item.result) for item in items if item.result is not None]


def _one_type_per_column(pieces: list[pa.Table], results: list[Result], table: Mapping[str, pa.DataType] | None) -> list[pa.Table]:
    """A script's results typed alike: a column that is text in one result (or in the table) is text
    in all, from what the script printed (its type is inferred per result, and a column of codes may
    print `123` one day and `a1f` the next). A column the table holds as numbers cannot take text."""
    types: dict[str, set[pa.DataType]] = {}
    for result in results:
        for field in result.table.schema:
            if field.name != "dt" and not pa.types.is_null(field.type):
                types.setdefault(field.name, set()).add(field.type)
    text = {name for name, kinds in types.items() if pa.string() in kinds and len(kinds) > 1}
    text |= {name for name, kinds in types.items() if table and table.get(name) == pa.string() and kinds != {pa.string()}}
    for name in sorted(n for n, kinds in types.items() if pa.string() in kinds):
        held = table.get(name) if table else None
        if held is not None and held != pa.string() and not pa.types.is_null(held):
            example = next(
                r.text[i][r.table.column_names.index(name) - 1]
                for r in results
                for i in range(r.table.num_rows)
                if r.table.schema.field(name).type == pa.string()
            )
            raise ExecutionError(
                f"column {name} of the table holds {held} values, and the script printed {example!r} in it (print numbers in that column,"
                " or, to keep it as text, remove the table and recompute its dates with `metrics rerun-reports`)"
            )
    if not text:
        return pieces
    out = []
    for piece, result in zip(pieces, results):
        for name in sorted(text):
            if name in result.table.column_names and result.table.schema.field(name).type != pa.string():
                index = result.table.column_names.index(name)
                values = [None if row[index - 1] == "NULL" else row[index - 1] for row in result.text]
                piece = piece.set_column(piece.column_names.index(name), pa.field(name, pa.string()), pa.array(values, pa.string()))
        out.append(piece)
    return out


def _with_explode(table: pa.Table, explode: Mapping[str, str]) -> pa.Table:
    """The result with a column per explode placeholder (a result column of that name wins)."""
    for key in sorted(explode):
        if key not in table.column_names:
            table = table.append_column(key, pa.array([explode[key]] * table.num_rows, pa.string()))
    return table


def _rows_per_interval(unit: Unit, result: Result) -> dict[dt.date, int]:
    counts = dict.fromkeys((i.start for i in unit.intervals), 0)
    starts = [i.start for i in unit.intervals]
    for day in result.days():
        at = bisect.bisect_right(starts, day) - 1
        if at >= 0 and day < unit.intervals[at].end:
            counts[starts[at]] += 1
    return counts
