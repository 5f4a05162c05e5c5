"""`metrics validate` knows the warehouse: misspelt tables, columns and struct fields at their real
line and column, tables not loaded yet as warnings, parse errors where they are, scripts' HiveQL,
and query folders whose config is not config.yaml (`--config-path`)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from metrics.reports.references import hiveql_in_script
from tests.conftest import FIXTURES, QUERIES, ROOT, edit, pos
from tests.metrics.reports.test_hive_cases import CASES, HIVE_VALUES, load_vals


def metrics(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "metrics", *args], capture_output=True, text=True, timeout=300, cwd=ROOT)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample data loaded as `metrics ingest sample` loads it (event tables with struct columns, pageviews)."""
    base = tmp_path_factory.mktemp("refs")
    loaded = metrics("--warehouse", str(base / "wh"), "ingest", "sample", "--out", str(base / "raw"), "--start", "2026-11-01", "--days", "1")
    assert loaded.returncode == 0, loaded.stderr
    return base / "wh"


def test_the_tests_query_folders_read_only_what_exists(warehouse: Path) -> None:
    result = metrics("--warehouse", str(warehouse), "--queries", str(QUERIES), "--catalogue", str(FIXTURES / "catalogue"), "validate")
    assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr


def test_misspelt_tables_columns_and_fields_are_errors_at_their_place(warehouse: Path, tmp_path: Path) -> None:
    q = shutil.copytree(QUERIES, tmp_path / "q")
    sessions = edit(q / "codemirror" / "hive" / "sessions.hql", "FROM event.codemirrorusage", "FROM event.codemirrorusages")
    toggles = edit(q / "codemirror" / "hive" / "toggles.hql", "event.toggled = true", "event.toggld = true")
    views = next(p for p in (q / "pageviews").glob("*.sql") if "count_views" in p.read_text())
    edit(views, "sum(count_views)", "sum(count_view)")
    result = metrics("--warehouse", str(warehouse), "--queries", str(q), "--catalogue", str(FIXTURES / "catalogue"), "validate")
    assert result.returncode == 2
    assert result.stdout.splitlines() == sorted(
        [
            f"{sessions}:{pos(sessions, 'event.codemirrorusages')}: table event.codemirrorusages is not in the warehouse (did you mean event.codemirrorusage?)",
            f"{toggles}:{pos(toggles, 'toggld')}: struct event has no field toggld (did you mean event.toggled?)",
            f"{views}:{pos(views, 'count_view)')}: column count_view is not in the table(s) it reads (did you mean count_views?)",
        ]
    ), result.stdout


def test_a_table_not_loaded_yet_is_a_warning_and_an_empty_warehouse_is_said(warehouse: Path, tmp_path: Path) -> None:
    q = shutil.copytree(QUERIES, tmp_path / "q")
    sessions = edit(q / "codemirror" / "hive" / "sessions.hql", "FROM event.codemirrorusage", "FROM newstream.sessions")
    result = metrics("--warehouse", str(warehouse), "--queries", str(q), "--catalogue", str(FIXTURES / "catalogue"), "validate")
    assert result.returncode == 0, result.stdout + result.stderr
    expected = f"{sessions}:{pos(sessions, 'newstream.sessions')}: warning: table newstream.sessions is not loaded yet"
    assert result.stdout.startswith(expected), result.stdout
    empty = metrics("--warehouse", str(tmp_path / "none"), "--queries", str(q), "--catalogue", str(FIXTURES / "catalogue"), "validate")
    assert empty.returncode == 0 and "holds no tables: tables and columns are not checked" in empty.stderr, empty.stderr


def test_a_parse_error_is_reported_at_its_line(tmp_path: Path) -> None:
    q = shutil.copytree(QUERIES / "codemirror", tmp_path / "codemirror")
    toggles = edit(q / "hive" / "toggles.hql", "GROUP BY", "GROUP BY BY")
    result = metrics("--warehouse", str(tmp_path / "none"), "validate", str(q))
    assert result.returncode == 2
    line = next(i for i, text in enumerate(toggles.read_text().splitlines(), 1) if "GROUP BY BY" in text)
    assert result.stdout.startswith(f"{toggles}:{line}:"), result.stdout
    assert "cannot parse the query as hive SQL" in result.stdout


def test_scripts_must_be_executable_and_their_hiveql_is_checked(warehouse: Path, tmp_path: Path) -> None:
    folder = tmp_path / "scripts"
    folder.mkdir()
    (folder / "config.yaml").write_text("defaults: {type: script, granularity: days, starts: 2026-11-01}\nreports:\n  views: {}\n  idle: {}\n")
    script = folder / "views"
    script.write_text(
        "#!/bin/bash\nhive -S -e \"\nset hive.cli.print.header=true;\nSELECT '$1' AS date, sum(count_view) AS v\n"
        'FROM wmf.pageview_hourly WHERE year = 2026;\n" | cat\n'
    )
    script.chmod(0o755)
    idle = folder / "idle"
    idle.write_text("#!/bin/bash\necho date\n")
    idle.chmod(0o644)
    result = metrics("--warehouse", str(warehouse), "validate", str(folder))
    assert result.returncode == 2
    config_line, script_line = result.stdout.splitlines()
    assert config_line.startswith(f"{folder / 'config.yaml'}:4:") and config_line.endswith(
        f": report 'idle': script {idle} is not executable (chmod +x {idle})"
    )
    # the line is the script's; the column is counted after $1 became a date
    assert script_line.startswith(f"{script}:4:") and script_line.endswith(": column count_view is not in the table(s) it reads (did you mean count_views?)")


