"""The `metrics` command as users run it: exit codes, one line per problem, no tracebacks."""

from __future__ import annotations

import datetime as dt
import json
import socket
import subprocess
import sys
from pathlib import Path

import jsonschema
import yaml

from metrics import catalogue
from metrics.reports.validate import query_folders
from tests.conftest import CATALOGUE, QUERIES, ROOT, SHIPPED_CATALOGUE, SHIPPED_QUERIES, edit

METRICS = [sys.executable, "-m", "metrics"]


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*METRICS, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_validate_shipped_catalogue_passes() -> None:
    """`metrics validate` with the defaults checks every shipped spec and query folder, however many."""
    result = run("validate")
    assert result.returncode == 0, result.stdout + result.stderr
    specs, folders = len(list(SHIPPED_CATALOGUE.glob("*.yaml"))), len(query_folders(SHIPPED_QUERIES))
    assert f"{specs} spec file(s) and {folders} query folder(s) checked: 0 error(s)" in result.stderr


def test_validate_test_catalogue_is_silent() -> None:
    result = run("--catalogue", str(CATALOGUE), "--queries", str(QUERIES), "validate")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""
    assert "4 spec file(s) and 4 query folder(s) checked: 0 error(s), 0 warning(s)" in result.stderr


def test_validate_broken_copy_fails_with_one_line_per_problem(catalogue_copy: Path) -> None:
    edit(catalogue_copy / "codemirror.yaml", "owner:\n", "ownr:\n")
    (catalogue_copy / "tabs.yaml").write_text("name: tabs\n\ttitle: x\n")
    (catalogue_copy / "binary.yaml").write_bytes(b"\x00\x01\x02")
    result = run("--catalogue", str(catalogue_copy), "validate")
    assert result.returncode == 2
    out = result.stdout.splitlines()
    assert len(out) == 4, out
    assert all(line.startswith(str(catalogue_copy)) and line.count(":") >= 3 for line in out)
    assert "Traceback" not in result.stdout + result.stderr
    assert "3 error(s)" not in result.stderr and "4 error(s)" in result.stderr


def test_validate_named_files_and_missing_file(tmp_path: Path) -> None:
    result = run("validate", str(CATALOGUE / "codemirror.yaml"), str(tmp_path / "nope.yaml"))
    assert result.returncode == 2
    assert result.stdout.strip() == f"{tmp_path / 'nope.yaml'}:1:1: file not found (check the path)"


def test_warnings_pass_unless_strict(catalogue_copy: Path) -> None:
    edit(catalogue_copy / "codemirror.yaml", "date: 2027-12-31", "date: 2020-01-31")
    plain = run("--catalogue", str(catalogue_copy), "validate")
    strict = run("--catalogue", str(catalogue_copy), "validate", "--strict")
    assert plain.returncode == 0 and "warning: sunset date 2020-01-31 is past" in plain.stdout
    assert strict.returncode == 2


