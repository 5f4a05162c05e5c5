"""The run: Reader -> Selector -> Executor -> Writer for one query folder.

`update_reports()` reads the config, selects the missing intervals of every report and explode
combination (from the run log, plus pending reruns), executes them (one query per interval, or
one per contiguous range for `backfill: range` reports) on a bounded pool, writes tables, the
legacy TSV files and the Graphite outbox, and returns a summary. A failing report or interval
never stops the others; the summary says what failed.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from metrics.engines import Engine
from metrics.graphite_paths import expand
from metrics.problems import Problem
from metrics.reports import graphite as graphite_out, reruns as reruns_mod, tsv
from metrics.reports.config import Report, read_folder
from metrics.reports.execute import ExecutionError, Result, execute
from metrics.reports.intervals import Interval, contiguous_runs, due_intervals
from metrics.reports.lock import folder_lock
from metrics.reports.store import LogEntry, Store, explode_key
from metrics.spec import ReportSource
from metrics.warehouse import normalize

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What happened to one interval of one report and explode combination."""

    report: str
    explode: dict[str, str]
    interval: Interval
    status: str  # ok, failed
    rows: int = 0
    seconds: float = 0.0
    error: str | None = None


@dataclass
class RunSummary:
    folder: Path
    outcomes: list[Outcome] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    points_queued: int = 0
    points_sent: int = 0
    graphite_error: str | None = None
    seconds: float = 0.0

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed and not any(p.is_error for p in self.problems) and self.graphite_error is None

    def lines(self) -> list[str]:
        """A human summary, one line per report, then the failures."""
        out = []
        by_report: dict[str, list[Outcome]] = {}
        for o in self.outcomes:
            by_report.setdefault(o.report, []).append(o)
        for report, outcomes in by_report.items():
            ok = [o for o in outcomes if o.status == "ok"]
            out.append(f"{report}: {len(ok)} interval(s) ok, {len(outcomes) - len(ok)} failed, {sum(o.rows for o in ok)} row(s)")
        for report, reason in self.skipped:
            out.append(f"{report}: skipped ({reason})")
        for o in self.failed:
            combo = ",".join(f"{k}={v}" for k, v in sorted(o.explode.items()))
            out.append(f"FAILED {o.report}{' [' + combo + ']' if combo else ''} {o.interval.start}: {o.error}")
        if self.points_queued or self.points_sent:
            out.append(f"graphite: {self.points_queued} point(s) queued, {self.points_sent} sent")
        if self.graphite_error:
            out.append(f"FAILED graphite: {self.graphite_error} (points stay in the outbox for the next run)")
        out.append(f"{len(self.outcomes)} interval(s) in {self.seconds:.1f} s: {'ok' if self.ok else 'with failures'}")
        return out


@dataclass
class CatalogueMetric:
    """A catalogue metric computed by a report: where its value is and where it goes in Graphite."""

    name: str
    column: str
    graphite_path: str | None


def explode_combinations(explode_by: Mapping[str, list[str]]) -> list[dict[str, str]]:
    """The cartesian product of explode values, placeholders in name order."""
    keys = sorted(explode_by)
    return [dict(zip(keys, values)) for values in itertools.product(*(explode_by[k] for k in keys))]


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


