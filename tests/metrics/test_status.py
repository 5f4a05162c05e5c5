"""`metrics status` over real runs of real query folders on DuckDB, with `now` controlled.

Three folders run once at NOW: the baseline report computes its three days; codemirror has no
events table, so each of its intervals fails; `gated` (the baseline with `depends_on`) waits,
since its source table never has the last hour of a day. Expected values come from the world's
dates and the folders' configs, not from the status code.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from metrics.engines import open_engine
from metrics.reports.intervals import Interval
from metrics.reports.validate import query_folders
from metrics.schedule import run_all
from metrics.status import Status, lag_gauges, status
from metrics.warehouse import Warehouse
from tests.conftest import CATALOGUE
from tests.ops_world import DAYS, NOW, copy_folder, load_baseline, wikis_of

DAY = dt.timedelta(days=1)


@dataclass
class World:
    root: Path
    warehouse: Warehouse
    queries: Path

    def status(self, now: dt.datetime, grace: dt.timedelta = dt.timedelta(0), folders: list[Path] | None = None) -> Status:
        with open_engine(self.warehouse) as engine:
            return status(folders or query_folders(self.queries), engine, now=now, grace=grace)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "metrics", "--warehouse", str(self.warehouse.root), "--queries", str(self.queries), "--catalogue", str(CATALOGUE)]
        return subprocess.run([*command, *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("status")
    warehouse = Warehouse(root / "wh")
    load_baseline(warehouse)
    queries = root / "q"
    copy_folder("reference_previews", queries)
    copy_folder("codemirror", queries)  # no event.codemirrorusage: every interval fails
    copy_folder("reference_previews", queries, as_name="gated", add="depends_on: [event.referencepreviewsbaseline]")
    with open_engine(warehouse) as engine:
        result = run_all(query_folders(queries), engine, graphite=False, now=NOW)
    assert [f.state for f in result.folders] == ["failed", "ok", "ok"], result.lines()  # codemirror, gated, reference_previews
    return World(root, warehouse, queries)


def by_ref(current: Status) -> dict:
    return {r.ref: r for r in current.reports}


def test_at_the_run_time_fresh_failed_and_waiting(world: World) -> None:
    current = world.status(NOW)
    reports = by_ref(current)
    assert sorted(reports) == ["codemirror/sessions", "codemirror/toggles", "gated/baseline", "reference_previews/baseline"]

    baseline = reports["reference_previews/baseline"]
    assert baseline.state == "fresh" and not baseline.late
    assert baseline.last_done == baseline.last_due == Interval(DAYS[-1], DAYS[-1] + DAY)
    assert baseline.through == DAYS[-1]
    assert baseline.lag_seconds == int((NOW - dt.datetime.combine(DAYS[-1] + DAY, dt.time())).total_seconds())
    assert baseline.missing == 0 and baseline.failed == [] and baseline.waiting == []
    assert baseline.last_run is not None and abs(baseline.last_run - dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)) < dt.timedelta(hours=1)

    wikis = wikis_of(world.queries / "codemirror")
    for key in ("codemirror/toggles", "codemirror/sessions"):
        report = reports[key]
        assert report.state == "failed" and report.late
        assert report.last_done is None and report.lag_seconds is None
        assert {(f.explode["wiki"], f.interval.start) for f in report.failed} == {(w, d) for w in wikis for d in DAYS}
        assert all("codemirrorusage" in (f.error or "") for f in report.failed), report.failed[0].error
        assert report.missing == len(wikis) * len(DAYS)

    gated = reports["gated/baseline"]
    assert gated.state == "waiting" and not gated.late and gated.last_done is None
    assert [(w.interval.start, w.tables) for w in gated.waiting] == [(d, ("event.referencepreviewsbaseline",)) for d in DAYS]

    assert not current.ok and current.counts() == {"fresh": 1, "waiting": 1, "late": 0, "failed": 2}
    assert lag_gauges(current, "p") == {"p.reference_previews.baseline": baseline.lag_seconds}  # nothing done: no gauge


def test_late_when_a_newer_interval_is_due_and_not_done(world: World) -> None:
    later = NOW + 2 * DAY
    baseline = by_ref(world.status(later, folders=[world.queries / "reference_previews"]))["reference_previews/baseline"]
    assert baseline.state == "late" and baseline.late
    assert baseline.last_due == Interval(DAYS[-1] + 2 * DAY, DAYS[-1] + 3 * DAY)
    assert baseline.last_done == Interval(DAYS[-1], DAYS[-1] + DAY)  # unchanged: nothing ran since
    assert baseline.missing == 2 and baseline.failed == []
    assert baseline.lag_seconds == int((later - dt.datetime.combine(DAYS[-1] + DAY, dt.time())).total_seconds())


def test_lag_and_grace_decide_when_a_day_is_late(world: World) -> None:
    """The baseline's lag is 3 h: Nov 21 is due from Nov 22 03:00; a grace of 1 h moves that to 04:00."""
    folders = [world.queries / "reference_previews"]
    just_before = dt.datetime.combine(DAYS[-1] + 2 * DAY, dt.time(2, 59))
    just_after = dt.datetime.combine(DAYS[-1] + 2 * DAY, dt.time(3, 0))
    assert by_ref(world.status(just_before, folders=folders))["reference_previews/baseline"].state == "fresh"
    assert by_ref(world.status(just_after, folders=folders))["reference_previews/baseline"].state == "late"
    graced = world.status(just_after, dt.timedelta(hours=1), folders=folders)
    assert by_ref(graced)["reference_previews/baseline"].state == "fresh" and graced.ok


