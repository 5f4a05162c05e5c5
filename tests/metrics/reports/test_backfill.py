"""Definitions recorded with the data, stale partitions in `metrics plan`, and `metrics backfill`, on a real DuckDB warehouse.

Two copies of the Reference Previews baseline folder run over the ops world's events (Nov 18-20,
two wikis). Then one copy's query changes (clicks counted with their pageviews) and its spec's
version is bumped: the plan must list exactly that report's three days with the old and new hash
and spec version; the backfill must recompute them, and only them, to the numbers an independent
DuckDB query over the events' Parquet files gives for the new definition.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from metrics import catalogue as catalogue_mod
from metrics.cli import main
from metrics.engines import open_engine
from metrics.reports import stale as stale_mod
from metrics.reports.config import read_folder
from metrics.reports.definition import definition, query_hash, spec_versions
from metrics.reports.intervals import Interval
from metrics.reports.runner import Recompute, update_reports
from metrics.reports.store import RUN_LOG, SCHEMA, Store, explode_key
from metrics.schedule import run_all
from metrics.warehouse import Warehouse
from tests.conftest import CATALOGUE, QUERIES
from tests.ops_world import DAYS, NOW, copy_folder, load_baseline

OLD_CLICKS = "count_if(event.action = 'clickedFootnote') AS footnote_clicks"
NEW_CLICKS = "count_if(event.action IN ('clickedFootnote', 'pageview')) AS footnote_clicks"
NOW_TEXT = NOW.isoformat(timespec="minutes")


@dataclass
class World:
    root: Path
    warehouse: Warehouse
    queries: Path
    catalogue: Path

    @property
    def changed(self) -> Path:
        return self.queries / "reference_previews"

    @property
    def alone(self) -> Path:
        return self.queries / "alone"

    def cli(self, *args: str) -> Result:
        common = ["--warehouse", str(self.warehouse.root), "--queries", str(self.queries), "--catalogue", str(self.catalogue)]
        return CliRunner().invoke(main, [*common, *args])

    def log(self, folder: str) -> list[dict]:
        with open_engine(self.warehouse) as engine:
            return Store(engine).tables.read_log(folder, "baseline").sort_by("finished_at").to_pylist()

    def table(self, folder: str) -> dict[tuple[dt.date, str], tuple[int, int]]:
        with open_engine(self.warehouse) as engine:
            rows = engine.query(f"SELECT dt, wiki, footnote_clicks, pageviews FROM metrics.{folder}_baseline").to_pylist()
        return {(r["dt"], r["wiki"]): (r["footnote_clicks"], r["pageviews"]) for r in rows}

    def expected(self, clicks_sql: str) -> dict[tuple[dt.date, str], tuple[int, int]]:
        """The report's numbers computed apart: DuckDB over the events' Parquet files, not through the runner."""
        files = str(self.warehouse.root / "event" / "referencepreviewsbaseline" / "*" / "*" / "*" / "*" / "*.parquet")
        clicks = clicks_sql.removesuffix(" AS footnote_clicks")
        rows = duckdb.sql(
            f"SELECT CAST(meta.dt AS TIMESTAMPTZ)::DATE AS d, wiki, {clicks} AS c, count_if(event.action = 'pageview') AS p"
            f" FROM read_parquet('{files}') WHERE NOT useragent.is_bot GROUP BY ALL"
        ).fetchall()
        return {(d, wiki): (c, p) for d, wiki, c, p in rows}


def bump_spec(catalogue: Path) -> str:
    """Give the reference_previews spec a new version (with its history line); returns `name version`."""
    spec = catalogue / "reference_previews.yaml"
    text = spec.read_text("utf-8")
    text = text.replace("version: 2.0.1\n", "version: 2.0.2\n", 1).replace(
        "  - {version: 2.0.1, date: 2026-10-12, change: Added the open-previews gauge.}\n",
        "  - {version: 2.0.1, date: 2026-10-12, change: Added the open-previews gauge.}\n"
        "  - {version: 2.0.2, date: 2026-11-21, change: Footnote clicks count with the pageviews.}\n",
    )
    spec.write_text(text, "utf-8")
    return "reference_previews 2.0.2"


@pytest.fixture
def world(tmp_path: Path) -> World:
    warehouse = Warehouse(tmp_path / "wh")
    load_baseline(warehouse)
    queries = tmp_path / "q"
    copy_folder("reference_previews", queries)
    copy_folder("reference_previews", queries, as_name="alone")
    shutil.copytree(CATALOGUE, tmp_path / "catalogue")
    w = World(tmp_path, warehouse, queries, tmp_path / "catalogue")
    with open_engine(warehouse) as engine:
        result = run_all([w.alone, w.changed], engine, graphite=False, now=NOW, catalogue=catalogue_mod.load(w.catalogue))
    assert result.exit_code == 0, result.lines()
    return w


def change_query(world: World) -> None:
    sql = world.changed / "baseline.sql"
    sql.write_text(sql.read_text("utf-8").replace(OLD_CLICKS, NEW_CLICKS), "utf-8")


def test_each_interval_records_the_definition_it_was_computed_with(world: World) -> None:
    report = read_folder(world.changed).report("baseline")
    log = world.log("reference_previews")
    assert [(e["interval_start"], e["status"]) for e in log] == [(day, "ok") for day in DAYS]
    assert {(e["query_hash"], e["spec_version"]) for e in log} == {(query_hash(report), "reference_previews 2.0.1")}
    # the SQL view of the run log has the columns too
    with open_engine(world.warehouse) as engine:
        shown = engine.query("SELECT DISTINCT query_hash FROM metrics.report_runs").column(0).to_pylist()
    assert shown == [query_hash(report)]


def test_a_changed_query_is_planned_and_backfilled_and_the_other_report_is_left_alone(world: World) -> None:
    old_hash = query_hash(read_folder(world.changed).report("baseline"))
    assert world.table("reference_previews") == world.expected(OLD_CLICKS)
    alone_log, alone_files = world.log("alone"), {p: p.stat().st_mtime_ns for p in (world.warehouse.root / "metrics" / "alone_baseline").rglob("*.parquet")}
    change_query(world)
    new_spec = bump_spec(world.catalogue)
    new_hash = query_hash(read_folder(world.changed).report("baseline"))
    assert new_hash != old_hash

    shown = world.cli("plan")
    assert shown.exit_code == 0, shown.output
    assert "report reference_previews/baseline (table metrics.reference_previews_baseline):" in shown.output
    line = f"2026-11-18 .. 2026-11-20, 3 days: computed by {old_hash}, specs reference_previews 2.0.1; now {new_hash}, specs {new_spec}"
    assert line in shown.output, shown.output
    assert "alone/baseline" not in shown.output and "metrics backfill" in shown.output
    machine = json.loads(world.cli("plan", "--json").output)
    by_ref = {f"{r['folder']}/{r['report']}": r for r in machine["stale"]}
    assert by_ref["alone/baseline"]["stale"] == [] and by_ref["alone/baseline"]["unknown"] == []
    assert by_ref["reference_previews/baseline"]["query_hash"] == new_hash
    assert by_ref["reference_previews/baseline"]["stale"] == [
        {
            "start": "2026-11-18",
            "end": "2026-11-21",
            "days": 3,
            "intervals": 3,
            "combinations": 1,
            "query_hash": old_hash,
            "spec_version": "reference_previews 2.0.1",
        }
    ]

    dry = world.cli("backfill", "--dry-run", "--now", NOW_TEXT)
    assert dry.exit_code == 0 and "reference_previews/baseline: 3 interval(s) would be recomputed" in dry.output, dry.output
    assert "alone/baseline: nothing to recompute" in dry.output
    assert world.table("reference_previews") == world.expected(OLD_CLICKS)  # a dry run writes nothing

    done = world.cli("backfill", "--now", NOW_TEXT, "--no-graphite")
    assert done.exit_code == 0, done.output
    assert (
        "baseline: 3 interval(s) ok" in done.output
        and f"baseline: definition unchanged ({query_hash(read_folder(world.alone).report('baseline'))})" in done.output
    )
    assert world.table("reference_previews") == world.expected(NEW_CLICKS) != world.expected(OLD_CLICKS)
    latest = {e["interval_start"]: e for e in world.log("reference_previews")}
    assert {(e["status"], e["query_hash"], e["spec_version"]) for e in latest.values()} == {("ok", new_hash, new_spec)}
    assert world.log("alone") == alone_log
    assert {p: p.stat().st_mtime_ns for p in (world.warehouse.root / "metrics" / "alone_baseline").rglob("*.parquet")} == alone_files

    again = world.cli("plan")
    assert "data computed by an old definition: none (2 report(s) checked against the run log)" in again.output, again.output
    nothing = world.cli("backfill", "--now", NOW_TEXT, "--no-graphite", "--report", "reference_previews/baseline")
    assert nothing.exit_code == 0 and "definition unchanged" in nothing.output and "interval(s) ok" not in nothing.output, nothing.output


def test_from_and_to_narrow_the_backfill_and_the_plan_compacts_what_is_left(world: World) -> None:
    old_hash = query_hash(read_folder(world.changed).report("baseline"))
    change_query(world)
    with open_engine(world.warehouse) as engine:
        summary = update_reports(world.changed, engine, graphite=False, now=NOW, recompute=Recompute(start=DAYS[1], end=DAYS[2]))
        assert summary.ok and [o.interval.start for o in summary.outcomes] == [DAYS[1]], summary.lines()
        [found] = stale_mod.find_all([world.changed], engine, now=NOW)
    assert [(r.start, r.end, r.query_hash) for r in stale_mod.ranges(found.stale)] == [
        (DAYS[0], DAYS[1], old_hash),
        (DAYS[2], DAYS[2] + dt.timedelta(days=1), old_hash),
    ]
    got, new, old = world.table("reference_previews"), world.expected(NEW_CLICKS), world.expected(OLD_CLICKS)
    assert {k: v for k, v in got.items() if k[0] == DAYS[1]} == {k: v for k, v in new.items() if k[0] == DAYS[1]}
    assert {k: v for k, v in got.items() if k[0] != DAYS[1]} == {k: v for k, v in old.items() if k[0] != DAYS[1]}


def test_an_old_run_log_without_the_columns_reads_as_unknown(world: World) -> None:
    """A run log written before definitions were recorded: its files and its table metadata lack the two columns."""
    log_dir = world.warehouse.root / SCHEMA / RUN_LOG
    for path in sorted(log_dir.glob("month=*/*.parquet")):
        table = pq.read_table(path, partitioning=None)
        pq.write_table(table.drop_columns(["query_hash", "spec_version"]), path)
    meta = next(p for p in log_dir.iterdir() if p.is_file() and p.suffix == ".json")
    data = json.loads(meta.read_text("utf-8"))
    data["columns"] = {k: v for k, v in data["columns"].items() if k not in ("query_hash", "spec_version")}
    meta.write_text(json.dumps(data), "utf-8")

    assert {(e["query_hash"], e["status"]) for e in world.log("reference_previews")} == {(None, "ok")}
    with open_engine(world.warehouse) as engine:
        again = update_reports(world.changed, engine, graphite=False, now=NOW)
        assert again.outcomes == [] and again.ok  # done is still done
        [found] = stale_mod.find_all([world.changed], engine, now=NOW)
        assert found.stale == [] and [i.interval.start for i in found.unknown] == DAYS
        left = update_reports(world.changed, engine, graphite=False, now=NOW, recompute=Recompute())
        assert left.outcomes == [] and left.notes == [
            "baseline: nothing to recompute: 3 interval(s) computed before definitions were recorded (--unknown recomputes them)"
        ]
    shown = world.cli("plan")
    assert "2026-11-18 .. 2026-11-20, 3 days: computed before definitions were recorded (unknown)" in shown.output, shown.output
    assert "metrics backfill --unknown" in shown.output
    done = world.cli("backfill", "--unknown", "--now", NOW_TEXT, "--no-graphite", "--report", "reference_previews/baseline")
    assert done.exit_code == 0 and "baseline: 3 interval(s) ok" in done.output, done.output
    current = query_hash(read_folder(world.changed).report("baseline"))
    assert {e["interval_start"]: e["query_hash"] for e in world.log("reference_previews")[-3:]} == dict.fromkeys(DAYS, current)
    with open_engine(world.warehouse) as engine:  # old files (no columns) and new ones read together through the engine
        rows = engine.query("SELECT count(*) n, count(query_hash) hashed FROM metrics.report_runs WHERE folder = 'reference_previews'").to_pylist()
    assert rows == [{"n": 6, "hashed": 3}]
    assert world.table("reference_previews") == world.expected(OLD_CLICKS)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--report", "nope/baseline"], "--report:1:1: unknown report 'nope/baseline' (known reports: alone/baseline, reference_previews/baseline)"),
        (
            ["--from", "2026-11-20", "--to", "2026-11-19"],
            "--to:1:1: 2026-11-19 is not after --from 2026-11-20 (--to is exclusive: give the day after the last one to recompute)",
        ),
        (["--from", "2026-13-01"], "--from:1:1: '2026-13-01' is not a date (write YYYY-MM-DD)"),
        (["--json"], "--json:1:1: --json lists what would be recomputed (add --dry-run)"),
    ],
)
def test_bad_input_exits_2_with_one_line(world: World, args: list[str], message: str) -> None:
    result = world.cli("backfill", *args)
    assert result.exit_code == 2 and result.output.strip() == message, result.output


def test_what_the_hash_covers(tmp_path: Path) -> None:
    folder = tmp_path / "toy"
    folder.mkdir()
    (folder / "r.sql").write_text("SELECT DATE '{from_date}' AS date, 1 AS n\n")
    base = "reports:\n  r:\n    granularity: days\n    starts: 2026-11-01\n    explode_by: {wiki: 'a, b'}\n"

    def hashed(config: str) -> str:
        (folder / "config.yaml").write_text(config)
        return query_hash(read_folder(folder).report("r"))

    first = hashed(base)
    assert hashed(base + "    lag: 3600\n    max_data_points: 5\n") == first  # when, and how much of the TSV: not the numbers
    assert hashed(base.replace("starts: 2026-11-01", "starts: 2026-10-01")) == first
    assert hashed(base.replace("'a, b'", "'a, b, c'")) == first  # a new wiki is a missing combination, not a stale one
    assert hashed(base.replace("days", "weeks")) != first
    assert hashed(base.replace("{wiki: 'a, b'}", "{site: 'a, b'}")) != first
    assert hashed(base + "    dialect: hive\n") != first
    (folder / "r.sql").write_text("SELECT DATE '{from_date}' AS date, 2 AS n\n")
    assert hashed(base) != first


def test_spec_versions_of_the_specs_reading_a_report() -> None:
    cat = catalogue_mod.load(CATALOGUE)
    assert spec_versions(cat, "reference_previews", "baseline") == "reference_previews 2.0.1"
    assert spec_versions(cat, "reference_previews", "nothing") == ""
    report = read_folder(QUERIES / "reference_previews").report("baseline")
    assert definition(report).spec_version is None and definition(report, cat).spec_version == "reference_previews 2.0.1"


def test_ranges_merge_consecutive_intervals_across_combinations() -> None:
    day = dt.date(2026, 1, 1)
    items = [
        stale_mod.StaleInterval(explode_key({"wiki": wiki}), Interval(day + dt.timedelta(days=n), day + dt.timedelta(days=n + 1)), "aaaa", "s 1.0.0")
        for wiki in ("a", "b", "c")
        for n in range(90)
        if not (wiki == "c" and n == 40)
    ]
    items.append(stale_mod.StaleInterval(explode_key({"wiki": "a"}), Interval(day + dt.timedelta(days=100), day + dt.timedelta(days=101)), "bbbb", None))
    [first, second] = stale_mod.ranges(items)
    assert first.text() == "2026-01-01 .. 2026-03-31, 90 days, 3 combinations" and first.intervals == 90
    assert (second.text(), second.query_hash) == ("2026-04-11 .. 2026-04-11, 1 day", "bbbb")


def test_the_run_log_schema_is_what_the_docs_say() -> None:
    docs = (Path(__file__).resolve().parents[3] / "docs" / "runner.md").read_text("utf-8")
    assert "`query_hash`" in docs and "`spec_version`" in docs