def test_hiveql_is_found_in_heredocs_quoted_arguments_and_files(tmp_path: Path) -> None:
    (tmp_path / "q.hql").write_text("-- counts; per day\nSELECT n FROM t.z WHERE d = '${1}'\n")
    text = (
        "#!/bin/bash\nhive -e \"$(cat <<EOF\nset x=1;\nuse wmf;\nSELECT '${1}' AS d\nFROM x;\nEOF\n)\"\n"
        'beeline -f "$3/q.hql"\nhive -S -e "SELECT 1 AS \\`date\\` FROM t.y -- a; comment" | awk \'{print}\'\n'
    )
    found = hiveql_in_script(text, {"1": "2026-11-01", "3": str(tmp_path)}, tmp_path)
    assert [(f.file, f.line, f.sql, f.database) for f in found] == [
        (None, 5, "SELECT '2026-11-01' AS d\nFROM x", "wmf"),
        (None, 10, "SELECT 1 AS `date` FROM t.y", None),
        (tmp_path / "q.hql", 2, "SELECT n FROM t.z WHERE d = '2026-11-01'", None),
    ]


def test_a_script_using_a_database_is_checked_there(warehouse: Path, tmp_path: Path) -> None:
    folder = tmp_path / "scripts"
    folder.mkdir()
    (folder / "config.yaml").write_text("defaults: {type: script, granularity: days, starts: 2026-11-01}\nreports:\n  views: {}\n")
    (folder / "views").write_text("#!/bin/bash\nhive -S -e \"$(cat <<EOF\nuse wmf;\nSELECT '$1' AS date, count(*) AS n FROM pageviews_hourly;\nEOF\n)\"\n")
    (folder / "views").chmod(0o755)
    result = metrics("--warehouse", str(warehouse), "validate", str(folder))
    assert result.returncode == 2 and result.stdout.startswith(f"{folder / 'views'}:4:"), result.stdout
    assert "table wmf.pageviews_hourly is not in the warehouse (did you mean wmf.pageview_hourly?)" in result.stdout


def test_a_folder_with_config_hive_yaml_runs_and_validates_with_config_path(tmp_path: Path) -> None:
    """Reportupdater's --config-path: configs side by side, none named config.yaml."""
    folder = shutil.copytree(CASES, tmp_path / "hive")
    (folder / "config.yaml").rename(folder / "config-hive.yaml")
    load_vals(tmp_path / "wh")
    (tmp_path / "catalogue").mkdir()
    found = metrics("--warehouse", str(tmp_path / "wh"), "--queries", str(tmp_path), "--catalogue", str(tmp_path / "catalogue"), "validate")
    assert "0 spec file(s) and 1 query folder(s) checked: 0 error(s)" in found.stderr, found.stdout + found.stderr
    as_file = metrics("--warehouse", str(tmp_path / "wh"), "validate", str(folder / "config-hive.yaml"))
    assert as_file.returncode == 0 and "0 spec file(s) and 1 query folder(s) checked: 0 error(s)" in as_file.stderr, as_file.stdout + as_file.stderr
    edit(folder / "cast_trunc.hql", "FROM external.vals", "FROM external.valz")
    flagged = metrics("--warehouse", str(tmp_path / "wh"), "validate", "--config-path", str(folder / "config-hive.yaml"), str(folder))
    assert flagged.returncode == 2 and "table external.valz is not in the warehouse (did you mean external.vals?)" in flagged.stdout, flagged.stdout
    edit(folder / "cast_trunc.hql", "FROM external.valz", "FROM external.vals")
    ran = metrics(
        "--warehouse", str(tmp_path / "wh"), "update-reports", "--config-path", str(folder / "config-hive.yaml"), "--no-graphite", "--now", "2026-11-03T00:00",
        str(folder), str(tmp_path / "out"),
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    day = dt.date(2026, 11, 1)
    for report, (column, value) in HIVE_VALUES.items():
        assert (tmp_path / "out" / f"{report}.tsv").read_bytes() == f"date\t{column}\r\n{day}\t{value}\r\n".encode()
    assert os.path.exists(tmp_path / "wh" / "metrics" / "hive_cast_trunc")


def test_a_double_column_made_text_is_refused_by_validate(warehouse: Path, tmp_path: Path) -> None:
    """Refusals that depend on a column's type are found before the run, with the warehouse's types."""
    folder = tmp_path / "wb"
    folder.mkdir()
    (folder / "config.yaml").write_text("defaults: {type: hive, granularity: days, starts: 2026-11-01}\nreports:\n  v: {}\n")
    query = folder / "v.hql"
    query.write_text("SELECT '{from_date}' AS date,\n  CONCAT(CAST(value AS STRING), '%') AS v\nFROM external.world_bank_indicators\n")
    result = metrics("--warehouse", str(warehouse), "validate", str(folder))
    assert result.returncode == 2 and result.stdout.startswith(f"{query}:2:10: a DOUBLE made text") and "[hive-semantics: double-to-string]" in result.stdout
    untyped = metrics("--warehouse", str(tmp_path / "none"), "validate", str(folder))
    assert untyped.returncode == 0, untyped.stdout  # without the warehouse the column's type is unknown: the run refuses it
