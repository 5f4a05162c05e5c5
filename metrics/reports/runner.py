"""The run: Reader -> Selector -> Executor -> Writer for one query folder, as Reportupdater's.

- Reader (`reader.read_folder`): the reports of `config.yaml`, defaults resolved.
- Selector (`selector`): the missing intervals of each report and explode combination, from the
  run log, pending reruns and the partitions of `depends_on` tables, as units of execution in
  the order they run.
- Executor (`execute.Executor`): runs the units on a bounded pool of threads; results are taken
  in the selector's order, whatever order they finish in.
- Writer (`writer.Writer`): tables, TSV files and the Graphite outbox, in batches, then the run log.

A failing report or interval never stops the others; the summary says what failed.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import os
import queue
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

from metrics import hive_cli, redact
from metrics.engines import Engine
from metrics.problems import Problem
from metrics.reports import graphite as graphite_out, reruns as reruns_mod, stale as stale_mod
from metrics.reports.execute import Computed, Executor
from metrics.reports.lock import folder_lock
from metrics.reports.reader import folder_name, read_folder
from metrics.reports.selector import Sources, Unit, plan, units
from metrics.reports.store import Store, explode_key
from metrics.reports.writer import FLUSH_SECONDS, Outcome, Writer

log = logging.getLogger(__name__)

MAX_WORKERS = 16
MAX_FAILED_LINES = 20
"""Failed intervals the summary lists one a line; the rest are counted."""
AHEAD = 256
"""Executions each worker may run ahead of the writer, so that the pool keeps going while a batch is written."""
CHUNK = 16
"""Script units a worker is given at a time (`Executor.batches` runs them in a row and reads their outputs a few at a time)."""


@dataclass(frozen=True)
class Recompute:
    """A backfill (`metrics backfill`): recompute the stale intervals (`metrics.reports.stale`) and
    nothing else; with `unknown` also those computed before definitions were recorded; only those
    starting from `start` (inclusive) to `end` (exclusive) when given."""

    unknown: bool = False
    start: dt.date | None = None
    end: dt.date | None = None

    def narrow(self, todo: dict[str, set[dt.date]]) -> dict[str, set[dt.date]]:
        kept = {key: {d for d in days if (self.start is None or d >= self.start) and (self.end is None or d < self.end)} for key, days in todo.items()}
        return {key: days for key, days in kept.items() if days}


def default_workers() -> int:
    """One worker per CPU, at most MAX_WORKERS."""
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


@dataclass
class RunSummary:
    folder: Path
    outcomes: list[Outcome] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    waiting_on: dict[str, set[str]] = field(default_factory=dict)
    """Per report, the depends_on tables its waiting intervals wait for."""
    points_queued: int = 0
    points_sent: int = 0
    graphite_error: str | None = None
    seconds: float = 0.0
    stale: list[stale_mod.ReportStale] = field(default_factory=list)
    """A backfill's reports, each with what was stale when it began (empty for a plain run)."""
    notes: list[str] = field(default_factory=list)
    """A backfill's reports that recompute nothing, each with why."""
    held: dict[str, int] = field(default_factory=dict)
    """A backfill's stale intervals kept as they are, per report, since their `depends_on` tables lack days."""

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed and not any(p.is_error for p in self.problems) and self.graphite_error is None

    def lines(self) -> list[str]:
        """A human summary, one line per report, then the failures, then one line for the run."""
        out = []
        by_report: dict[str, list[Outcome]] = {}
        for o in self.outcomes:
            by_report.setdefault(o.report, []).append(o)
        for report, outcomes in by_report.items():
            ok = [o for o in outcomes if o.status == "ok"]
            failed = sum(o.status == "failed" for o in outcomes)
            waiting = sum(o.status == "waiting" for o in outcomes)
            out.append(
                f"{report}: {len(ok)} interval(s) ok, {failed} failed, {sum(o.rows for o in ok)} row(s)"
                + (f", {waiting} waiting for depends_on tables ({', '.join(sorted(self.waiting_on.get(report, ())))})" if waiting else "")
            )
        out += self.notes
        for report, count in self.held.items():
            out.append(
                f"{report}: {count} stale interval(s) kept as they are: their depends_on tables ({', '.join(sorted(self.waiting_on.get(report, ())))}) lack days"
            )
        for report, reason in self.skipped:
            out.append(f"{report}: skipped ({reason})")
        for o in self.failed[:MAX_FAILED_LINES]:
            combo = ",".join(f"{k}={v}" for k, v in sorted(o.explode.items()))
            out.append(f"FAILED {o.report}{' [' + combo + ']' if combo else ''} {o.interval.start}: {o.error}")
        if len(self.failed) > MAX_FAILED_LINES:
            out.append(
                f"... and {len(self.failed) - MAX_FAILED_LINES} more failed interval(s): `metrics status` and the run log (metrics.report_runs) list them all"
            )
        if self.points_queued or self.points_sent:
            out.append(f"graphite: {self.points_queued} point(s) queued, {self.points_sent} sent")
        if self.graphite_error:
            out.append(f"FAILED graphite: {self.graphite_error} (points stay in the outbox for the next run)")
        counts = {status: sum(o.status == status for o in self.outcomes) for status in ("ok", "failed", "waiting")}
        done = counts["ok"] + counts["failed"] + counts["waiting"]
        out.append(
            f"{done} interval(s) in {self.seconds:.1f} s ({counts['ok']} ok, {counts['failed']} failed, {counts['waiting']} waiting):"
            f" {'ok' if self.ok else 'with failures'}"
        )
        return out


