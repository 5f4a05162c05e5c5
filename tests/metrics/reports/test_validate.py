"""`metrics validate` on query folders: SQL the engine cannot run, and catalogue links."""

from __future__ import annotations

import shutil
from pathlib import Path

from metrics.engines import engine_class
from metrics.reports.validate import check_folder, check_links, query_folders
from tests.conftest import CATALOGUE, QUERIES, SHIPPED_CATALOGUE, SHIPPED_QUERIES, edit, pos


def test_shipped_query_folders_are_clean() -> None:
    """Every shipped query folder, whichever there are, has no error and links to the shipped catalogue.

    Warnings (an estimate such as approx_distinct) are for `metrics validate --strict`."""
    folders = query_folders(SHIPPED_QUERIES)
    assert folders
    for folder in folders:
        _, problems = check_folder(folder)
        assert [str(p) for p in problems if p.severity == "error"] == []
    assert [str(p) for p in check_links(sorted(SHIPPED_CATALOGUE.glob("*.yaml")), SHIPPED_QUERIES, {}) if p.severity == "error"] == []


def test_test_query_folders_are_clean() -> None:
    folders = query_folders(QUERIES)
    assert [f.name for f in folders] == ["codemirror", "equity_landscape", "pageviews", "reference_previews"]
    dialects = set()
    for folder in folders:
        config, problems = check_folder(folder)
        assert problems == [], problems
        dialects |= {r.dialect for r in config.reports}
    assert dialects == {"trino", "hive", "duckdb"}
    assert check_links(sorted(CATALOGUE.glob("*.yaml")), QUERIES, {}) == []


def test_function_without_duckdb_equivalent_is_refused(tmp_path: Path) -> None:
    q = shutil.copytree(QUERIES / "reference_previews", tmp_path / "reference_previews")
    edit(q / "baseline.sql", "count_if(event.action = 'pageview') AS pageviews", "format_datetime(from_iso8601_timestamp(meta.dt), 'yyyy') AS pageviews")
    _, problems = check_folder(q)
    assert [str(p) for p in problems] == [
        f"{q / 'baseline.sql'}:1:1: function format_datetime() has no DuckDB equivalent (rewrite it with functions both engines have)"
    ]


def test_result_differences_are_the_engines_statement(tmp_path: Path) -> None:
    q = shutil.copytree(QUERIES / "reference_previews", tmp_path / "reference_previews")
    edit(q / "baseline.sql", "count_if(event.action = 'pageview') AS pageviews", "approx_distinct(wiki) AS pageviews")
    default = engine_class()
    _, problems = check_folder(q, default)
    assert [(p.message, p.severity) for p in problems] == [("approx_distinct() is an estimate; engines estimate differently", "warning")]

    class Exact(default):  # type: ignore[misc, valid-type]
        different_results = {"count_if": "counts differently here"}

    _, problems = check_folder(q, Exact)
    assert [p.message for p in problems] == ["count_if() counts differently here"]


def test_query_that_does_not_parse_and_unknown_placeholder(tmp_path: Path) -> None:
    q = shutil.copytree(QUERIES / "pageviews", tmp_path / "pageviews")
    (q / "domain_views.sql").write_text("SELECT DATE '{from_date}' AS date, FROM WHERE")
    (q / "top_pages.sql").write_text("SELECT DATE '{start}' AS date")
    _, problems = check_folder(q)
    messages = {Path(p.file).name: p.message for p in problems}
    assert messages["domain_views.sql"].startswith("cannot parse the query as duckdb SQL")
    assert messages["top_pages.sql"].startswith("query template contains unknown placeholders: start")


def test_catalogue_links_to_missing_folder_report_and_column(tmp_path: Path, catalogue_copy: Path) -> None:
    queries = shutil.copytree(QUERIES, tmp_path / "queries")
    shutil.rmtree(queries / "equity_landscape")
    edit(queries / "codemirror" / "config.yaml", "  sessions:\n", "  editing_sessions:\n")
    edit(queries / "pageviews" / "domain_views.sql", "AS BIGINT) AS views", "AS BIGINT) AS total_views")
    problems = [str(p) for p in check_links(sorted(catalogue_copy.glob("*.yaml")), queries, {})]
    cm, ci, tp = (catalogue_copy / f for f in ("codemirror.yaml", "country_indicators.yaml", "top_pageviews.yaml"))
    assert (
        f"{cm}:{pos(cm, 'codemirror/sessions')}: report 'sessions' is not in {queries / 'codemirror' / 'config.yaml'} (reports there: toggles, editing_sessions)"
        in problems
    )
    assert (
        f"{ci}:{pos(ci, 'equity_landscape/indicators, column: population')}: query folder 'equity_landscape' not found in {queries} (create {queries / 'equity_landscape'}/config.yaml, or run `metrics new`)"
        in problems
    )
    assert f"{tp}:{pos(tp, 'views}')}: report 'pageviews/domain_views' has no result column 'views' (its columns: domain_code, total_views)" in problems
    assert len(problems) == 5  # three equity metrics name the missing folder


