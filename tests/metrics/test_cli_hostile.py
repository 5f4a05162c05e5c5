"""Hostile and out-of-range specs, configs and settings, through every command that reads them:
each is one `file:line:column: what (what to do)` line and exit code 2, never a traceback, and a
run with such a config computes nothing from it and writes nothing wrong.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import CATALOGUE, QUERIES, ROOT, edit, pos
from tests.metrics.test_yamlfile import billion_laughs

METRICS = [sys.executable, "-m", "metrics"]
NOW = "2026-11-10T12:00"
BUG = "run with --debug for the traceback"


def run(*args: str, cwd: Path = ROOT, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*METRICS, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def input_error(result: subprocess.CompletedProcess[str], *lines: str) -> None:
    """Exit 2, and stderr (or stdout, for validate) holds each expected line, with no traceback or bug line."""
    assert result.returncode == 2, result.stdout + result.stderr
    out = result.stdout + result.stderr
    assert "Traceback" not in out and BUG not in out, out
    for line in lines:
        assert line in out.splitlines(), f"{line!r} not in:\n{out}"


@pytest.fixture
def daily(tmp_path: Path) -> Path:
    """A query folder with one SQL report that runs on an empty warehouse."""
    folder = tmp_path / "daily"
    folder.mkdir()
    (folder / "config.yaml").write_text("dialect: duckdb\nreports:\n  counts:\n    granularity: days\n    starts: 2026-11-01\n")
    (folder / "counts.sql").write_text("SELECT DATE '{from_date}' AS date, 1 AS n\n")
    return folder


def update(folder: Path, tmp_path: Path, *more: str) -> subprocess.CompletedProcess[str]:
    return run(
        "--warehouse",
        str(tmp_path / "wh"),
        "--catalogue",
        str(tmp_path / "none"),
        "update-reports",
        str(folder),
        str(tmp_path / "out"),
        "--no-graphite",
        "--now",
        NOW,
        *more,
    )


def test_a_billion_laughs_spec_is_refused_fast_by_validate_list_and_the_builders(tmp_path: Path) -> None:
    cat = tmp_path / "cat"
    shutil.copytree(CATALOGUE, cat)
    laughs = cat / "laughs.yaml"
    laughs.write_text(billion_laughs())
    line = f"{laughs}:5:28: alias *d makes the document stand for more than 50,000 values (write the repeated part out, or nest fewer aliases: a YAML 'billion laughs' attack looks like this)"
    for command in (
        ["validate", str(laughs)],
        ["list"],
        ["build", "superset", "--out", str(tmp_path / "b")],
        ["build", "grafana", "--out", str(tmp_path / "g")],
    ):
        started = time.perf_counter()
        result = run("--catalogue", str(cat), *command, timeout=30)
        assert time.perf_counter() - started < 20
        input_error(result, line)
    assert not (tmp_path / "b").exists() and not (tmp_path / "g").exists()


@pytest.mark.parametrize(
    "value, message",
    [
        ("[" * 5000 + "]" * 5000, "lists and mappings nested more than 64 deep (a spec or config nests a few levels: flatten it)"),
        ("1" * 5000, "integer of 5,000 characters is beyond 64 bits (write a number of at most 9,223,372,036,854,775,807, or quote it to make it text)"),
    ],
    ids=["deep", "5000 digits"],
)
def test_deep_nesting_and_a_long_integer_in_a_spec(tmp_path: Path, value: str, message: str) -> None:
    spec = tmp_path / "codemirror.yaml"
    shutil.copy(CATALOGUE / "codemirror.yaml", spec)
    edit(spec, "version: 1.2.0\n", f"version: {value}\n")
    result = run("--catalogue", str(tmp_path), "validate", str(spec))
    column = 10 + 64 if value.startswith("[") else 10  # the 65th [, where the scanner stops
    input_error(result, f"{spec}:{pos(spec, 'version: ')[:-2]}:{column}: {message}")


def test_dates_of_a_spec_outside_the_bounds(tmp_path: Path) -> None:
    spec = tmp_path / "codemirror.yaml"
    shutil.copy(CATALOGUE / "codemirror.yaml", spec)
    edit(spec, "date: 2027-12-31", "date: 0001-01-01")
    edit(spec, "{version: 1.0.0, date: 2021-01-16,", "{version: 1.0.0, date: 2026-02-30,")
    result = run("--catalogue", str(tmp_path), "validate", str(spec))
    input_error(
        result,
        f"{spec}:{pos(spec, '0001-01-01')}: sunset.date: 0001-01-01 is before 1970-01-01 (write a date from 1970-01-01 to 2099-12-31)",
        f"{spec}:{pos(spec, '2026-02-30')}: history[0].date: input should be a valid date or datetime, day value is outside expected range (fix the value)",
    )


@pytest.mark.parametrize(
    "old, new, message",
    [
        (
            "lag: 7200",
            f"lag: {10**30}",
            f"integer {10**30} is beyond 64 bits (write a number of at most 9,223,372,036,854,775,807, or quote it to make it text)",
        ),
        ("starts: 2026-11-01", "starts: 2026-02-30", "defaults: starts '2026-02-30' is not a date (write YYYY-MM-DD)"),
        ("starts: 2026-11-01", "starts: 0999-12-30", "defaults: starts 0999-12-30 is before 1970-01-01 (write a date from 1970-01-01 to 2099-12-31)"),
        ("starts: 2026-11-01", "starts: 0001-01-01", "defaults: starts 0001-01-01 is before 1970-01-01 (write a date from 1970-01-01 to 2099-12-31)"),
    ],
    ids=["lag 10**30", "starts 2026-02-30", "starts year 999", "starts 0001-01-01"],
)
def test_a_bad_config_value_is_refused_by_validate_update_and_rerun(tmp_path: Path, old: str, new: str, message: str) -> None:
    folder = tmp_path / "pageviews"
    shutil.copytree(QUERIES / "pageviews", folder)
    config = edit(folder / "config.yaml", old, new)
    line = f"{config}:{pos(config, new.split(': ')[1])}: {message}"
    input_error(run("--warehouse", str(tmp_path / "wh"), "validate", str(folder)), line)
    input_error(update(folder, tmp_path), line)
    input_error(run("rerun-reports", str(folder), "2026-11-01", "2026-11-02"), line)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.tsv")), "nothing is written from a refused config"


def test_a_year_999_start_writes_nothing_and_later_runs_still_work(tmp_path: Path, daily: Path) -> None:
    config = daily / "config.yaml"
    (daily / "old.sql").write_text("SELECT DATE '{from_date}' AS date, 2 AS n\n")
    config.write_text(config.read_text() + "  old:\n    granularity: days\n    starts: 0999-12-30\n")
    first = update(daily, tmp_path)
    input_error(
        first, f"{config}:{pos(config, '0999-12-30')}: report 'old': starts 0999-12-30 is before 1970-01-01 (write a date from 1970-01-01 to 2099-12-31)"
    )
    assert "counts: 9 interval(s) ok, 0 failed, 9 row(s)" in first.stderr  # the other report ran
    assert not (tmp_path / "out" / "old.tsv").exists()
    edit(config, "starts: 0999-12-30", "starts: 2026-11-05")
    second = update(daily, tmp_path)
    assert second.returncode == 0, second.stderr
    assert (tmp_path / "out" / "old.tsv").read_text().splitlines()[1:] == [f"2026-11-0{d}\t2" for d in range(5, 10)]


def test_a_config_that_is_a_folder_for_every_command(tmp_path: Path, daily: Path) -> None:
    config = daily / "config.yaml"
    config.unlink()
    config.mkdir()
    line = f"{config}:1:1: is a folder, not a file (name the YAML file itself, or remove the folder that has its name)"
    input_error(run("--warehouse", str(tmp_path / "wh"), "validate", str(daily)), line)
    input_error(update(daily, tmp_path), line)
    input_error(run("rerun-reports", str(daily), "2026-11-01", "2026-11-02"), line)


def test_now_outside_the_bounds_is_a_usage_error(tmp_path: Path, daily: Path) -> None:
    result = run("--warehouse", str(tmp_path / "wh"), "update-reports", str(daily), "--now", "0001-01-01T00:00")
    assert result.returncode == 2 and "Invalid value for --now: 0001-01-01 is before 1970-01-01: give a time from 1970-01-01 to 2099-12-31" in result.stderr, (
        result.stderr
    )
    result = run("--warehouse", str(tmp_path / "wh"), "update-reports", str(daily), "--now", "2026-11-10T12:00+02:00")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "content, message",
    [
        ("[metrics]\ncatalogue = 5\n", ':2:1: setting catalogue is the int 5, not text (write it in quotes: catalogue = "...")'),
        ("[metrics]\nx = " + "[" * 3000, ":1:1: invalid TOML: arrays or tables nested too deep (a config file holds a [metrics] table of text settings)"),
        (
            "[metrics]\n\ncatalog = 'x'\n",
            ":3:1: unknown setting(s) catalog in [metrics] (known settings: catalogue, database_uri, engine, engine_uri, grafana_url, graphite_prefix, graphite_url, queries, superset_url, warehouse, write_mode)",
        ),
        ("[metrics]\nengine = duckdb\n", ":2:10: invalid TOML: Invalid value (fix the syntax of the config file)"),
        ('[metrics]\nwarehouse = "w\\u0000"\n', ":2:1: setting warehouse holds a control character (write the path or name on its own, without escapes)"),
    ],
    ids=["int", "deep", "unknown", "syntax", "nul"],
)
def test_a_hostile_metrics_toml(tmp_path: Path, content: str, message: str) -> None:
    toml = tmp_path / "metrics.toml"
    toml.write_text(content)
    input_error(run("list", cwd=tmp_path), f"{toml.name}{message}")


def test_a_metrics_toml_that_is_a_folder_or_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "metrics.toml").mkdir()
    input_error(run("list", cwd=tmp_path), "metrics.toml:1:1: is a folder, not a file (name the TOML file itself, or remove the folder that has its name)")
    (tmp_path / "metrics.toml").rmdir()
    (tmp_path / "metrics.toml").write_bytes(b"[metrics]\ncatalogue = 'caf\xe9'\n")
    input_error(run("list", cwd=tmp_path), "metrics.toml:2:17: not UTF-8 text (save the file as UTF-8)")


def test_new_quotes_names_that_would_be_yaml(tmp_path: Path) -> None:
    cat, queries = tmp_path / "cat", tmp_path / "q"
    result = run("--catalogue", str(cat), "--queries", str(queries), "new", "my_feature", "--team", "Ops: night\n#shift", "--responsible", 'O\'Brien "Bob"')
    assert result.returncode == 0, result.stderr
    check = run("--catalogue", str(cat), "--queries", str(queries), "--warehouse", str(tmp_path / "wh"), "validate")
    assert check.returncode == 0, check.stdout + check.stderr
    from metrics.catalogue import load

    owner = load(cat).spec("my_feature").owner
    assert (owner.team, owner.responsible) == ("Ops: night\n#shift", 'O\'Brien "Bob"')
    input_error(
        run("--catalogue", str(cat), "--queries", str(queries), "new", "other", "--team", " "),
        "--team:1:1: is empty (name the owning team and the person responsible)",
    )


def test_rerun_dates_outside_the_bounds(daily: Path) -> None:
    input_error(
        run("rerun-reports", str(daily), "0001-01-01", "2026-11-02"), "START:1:1: 0001-01-01 is before 1970-01-01 (give dates from 1970-01-01 to 2099-12-31)"
    )
    assert not (daily / ".reruns").exists()
