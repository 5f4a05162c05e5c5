"""The root group of `metrics`: errors from any part's command become one line and an exit code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from metrics.cli import main
from metrics.errors import Location, MetricsError
from tests.conftest import ROOT

# `metrics` with load_csv replaced by one that fails as a bug would (a real process, for the real traceback)
BROKEN = """
import ingestion.tabular

def load_csv(*args, **kwargs):
    raise ZeroDivisionError("boom\\nsecond line")

ingestion.tabular.load_csv = load_csv
from metrics.cli import main
main()
"""


def csv_args(tmp_path: Path) -> list[str]:
    data = tmp_path / "editors.csv"
    data.write_text("country,editors\nFR,12\n")
    return ["--warehouse", str(tmp_path / "wh"), "ingest", "csv", str(data), "--table", "external.editors", "--columns", "country:varchar,editors:bigint"]


def test_an_error_deep_in_a_part_is_one_located_line_and_exit_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def load_csv(*args: object, **kwargs: object) -> None:
        raise MetricsError("value 'x' is not a bigint", "fix the row or the declared type", Location("editors.csv", 3, 7))

    monkeypatch.setattr("ingestion.tabular.load_csv", load_csv)
    result = CliRunner().invoke(main, csv_args(tmp_path))
    assert result.exit_code == 1
    assert result.stderr == "editors.csv:3:7: value 'x' is not a bigint (fix the row or the declared type)\n"
    assert result.stdout == ""


def test_a_real_input_error_from_a_part(tmp_path: Path) -> None:
    args = csv_args(tmp_path)
    args[args.index("--columns") + 1] = "country:varchar,editors:bigint,wiki:varchar"
    result = subprocess.run([sys.executable, "-m", "metrics", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr == f"{tmp_path / 'editors.csv'}:1:1: header lacks declared column(s) wiki (it has country, editors) (fix the header or --columns)\n"


def test_an_error_without_a_place_says_error(tmp_path: Path) -> None:
    board = tmp_path / "codemirror.json"
    board.write_text('{"uid": "metrics-codemirror", "title": "x", "panels": []}')
    result = CliRunner().invoke(main, ["import", "grafana", "--url", "http://127.0.0.1:9", str(board)], env={"GRAFANA_TOKEN": "t"})
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot connect to Grafana at http://127.0.0.1:9") and result.stderr.count("\n") == 1


def test_an_unexpected_error_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-c", BROKEN, *csv_args(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr == "error: ZeroDivisionError: boom second line (run with --debug for the traceback)\n"


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-c", BROKEN, "--debug", *csv_args(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith("Traceback (most recent call last):")
    assert "in load_csv" in result.stderr and result.stderr.rstrip().endswith("second line")


def test_click_usage_errors_keep_their_form() -> None:
    result = CliRunner().invoke(main, ["ingest", "csv"])
    assert result.exit_code == 2 and "Usage:" in result.stderr and "Missing argument 'FILE'" in result.stderr


def test_start_up_imports_no_heavy_library() -> None:
    code = "import sys, metrics.cli; print(' '.join(m for m in ('pandas', 'pyarrow', 'duckdb', 'httpx', 'rich', 'sqlglot') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout + result.stderr