def test_cli_json_shape_and_exit_codes(world: World) -> None:
    result = world.cli("status", "--json", "--now", NOW.isoformat())
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"now", "ok", "counts", "reports", "problems"}
    assert data["now"] == "2026-11-21T12:00:00Z" and data["ok"] is False and data["problems"] == []
    report_keys = {
        "folder",
        "report",
        "state",
        "late",
        "granularity",
        "allowed_lag_seconds",
        "last_done",
        "last_due",
        "lag_seconds",
        "last_run",
        "missing",
        "failed",
        "waiting",
    }
    assert all(set(r) == report_keys for r in data["reports"])
    reports = {f"{r['folder']}/{r['report']}": r for r in data["reports"]}
    baseline = reports["reference_previews/baseline"]
    assert baseline["last_done"] == {"start": "2026-11-20", "end": "2026-11-21"} and baseline["allowed_lag_seconds"] == 10800
    failed = reports["codemirror/toggles"]["failed"][0]
    assert set(failed) == {"explode", "start", "end", "error", "at"} and "codemirrorusage" in failed["error"]
    assert reports["gated/baseline"]["waiting"][0]["tables"] == ["event.referencepreviewsbaseline"]

    fresh = world.cli("status", str(world.queries / "reference_previews"), "--now", NOW.isoformat())
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert "reference_previews/baseline  fresh  2026-11-20" in fresh.stdout
    late = world.cli("status", str(world.queries / "reference_previews"), "--now", (NOW + 2 * DAY).isoformat())
    assert late.returncode == 1 and "late: 2026-11-22 is due and not done" in late.stdout

    text = world.cli("status", "--now", NOW.isoformat())
    assert text.returncode == 1
    assert "codemirror/toggles: FAILED 15 interval(s) 2026-11-18 .. 2026-11-20:" in text.stdout
    assert "gated/baseline: waiting: 3 interval(s) 2026-11-18 .. 2026-11-20 wait for event.referencepreviewsbaseline" in text.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--now", "yesterday"], "'yesterday' is not a date and time"),
        (["--now", "9999-01-01T00:00"], "is outside 1970-2099"),
        (["--grace", "an hour"], "'an hour' is not a duration"),
        (["--statsd", "nowhere"], "'nowhere' is not HOST:PORT"),
    ],
)
def test_bad_input_exits_2_with_one_line(world: World, args: list[str], message: str) -> None:
    result = world.cli("status", *args)
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_unreadable_config_alerts_and_the_others_are_still_reported(world: World, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.yaml").write_text("reports: 5\n")
    current = world.status(NOW, folders=[broken, world.queries / "reference_previews"])
    assert [r.ref for r in current.reports] == ["reference_previews/baseline"]
    assert len(current.problems) == 1 and str(current.problems[0]).startswith(f"{broken / 'config.yaml'}:1:")
    assert not current.ok
