"""`metrics run`: every query folder once under its lock, one summary, and the `--every` scheduler with real signals."""

from __future__ import annotations

import datetime as dt
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from metrics.engines import open_engine
from metrics.reports.lock import folder_lock
from metrics.reports.store import Store
from metrics.reports.validate import query_folders
from metrics.schedule import every, next_slot, parse_duration, run_all, stop_on_signals
from metrics.warehouse import Warehouse
from tests.conftest import CATALOGUE
from tests.ops_world import DAYS, NOW, copy_folder, load_baseline


@pytest.fixture
def world(tmp_path: Path) -> tuple[Warehouse, Path]:
    warehouse = Warehouse(tmp_path / "wh")
    load_baseline(warehouse)
    queries = tmp_path / "q"
    copy_folder("reference_previews", queries)
    copy_folder("reference_previews", queries, as_name="gated", add="depends_on: [event.referencepreviewsbaseline]")
    return warehouse, queries


def metrics(warehouse: Warehouse, queries: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "metrics", "--warehouse", str(warehouse.root), "--queries", str(queries), "--catalogue", str(CATALOGUE)]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=timeout)


def test_a_locked_folder_is_skipped_and_the_others_run(world: tuple[Warehouse, Path]) -> None:
    warehouse, queries = world
    with open_engine(warehouse) as engine:
        with folder_lock(queries / "reference_previews"):
            held = run_all(query_folders(queries), engine, graphite=False, now=NOW)
        assert [(f.folder.name, f.state) for f in held.folders] == [("gated", "ok"), ("reference_previews", "skipped")]
        assert held.exit_code == 0
        assert f"reference_previews: skipped (another run (pid {os.getpid()}) is updating" in "\n".join(held.lines())
        assert Store(engine).done("reference_previews", "baseline") == {}  # it did not run

        free = run_all(query_folders(queries), engine, graphite=False, now=NOW)
        assert [(f.folder.name, f.state) for f in free.folders] == [("gated", "ok"), ("reference_previews", "ok")]
        assert Store(engine).done("reference_previews", "baseline") == {"{}": dict.fromkeys(DAYS, "ok")}
        assert free.lines()[-1].startswith("2 query folder(s) in ") and free.lines()[-1].endswith(": 2 ok, 0 failed, 0 broken, 0 skipped")


def test_an_unreadable_config_is_reported_and_does_not_stop_the_others(world: tuple[Warehouse, Path]) -> None:
    warehouse, queries = world
    broken = queries / "a_broken"
    broken.mkdir()
    (broken / "config.yaml").write_text("reports: [1, 2]\n")
    with open_engine(warehouse) as engine:
        result = run_all(query_folders(queries), engine, graphite=False, now=NOW)
        assert [(f.folder.name, f.state) for f in result.folders] == [("a_broken", "broken"), ("gated", "ok"), ("reference_previews", "ok")]
        assert result.exit_code == 2
        assert f"  {broken / 'config.yaml'}:1:" in "\n".join(result.lines())
        assert Store(engine).done("reference_previews", "baseline") == {"{}": dict.fromkeys(DAYS, "ok")}


def test_cli_runs_every_folder_once_with_one_summary(world: tuple[Warehouse, Path], tmp_path: Path) -> None:
    warehouse, queries = world
    copy_folder("codemirror", queries)  # no events table: every interval fails
    with folder_lock(queries / "gated"):
        result = metrics(warehouse, queries, "run", "--now", NOW.isoformat(), "--no-graphite", "--output", str(tmp_path / "out"))
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("codemirror: 0 interval(s) ok, 30 failed, 0 waiting in ") and lines[0].endswith(": failed")
    assert sum(line.startswith("  FAILED ") for line in lines) == 5 and "  ... and 25 more failure(s)" in result.stdout
    assert any(line.startswith("gated: skipped (another run (pid ") for line in lines)
    assert any(line.startswith("reference_previews: 3 interval(s) ok, 0 failed, 0 waiting in ") for line in lines)
    assert lines[-1].endswith(": 1 ok, 1 failed, 0 broken, 1 skipped") and lines[-1].startswith("3 query folder(s)")
    tsv = (tmp_path / "out" / "reference_previews" / "baseline.tsv").read_text()
    assert tsv.splitlines()[0] == "date\twiki\tfootnote_clicks\tpageviews" and len(tsv.splitlines()) == 1 + 2 * len(DAYS)


def test_cli_refuses_bad_schedules_with_exit_2(world: tuple[Warehouse, Path]) -> None:
    warehouse, queries = world
    for args, message in [
        (["--every", "hourly"], "'hourly' is not a duration"),
        (["--every", "0s"], "give at least 1s"),
        (["--every", "1h", "--now", NOW.isoformat()], "--now pretends one moment"),
    ]:
        result = metrics(warehouse, queries, "run", *args)
        assert result.returncode == 2 and message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1h", 3600), ("30m", 1800), ("1d", 86400), ("90s", 90), ("1h30m", 5400), ("2d12h", 216000)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "h", "1x", "1m1h", "-1h", "1.5h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


