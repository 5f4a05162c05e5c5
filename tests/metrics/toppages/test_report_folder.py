"""The shipped `top_articles` query folder and `metrics toppages --daily` give the same ranking.

The folder is the scheduled, query-only twin of the command (docs/toppages.md): same N, ties broken
by title, the same blacklist (its pairs are read from the folder's SQL). This test is about that
shipped folder itself, so it reads it from reportupdater_queries/.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlglot
from sqlglot import exp

from ingestion import generate, pageviews
from metrics.engines import open_engine
from metrics.reports.runner import update_reports
from metrics.toppages import top_pages
from metrics.toppages.blacklist import Blacklist
from tests.conftest import SHIPPED_QUERIES

FOLDER = SHIPPED_QUERIES / "top_articles"
DAY = dt.datetime(2026, 11, 2, tzinfo=dt.timezone.utc)


def blacklist_of(sql: str) -> Blacklist:
    """The (domain, title) pairs of the VALUES list in the report's SQL."""
    values = sqlglot.parse_one(sql.replace("{", "").replace("}", ""), read="trino").find(exp.Values)
    assert values is not None
    return Blacklist({tuple(literal.this for literal in row.expressions) for row in values.expressions})  # type: ignore[misc]


def test_the_query_folder_ranks_as_the_command(tmp_path: Path) -> None:
    paths = generate.pageview_dumps(8, tmp_path / "raw", DAY, 24, 4000)
    warehouse = tmp_path / "wh"
    pageviews.load(warehouse, paths)
    with open_engine(warehouse) as engine:
        summary = update_reports(FOLDER, engine, graphite=False, now=dt.datetime(2026, 11, 3, 6))
        assert summary.ok, summary.lines()
        by_query = engine.query(
            "SELECT domain_code, page_title, views AS count_views, rank FROM metrics.top_articles_daily WHERE dt = DATE '2026-11-02' ORDER BY domain_code, rank"
        ).to_pylist()
    listed = blacklist_of((FOLDER / "daily.sql").read_text("utf-8"))
    assert len(listed) >= 5 and ("", "Main_Page") in listed.pairs
    (result,) = top_pages(tmp_path / "cmd", files=[tmp_path / "raw"], daily=True, top=25, blacklist=listed, keep_results=True).outcomes
    assert result.status == "ok" and result.result is not None
    assert result.result.to_pylist() == by_query
    unlisted = top_pages(tmp_path / "plain", files=[tmp_path / "raw"], daily=True, top=25, keep_results=True).outcomes[0].result
    assert unlisted is not None and {("en", "Main_Page"), ("", "Main_Page")} <= {(r["domain_code"], r["page_title"]) for r in unlisted.to_pylist()}
