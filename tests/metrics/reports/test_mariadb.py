"""`type: sql` reports with `db:` on real MariaDB servers, end to end through the runner (tests
marked `mariadb`), and what needs no server: typing a cursor's result, failures before connecting.

Two servers (Debian's mariadb-server, scripts/mariadb/): the first holds the wiki databases
`enwiki` and `dewiki`, the second another `dewiki`, reached only through a section map. Each
database has MediaWiki-like `user`, `user_properties` and `revision` tables filled with seeded
random rows; every expected TSV byte and table row is computed from those rows in plain Python.
"""

from __future__ import annotations

import datetime as dt
import random
import socket
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from pymysql.constants import FIELD_TYPE

from metrics.engines import open_engine
from metrics.reports import mariadb
from metrics.reports.config import read_folder
from metrics.reports.runner import update_reports
from tests.conftest import pos
from tests.services.mariadb import MariaDB, running_mariadb

NOW = dt.datetime(2026, 11, 5, 12)
DAYS = [dt.date(2026, 11, d) for d in range(1, 5)]  # the complete days from `starts` to NOW
PROPERTIES = ["cx", "gadget-wikEd", "usebetatoolbar", "usecodemirror", "visualeditor-newwikitext"]
PASSWORD = "s3cret-Research"

SCHEMA = [
    "CREATE TABLE user (user_id INT UNSIGNED PRIMARY KEY, user_name VARBINARY(255) NOT NULL, user_editcount INT)",
    "CREATE TABLE user_properties (up_user INT UNSIGNED NOT NULL, up_property VARBINARY(255) NOT NULL, up_value BLOB, PRIMARY KEY (up_user, up_property))",
    "CREATE TABLE revision (rev_id INT UNSIGNED PRIMARY KEY, rev_actor BIGINT UNSIGNED NOT NULL, rev_timestamp BINARY(14) NOT NULL)",
]


@dataclass
class Wiki:
    """The rows inserted into one wiki database."""

    users: list[tuple[int, str, int]] = field(default_factory=list)
    properties: list[tuple[int, str, str]] = field(default_factory=list)
    revisions: list[tuple[int, int, str]] = field(default_factory=list)


def make_wiki(seed: int, quiet_day: dt.date | None) -> Wiki:
    rng = random.Random(seed)
    wiki = Wiki()
    for user_id in range(1, rng.randint(25, 40)):
        wiki.users.append((user_id, f"User {user_id}", rng.choice([0, 0, 1, 3, 42, 99, 100, 250, 1000])))
        for prop in PROPERTIES:
            if rng.random() < 0.5:
                wiki.properties.append((user_id, prop, rng.choice(["1", "1", "0"])))
    start = dt.datetime(2026, 10, 30)
    for rev_id in range(1, rng.randint(80, 160)):
        when = start + dt.timedelta(seconds=rng.randrange(8 * 86400))
        if when.date() == quiet_day:
            continue
        wiki.revisions.append((rev_id, rng.randint(1, 12), when.strftime("%Y%m%d%H%M%S")))
    # the edges of a day: the last second before it, its first and its last second
    wiki.revisions += [(1001, 1, "20261031235959"), (1002, 2, "20261101000000"), (1003, 3, "20261104235959"), (1004, 4, "20261105000000")]
    return wiki


def load(server: MariaDB, name: str, wiki: Wiki) -> None:
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name}")
        cursor.execute(f"USE {name}")
        for statement in SCHEMA:
            cursor.execute(statement)
        cursor.executemany("INSERT INTO user VALUES (%s, %s, %s)", wiki.users)
        cursor.executemany("INSERT INTO user_properties VALUES (%s, %s, %s)", wiki.properties)
        cursor.executemany("INSERT INTO revision VALUES (%s, %s, %s)", wiki.revisions)
        cursor.execute(f"GRANT SELECT ON {name}.* TO 'research'@'%'")


def add_research_user(server: MariaDB) -> None:
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("CREATE USER 'research'@'%%' IDENTIFIED BY %s", (PASSWORD,))


