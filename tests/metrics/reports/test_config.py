"""Reading config.yaml with Reportupdater's keys, defaults and explode rules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from metrics.problems import InputError
from metrics.reports.config import read_folder
from tests.conftest import pos


def folder(tmp_path: Path, config: str, files: dict[str, str] | None = None) -> Path:
    q = tmp_path / "my-folder"
    q.mkdir()
    (q / "config.yaml").write_text(config)
    for name, text in (files or {"r.sql": "select 1"}).items():
        (q / name).parent.mkdir(parents=True, exist_ok=True)
        (q / name).write_text(text)
    return q


def test_defaults_resolve_report_then_defaults_then_builtin(tmp_path: Path) -> None:
    q = folder(
        tmp_path,
        "defaults: {granularity: weeks, lag: 60, starts: 2024-01-03}\nreports:\n  r: {lag: 5}\n  s: {type: hive, execute: sub/q, granularity: months}\n",
        {"r.sql": "", "sub/q.hql": ""},
    )
    config = read_folder(q)
    assert config.problems == []
    r, s = config.reports
    assert (r.type, r.granularity, r.lag, r.starts, r.execute, r.dialect, r.backfill, r.explode_by) == (
        "sql",
        "weeks",
        5,
        dt.date(2024, 1, 3),
        "r",
        "trino",
        "interval",
        {},
    )
    assert (s.type, s.granularity, s.lag, s.query_file.name, s.dialect) == ("hive", "months", 60, "q.hql", "hive")
    assert r.table == "my_folder_r"


def test_retired_and_unknown_keys_are_warnings(tmp_path: Path) -> None:
    q = folder(tmp_path, "reports:\n  r:\n    granularity: days\n    starts: 2024-01-01\n    funnel: true\n    frequency: hours\n    explode: {a: b}\n")
    config = read_folder(q)
    assert [r.key for r in config.reports] == ["r"]
    lines = [str(p) for p in config.problems]
    cfg = q / "config.yaml"
    assert lines == [
        f"{cfg}:{pos(cfg, 'funnel')}: warning: 'funnel' is retired and ignored: every report runs as a funnel since 2021 (remove it)",
        f"{cfg}:{pos(cfg, 'frequency')}: warning: 'frequency' is retired and ignored: reports run every time the runner runs (remove it)",
        f"{cfg}:{pos(cfg, 'explode:')}: warning: unknown report key 'explode' (ignored) (did you mean 'explode_by'?)",
    ]


def test_errors_skip_only_their_report(tmp_path: Path) -> None:
    q = folder(
        tmp_path,
        "reports:\n  bad:\n    starts: 2024-01-01\n  worse: {granularity: hours, starts: x}\n  good: {granularity: days, starts: 2024-01-01, execute: r}\n",
    )
    config = read_folder(q)
    assert [r.key for r in config.reports] == ["good"]
    messages = [p.message for p in config.errors]
    assert "report 'bad': missing granularity" in messages
    assert "report 'worse': granularity 'hours' is not one of days, weeks, months" in messages
    assert "report 'worse': starts 'x' is not a date" in messages


def test_explode_by_list_file_literal_and_empty_file(tmp_path: Path) -> None:
    q = folder(
        tmp_path,
        "reports:\n  r:\n    granularity: days\n    starts: 2024-01-01\n    explode_by:\n      wiki: wikis.txt\n      editor: ve, wt\n      version: 1.28\n      gone: empty.txt\n",
        {"r.sql": "", "wikis.txt": "enwiki\n\ndewiki\n", "empty.txt": ""},
    )
    [r] = read_folder(q).reports
    assert r.explode_by == {"wiki": ["enwiki", "dewiki"], "editor": ["ve", "wt"], "version": ["1.28"]}


def test_explode_values_that_could_break_sql_are_refused(tmp_path: Path) -> None:
    q = folder(tmp_path, 'reports:\n  r:\n    granularity: days\n    starts: 2024-01-01\n    explode_by: {wiki: "enwiki, x\'; drop table t; --"}\n')
    config = read_folder(q)
    assert config.reports == []
    assert "explode value \"x'; drop table t; --\" of 'wiki' has characters that are not allowed" in config.errors[0].message


def test_unusable_config_raises(tmp_path: Path) -> None:
    q = folder(tmp_path, "reportupdater-reports:\n  r: {}\n")
    with pytest.raises(InputError, match="no `reports:` mapping"):
        read_folder(q)


def test_unquoted_comma_list_in_a_flow_mapping_is_explained(tmp_path: Path) -> None:
    q = folder(tmp_path, "reports:\n  r: {granularity: days, starts: 2024-01-01, explode_by: {wiki: enwiki, dewiki}}\n")
    config = read_folder(q)
    assert config.reports == []
    assert config.errors[0].message == "report 'r': explode placeholder 'dewiki' has no values"
    assert "quoted" in config.errors[0].hint


def test_every_problem_of_a_file_is_reported_at_once_at_its_place(tmp_path: Path) -> None:
    q = folder(
        tmp_path,
        """\
