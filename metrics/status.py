"""`metrics status`: per query folder and report, what is done, late, failed and waiting, from the run log.

The run log is read through the runner's `Store`, so the status is the same in both write modes
(Parquet files, or tables written through Trino), and what is due and missing is the runner's own
selector (`metrics.reports.selector.plan`) evaluated at `now - grace`:

- due: every interval the runner would compute now (a complete period, after the report's `lag`);
- done: the interval's latest run-log entry is `ok`, for every explode combination;
- failed: a due interval whose latest run-log entry is `failed` (the entry gives the error);
- waiting: a due interval whose `depends_on` tables lack one of its days (the runner logs it `waiting`);
- late: the newest due interval is not done for some combination whose sources are there: for a
  daily report with lag L, the day before `truncate(now - L)` is not done.

A report's state is the worst that applies, in the order failed, late, waiting, fresh ("fresh":
nothing due is late or failed; a report with nothing due yet is fresh). `late` and `failed` alert:
`Status.ok` is false and `metrics status` exits 1. A folder whose config cannot be read, or has
errors, alerts too (`Status.problems`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from metrics.config import Settings
from metrics.engines import Engine
from metrics.freshness import Freshness, report_refs
from metrics.problems import InputError, Problem
from metrics.reports import reruns as reruns_mod
from metrics.reports.config import Report
from metrics.reports.intervals import Interval, due_intervals, shift
from metrics.reports.reader import read_folder
from metrics.reports.selector import Sources, explode_combinations, plan
from metrics.reports.store import Store, explode_key
from metrics.reports.validate import query_folders

STATES = ("fresh", "waiting", "late", "failed")
"""A report's states, from the best to the worst."""
ALERTING = frozenset({"late", "failed"})


@dataclass(frozen=True)
class FailedInterval:
    """A due interval of one explode combination whose latest run failed."""

    explode: dict[str, str]
    interval: Interval
    error: str | None
    at: dt.datetime | None
    """When the failed run logged it (UTC)."""


@dataclass(frozen=True)
class WaitingInterval:
    """A due interval of one explode combination that waits for the tables of `depends_on`."""

    explode: dict[str, str]
    interval: Interval
    tables: tuple[str, ...]
    """The `depends_on` tables that lack a day of the interval."""