@dataclass
class Servers:
    main: MariaDB
    shard: MariaDB
    wikis: dict[str, Wiki]
    """enwiki and dewiki on `main`; `dewiki@shard` on the second server."""


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    with running_mariadb() as main, running_mariadb() as shard:
        wikis = {"enwiki": make_wiki(1, None), "dewiki": make_wiki(2, dt.date(2026, 11, 3)), "dewiki@shard": make_wiki(3, None)}
        add_research_user(main)
        add_research_user(shard)
        load(main, "enwiki", wikis["enwiki"])
        load(main, "dewiki", wikis["dewiki"])
        load(shard, "dewiki", wikis["dewiki@shard"])
        yield Servers(main, shard, wikis)


CONFIG = """\
databases:
  mediawiki:                      # one database per wiki, all on one server
    host: 127.0.0.1
    port: {main}
    creds_file: research.cnf
    wiki_db_placeholder: wiki_db
  english:                        # Reportupdater's plain form
    host: 127.0.0.1
    port: {main}
    creds_file: research.cnf
    db: enwiki
  sharded:                        # the host of each wiki from the section map
    auto_find_db_shard: true
    wiki_db_placeholder: wiki_db
    creds_file: research.cnf
    section_map: sections.yaml
defaults:
  db: mediawiki
  granularity: days
  starts: 2026-11-01
reports:
  preferences:
    explode_by: {{wiki_db: wikis.txt}}
  content_translation_beta:
    explode_by: {{wiki_db: "enwiki, dewiki"}}
  edits:
    explode_by: {{wiki_db: wikis.txt}}
  edits_by_range:
    execute: edits
    backfill: range
    explode_by: {{wiki_db: wikis.txt}}
  edits_sharded:
    execute: edits
    db: sharded
    explode_by: {{wiki_db: wikis.txt}}
  edit_buckets:
    db: english
"""

QUERIES = {
    # users per preference, a snapshot of user_properties (up_property is VARBINARY, as in MediaWiki)
    "preferences.sql": """\
SELECT DATE('{from_timestamp}') AS date,
       CAST(up_property AS CHAR) AS property,
       COUNT(*) AS users,
       SUM(up_value = '1') AS enabled
  FROM user_properties
 GROUP BY up_property
 ORDER BY up_property
""",
    # as language/content_translation_beta.sql: the database in the FROM, a column named after the wiki
    "content_translation_beta.sql": """\
select date('{from_timestamp}') as report_date,
       count(*) as {wiki_db}
  from {wiki_db}.user_properties
 where up_property = 'cx'
   and up_value = 1;
""",
    # edits per day over rev_timestamp, a BINARY(14) MediaWiki timestamp; MIN of it is bytes to the cursor
    "edits.sql": """\
SELECT DATE(rev_timestamp) AS date,
       COUNT(*) AS edits,
       COUNT(DISTINCT rev_actor) AS editors,
       MIN(rev_timestamp) AS first_edit
  FROM revision
 WHERE rev_timestamp >= '{from_timestamp}'
   AND rev_timestamp < '{to_timestamp}'
 GROUP BY DATE(rev_timestamp)
 ORDER BY date
""",
    # as codemirror's edit-count buckets: SUM and AVG are DECIMAL to the cursor
    "edit_buckets.sql": """\
SELECT DATE('{from_timestamp}') AS `date`,
       CASE WHEN user_editcount >= 100 THEN '100_or_more_edits'
            WHEN user_editcount >= 1 THEN '1-99_edits'
            ELSE '0_edits' END AS edit_count_bucket,
       COUNT(*) AS users,
       SUM(user_editcount) AS edits,
       AVG(user_editcount) AS mean_edits
  FROM user
 GROUP BY edit_count_bucket
 ORDER BY edit_count_bucket
""",
    "wikis.txt": "enwiki\ndewiki\n",
}