class Run:
    """One `update_reports` call; holds what the stages share."""

    def __init__(
        self,
        folder: Path,
        engine: Engine,
        output: Path | None,
        *,
        catalogue,
        graphite: bool,
        now: dt.datetime,
        lookups: Mapping[str, Mapping[str, str]],
        on_interval: Callable[[int], None] | None,
    ):
        self.folder = folder
        self.engine = engine
        self.output = output
        self.catalogue = catalogue
        self.graphite = graphite
        self.now = now
        self.lookups = lookups
        self.store = Store(engine)
        self.outbox = graphite_out.Outbox(engine.warehouse.root / "_outbox", folder.name)
        self.schema = sql_schema(engine)
        self.on_interval = on_interval or (lambda n: None)
        self.outcomes: list[Outcome] = []
        self.points = 0

    def process(self, report: Report, work: list[tuple[dict[str, str], list[Interval]]]) -> None:
        """Compute one report's missing intervals, in date order per explode combination.

        Per-interval reports write after every interval. `backfill: range` reports run one query
        per contiguous gap and combination, then write each `dt` partition once for all of them.
        """
        if report.backfill == "range":
            done = []
            for explode, todo in work:
                for batch in contiguous_runs(todo):
                    result, seconds = self._execute(report, explode, batch)
                    if result is not None:
                        done.append((explode, batch, result, seconds))
            self._finish(report, done)
        else:
            for explode, todo in work:
                for interval in todo:
                    result, seconds = self._execute(report, explode, [interval])
                    if result is not None:
                        self._finish(report, [(explode, [interval], result, seconds)])
        self.store.flush_log()

    def _execute(self, report: Report, explode: dict[str, str], batch: list[Interval]) -> tuple[Result | None, float]:
        """The result (None when it failed, which is recorded) and the seconds it took."""
        started = time.perf_counter()
        try:
            return execute(report, self.engine, batch[0].start, batch[-1].end, explode, self.schema), time.perf_counter() - started
        except Exception as exc:  # noqa: BLE001 - a failure stays with its intervals
            error = str(exc) if isinstance(exc, ExecutionError) else f"{type(exc).__name__}: {exc}"
            log.debug("interval failed", exc_info=True)
            self._record(report, explode, batch, "failed", {}, time.perf_counter() - started, error)
            return None, 0.0

    def _finish(self, report: Report, done: list[tuple[dict[str, str], list[Interval], Result, float]]) -> None:
        """Write the table (once for all batches), then each batch's TSV and Graphite points."""
        if not done:
            return
        started = time.perf_counter()
        try:
            tables: list[pa.Table] = []
            combos: dict[str, set[dt.date]] = {}
            for explode, batch, result, _ in done:
                tables.append(self._with_explode(result.table, explode))
                combos.setdefault(explode_key(explode), set()).update(set(result.dates()) | {i.start for i in batch})
            table = pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 else tables[0]
            if report.type != "script" and not table.num_rows:
                self.store.declare(report.table, normalize(table).schema)  # an engine's empty result still has types
            self.store.write(report.table, table, combos, sorted(report.explode_by))
            counts = [self._side_outputs(report, explode, batch, result) for explode, batch, result, _ in done]
        except Exception as exc:  # noqa: BLE001
            log.debug("write failed", exc_info=True)
            for explode, batch, _, seconds in done:
                self._record(report, explode, batch, "failed", {}, seconds, f"writing results failed: {type(exc).__name__}: {exc}")
            return
        write_share = (time.perf_counter() - started) / len(done)
        for (explode, batch, _, seconds), per_interval in zip(done, counts):
            self._record(report, explode, batch, "ok", per_interval, seconds + write_share, None)

    def _record(
        self, report: Report, explode: dict[str, str], batch: list[Interval], status: str, rows: dict[dt.date, int], seconds: float, error: str | None
    ) -> None:
        for interval in batch:
            outcome = Outcome(report.key, explode, interval, status, rows.get(interval.start, 0), seconds / len(batch), error)
            self.outcomes.append(outcome)
            self.store.log(
                LogEntry(self.folder.name, report.key, explode_key(explode), interval.start, interval.end, status, outcome.rows, outcome.seconds, error)
            )
            if error:
                log.error("%s %s %s: %s", report.key, explode or "", interval.start, error)
        self.on_interval(len(batch))

    @staticmethod
    def _with_explode(table: pa.Table, explode: Mapping[str, str]) -> pa.Table:
        """The result with a column per explode placeholder (a result column of that name wins)."""
        for key in sorted(explode):
            if key not in table.column_names:
                table = table.append_column(key, pa.array([explode[key]] * table.num_rows, pa.string()))
        return table

    def _side_outputs(self, report: Report, explode: dict[str, str], batch: list[Interval], result: Result) -> dict[dt.date, int]:
        """The legacy TSV and the Graphite outbox, after the table committed; returns rows per interval."""
        days = result.table.column("dt")
        per_interval = {i.start: pc.sum(pc.and_(pc.greater_equal(days, pa.scalar(i.start)), pc.less(days, pa.scalar(i.end)))).as_py() or 0 for i in batch}
        if self.output is None and not self.graphite:
            return per_interval
        by_date: dict[dt.date, list[list]] = {}
        values = result.table.to_pylist()
        for row, text in zip(values, result.text):
            by_date.setdefault(row["dt"], []).append(list(text))
        if self.output is not None:
            for interval in batch:
                if not per_interval[interval.start] and interval.start not in by_date:
                    by_date[interval.start] = [[None] * (len(result.header) - 1)]  # Reportupdater's null row
            tsv.update(
                tsv.output_path(self.output, report.key, explode),
                result.header,
                by_date,
                max_data_points=report.max_data_points,
                granularity=report.granularity,
                interval_start=batch[0].start,
                group=report.group,
            )
        if self.graphite:
            self.points += self.outbox.add(self.graphite_points(report, explode, result, values))
        return per_interval

    def graphite_points(self, report: Report, explode: Mapping[str, str], result: Result, rows: list[dict]) -> list[graphite_out.Point]:
        points: list[graphite_out.Point] = []
        # Paths are filled with the text the TSV shows; values come from the typed rows.
        if report.graphite:
            by_header = [{"__date__": r["dt"], **dict(zip(result.header[1:], text))} for r, text in zip(rows, result.text)]
            points += graphite_out.report_points(report.graphite.path, report.graphite.metrics, by_header, explode, self.lookups)
        for metric in catalogue_metrics(self.catalogue, self.folder.name, report.key):
            if not metric.graphite_path:
                continue
            for row, text in zip(rows, result.text):
                value = graphite_out.number(row.get(metric.column))
                if value is not None:
                    path = expand(metric.graphite_path, {**explode, **row, **dict(zip(result.table.column_names[1:], text))})
                    points.append(graphite_out.Point(path, value, graphite_out.day_timestamp(row["dt"])))
        return points