@dataclass
class ReportStatus:
    """Where one report stands at `Status.now`."""

    folder: str
    report: str
    granularity: str
    allowed_lag_seconds: int
    """The report's `lag`: how long after a period ends it becomes due."""
    state: str
    """One of STATES."""
    late: bool
    """The newest due interval is not done (a failed report may be late too)."""
    last_done: Interval | None
    """The newest interval done for every explode combination."""
    last_due: Interval | None
    """The newest interval that is due (None: nothing due yet)."""
    lag_seconds: int | None
    """Seconds from the end of `last_done` (midnight UTC) to now: how old the newest complete data is."""
    last_run: dt.datetime | None
    """When the run log last recorded an interval of the report (UTC)."""
    missing: int
    """Due intervals (per explode combination) not done, failed and waiting ones included."""
    failed: list[FailedInterval] = field(default_factory=list)
    waiting: list[WaitingInterval] = field(default_factory=list)

    @property
    def ref(self) -> str:
        """`<folder>/<report>`, as a metric's `source.report` names it."""
        return f"{self.folder}/{self.report}"

    @property
    def through(self) -> dt.date | None:
        """The last day the newest complete data covers."""
        return self.last_done.end - dt.timedelta(days=1) if self.last_done else None

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready plain data (the shape is documented in docs/operations.md)."""
        return {
            "folder": self.folder,
            "report": self.report,
            "state": self.state,
            "late": self.late,
            "granularity": self.granularity,
            "allowed_lag_seconds": self.allowed_lag_seconds,
            "last_done": _interval(self.last_done),
            "last_due": _interval(self.last_due),
            "lag_seconds": self.lag_seconds,
            "last_run": _moment(self.last_run),
            "missing": self.missing,
            "failed": [
                {"explode": f.explode, "start": f.interval.start.isoformat(), "end": f.interval.end.isoformat(), "error": f.error, "at": _moment(f.at)}
                for f in self.failed
            ],
            "waiting": [
                {"explode": w.explode, "start": w.interval.start.isoformat(), "end": w.interval.end.isoformat(), "tables": list(w.tables)} for w in self.waiting
            ],
        }


@dataclass
class Status:
    """Every report of the query folders looked at, and the problems of their configs."""

    now: dt.datetime
    reports: list[ReportStatus] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    """Config errors of the folders (a folder whose config cannot be read at all has no report here)."""

    @property
    def ok(self) -> bool:
        """No report late or failed, and no config error."""
        return not any(r.state in ALERTING for r in self.reports) and not self.problems

    def counts(self) -> dict[str, int]:
        return {state: sum(r.state == state for r in self.reports) for state in STATES}

    def as_dict(self) -> dict[str, Any]:
        """The whole status as JSON-ready plain data (`metrics status --json`)."""
        return {
            "now": _moment(self.now),
            "ok": self.ok,
            "counts": self.counts(),
            "reports": [r.as_dict() for r in self.reports],
            "problems": [str(p) for p in self.problems],
        }

    def lines(self) -> list[str]:
        """A table, one line per report, then what is wrong with each report that is not fresh, then a total."""
        header = ["report", "state", "done through", "lag", "last run"]
        rows = [[r.ref, r.state, _day(r.through), _duration(r.lag_seconds), _short(r.last_run)] for r in self.reports]
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        out = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [header, *rows]]
        for r in self.reports:
            out += [f"{r.ref}: {line}" for line in _details(r)]
        out += [str(p) for p in self.problems]
        counts = ", ".join(f"{n} {state}" for state, n in self.counts().items())
        folders = len({r.folder for r in self.reports})
        out.append(f"{len(self.reports)} report(s) in {folders} folder(s) as of {_short(self.now)}: {counts}: {'ok' if self.ok else 'ALERT'}")
        return out

    def freshness(self) -> dict[str, Freshness]:
        """Per report (`folder/report`), what its dashboards show."""
        return {r.ref: Freshness(r.ref, r.through, r.last_run) for r in self.reports}


def status(
    folders: Iterable[Path | str],
    engine: Engine,
    *,
    now: dt.datetime | None = None,
    grace: dt.timedelta = dt.timedelta(0),
) -> Status:
    """The status of every report of `folders` at `now` (UTC, naive; default: the current time).

    An interval counts as due only `grace` after the runner would compute it (for a scheduler that
    runs at :15, a grace of 30 minutes keeps a report from being late between :00 and :15).
    The run log is read through the runner's `Store` (both write modes).
    """
    now = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    out = Status(now)
    store = Store(engine)
    sources = Sources(engine.warehouse)
    for folder in folders:
        folder = Path(folder)
        try:
            config = read_folder(folder)
        except InputError as exc:
            out.problems += exc.errors
            continue
        out.problems += config.errors
        pending = reruns_mod.pending(folder)
        out.reports += [report_status(report, store, sources, pending, now, now - grace) for report in config.reports]
    return out


def report_status(report: Report, store: Store, sources: Sources, pending: Sequence[reruns_mod.Rerun], now: dt.datetime, due_at: dt.datetime) -> ReportStatus:
    """One report's status: the selector's plan at `due_at`, the run log's latest entries, the lag at `now`."""
    selection = plan(report, store, due_at, pending, sources)
    latest = store.latest(report.folder_name, report.key)
    due = due_intervals(report.starts, report.granularity, due_at, lag=report.lag, max_data_points=report.max_data_points, ends=report.ends)
    last_due = due[-1] if due else None
    done_sets = [{start for start, e in latest.get(explode_key(c), {}).items() if e.status == "ok"} for c in explode_combinations(report.explode_by)]
    done_everywhere = set.intersection(*done_sets) if done_sets else set()
    last_done = None
    if done_everywhere:
        start = max(done_everywhere)
        last_done = Interval(start, shift(start, report.granularity))
    failed = []
    for combo, todo in selection.todo:
        entries = latest.get(explode_key(combo), {})
        for interval in todo:
            entry = entries.get(interval.start)
            if entry is not None and entry.status == "failed":
                failed.append(FailedInterval(combo, interval, entry.error, _utc(entry.finished_at)))
    waiting = [
        WaitingInterval(combo, interval, tuple(t for t in report.depends_on if not sources.ready([t], interval)))
        for combo, intervals in selection.waiting
        for interval in intervals
    ]
    late = last_due is not None and any(last_due in todo for _, todo in selection.todo)
    state = "failed" if failed else "late" if late else "waiting" if waiting else "fresh"
    runs = [e.finished_at for entries in latest.values() for e in entries.values()]
    lag = None
    if last_done is not None:
        end = dt.datetime.combine(last_done.end, dt.time())
        lag = max(0, int((now - end).total_seconds()))
    return ReportStatus(
        folder=report.folder_name,
        report=report.key,
        granularity=report.granularity,
        allowed_lag_seconds=report.lag,
        state=state,
        late=late,
        last_done=last_done,
        last_due=last_due,
        lag_seconds=lag,
        last_run=_utc(max(runs)) if runs else None,
        missing=sum(len(todo) for _, todo in selection.todo) + sum(len(w) for _, w in selection.waiting),
        failed=failed,
        waiting=waiting,
    )