def test_a_mysql_report_is_checked_as_mysql_not_as_trino(tmp_path: Path) -> None:
    q = tmp_path / "cx"
    q.mkdir()
    (q / "config.yaml").write_text(
        "databases:\n"
        "  mediawiki: {host: db1, port: 3306, creds_file: nowhere.cnf, wiki_db_placeholder: wiki_db}\n"
        "defaults: {db: mediawiki, granularity: days, starts: 2024-01-01, explode_by: {wiki_db: 'enwiki, dewiki'}}\n"
        "reports:\n"
        "  beta: {}\n"
        "  broken: {}\n"
        "  typo: {db: mediawkii, execute: beta}\n"
    )
    # MySQL only: `!`, `&&`, backticks, identifiers starting with a digit, `{wiki_db}.table`, a trailing `;`
    (q / "beta.sql").write_text(
        "SELECT DATE('{from_timestamp}') AS `date`, SUM(2017_enabled && ! wiked) AS {wiki_db}\n"
        "  FROM (SELECT up_user, MAX(up_property = 'x') AS 2017_enabled, 0 AS wiked FROM {wiki_db}.user_properties GROUP BY up_user ORDER BY NULL) AS p;\n"
    )
    (q / "broken.sql").write_text("SELECT DATE('{from_timestamp}') AS date,\n  COUNT(*) AS n\n FROM user WHERE x = = 1\n")
    _, problems = check_folder(q)
    cfg = q / "config.yaml"
    assert [str(p) for p in sorted(problems) if not p.is_error] == [
        f"{q / 'broken.sql'}:3:22: warning: cannot parse the query as MySQL: Required keyword: 'expression' missing for <class 'sqlglot.expressions.core.EQ'>"
        " (it runs as written on database 'mediawiki'; check it there)",
        f"{cfg}:2:3: warning: database 'mediawiki': creds_file {q / 'nowhere.cnf'} cannot be read here"
        " (runs fail where it cannot be read: check the path, or run this where the file is)",
    ]
    assert [str(p) for p in problems if p.is_error] == [
        f"{cfg}:{pos(cfg, 'mediawkii')}: report 'typo': db 'mediawkii' is not under `databases:` (did you mean 'mediawiki'?)"
    ]


def test_depends_on_tables_are_checked_against_the_warehouse(tmp_path: Path) -> None:
    q = tmp_path / "f"
    q.mkdir()
    (q / "config.yaml").write_text(
        "defaults:\n  depends_on: [wmf.pageview_hourly]\nreports:\n"
        "  a: {granularity: days, starts: 2026-01-01, depends_on: [wmf.pageviews_hourly, event.later]}\n"
        "  b: {granularity: days, starts: 2026-01-01}\n"
        "  c: {granularity: days, starts: 2026-01-01, depends_on: [Wmf.x]}\n"
    )
    for name in "abc":
        (q / f"{name}.sql").write_text("SELECT DATE '{from_date}' AS date, 1 AS one")
    _, problems = check_folder(q, tables={"wmf": {"pageview_hourly": {"year": "INTEGER"}}})
    found = sorted((p.line, p.column, p.severity, p.message, p.hint) for p in problems)
    assert found == [
        (4, 59, "error", "report 'a': depends_on table wmf.pageviews_hourly is not in the warehouse", "did you mean wmf.pageview_hourly?"),
        (4, 81, "warning", "report 'a': depends_on table event.later is not loaded yet", "its intervals wait until it is loaded (metrics ingest ...)"),
        (
            6,
            59,
            "error",
            "report 'c': depends_on.0 'Wmf.x' is not a list of tables, schema.table",
            "write e.g. `depends_on: [wmf.pageview_hourly, event.editattemptstep]`",
        ),
    ]