graphite: {host: graphite.example.org, port: 99999, lookps: {wiki: w.yaml}}
defaults:
  lag: an hour
reprots: {}
reports:
  r:
    granularity: hourly
    starts: 2024-13-01
    type: python
    snapshot: sometimes
    max_data_point: 30
  s:
    granularity: days
    starts: x
    ends: 2024-02-30
    execute: ../outside
    graphite: {path: "{_metric}", metrics: [a, b]}
""",
        {"r.sql": "", "s.sql": ""},
    )
    config = read_folder(q)
    cfg = q / "config.yaml"
    assert config.reports == []
    assert [str(p) for p in sorted(config.problems)] == [
        f"{cfg}:{pos(cfg, '99999')}: graphite.port 99999 is not a port number (write an integer such as 2003 (carbon) or 3306 (MariaDB))",
        f"{cfg}:{pos(cfg, 'lookps')}: warning: unknown graphite key 'lookps' (ignored) (did you mean 'lookups'?)",
        f"{cfg}:{pos(cfg, 'an hour')}: defaults: lag 'an hour' is not a whole number of seconds from 0 to 100,000,000 (write e.g. `lag: 3600`; the most is about 3 years)",
        f"{cfg}:{pos(cfg, 'reprots')}: warning: unknown top-level key 'reprots' (ignored) (did you mean 'reports'?)",
        f"{cfg}:{pos(cfg, 'hourly')}: report 'r': granularity 'hourly' is not one of days, weeks, months (use days, weeks or months)",
        f"{cfg}:{pos(cfg, '2024-13-01')}: report 'r': starts '2024-13-01' is not a date (write YYYY-MM-DD)",
        f"{cfg}:{pos(cfg, 'python')}: report 'r': type 'python' is not one of sql, hive, script (use sql, hive or script)",
        f"{cfg}:{pos(cfg, 'sometimes')}: report 'r': snapshot 'sometimes' is not true or false (write `snapshot: true`)",
        f"{cfg}:{pos(cfg, 'max_data_point')}: warning: unknown report key 'max_data_point' (ignored) (did you mean 'max_data_points'?)",
        f"{cfg}:{pos(cfg, 'starts: x', 8)}: report 's': starts 'x' is not a date (write YYYY-MM-DD)",
        f"{cfg}:{pos(cfg, '2024-02-30')}: report 's': ends '2024-02-30' is not a date (write YYYY-MM-DD)",
        f"{cfg}:{pos(cfg, '../outside')}: report 's': execute '../outside' is not a file stem inside the folder (write e.g. `execute: hive/toggles`)",
        f"{cfg}:{pos(cfg, '[a, b]')}: report 's': graphite.metrics ['a', 'b'] is not a mapping of metric name -> column (write `metrics: {{name: column}}`)",
    ]


def test_a_bad_top_level_section_does_not_hide_the_reports(tmp_path: Path) -> None:
    q = folder(
        tmp_path,
        "dialect: mysql\ndatabases:\n  m: {hots: db1}\nreports:\n  r: {granularity: days, starts: 2024-01-01, lag: true}\n  s: {granularity: weeks, starts: '2024-01-03', execute: r}\n",
    )
    config = read_folder(q)
    cfg = q / "config.yaml"
    assert [r.key for r in config.reports] == ["s"]
    assert (config.reports[0].starts, config.reports[0].dialect) == (dt.date(2024, 1, 3), "trino")
    assert [str(p) for p in config.problems] == [
        f"{cfg}:{pos(cfg, 'mysql')}: dialect 'mysql' is not one of trino, hive, duckdb (use trino, hive or duckdb)",
        f"{cfg}:{pos(cfg, 'hots')}: warning: unknown database key 'hots' (ignored) (did you mean 'host'?)",
        f"{cfg}:{pos(cfg, 'true')}: report 'r': lag True is not a whole number of seconds from 0 to 100,000,000 (write e.g. `lag: 3600`; the most is about 3 years)",
        f"{cfg}:{pos(cfg, 'databases')}: warning: no report uses `databases:`: `type: sql` reports without `db:` run on the warehouse engine"
        " (add `db: m` (to the reports or to defaults:) to run them on that database)",
    ]


def test_a_missing_key_is_reported_at_its_report_and_a_default_error_once(tmp_path: Path) -> None:
    q = folder(
        tmp_path,
        "defaults: {backfill: everything}\nreports:\n  r: {starts: 2024-01-01}\n  s: {granularity: days, starts: 2024-01-01}\n",
        {"r.sql": "", "s.sql": ""},
    )
    config = read_folder(q)
    cfg = q / "config.yaml"
    assert [str(p) for p in sorted(config.problems)] == [
        f"{cfg}:{pos(cfg, 'everything')}: defaults: backfill 'everything' is not one of interval, range (use `range` for a query that groups by date, else remove it)",
        f"{cfg}:{pos(cfg, '{starts')}: report 'r': missing granularity (add `granularity: days` (or weeks, months))",
    ]


def test_starts_as_a_yaml_timestamp_or_text_and_empty_sections_as_absent(tmp_path: Path) -> None:
    q = folder(
        tmp_path,
        "reports:\n  r:\n    granularity: months\n    starts: 2024-01-15 10:00:00\n    explode_by:\n    graphite: {}\n    max_data_points: null\n  s: {granularity: days, starts: ' 2024-02-01 ', execute: r}\n",
    )
    config = read_folder(q)
    assert config.problems == []
    r, s = config.reports
    assert (r.starts, r.explode_by, r.graphite, r.max_data_points, s.starts) == (dt.date(2024, 1, 15), {}, None, None, dt.date(2024, 2, 1))


def test_a_sql_report_with_db_gets_its_database_entry_and_mysql_dialect(tmp_path: Path) -> None:
    q = folder(
        tmp_path,
        "databases:\n"
        "  mediawiki: {auto_find_db_shard: true, wiki_db_placeholder: wiki_db, creds_file: research.cnf, section_map: map.yaml}\n"
        "  shared: {host: db1, port: 3320, creds_file: /etc/mysql/research.cnf, db: wikishared, auto_find_db_shard: false}\n"
        "defaults: {db: mediawiki, granularity: days, starts: 2024-01-01}\n"
        "reports:\n"
        "  r: {explode_by: {wiki_db: 'enwiki, dewiki'}}\n"
        "  s: {db: shared, execute: r}\n"
        "  h: {type: hive}\n"
        "  w: {execute: r, db: null}\n",
        {"r.sql": "select 1", "h.hql": "select 1"},
    )
    config = read_folder(q)
    cfg = q / "config.yaml"
    r, s, h, w = (config.report(k) for k in "rshw")
    assert (r.on_database, r.dialect, s.on_database, s.dialect) == (True, "mysql", True, "mysql")
    assert (h.on_database, h.dialect, h.database, w.on_database, w.dialect) == (False, "hive", None, False, "trino")
    assert r.database is not None and s.database is not None
    assert (r.database.key, r.database.place, r.database.creds_file, r.database.section_map) == ("mediawiki", f"{cfg}:2:3", q / "research.cnf", q / "map.yaml")
    assert (r.database.auto_find_db_shard, r.database.database_name({"wiki_db": "dewiki"})) == (True, "dewiki")
    assert (s.database.host, s.database.port, s.database.creds_file, s.database.auto_find_db_shard, s.database.database_name({})) == (
        "db1",
        3320,
        Path("/etc/mysql/research.cnf"),
        False,
        "wikishared",
    )
    assert [str(p) for p in config.problems] == [
        f"{cfg}:{pos(cfg, 'false')}: warning: database 'shared': auto_find_db_shard false turns shard discovery off"
        " (Reportupdater turned it on whenever the key was there) (remove the key to make that explicit)"
    ]


def test_a_report_whose_database_is_wrong_is_kept_with_the_reason(tmp_path: Path) -> None:
    q = folder(
        tmp_path,
        "databases:\n"
        "  mediawiki: {host: db1, wiki_db_placeholder: wiki_db}\n"
        "  nohost: {db: x}\n"
        "  nodb: {host: db1}\n"
        "  unused: {port: 3306}\n"
        "reports:\n"
        "  nowiki: {granularity: days, starts: 2024-01-01, execute: r, db: mediawiki}\n"
        "  typo: {granularity: days, starts: 2024-01-01, execute: r, db: mediawik}\n"
        "  a: {granularity: days, starts: 2024-01-01, execute: r, db: nohost}\n"
        "  b: {granularity: days, starts: 2024-01-01, execute: r, db: nodb}\n"
        "  c: {granularity: days, starts: 2024-01-01, execute: r, db: nodb}\n",
    )
    config = read_folder(q)
    cfg = q / "config.yaml"
    assert [r.key for r in config.reports] == ["nowiki", "typo", "a", "b", "c"]
    assert all(r.database is None and r.database_problem in config.problems for r in config.reports)
    assert [str(p) for p in config.problems] == [
        f"{cfg}:{pos(cfg, 'db: mediawiki}', 4)}: report 'nowiki': database 'mediawiki' takes the database name from explode placeholder 'wiki_db',"
        " which the report does not have (add `explode_by: {wiki_db: enwiki, dewiki}` (or a file of wiki databases))",
        f"{cfg}:{pos(cfg, 'mediawik}')}: report 'typo': db 'mediawik' is not under `databases:` (did you mean 'mediawiki'?)",
        f"{cfg}:{pos(cfg, 'nohost')}: database 'nohost' has no host (add `host:` and `port:`, or `auto_find_db_shard: true` with a section map)",
        f"{cfg}:{pos(cfg, 'nodb')}: database 'nodb' names no database (add `db: NAME`, or `wiki_db_placeholder: wiki_db` for one database per wiki)",
    ]


def test_databases_that_no_report_uses_get_a_warning(tmp_path: Path) -> None:
    q = folder(tmp_path, "databases:\n  mediawiki: {host: db1, db: enwiki}\nreports:\n  r: {granularity: days, starts: 2024-01-01}\n")
    config = read_folder(q)
    cfg = q / "config.yaml"
    assert (config.report("r").on_database, config.report("r").dialect) == (False, "trino")
    assert [str(p) for p in config.problems] == [
        f"{cfg}:1:1: warning: no report uses `databases:`: `type: sql` reports without `db:` run on the warehouse engine"
        " (add `db: mediawiki` (to the reports or to defaults:) to run them on that database)"
    ]


@pytest.mark.parametrize(
    "starts, message",
    [
        ("0999-12-30", "starts 0999-12-30 is before 1970-01-01 (write a date from 1970-01-01 to 2099-12-31)"),
        ("0001-01-01", "starts 0001-01-01 is before 1970-01-01 (write a date from 1970-01-01 to 2099-12-31)"),
        ("1969-12-31", "starts 1969-12-31 is before 1970-01-01 (write a date from 1970-01-01 to 2099-12-31)"),
        ("2100-01-01", "starts 2100-01-01 is not before 2100-01-01 (write a date from 1970-01-01 to 2099-12-31)"),
        ("'999-12-30'", "starts '999-12-30' is not a date (write YYYY-MM-DD)"),
        ("2026-02-30", "starts '2026-02-30' is not a date (write YYYY-MM-DD)"),
    ],
)
def test_starts_outside_the_bounds_is_refused_at_its_place(tmp_path: Path, starts: str, message: str) -> None:
    q = folder(tmp_path, f"reports:\n  r:\n    granularity: days\n    starts: {starts}\n")
    config = read_folder(q)
    cfg = q / "config.yaml"
    assert config.reports == []
    assert [str(p) for p in config.problems] == [f"{cfg}:4:13: report 'r': {message}"]


@pytest.mark.parametrize("starts", ["1970-01-01", "2099-12-31"])
def test_the_bounds_themselves_are_allowed(tmp_path: Path, starts: str) -> None:
    q = folder(
        tmp_path,
        f"reports:\n  r: {{granularity: days, starts: {starts}, ends: 2099-12-31}}\n"
        if starts < "2099"
        else f"reports:\n  r: {{granularity: days, starts: {starts}}}\n",
    )
    assert [r.starts.isoformat() for r in read_folder(q).reports] == [starts]


def test_ends_and_numbers_outside_their_bounds(tmp_path: Path) -> None:
    q = folder(
        tmp_path,
        "defaults: {granularity: days, starts: 2026-01-01}\nreports:\n"
        "  a: {ends: 9999-12-31}\n  b: {ends: 2025-12-31}\n  c: {lag: 100000001}\n  d: {lag: -1}\n  e: {max_data_points: 50001}\n"
        f"  f: {{lag: {10**30}}}\n",
        {n + ".sql": "" for n in "abcdef"},
    )
    with pytest.raises(InputError) as info:
        read_folder(q)  # the integer beyond 64 bits makes the whole file unusable
    cfg = q / "config.yaml"
    assert [str(p) for p in info.value.problems] == [
        f"{cfg}:{pos(cfg, str(10**30))}: integer {10**30} is beyond 64 bits (write a number of at most 9,223,372,036,854,775,807, or quote it to make it text)"
    ]
    edit_text = cfg.read_text().replace(f"  f: {{lag: {10**30}}}\n", "")
    cfg.write_text(edit_text)
    lines = [str(p) for p in read_folder(q).problems]
    lag = "is not a whole number of seconds from 0 to 100,000,000 (write e.g. `lag: 3600`; the most is about 3 years)"
    assert lines == [
        f"{cfg}:{pos(cfg, '9999-12-31')}: report 'a': ends 9999-12-31 is not before 2100-01-01 (write a date from 1970-01-01 to 2099-12-31)",
        f"{cfg}:{pos(cfg, '2025-12-31')}: report 'b': ends 2025-12-31 is not after starts 2026-01-01, so it has no interval (`ends` is exclusive: write a later date, or remove `ends`)",
        f"{cfg}:{pos(cfg, '100000001')}: report 'c': lag 100000001 {lag}",
        f"{cfg}:{pos(cfg, 'lag: -1', 5)}: report 'd': lag -1 {lag}",
        f"{cfg}:{pos(cfg, '50001')}: report 'e': max_data_points 50001 is not an integer from 1 to 50,000 (write e.g. `max_data_points: 30`, or remove it)",
    ]


def test_a_config_that_is_a_folder(tmp_path: Path) -> None:
    q = tmp_path / "q"
    (q / "config.yaml").mkdir(parents=True)
    with pytest.raises(InputError) as info:
        read_folder(q)
    assert info.value.lines() == [f"{q / 'config.yaml'}:1:1: is a folder, not a file (name the YAML file itself, or remove the folder that has its name)"]


def test_unreadable_names_and_files_in_a_config_are_problems(tmp_path: Path) -> None:
    q = folder(
        tmp_path,
        "reports:\n"
        "  a: {granularity: days, starts: 2026-01-01, explode_by: {wiki: latin1.txt}}\n"
        f"  b: {{granularity: days, starts: 2026-01-01, execute: {'x' * 300}}}\n"
        '  "c\\0d": {granularity: days, starts: 2026-01-01}\n'
        "graphite: {lookups: {wiki: list.yaml}}\n",
        {"a.sql": "", "latin1.txt": "", "list.yaml": "- a\n- b\n"},
    )
    (q / "latin1.txt").write_bytes("caf\xe9wiki\n".encode("latin-1"))
    cfg = q / "config.yaml"
    quoted = '"c'  # the report key with a NUL, as written
    lines = sorted(str(p) for p in read_folder(q).problems)
    assert lines == [
        f"{cfg}:{pos(cfg, 'latin1.txt')}: report 'a': explode_by file {q / 'latin1.txt'} cannot be read: it is not UTF-8 text (write one value a line, in UTF-8)",
        f"{cfg}:{pos(cfg, 'b:', 3)}: report 'b': query file {q / ('x' * 300 + '.sql')} not found (create it, or set `execute:` to the file stem)",
        f"{cfg}:{pos(cfg, quoted)}: report key 'c\\x00d' is not a plain name: it names the report's TSV file and folder (use letters, digits, _, . and -, not starting with a dot)",
        f"{q / 'list.yaml'}:1:1: a Graphite lookup is a mapping of value -> name (write e.g. `enwiki: en.wikipedia`)",
    ]


def test_graphite_path_placeholders_are_bare_names(tmp_path: Path) -> None:
    q = folder(
        tmp_path, "reports:\n  r:\n    granularity: days\n    starts: 2026-01-01\n    graphite: {path: '{_metric:>999999999}', metrics: {views: views}}\n"
    )
    cfg = q / "config.yaml"
    assert [str(p) for p in read_folder(q).problems] == [
        f"{cfg}:5:22: report 'r': graphite.path '{{_metric:>999999999}}' is not a path template of {{name}} placeholders "
        "(write e.g. `path: '{_metric}.{wiki}'`, each placeholder a bare name, without ! or :)"
    ]


def test_explode_combinations_and_files_are_bounded(tmp_path: Path) -> None:
    wikis = "".join(f"wiki{i}\n" for i in range(500))
    q = folder(
        tmp_path,
        "reports:\n  r: {granularity: days, starts: 2026-01-01, explode_by: {a: wikis.txt, b: wikis.txt}}\n"
        "  s: {granularity: days, starts: 2026-01-01, explode_by: {a: big.txt}, execute: r}\n",
        {"r.sql": "", "wikis.txt": wikis, "big.txt": "enwiki\n" * 200_000},
    )
    cfg = q / "config.yaml"
    assert sorted(str(p) for p in read_folder(q).problems) == [
        f"{cfg}:{pos(cfg, '{a: wikis')}: report 'r': explode_by makes 250,000 combinations, over 100,000 (explode by fewer placeholders or values, or split the report)",
        f"{cfg}:{pos(cfg, 'big.txt')}: report 's': explode_by file {q / 'big.txt'} cannot be read: it is over 1,000,000 bytes (write one value a line, in UTF-8)",
    ]