def sql_schema(engine: Engine) -> dict[str, dict[str, dict[str, str]]]:
    """The tables as sqlglot wants them for type annotation (the engine's own when it writes them)."""
    return engine.sql_schema() if engine.write_mode == "sql" else engine.warehouse.sql_schema()


def update_reports(
    folder: Path | str,
    engine: Engine,
    output: Path | str | None = None,
    *,
    config_path: Path | str | None = None,
    graphite: bool = True,
    graphite_address: tuple[str, int] | None = None,
    graphite_prefix: str | None = None,
    catalogue=None,
    now: dt.datetime | None = None,
    workers: int | None = None,
    only: Sequence[str] | None = None,
    progress: bool = False,
    flush_seconds: float = FLUSH_SECONDS,
    recompute: Recompute | None = None,
) -> RunSummary:
    """Bring every report of a query folder up to date; raises `Locked` if another run holds it.

    `workers` executions run at once (default: one per CPU, `default_workers`); finished
    intervals are written and logged at least every `flush_seconds`. `graphite_prefix` (the
    environment's) goes before every path sent to carbon. With `recompute`, a backfill: only the
    reports' stale intervals (`metrics.reports.stale`, found under the lock) are computed,
    replaced in their partitions and logged with the current definition.
    """
    started = time.perf_counter()
    folder = Path(folder)
    config = read_folder(folder, config_path)
    summary = RunSummary(folder, problems=list(config.problems))
    now = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    address = graphite_address or ((config.graphite_host, config.graphite_port) if config.graphite_host and config.graphite_port else None)
    with folder_lock(folder):
        pending = reruns_mod.pending(folder) if recompute is None else []  # a backfill leaves rerun requests to the next run
        store = Store(engine)
        name = folder_name(folder)
        outbox = graphite_out.Outbox(engine.warehouse.root / "_outbox", name)
        writer = Writer(
            store,
            name,
            output=Path(output) if output else None,
            outbox=outbox if graphite and address else None,
            lookups=config.lookups,
            catalogue=catalogue,
            flush_seconds=flush_seconds,
        )
        writer.recover(config.reports)
        sources = Sources(engine.warehouse, engine)
        work: list[Unit] = []
        for report in config.reports:
            if only and report.key not in only:
                continue
            if report.starts > now.date():
                summary.skipped.append((report.key, f"starts {report.starts} is in the future"))
                log.warning("report %s starts on %s, in the future: skipped", report.key, report.starts)
                continue
            only_these = None
            if recompute is not None:
                found = stale_mod.find(report, store, writer.definition(report), now)
                summary.stale.append(found)
                only_these = recompute.narrow(found.todo(recompute.unknown))
                if not only_these:
                    summary.notes.append(f"{report.key}: {_nothing_to_recompute(found, recompute)}")
            selection = plan(report, store, now, pending, sources, only=only_these)
            work += units(report, selection.todo)
            for combo, waiting in selection.waiting:
                if recompute is None:
                    writer.wait(report, combo, waiting, selection.logged_waiting[explode_key(combo)])
                else:  # their data stays: recomputed without its sources, it would be lost
                    summary.held[report.key] = summary.held.get(report.key, 0) + len(waiting)
                summary.waiting_on.setdefault(report.key, set()).update(sources.lacking(report.depends_on, waiting))
            log.info(
                "%s: %d interval(s) due, %d waiting for depends_on tables",
                report.key,
                sum(len(i) for _, i in selection.todo),
                sum(len(i) for _, i in selection.waiting),
            )
        with _progress(progress, sum(len(u.intervals) for u in work)) as advance, hive_cli.on_path(engine) as script_env:
            executor = Executor(engine, sql_schema(engine), script_env)
            try:
                for computed in _in_order(executor.batches, work, workers or default_workers()):
                    writer.add(computed)
                    advance(len(computed.unit.intervals))
            finally:
                writer.flush()  # what finished is kept, even when the run is interrupted
        summary.outcomes = sorted(writer.outcomes, key=lambda o: (o.report, sorted(o.explode.items()), o.interval))
        processed = {r.key for r in config.reports if (not only or r.key in only)} - {k for k, _ in summary.skipped}
        _settle_reruns(pending, summary.outcomes, processed, [r.key for r in config.reports])
        summary.points_queued = writer.points
        if graphite and address:
            try:
                summary.points_sent = outbox.send(*address, prefix=graphite_prefix)
            except OSError as exc:
                summary.graphite_error = f"cannot send to carbon at {redact.mask_host(address[0])}:{address[1]}: {redact.mask_text(str(exc.strerror or exc))}"
    summary.seconds = time.perf_counter() - started
    return summary