def test_slots_are_multiples_of_the_period_in_utc() -> None:
    moment = dt.datetime(2026, 11, 21, 10, 59, 59, tzinfo=dt.timezone.utc).timestamp()
    hour = dt.timedelta(hours=1)
    assert dt.datetime.fromtimestamp(next_slot(moment, hour), dt.timezone.utc) == dt.datetime(2026, 11, 21, 11, tzinfo=dt.timezone.utc)
    assert next_slot(next_slot(moment, hour), hour) - next_slot(moment, hour) == 3600  # a run at a slot waits for the next one
    assert dt.datetime.fromtimestamp(next_slot(moment, dt.timedelta(days=1)), dt.timezone.utc) == dt.datetime(2026, 11, 22, tzinfo=dt.timezone.utc)


def test_every_runs_at_once_then_at_each_slot_until_stopped() -> None:
    stop = threading.Event()
    started: list[float] = []

    def job() -> None:
        started.append(time.time())
        if len(started) == 3:
            stop.set()

    assert every(dt.timedelta(seconds=1), job, stop, say=lambda _: None) == 3
    assert all(0 <= t % 1 < 0.3 for t in started[1:]), started  # at the top of a second
    assert [int(b) - int(a) for a, b in zip(started, started[1:])] == [1, 1]


def test_first_signal_stops_between_runs_and_a_second_one_at_once() -> None:
    with stop_on_signals() as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.is_set()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


SLOW_SCRIPT = "#!/bin/sh\nsleep 1\nprintf 'date\\tvalue\\n%s\\t1\\n' $1\n"


def _slow_folder(root: Path, today: dt.date) -> Path:
    folder = root / "slow"
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text(f"reports:\n  slow:\n    type: script\n    granularity: days\n    starts: {today - dt.timedelta(days=2)}\n")
    script = folder / "slow"
    script.write_text(SLOW_SCRIPT)
    script.chmod(0o755)
    return folder


class Scheduler:
    """`metrics run --every` in a real process, its output read line by line as it comes."""

    def __init__(self, warehouse: Path, folder: Path, every: str):
        command = [sys.executable, "-m", "metrics", "--warehouse", str(warehouse), "run", str(folder), "--every", every, "--no-graphite", "--workers", "1"]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.seen):
            try:
                self.seen.append(self.lines.get(timeout=max(0.01, deadline - time.monotonic())))
            except queue.Empty:
                self.process.kill()
                raise AssertionError(f"{text!r} not seen in {timeout} s; output: {self.seen}") from None

    def stop(self, timeout: float) -> tuple[int, float]:
        """SIGTERM, then the exit code and how long the process took to end."""
        sent = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        took = time.monotonic() - sent
        self.wait_for("stopped after", timeout=5)
        return code, took


def test_sigterm_during_a_run_lets_it_finish_then_stops(tmp_path: Path) -> None:
    today = dt.datetime.now(dt.timezone.utc).date()
    folder = _slow_folder(tmp_path, today)
    scheduler = Scheduler(tmp_path / "wh", folder, "1h")
    scheduler.wait_for("run 1 starts")
    time.sleep(0.5)  # inside the first interval's script
    code, _ = scheduler.stop(timeout=60)
    assert code == 0, scheduler.seen
    summary = next(line for line in scheduler.seen if line.startswith("slow: "))
    assert " 0 failed, 0 waiting " in summary and not summary.startswith("slow: 0 interval(s) ok"), summary
    assert any(line.endswith("stopped after 1 run(s)") for line in scheduler.seen)
    assert not any("run 2 starts" in line for line in scheduler.seen)
    with open_engine(tmp_path / "wh") as engine:
        done = Store(engine).done("slow", "slow")["{}"]
    assert done and set(done.values()) == {"ok"}  # what the run computed is logged


def test_sigterm_while_waiting_for_the_next_slot_stops_at_once(tmp_path: Path) -> None:
    today = dt.datetime.now(dt.timezone.utc).date()
    folder = _slow_folder(tmp_path, today)
    scheduler = Scheduler(tmp_path / "wh", folder, "2s")
    scheduler.wait_for("run 2 done; next run at")  # the second run finds nothing to do
    code, took = scheduler.stop(timeout=30)
    assert code == 0 and took < 1.5, (code, took, scheduler.seen)
    assert any(line.endswith("stopped after 2 run(s)") for line in scheduler.seen)
    assert sum(line.startswith("slow: ") for line in scheduler.seen) == 2


def test_an_unreachable_graphite_web_is_a_warning_not_a_failed_run(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    load_baseline(warehouse)
    copy_folder("reference_previews", tmp_path / "q")
    run = metrics(warehouse, tmp_path / "q", "run", "--now", NOW.isoformat(), "--no-graphite", "--graphite-web", "http://127.0.0.1:9")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "  warning: http://127.0.0.1:9/events/: cannot post the run event to graphite-web" in run.stdout
    assert "Traceback" not in run.stdout + run.stderr