def query_folder(root: Path, servers: Servers) -> Path:
    folder = root / "wikistats"
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text(CONFIG.format(main=servers.main.port))
    for name, text in QUERIES.items():
        (folder / name).write_text(text)
    servers.main.creds_file(folder / "research.cnf", "research", PASSWORD)
    (folder / "sections.yaml").write_text(
        f"sections:\n  s1: 127.0.0.1:{servers.main.port}\n  s5: {{host: 127.0.0.1, port: {servers.shard.port}}}\nwikis:\n  enwiki: s1\n  dewiki: s5\n"
    )
    return folder


# --- the independent computation ------------------------------------------------------------


def tsv(header: list[str], rows: list[list[object]]) -> bytes:
    return "".join("\t".join("" if v is None else str(v) for v in line) + "\r\n" for line in [header, *rows]).encode()


def preferences(wiki: Wiki) -> list[tuple[str, int, int]]:
    users = Counter(p for _, p, _ in wiki.properties)
    enabled = Counter(p for _, p, v in wiki.properties if v == "1")
    return [(p, users[p], enabled[p]) for p in sorted(users)]


def edits(wiki: Wiki) -> dict[dt.date, tuple[int, int, str]]:
    by_day: dict[dt.date, list[tuple[int, str]]] = defaultdict(list)
    for _, actor, ts in wiki.revisions:
        day = dt.datetime.strptime(ts, "%Y%m%d%H%M%S").date()
        if day in DAYS:
            by_day[day].append((actor, ts))
    return {day: (len(revs), len({a for a, _ in revs}), min(t for _, t in revs)) for day, revs in sorted(by_day.items())}


def edits_tsv(wiki: Wiki) -> bytes:
    counted = edits(wiki)
    rows: list[list[object]] = []
    for day in DAYS:
        if day in counted:
            n, editors, first = counted[day]
            rows.append([day, n, editors, str(first.encode())])  # str() of the cursor's bytes, as Reportupdater wrote
        else:
            rows.append([day, None, None, None])  # Reportupdater's null row for an empty interval
    return tsv(["date", "edits", "editors", "first_edit"], rows)