def test_list_shows_the_catalogue() -> None:
    result = run("--catalogue", str(CATALOGUE), "list", "--format", "json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    expected = [(s.name, s.status, s.version, len(s.metrics)) for s in catalogue.load(CATALOGUE)]
    assert [(r["name"], r["status"], r["version"], r["metrics"]) for r in rows] == expected
    table = run("--catalogue", str(CATALOGUE), "list").stdout.splitlines()
    assert table[0].split() == ["name", "owner", "status", "version", "metrics", "sunset"]
    assert len(table) == 1 + len(expected)


def test_list_on_a_broken_catalogue_says_why(catalogue_copy: Path) -> None:
    (catalogue_copy / "x.yaml").write_text("")
    result = run("--catalogue", str(catalogue_copy), "list")
    assert result.returncode == 2
    assert result.stderr.strip() == f"{catalogue_copy / 'x.yaml'}:1:1: empty file (write the YAML content, or delete the file)"


def test_schema_is_json_schema_of_the_model() -> None:
    result = run("schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert set(schema["required"]) >= {"name", "owner", "metrics", "version", "ticket"}
    spec = json.loads(json.dumps(yaml.safe_load((CATALOGUE / "codemirror.yaml").read_text()), default=str))
    jsonschema.validate(spec, schema)


def test_new_scaffolds_a_spec_that_validates(tmp_path: Path) -> None:
    cat, queries = tmp_path / "catalogue", tmp_path / "queries"
    result = run("--catalogue", str(cat), "--queries", str(queries), "new", "my_feature", "--team", "Editing")
    assert result.returncode == 0, result.stderr
    assert (cat / "my_feature.yaml").is_file()
    assert (queries / "my_feature" / "config.yaml").is_file()
    assert (queries / "my_feature" / "daily_events.sql").is_file()
    config = yaml.safe_load((queries / "my_feature" / "config.yaml").read_text())
    assert list(config["reports"]) == ["daily_events"]
    check = run("--catalogue", str(cat), "--queries", str(queries), "validate")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "1 spec file(s) and 1 query folder(s) checked: 0 error(s)" in check.stderr
    assert catalogue.load(cat).spec("my_feature").owner.team == "Editing"
    again = run("--catalogue", str(cat), "--queries", str(queries), "new", "my_feature")
    assert again.returncode == 2 and "already exists" in again.stderr
    bad = run("--catalogue", str(cat), "--queries", str(queries), "new", "My-Feature")
    assert bad.returncode == 2 and "not a valid spec name" in bad.stderr


def test_config_file_and_environment(tmp_path: Path, catalogue_copy: Path) -> None:
    (tmp_path / "metrics.toml").write_text(f'[metrics]\ncatalogue = "{catalogue_copy.name}"\n')
    (catalogue_copy / "top_pageviews.yaml").unlink()
    result = run("list", "--format", "json", cwd=tmp_path)
    assert [r["name"] for r in json.loads(result.stdout)] == ["codemirror", "country_indicators", "reference_previews"]
    (tmp_path / "metrics.toml").write_text("[metrics]\ncatalog = 'x'\n")
    result = run("list", cwd=tmp_path)
    assert result.returncode == 2 and "unknown setting(s) catalog" in result.stderr


def test_query_binds_parameters_and_never_pastes_them(tmp_path: Path) -> None:
    import pyarrow as pa

    from metrics.warehouse import Warehouse

    rows = {"wiki": ["enwiki", "x'; DROP TABLE t; --"], "n": [1, 2]}
    Warehouse(tmp_path).replace_partition("metrics", "t", {"dt": dt.date(2026, 11, 1)}, pa.table(rows))
    ok = run("--warehouse", str(tmp_path), "query", "SELECT n FROM metrics.t WHERE wiki = :wiki", "-p", "wiki=x'; DROP TABLE t; --", "--format", "csv")
    assert ok.returncode == 0 and ok.stdout == "n\n2\n", ok.stderr
    missing = run("--warehouse", str(tmp_path), "query", "SELECT n FROM metrics.t WHERE wiki = :wiki")
    assert missing.returncode == 2 and "no value given for placeholder(s) :wiki" in missing.stderr and "-p name=VALUE" in missing.stderr
    bad = run("--warehouse", str(tmp_path), "query", "SELECT 1", "-p", "wiki")
    assert bad.returncode == 2 and "'wiki' is not NAME=VALUE" in bad.stderr


def test_write_mode_sql_is_refused_on_duckdb(tmp_path: Path) -> None:
    result = run("--warehouse", str(tmp_path), "--write-mode", "sql", "update-reports", str(SHIPPED_QUERIES / "codemirror"))
    assert result.returncode == 2 and "write_mode sql needs engine trino" in result.stderr, result.stderr
    result = run("--warehouse", str(tmp_path), "--write-mode", "tables", "list")
    assert result.returncode == 2 and "'tables' is not one of 'files', 'sql'" in result.stderr, result.stderr


def test_an_unreachable_trino_or_a_bad_port_is_said_as_such(tmp_path: Path) -> None:
    with socket.socket() as free:  # a port nobody listens on
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    result = run("--warehouse", str(tmp_path), "--engine", "trino", "--engine-uri", f"trino://u@127.0.0.1:{port}/hive", "query", "SELECT 1")
    assert result.returncode == 1 and f"cannot reach Trino at http://127.0.0.1:{port}" in result.stderr and "check the SQL" not in result.stderr, result.stderr
    result = run("--warehouse", str(tmp_path), "--engine", "trino", "--engine-uri", "trino://u@127.0.0.1:notaport/hive", "query", "SELECT 1")
    assert result.returncode == 1 and "has no valid port" in result.stderr, result.stderr


def test_query_only_reads(tmp_path: Path) -> None:
    """`metrics query` refuses a statement that would change the warehouse, and leaves it as it was."""
    target = tmp_path / "out.csv"
    for sql in ("DROP TABLE metrics.report_runs", f"COPY (SELECT 1) TO '{target}'", "CREATE TABLE t AS SELECT 1 AS a"):
        result = run("--warehouse", str(tmp_path), "query", "--dialect", "duckdb", sql)
        assert result.returncode == 2 and "metrics query only reads" in result.stderr, (sql, result.stderr)
    assert not target.exists()
    shown = run("--warehouse", str(tmp_path), "query", "--dialect", "duckdb", "SELECT 1 AS a UNION ALL SELECT 2", "--format", "csv")
    assert shown.returncode == 0 and shown.stdout == "a\n1\n2\n", shown.stderr
