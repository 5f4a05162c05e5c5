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
    q = folder(tmp_path, "defaults: {granularity: weeks, lag: 60, starts: 2024-01-03}\nreports:\n  r: {lag: 5}\n  s: {type: hive, execute: sub/q, granularity: months}\n", {"r.sql": "", "sub/q.hql": ""})
    config = read_folder(q)
    assert config.problems == []
    r, s = config.reports
    assert (r.type, r.granularity, r.lag, r.starts, r.execute, r.dialect, r.backfill, r.explode_by) == ("sql", "weeks", 5, dt.date(2024, 1, 3), "r", "trino", "interval", {})
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
    q = folder(tmp_path, "reports:\n  bad:\n    starts: 2024-01-01\n  worse: {granularity: hours, starts: x}\n  good: {granularity: days, starts: 2024-01-01, execute: r}\n")
    config = read_folder(q)
    assert [r.key for r in config.reports] == ["good"]
    messages = [p.message for p in config.errors]
    assert "report 'bad': missing granularity" in messages
    assert "report 'worse': granularity 'hours' is not one of days, weeks, months" in messages
    assert "report 'worse': starts 'x' is not a date" in messages


def test_explode_by_list_file_literal_and_empty_file(tmp_path: Path) -> None:
    q = folder(tmp_path, "reports:\n  r:\n    granularity: days\n    starts: 2024-01-01\n    explode_by:\n      wiki: wikis.txt\n      editor: ve, wt\n      version: 1.28\n      gone: empty.txt\n", {"r.sql": "", "wikis.txt": "enwiki\n\ndewiki\n", "empty.txt": ""})
    [r] = read_folder(q).reports
    assert r.explode_by == {"wiki": ["enwiki", "dewiki"], "editor": ["ve", "wt"], "version": ["1.28"]}


def test_explode_values_that_could_break_sql_are_refused(tmp_path: Path) -> None:
    q = folder(tmp_path, "reports:\n  r:\n    granularity: days\n    starts: 2024-01-01\n    explode_by: {wiki: \"enwiki, x'; drop table t; --\"}\n")
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
    assert 'quoted' in config.errors[0].hint