def sql_schema(engine: Engine) -> dict[str, dict[str, dict[str, str]]]:
    """The tables as sqlglot wants them for type annotation (the engine's own when it writes them)."""
    return engine.sql_schema() if engine.write_mode == "sql" else engine.warehouse.sql_schema()


def plan(report: Report, store: Store, now: dt.datetime, pending: Sequence[reruns_mod.Rerun]) -> list[tuple[dict[str, str], list[Interval]]]:
    """The Selector: missing intervals per explode combination (done = latest run-log status ok)."""
    intervals = due_intervals(report.starts, report.granularity, now, lag=report.lag, max_data_points=report.max_data_points, ends=report.ends)
    done = store.done(report.folder.name, report.key)
    out = []
    for combo in explode_combinations(report.explode_by):
        status = done.get(explode_key(combo), {})
        todo = [i for i in intervals if status.get(i.start) != "ok" or any(r.covers(report.key, i.start) for r in pending)]
        if report.snapshot:
            # A snapshot measures the present only: never compute a past interval.
            todo = [i for i in todo if intervals and i == intervals[-1]]
        if todo:
            out.append((combo, todo))
    return out


def update_reports(
    folder: Path | str,
    engine: Engine,
    output: Path | str | None = None,
    *,
    config_path: Path | str | None = None,
    graphite: bool = True,
    graphite_address: tuple[str, int] | None = None,
    catalogue=None,
    now: dt.datetime | None = None,
    workers: int = 2,
    only: Sequence[str] | None = None,
    progress: bool = False,
) -> RunSummary:
    """Bring every report of a query folder up to date; raises `Locked` if another run holds it."""
    started = time.perf_counter()
    folder = Path(folder)
    config = read_folder(folder, config_path)
    summary = RunSummary(folder, problems=list(config.problems))
    now = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    address = graphite_address or ((config.graphite_host, config.graphite_port) if config.graphite_host and config.graphite_port else None)
    with folder_lock(folder):
        pending = reruns_mod.pending(folder)
        run = Run(
            folder,
            engine,
            Path(output) if output else None,
            catalogue=catalogue,
            graphite=graphite and address is not None,
            now=now,
            lookups=config.lookups,
            on_interval=None,
        )
        work = []
        for report in config.reports:
            if only and report.key not in only:
                continue
            if report.starts > now.date():
                summary.skipped.append((report.key, f"starts {report.starts} is in the future"))
                log.warning("report %s starts on %s, in the future: skipped", report.key, report.starts)
                continue
            planned = plan(report, run.store, now, pending)
            # A range report is one unit (its partitions are written once); others one per combination.
            work += [(report, planned)] if report.backfill == "range" else [(report, [item]) for item in planned]
        total = sum(len(todo) for _, items in work for _, todo in items)
        with _progress(progress, total) as advance:
            run.on_interval = advance
            with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
                for future in [pool.submit(run.process, report, items) for report, items in work if items]:
                    future.result()
        run.store.flush_log()
        summary.outcomes = sorted(run.outcomes, key=lambda o: (o.report, sorted(o.explode.items()), o.interval))
        processed = {r.key for r in config.reports if (not only or r.key in only)} - {k for k, _ in summary.skipped}
        _settle_reruns(pending, summary.outcomes, processed, [r.key for r in config.reports])
        summary.points_queued = run.points
        if graphite and address:
            try:
                summary.points_sent = run.outbox.send(*address)
            except OSError as exc:
                summary.graphite_error = f"cannot send to carbon at {address[0]}:{address[1]}: {exc.strerror or exc}"
    summary.seconds = time.perf_counter() - started
    return summary


def _settle_reruns(pending: Sequence[reruns_mod.Rerun], outcomes: Sequence[Outcome], processed: set[str], all_reports: list[str]) -> None:
    """Delete the rerun files whose intervals all ran and succeeded; keep the others for the next run."""
    for rerun in pending:
        if not set(rerun.reports or all_reports) <= processed:
            continue  # a report it names did not run this time (filtered out, skipped or broken)
        covered = [o for o in outcomes if rerun.covers(o.report, o.interval.start)]
        if all(o.status == "ok" for o in covered):
            rerun.path.unlink(missing_ok=True)
        else:
            log.warning("rerun %s stays pending: %d interval(s) failed", rerun.path.name, sum(o.status != "ok" for o in covered))


class _progress:
    """A progress bar over intervals on a terminal; nothing otherwise."""

    def __init__(self, enabled: bool, total: int):
        self.enabled = enabled and total > 0 and sys.stderr.isatty()
        self.total = total

    def __enter__(self) -> Callable[[int], None]:
        if not self.enabled:
            return lambda n: None
        from rich.progress import Progress

        self.bar = Progress(transient=True)
        self.bar.start()
        task = self.bar.add_task("intervals", total=self.total)
        return lambda n: self.bar.advance(task, n)

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self.bar.stop()