def _nothing_to_recompute(found: stale_mod.ReportStale, recompute: Recompute) -> str:
    """Why a backfill recomputes nothing of a report."""
    if found.stale or (found.unknown and recompute.unknown):
        return "nothing to recompute between --from and --to"
    if found.unknown:
        return f"nothing to recompute: {len(found.unknown)} interval(s) computed before definitions were recorded (--unknown recomputes them)"
    return f"definition unchanged ({found.current.query_hash}): nothing to recompute"


Batches = Callable[[Sequence[Unit]], Iterator[list[Computed]]]
"""`Executor.batches`: the executions of some units, in order, in lists given as soon as they are known."""


def _in_order(batches: Batches, work: Sequence[Unit], workers: int) -> Iterator[Computed]:
    """Each unit's execution, `workers` at a time, yielded in the order of `work` (at most `workers * AHEAD` run ahead).

    Script units go to the pool a few in a row (`_chunks`), their results given back in lists as
    soon as they are known; the others one by one.
    """
    window: collections.deque[tuple[int, queue.SimpleQueue]] = collections.deque()
    ahead = 0
    stop = threading.Event()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="report") as pool:
        try:
            for chunk in _chunks(work, workers):
                results: queue.SimpleQueue = queue.SimpleQueue()
                pool.submit(_run_chunk, batches, chunk, results, stop)
                window.append((len(chunk), results))
                ahead += len(chunk)
                while ahead >= workers * AHEAD:
                    count, results = window.popleft()
                    ahead -= count
                    yield from _taken(count, results)
            while window:
                yield from _taken(*window.popleft())
        finally:
            stop.set()  # chunks not begun are not run; a chunk under way stops after its current list


def _run_chunk(batches: Batches, chunk: Sequence[Unit], results: queue.SimpleQueue, stop: threading.Event) -> None:
    """On a worker: the chunk's results into `results`, a list at a time (or the exception that stopped it)."""
    try:
        for batch in batches(chunk) if not stop.is_set() else ():
            results.put(batch)
            if stop.is_set():
                return
    except BaseException as exc:  # never leave the writer waiting for results that will not come
        results.put(exc)


def _taken(count: int, results: queue.SimpleQueue) -> Iterator[Computed]:
    """The `count` results of one chunk, as its worker gives them."""
    while count > 0:
        batch = results.get()
        if isinstance(batch, BaseException):
            raise batch
        count -= len(batch)
        yield from batch


def _chunks(work: Sequence[Unit], workers: int) -> Iterator[list[Unit]]:
    """`work` in order, as consecutive script units of one report, up to CHUNK of them (fewer when
    the run is short, so that every worker has some), and other units one by one."""
    scripts = sum(unit.report.type == "script" for unit in work)
    size = max(1, min(CHUNK, scripts // (workers * 4)))
    chunk: list[Unit] = []
    for unit in work:
        if chunk and (len(chunk) >= size or unit.report is not chunk[0].report):
            yield chunk
            chunk = []
        if unit.report.type != "script":
            yield [unit]
        else:
            chunk.append(unit)
    if chunk:
        yield chunk


def _settle_reruns(pending: Sequence[reruns_mod.Rerun], outcomes: Sequence[Outcome], processed: set[str], all_reports: list[str]) -> None:
    """Delete the rerun files whose intervals all ran and succeeded; keep the others for the next run."""
    for rerun in pending:
        if not set(rerun.reports or all_reports) <= processed:
            continue  # a report it names did not run this time (filtered out, skipped or broken)
        covered = [o for o in outcomes if rerun.covers(o.report, o.interval.start)]
        if all(o.status == "ok" for o in covered):
            rerun.path.unlink(missing_ok=True)
        else:
            log.warning("rerun %s stays pending: %d interval(s) failed or waiting", rerun.path.name, sum(o.status != "ok" for o in covered))


class _progress:
    """A progress bar over intervals on a terminal; nothing otherwise."""

    def __init__(self, enabled: bool, total: int):
        self.enabled = enabled and total > 0 and sys.stderr.isatty()
        self.total = total

    def __enter__(self) -> Callable[[int], None]:
        if not self.enabled:
            return lambda n: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        columns = (TextColumn("intervals"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(), TimeElapsedColumn(), TimeRemainingColumn())
        self.bar = Progress(*columns, transient=True)
        self.bar.start()
        # Log lines go above the bar (through the proxy rich put on sys.stderr), not into it.
        self.handlers = [
            (handler, handler.setStream(sys.stderr))
            for handler in logging.getLogger().handlers
            if type(handler) is logging.StreamHandler and handler.stream is sys.__stderr__
        ]
        task = self.bar.add_task("intervals", total=self.total)
        return lambda n: self.bar.advance(task, n)

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            for handler, stream in self.handlers:
                handler.setStream(stream)
            self.bar.stop()
