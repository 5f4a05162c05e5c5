"""`metrics run`: every query folder once, each under its folder lock, or again at every slot of a period.

`run_all` runs the folders one after another with the runner (`metrics.reports.runner.update_reports`):
a folder that another run holds is skipped and reported, a folder whose config cannot be read is
reported, and neither stops the others. After each folder that computed or failed an interval, a
Graphite event (`metrics.graphite_events`) marks the run for the Grafana boards, when a graphite-web
is given (intervals still waiting for their sources are no run worth a mark).

`every` is the long-running scheduler of `metrics run --every 1h`: it runs at once, then at each
slot (multiples of the period since the Unix epoch, in UTC: the top of every hour for 1h), and
stops between runs when `stop` is set (`stop_on_signals`: SIGTERM or SIGINT).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from metrics.engines import Engine
from metrics.errors import MetricsError
from metrics.freshness import event_tags
from metrics.problems import InputError, Problem
from metrics.reports.lock import Locked
from metrics.reports.runner import Recompute, RunSummary, update_reports
from metrics.reports.writer import FLUSH_SECONDS

log = logging.getLogger(__name__)

SHOWN_FAILURES = 5
"""Failed intervals listed per folder in the summary of a run."""
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_duration(text: str) -> dt.timedelta:
    """`1h`, `30m`, `1d`, `90s`, `1h30m` as a timedelta; raises ValueError with what to write."""
    match = _DURATION.match(text.strip())
    if not text.strip() or match is None:
        raise ValueError(f"{text!r} is not a duration: write e.g. 1h, 30m, 1d or 1h30m")
    days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return dt.timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


@dataclass
class FolderRun:
    """What happened to one query folder in a run of all of them."""

    folder: Path
    summary: RunSummary | None = None
    skipped: str | None = None
    """Why the folder did not run: another run holds its lock."""
    problems: list[Problem] = field(default_factory=list)
    """Why its config could not be read at all."""
    error: str | None = None
    """An error that stopped the folder's run (the other folders still ran)."""
    event_error: str | None = None

    @property
    def state(self) -> str:
        """ok, failed (an interval, Graphite, or the run), broken (the config), skipped (locked)."""
        if self.skipped:
            return "skipped"
        if self.problems or (self.summary and any(p.is_error for p in self.summary.problems)):
            return "broken"
        if self.error or (self.summary and not self.summary.ok):
            return "failed"
        return "ok"