def spec_freshness(catalogue: Iterable[Any], current: Status) -> dict[str, list[Freshness]]:
    """Per spec name, the freshness of each report its metrics read (reports not in `current` are left out)."""
    known = current.freshness()
    return {spec.name: [known[ref] for ref in report_refs(spec) if ref in known] for spec in catalogue}


def dashboard_freshness(settings: Settings, catalogue: Iterable[Any]) -> dict[str, list[Freshness]]:
    """Per spec, the freshness of its reports from the configured run log; empty when the warehouse folder has no run log.

    Opens the configured engine only when there is a run log to read (always with `write_mode = "sql"`,
    whose run log is the engine's table).
    """
    from metrics.engines import open_configured
    from metrics.reports.store import RUN_LOG, SCHEMA
    from metrics.warehouse import Warehouse

    folders = query_folders(settings.queries)
    if not folders or (settings.write_mode == "files" and Warehouse(settings.warehouse).info(SCHEMA, RUN_LOG) is None):
        return {}
    with open_configured(settings, lazy=True) as engine:
        return spec_freshness(catalogue, status(folders, engine))


def lag_gauges(current: Status, prefix: str) -> dict[str, int]:
    """StatsD gauge buckets (`<prefix>.<folder>.<report>`) and each report's `lag_seconds`; reports with nothing done have none."""
    return {f"{prefix}.{_node(r.folder)}.{_node(r.report)}": r.lag_seconds for r in current.reports if r.lag_seconds is not None}


def _node(name: str) -> str:
    """A name as one Graphite node: letters, digits, `_` and `-`; anything else (a `.` too) becomes `_`."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "_-") else "_" for c in name)


def _details(r: ReportStatus) -> list[str]:
    out = []
    if r.failed:
        errors: dict[str, list[FailedInterval]] = {}
        for f in r.failed:
            errors.setdefault(f.error or "(no error recorded)", []).append(f)
        for error, items in sorted(errors.items(), key=lambda e: -len(e[1]))[:3]:
            out.append(f"FAILED {len(items)} interval(s) {_span(i.interval for i in items)}: {error}")
        if len(errors) > 3:
            out.append(f"FAILED with {len(errors) - 3} other error(s): `metrics status --json` lists them all")
    if r.late and r.last_due is not None:
        out.append(f"late: {r.last_due.start} is due and not done ({r.missing} interval(s) missing: the next run computes or retries them)")
    if r.waiting:
        tables = sorted({t for w in r.waiting for t in w.tables})
        out.append(f"waiting: {len(r.waiting)} interval(s) {_span(w.interval for w in r.waiting)} wait for {', '.join(tables)}")
    return out


def _span(intervals: Iterable[Interval]) -> str:
    starts = sorted({i.start for i in intervals})
    return str(starts[0]) if len(starts) == 1 else f"{starts[0]} .. {starts[-1]}"


def _interval(interval: Interval | None) -> dict[str, str] | None:
    return {"start": interval.start.isoformat(), "end": interval.end.isoformat()} if interval else None


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    """A run-log time as naive UTC, like `now`."""
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None)


def _moment(moment: dt.datetime | None) -> str | None:
    """A naive UTC time in ISO 8601 with `Z`, to the second."""
    return moment.replace(microsecond=0).isoformat() + "Z" if moment else None


def _short(moment: dt.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


def _day(day: dt.date | None) -> str:
    return day.isoformat() if day else "-"


def _duration(seconds: int | None) -> str:
    """Seconds as `2d 3h`, `5h 10m` or `45m`."""
    if seconds is None:
        return "-"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {minutes}m" if hours else f"{minutes}m"