def buckets(wiki: Wiki) -> list[tuple[str, int, int, Decimal]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for _, _, count in wiki.users:
        groups["100_or_more_edits" if count >= 100 else "1-99_edits" if count >= 1 else "0_edits"].append(count)
    # AVG of an INT is DECIMAL with 4 more decimals (div_precision_increment), rounded half up
    return [(b, len(c), sum(c), (Decimal(sum(c)) / len(c)).quantize(Decimal("0.0001"), ROUND_HALF_UP)) for b, c in sorted(groups.items())]


def table_rows(engine, table: str) -> list[dict]:
    return engine.query(f"SELECT * FROM metrics.{table}").to_pylist()


@pytest.mark.mariadb
def test_reports_on_mariadb_give_tsv_and_tables_equal_to_python(servers: Servers, tmp_path: Path) -> None:
    folder = query_folder(tmp_path, servers)
    out = tmp_path / "out"
    with open_engine(tmp_path / "warehouse") as engine:
        summary = update_reports(folder, engine, out, now=NOW, graphite=False)
        assert summary.ok, summary.lines()
        assert len(summary.outcomes) == 4 * (2 + 2 + 2 + 2 + 2 + 1)
        en, de, de_shard = servers.wikis["enwiki"], servers.wikis["dewiki"], servers.wikis["dewiki@shard"]

        # preferences: the snapshot's counts on every day, per wiki database
        for name, wiki in [("enwiki", en), ("dewiki", de)]:
            expected = [[day, p, users, enabled] for day in DAYS for p, users, enabled in preferences(wiki)]
            assert (out / "preferences" / f"{name}.tsv").read_bytes() == tsv(["date", "property", "users", "enabled"], expected)
        assert sorted((r["dt"], r["wiki_db"], r["property"], r["users"], r["enabled"]) for r in table_rows(engine, "wikistats_preferences")) == sorted(
            (day, name, p, users, enabled) for name, wiki in [("enwiki", en), ("dewiki", de)] for day in DAYS for p, users, enabled in preferences(wiki)
        )

        # content_translation_beta: `{wiki_db}.user_properties`, one column per wiki
        for name, wiki in [("enwiki", en), ("dewiki", de)]:
            cx = sum(1 for _, p, v in wiki.properties if p == "cx" and v == "1")
            assert (out / "content_translation_beta" / f"{name}.tsv").read_bytes() == tsv(["report_date", name], [[day, cx] for day in DAYS])
        rows = table_rows(engine, "wikistats_content_translation_beta")
        assert sorted((r["dt"], r["wiki_db"], r["enwiki"], r["dewiki"]) for r in rows) == sorted(
            [(day, "enwiki", sum(1 for _, p, v in en.properties if p == "cx" and v == "1"), None) for day in DAYS]
            + [(day, "dewiki", None, sum(1 for _, p, v in de.properties if p == "cx" and v == "1")) for day in DAYS]
        )

        # edits: the {from_timestamp}/{to_timestamp} range over rev_timestamp, per interval and as one range
        for report in ["edits", "edits_by_range"]:
            assert (out / report / "enwiki.tsv").read_bytes() == edits_tsv(en)
            assert (out / report / "dewiki.tsv").read_bytes() == edits_tsv(de), report
            expected_rows = sorted(
                (day, name, n, editors, first) for name, wiki in [("enwiki", en), ("dewiki", de)] for day, (n, editors, first) in edits(wiki).items()
            )
            got = sorted((r["dt"], r["wiki_db"], r["edits"], r["editors"], r["first_edit"]) for r in table_rows(engine, f"wikistats_{report}"))
            assert got == expected_rows, report  # the table holds the timestamp as text, not as str(bytes)

        # edits_sharded: enwiki from the first server, dewiki from the second, as the section map says
        assert (out / "edits_sharded" / "enwiki.tsv").read_bytes() == edits_tsv(en)
        assert (out / "edits_sharded" / "dewiki.tsv").read_bytes() == edits_tsv(de_shard)
        assert edits_tsv(de_shard) != edits_tsv(de)

        # edit_buckets: the plain form (host, port, creds_file, db); DECIMAL values as str() wrote them
        expected_buckets = buckets(en)
        assert (out / "edit_buckets.tsv").read_bytes() == tsv(
            ["date", "edit_count_bucket", "users", "edits", "mean_edits"], [[day, *b] for day in DAYS for b in expected_buckets]
        )
        assert sorted(
            (r["dt"], r["edit_count_bucket"], r["users"], r["edits"], r["mean_edits"]) for r in table_rows(engine, "wikistats_edit_buckets")
        ) == sorted((day, b, users, total, float(mean)) for day in DAYS for b, users, total, mean in expected_buckets)

        # a second run finds nothing to do
        again = update_reports(folder, engine, out, now=NOW, graphite=False)
        assert again.ok and again.outcomes == []


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.mariadb
def test_bad_databases_fail_their_intervals_with_the_reason_and_the_others_run(servers: Servers, tmp_path: Path) -> None:
    folder = query_folder(tmp_path, servers)
    servers.main.creds_file(folder / "wrong.cnf", "research", "not-the-password")
    broken = f"""\
  nowhere: {{host: 127.0.0.1, port: {closed_port()}, creds_file: research.cnf, db: enwiki}}
  no_creds: {{host: 127.0.0.1, port: {servers.main.port}, creds_file: missing.cnf, db: enwiki}}
  wrong_password: {{host: 127.0.0.1, port: {servers.main.port}, creds_file: wrong.cnf, db: enwiki}}
defaults:"""
    config = (folder / "config.yaml").read_text().replace("defaults:", broken, 1)
    config += "".join(
        f"  {key}:\n    execute: edit_buckets\n    db: {db}\n"
        for key, db in [("unreachable", "nowhere"), ("unreadable", "no_creds"), ("denied", "wrong_password"), ("unknown", "typo")]
    )
    config += "  unmapped:\n    execute: edits\n    db: sharded\n    explode_by: {wiki_db: frwiki}\n"
    (folder / "config.yaml").write_text(config)
    cfg = folder / "config.yaml"
    with open_engine(tmp_path / "warehouse") as engine:
        summary = update_reports(
            folder, engine, tmp_path / "out", now=NOW, graphite=False, only=["edit_buckets", "unreachable", "unreadable", "denied", "unknown", "unmapped"]
        )
    by_report = defaultdict(set)
    for outcome in summary.outcomes:
        by_report[outcome.report].add((outcome.status, outcome.error))
    assert by_report["edit_buckets"] == {("ok", None)}
    assert len([o for o in summary.outcomes if o.report == "edit_buckets"]) == 4
    errors = {report: next(iter(states))[1] for report, states in by_report.items() if report != "edit_buckets"}
    assert all(len(by_report[r]) == 1 and next(iter(by_report[r]))[0] == "failed" for r in errors)
    assert "cannot connect to 127.0.0.1:" in errors["unreachable"] and f"database 'nowhere' at {cfg}:" in errors["unreachable"]
    assert f"{folder / 'missing.cnf'}: cannot read it (No such file or directory) [creds_file of database 'no_creds' at {cfg}:" in errors["unreadable"]
    assert f"check user and password in {folder / 'wrong.cnf'}" in errors["denied"] and "Access denied" in errors["denied"]
    assert f"{cfg}:" in errors["unknown"] and "db 'typo' is not under `databases:`" in errors["unknown"]
    assert f"{folder / 'sections.yaml'}:1:1: wiki database 'frwiki' is not listed under `wikis:`" in errors["unmapped"]
    assert not summary.ok
    text = "\n".join(summary.lines() + [str(p) for p in summary.problems])
    assert PASSWORD not in text and "not-the-password" not in text


# --- without a server -------------------------------------------------------------------------


def test_a_cursor_result_is_typed_by_the_declared_types_and_written_as_str() -> None:
    description = [
        ("date", FIELD_TYPE.DATE, None, 10, 10, 0, True),
        ("property", FIELD_TYPE.VAR_STRING, None, 255, 255, 0, True),
        ("users", FIELD_TYPE.LONGLONG, None, 21, 21, 0, True),
        ("enabled", FIELD_TYPE.NEWDECIMAL, None, 23, 23, 0, True),
        ("mean", FIELD_TYPE.NEWDECIMAL, None, 14, 14, 4, True),
        ("ratio", FIELD_TYPE.DOUBLE, None, 22, 22, 31, True),
        ("first", FIELD_TYPE.STRING, None, 14, 14, 0, True),
        ("at", FIELD_TYPE.DATETIME, None, 19, 19, 0, True),
        ("missing", FIELD_TYPE.DATE, None, 10, 10, 0, True),
    ]
    rows = [
        (dt.date(2026, 11, 1), "cx", 3, Decimal("2"), Decimal("2.5000"), 0.1, b"20261101000000", dt.datetime(2026, 11, 1, 5), "0000-00-00"),
        (dt.date(2026, 11, 1), None, 0, None, None, None, None, None, None),
    ]
    result = mariadb.fetched(description, rows)
    assert result.header == [d[0] for d in description]
    assert [str(f.type) for f in result.table.schema] == ["date32[day]", "string", "int64", "int64", "double", "double", "string", "timestamp[us]", "string"]
    assert result.table.to_pylist()[0] == {
        "c0": dt.date(2026, 11, 1),
        "c1": "cx",
        "c2": 3,
        "c3": 2,
        "c4": 2.5,
        "c5": 0.1,
        "c6": "20261101000000",
        "c7": dt.datetime(2026, 11, 1, 5),
        "c8": "0000-00-00",  # a value the declared type cannot hold stays text
    }
    assert result.text == [
        ["cx", "3", "2", "2.5000", "0.1", "b'20261101000000'", "2026-11-01 05:00:00", "0000-00-00"],
        [None, "0", None, None, None, None, None, None],
    ]


def offline_folder(root: Path, config: str) -> Path:
    folder = root / "offline"
    folder.mkdir()
    (folder / "config.yaml").write_text(config)
    (folder / "counts.sql").write_text("SELECT DATE('{from_timestamp}') AS date, COUNT(*) AS n FROM user")
    (folder / "local.sql").write_text("SELECT DATE '{from_date}' AS date, 1 AS n")
    (folder / "creds.cnf").write_text("[client]\nuser = research\npassword = hunter2\n")
    return folder


def test_without_a_server_each_bad_database_fails_its_intervals_and_the_warehouse_report_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("METRICS_SECTION_MAP", raising=False)
    folder = offline_folder(
        tmp_path,
        f"""\
databases:
  closed: {{host: 127.0.0.1, port: {closed_port()}, creds_file: creds.cnf, db: enwiki}}
  nocreds: {{host: 127.0.0.1, port: {closed_port()}, creds_file: nothing/here.cnf, db: enwiki}}
  notacnf: {{host: 127.0.0.1, port: {closed_port()}, creds_file: counts.sql, db: enwiki}}
  nomap: {{auto_find_db_shard: true, creds_file: creds.cnf, db: enwiki}}
defaults: {{granularity: days, starts: 2026-11-03, execute: counts}}
reports:
  unreachable: {{db: closed}}
  unreadable: {{db: nocreds}}
  not_a_cnf: {{db: notacnf}}
  no_section_map: {{db: nomap}}
  unknown: {{db: clsoed}}
  local: {{execute: local}}
""",
    )
    cfg = folder / "config.yaml"
    with open_engine(tmp_path / "warehouse") as engine:
        summary = update_reports(folder, engine, tmp_path / "out", now=NOW, graphite=False)
    errors = {o.report: o.error for o in summary.outcomes if o.status == "failed"}
    assert sorted(errors) == ["no_section_map", "not_a_cnf", "unknown", "unreachable", "unreadable"]
    assert [(o.report, o.status) for o in summary.outcomes if o.report == "local"] == [("local", "ok"), ("local", "ok")]
    assert errors["unreachable"].startswith(f"{folder / 'counts.sql'}: cannot connect to 127.0.0.1:")
    assert f"[database 'closed' at {cfg}:2:3]" in errors["unreachable"] and "check host and port" in errors["unreachable"]
    assert errors["unreadable"] == (
        f"{folder / 'nothing/here.cnf'}: cannot read it (No such file or directory) [creds_file of database 'nocreds' at {cfg}:3:3]"
        " (fix the path, or let the user running the service read it)"
    )
    assert errors["not_a_cnf"].startswith(f"{folder / 'counts.sql'}:1:1: not a my.cnf file")
    assert errors["no_section_map"] == (
        f"{cfg}:5:3: database 'nomap' has auto_find_db_shard but no section map (wiki database -> section -> host:port)"
        " (add `section_map: FILE` to it, or set METRICS_SECTION_MAP; see docs/runner.md)"
    )
    assert errors["unknown"] == f"{cfg}:{pos(cfg, 'clsoed')}: report 'unknown': db 'clsoed' is not under `databases:` (did you mean 'closed'?)"
    assert [str(p) for p in summary.problems] == [errors["unknown"]]
    assert "hunter2" not in "\n".join(summary.lines())
    assert (tmp_path / "out" / "local.tsv").read_bytes() == b"date\tn\r\n2026-11-03\t1\r\n2026-11-04\t1\r\n"


def test_explode_values_are_checked_before_they_reach_sql(tmp_path: Path) -> None:
    folder = offline_folder(
        tmp_path,
        "databases:\n  m: {host: 127.0.0.1, port: 1, creds_file: creds.cnf, wiki_db_placeholder: wiki_db}\n"
        "reports:\n  r: {granularity: days, starts: 2026-11-01, execute: counts, db: m, explode_by: {wiki_db: enwiki}}\n",
    )
    report = read_folder(folder).report("r")
    with pytest.raises(mariadb.SourceError, match=r"explode value \"enwiki' OR '1\" of 'wiki_db' has characters that are not allowed"):
        mariadb.execute(report, dt.date(2026, 11, 1), dt.date(2026, 11, 2), {"wiki_db": "enwiki' OR '1"})