@dataclass
class RunAll:
    """One run of every query folder."""

    started: dt.datetime
    folders: list[FolderRun] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        """2 when a folder's config has errors, else 1 when something failed, else 0 (a skipped folder is not a failure)."""
        states = {f.state for f in self.folders}
        return 2 if "broken" in states else 1 if "failed" in states else 0

    def lines(self) -> list[str]:
        """The summary: one line per folder, then what failed, then one line for the run."""
        out = []
        for run in self.folders:
            name = run.folder.name
            if run.skipped:
                out.append(f"{name}: skipped ({run.skipped})")
                continue
            if run.problems:
                out.append(f"{name}: not run: its config cannot be read")
                out += [f"  {p}" for p in run.problems]
                continue
            if run.summary is None:
                out.append(f"{name}: FAILED: {run.error}")
                continue
            counts = {s: sum(o.status == s for o in run.summary.outcomes) for s in ("ok", "failed", "waiting")}
            out.append(
                f"{name}: {counts['ok']} interval(s) ok, {counts['failed']} failed, {counts['waiting']} waiting in {run.summary.seconds:.1f} s: {run.state}"
            )
            out += [f"  {p}" for p in run.summary.problems if p.is_error]
            failures = [line for line in run.summary.lines() if line.startswith("FAILED")]
            total = len(run.summary.failed) + (run.summary.graphite_error is not None)  # the summary itself lists only the first ones
            out += [f"  {line}" for line in failures[:SHOWN_FAILURES]]
            if total > SHOWN_FAILURES:
                out.append(f"  ... and {total - SHOWN_FAILURES} more failure(s) (`metrics status` groups them by error)")
            if run.event_error:
                out.append(f"  warning: {run.event_error}")
        counts = {s: sum(f.state == s for f in self.folders) for s in ("ok", "failed", "broken", "skipped")}
        out.append(f"{len(self.folders)} query folder(s) in {self.seconds:.1f} s: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
        return out


def run_all(
    folders: Sequence[Path | str],
    engine: Engine,
    *,
    output: Path | str | None = None,
    graphite: bool = True,
    graphite_address: tuple[str, int] | None = None,
    graphite_prefix: str | None = None,
    graphite_web: str | None = None,
    catalogue: Any = None,
    now: dt.datetime | None = None,
    workers: int | None = None,
    flush_seconds: float = FLUSH_SECONDS,
    progress: bool = False,
    recompute: Recompute | None = None,
    only: Sequence[str] | None = None,
) -> RunAll:
    """Run every folder once, in order; TSV files go to `output/<folder name>` when `output` is given.

    Never raises for one folder: a locked folder is skipped, an unreadable config or a failed run
    is recorded, and the next folder runs. Options are `update_reports`'s (`only`: report keys).
    """
    started = time.perf_counter()
    result = RunAll(dt.datetime.now(dt.timezone.utc))
    for folder in map(Path, folders):
        run = FolderRun(folder)
        result.folders.append(run)
        try:
            run.summary = update_reports(
                folder,
                engine,
                Path(output) / folder.name if output else None,
                graphite=graphite,
                graphite_address=graphite_address,
                graphite_prefix=graphite_prefix,
                catalogue=catalogue,
                now=now,
                workers=workers,
                flush_seconds=flush_seconds,
                progress=progress,
                recompute=recompute,
                only=only,
            )
        except Locked as exc:
            run.skipped = str(exc).removesuffix("; exiting")
        except InputError as exc:
            run.problems = exc.problems
        except MetricsError as exc:
            run.error = str(exc)
        except Exception as exc:  # noqa: BLE001 - one folder's bug must not stop the others; the traceback is logged
            log.exception("the run of %s stopped", folder)
            run.error = f"{type(exc).__name__}: {exc}"
        if graphite_web and run.summary is not None and any(o.status != "waiting" for o in run.summary.outcomes):
            run.event_error = _post_run_event(graphite_web, run)
    result.seconds = time.perf_counter() - started
    return result


def _post_run_event(url: str, run: FolderRun) -> str | None:
    """Post the Graphite event of one folder's run; the error as text (a missing annotation fails no run)."""
    from metrics.graphite_events import EventError, post_event

    assert run.summary is not None
    summary = run.summary
    ok = sum(o.status == "ok" for o in summary.outcomes)
    failed = len(summary.failed)
    what = f"metrics run {run.folder.name}: {ok} ok, {failed} failed"
    try:
        post_event(url, what, event_tags(run.folder.name), "\n".join(summary.lines()[-20:]))
    except EventError as exc:
        log.warning("%s", exc)
        return str(exc)
    return None


def next_slot(moment: float, period: dt.timedelta) -> float:
    """The first multiple of `period` since the Unix epoch after `moment` (seconds)."""
    step = period.total_seconds()
    return (moment // step + 1) * step


def every(
    period: dt.timedelta,
    job: Callable[[], object],
    stop: threading.Event,
    *,
    say: Callable[[str], None] = log.info,
    clock: Callable[[], float] = time.time,
) -> int:
    """Run `job` now, then at each slot of `period`, until `stop` is set; returns the number of runs.

    `stop` is looked at between runs only: a run that has started ends normally. A run that
    overruns its slot is followed by the next slot still ahead (slots are never run twice).
    """
    if period.total_seconds() < 1:
        raise ValueError("the period must be at least one second")
    runs = 0
    while not stop.is_set():
        runs += 1
        say(f"run {runs} starts")
        job()
        if stop.is_set():
            break
        slot = next_slot(clock(), period)
        say(f"run {runs} done; next run at {dt.datetime.fromtimestamp(slot, dt.timezone.utc):%Y-%m-%d %H:%M:%S} UTC")
        stop.wait(max(0.0, slot - clock()))
    say(f"stopped after {runs} run(s)")
    return runs


@contextmanager
def stop_on_signals(signals: Sequence[signal.Signals] = (signal.SIGTERM, signal.SIGINT)) -> Iterator[threading.Event]:
    """An event set by the first SIGTERM or SIGINT (the scheduler stops after the current run).

    A second signal interrupts at once (KeyboardInterrupt): the run keeps what it had written and
    logged, and computes the rest next time. The previous handlers are restored on exit.
    """
    stop = threading.Event()

    def handle(number: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        # os.write, not logging: a handler may interrupt code that holds the logging lock
        os.write(2, f"{signal.Signals(number).name}: stopping after the current run (send it again to stop at once)\n".encode())

    previous = {s: signal.signal(s, handle) for s in signals}
    try:
        yield stop
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
