"""The example query folders over generated sample data, checked against independent counts.

The folders are the tests' copy (tests/fixtures/queries/), since each test knows what its folder
computes; shipped folders are checked generically in test_validate.py. The events are read from the
generated JSON files and the dumps' rows back with pyarrow, and counted in plain Python; the runner's
metric tables must agree to the unit (numbers first: a wrong metric is worse than a missing one).
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import shutil
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from ingestion.sample import generate_and_load
from metrics.engines import open_engine
from metrics.reports.runner import update_reports
from tests.conftest import QUERIES

START = dt.date(2026, 11, 15)
DAYS = 3
NOW = dt.datetime(2026, 11, 18, 12)
WIKIS = {"enwiki", "dewiki", "cawiki", "trwiki", "fawiki"}


def rows(root: Path, table: str, columns: list[str] | None = None) -> list[dict]:
    return ds.dataset(root / table, format="parquet", partitioning="hive").to_table(columns=columns).to_pylist()


def raw_events(warehouse: Path, stream: str) -> list[dict]:
    """The generated events of a stream as JSON, with their UTC day; bots left out, as the reports do."""
    out = []
    for path in sorted((warehouse.parent / "raw" / "events").glob(f"{stream}.*.json")):
        for line in path.read_text("utf-8").splitlines():
            event = json.loads(line)
            if not event["useragent"]["is_bot"]:
                moment = dt.datetime.fromisoformat(event["meta"]["dt"]).astimezone(dt.timezone.utc)
                out.append({**event, "day": moment.date().isoformat()})
    return out


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("examples")
    generate_and_load(tmp / "wh", tmp / "raw", 7, START, DAYS)
    with open_engine(tmp / "wh") as engine:
        for name in ("codemirror", "reference_previews", "pageviews"):
            folder = shutil.copytree(QUERIES / name, tmp / "q" / name)
            config = folder / "config.yaml"
            config.write_text(config.read_text().replace("2026-09-01", str(START)).replace("2026-11-01", str(START)))
            summary = update_reports(folder, engine, tmp / "out" / name, now=NOW, graphite=False)
            assert summary.ok, summary.lines()
    return tmp / "wh"


def test_codemirror_toggles_and_sessions(demo: Path) -> None:
    events = [e for e in raw_events(demo, "codemirrorusage") if e["wiki"] in WIKIS]
    assert len(events) > 100
    toggles, sessions = collections.Counter(), collections.defaultdict(set)
    for e in events:
        if e["event"]["toggled"]:
            toggles[(e["day"], e["wiki"], e["event"]["editor"], str(e["event"]["enabled"]).lower())] += 16
        sessions[(e["day"], e["wiki"], e["event"]["editor"])].add(e["event"]["session_token"])
    got = {(str(r["dt"]), r["wiki"], r["editor"], r["enabled"]): r["toggles"] for r in rows(demo, "metrics/codemirror_toggles")}
    assert got == dict(toggles) and sum(got.values()) > 0
    got = {(str(r["dt"]), r["wiki"], r["editor"]): r["sessions"] for r in rows(demo, "metrics/codemirror_sessions")}
    assert got == {k: 16 * len(v) for k, v in sessions.items()}


def test_reference_previews_baseline(demo: Path) -> None:
    expected = collections.Counter()
    for e in raw_events(demo, "referencepreviewsbaseline"):
        expected[(e["day"], e["wiki"], e["event"]["action"])] += 1
    for r in rows(demo, "metrics/reference_previews_baseline"):
        key = (str(r["dt"]), r["wiki"])
        assert (r["footnote_clicks"], r["pageviews"]) == (expected[key + ("clickedFootnote",)], expected[key + ("pageview",)])
    assert sum(r["pageviews"] for r in rows(demo, "metrics/reference_previews_baseline")) == sum(v for k, v in expected.items() if k[2] == "pageview")


def test_pageviews_per_domain_and_top_pages(demo: Path) -> None:
    views, per_title = collections.Counter(), collections.defaultdict(collections.Counter)
    for r in rows(demo, "wmf/pageview_hourly"):
        day = f"{r['year']:04d}-{r['month']:02d}-{r['day']:02d}"
        views[(day, r["domain_code"])] += r["count_views"]
        per_title[(day, r["domain_code"])][r["page_title"]] += r["count_views"]
    got = {(str(r["dt"]), r["domain_code"]): r["views"] for r in rows(demo, "metrics/pageviews_domain_views")}
    assert got == dict(views)
    assert any(domain == "" for _, domain in got)  # the dump's "" domain is kept, not NULL
    top = collections.defaultdict(list)
    for r in sorted(rows(demo, "metrics/pageviews_top_pages"), key=lambda r: r["rank"]):
        top[(str(r["dt"]), r["domain_code"])].append((r["page_title"], r["views"]))
    for key, counter in per_title.items():
        expected = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:10]  # ties broken by title
        assert top[key] == expected, key
