"""Names from a config stay inside their folders: a report key or an explode value never names a
file outside the output folder, and a file a config names (explode_by list, query, lookups) is
read only from inside the query folder. `metrics validate` refuses them at their place; a run
refuses the same reports and writes nothing outside its output folder."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from metrics.reports import tsv
from metrics.reports.config import read_folder
from tests.conftest import pos

CANARY = "CANARY-4d1f-never-printed"
CLICKS = "SELECT DATE '{from_date}' AS date, 1 AS one"


def folder(root: Path, config: str, files: dict[str, str] | None = None) -> Path:
    q = root / "q" / "toy"
    q.mkdir(parents=True)
    (q / "config.yaml").write_text(config)
    for name, text in (files or {}).items():
        (q / name).parent.mkdir(parents=True, exist_ok=True)
        (q / name).write_text(text)
    return q


def metrics(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cli = [sys.executable, "-m", "metrics", "--warehouse", str(root / "wh"), "--catalogue", str(root / "none"), *args]
    return subprocess.run(cli, capture_output=True, text=True, timeout=120, env={**os.environ, "METRICS_LOCK_DIR": str(root)})


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def test_a_report_key_that_climbs_out_is_refused_by_validate_and_by_the_run(tmp_path: Path) -> None:
    config = 'reports:\n  "../../../x": {granularity: days, starts: 2026-11-21, execute: ok}\n  ok: {granularity: days, starts: 2026-11-21}\n'
    q = folder(tmp_path, config, {"ok.sql": CLICKS})
    cfg = q / "config.yaml"
    at = pos(cfg, '"../../../x"')
    expected = (
        f"{cfg}:{at}: report key '../../../x' is not a plain name: it names the report's TSV file and folder"
        " (use letters, digits, _, . and -, not starting with a dot)"
    )
    checked = metrics(tmp_path, "validate", str(q))
    assert checked.returncode == 2 and expected in checked.stdout.splitlines()

    out = tmp_path / "a" / "b" / "c" / "out"
    before = files_under(tmp_path)
    run = metrics(tmp_path, "update-reports", str(q), str(out), "--now", "2026-11-23T10:00", "--no-graphite")
    assert run.returncode == 2 and expected in run.stderr.splitlines() and "Traceback" not in run.stderr
    assert "ok: 2 interval(s) ok, 0 failed, 2 row(s)" in run.stderr  # the other report runs
    written = {p for p in files_under(tmp_path) - before if not p.is_relative_to(tmp_path / "wh") and p.suffix != ".lock"}
    assert written == {out / "ok.tsv"}
    assert not (tmp_path / "a" / "x.tsv").exists()


@pytest.mark.parametrize("value", ["..", ".", ".hidden", "/etc", "a/b", "../../x"])
def test_explode_values_that_name_folders_are_refused(tmp_path: Path, value: str) -> None:
    q = folder(tmp_path, f'reports:\n  r:\n    granularity: days\n    starts: 2024-01-01\n    explode_by: {{wiki: "enwiki, {value}"}}\n', {"r.sql": ""})
    config = read_folder(q)
    assert config.reports == []
    cfg = q / "config.yaml"
    at = pos(cfg, '"enwiki')
    assert [str(p) for p in config.errors] == [
        f"{cfg}:{at}: report 'r': explode value {value!r} of 'wiki' has characters that are not allowed"
        " (use letters, digits, _, . and - only, not starting with a dot)"
    ]


def test_a_lone_dot_dot_explode_value_is_refused(tmp_path: Path) -> None:
    """`..` alone names the folder above (not a file): as a value it would climb out of the report's TSV folder."""
    q = folder(tmp_path, "reports:\n  r:\n    granularity: days\n    starts: 2024-01-01\n    explode_by: {a: x, b: .., c: y}\n", {"r.sql": ""})
    config = read_folder(q)
    assert config.reports == [] and "explode value '..' of 'b'" in config.errors[0].message


@pytest.mark.parametrize("how", ["relative", "absolute", "link"])
def test_an_explode_by_file_outside_the_folder_is_refused_and_never_shown(tmp_path: Path, how: str) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(f"{CANARY}\nroot:x:0:0\n")
    name = {"relative": "../../secret.txt", "absolute": str(secret), "link": "wikis.txt"}[how]
    q = folder(tmp_path, f"reports:\n  r:\n    granularity: days\n    starts: 2026-11-21\n    explode_by: {{wiki: '{name}'}}\n", {"r.sql": CLICKS})
    if how == "link":
        (q / "wikis.txt").symlink_to(secret)
    cfg = q / "config.yaml"
    at = pos(cfg, f"'{name}'")
    expected = (
        f"{cfg}:{at}: report 'r': explode_by file {name!r} of 'wiki' is outside the query folder"
        " (keep the files a config names inside its query folder (no `..`, absolute paths or links out))"
    )
    config = read_folder(q)
    assert config.reports == [] and [str(p) for p in config.errors] == [expected]
    checked = metrics(tmp_path, "validate", str(q))
    run = metrics(tmp_path, "update-reports", str(q), str(tmp_path / "out"), "--now", "2026-11-23T10:00", "--no-graphite")
    for result in (checked, run):
        assert result.returncode == 2 and expected in (result.stdout + result.stderr).splitlines()
        assert CANARY not in result.stdout + result.stderr and "root:x" not in result.stdout + result.stderr


def test_an_explode_by_file_in_a_subfolder_is_read(tmp_path: Path) -> None:
    q = folder(
        tmp_path,
        "reports:\n  r:\n    granularity: days\n    starts: 2024-01-01\n    explode_by: {wiki: lists/wikis.txt}\n",
        {"r.sql": "", "lists/wikis.txt": "enwiki\ndewiki\n"},
    )
    [report] = read_folder(q).reports
    assert report.explode_by == {"wiki": ["enwiki", "dewiki"]}


def test_a_query_file_or_lookup_that_links_out_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.sql"
    outside.write_text(CLICKS)
    (tmp_path / "names.yaml").write_text(f"enwiki: {CANARY}\n")
    config = "graphite:\n  lookups: {wiki: ../../names.yaml}\nreports:\n  r: {granularity: days, starts: 2024-01-01}\n"
    q = folder(tmp_path, config)
    (q / "r.sql").symlink_to(outside)
    cfg = q / "config.yaml"
    lines = [str(p) for p in read_folder(q).errors]
    hint = "(keep the files a config names inside its query folder (no `..`, absolute paths or links out))"
    assert lines == [
        f"{cfg}:{pos(cfg, '../../names.yaml')}: lookup file '../../names.yaml' is outside the query folder {hint}",
        f"{cfg}:{pos(cfg, '{granularity')}: report 'r': query file {q / 'r.sql'} is a link out of the query folder {hint}",
    ]


@pytest.mark.parametrize(("key", "explode"), [("../../../x", {}), ("r", {"wiki": ".."}), ("r", {"a": "..", "b": "x"}), ("r", {"wiki": "a/b"}), (".", {})])
def test_the_tsv_writer_refuses_a_path_out_of_the_output_folder(tmp_path: Path, key: str, explode: dict[str, str]) -> None:
    """At run time too, whatever the config reader let through: the writer computes no path outside the output."""
    with pytest.raises(ValueError, match="is not a plain name"):
        tsv.output_path(tmp_path / "out", key, explode)


def test_plain_names_make_paths_inside_the_output_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert tsv.output_path(out, "r", {}) == out / "r.tsv"
    assert tsv.output_path(out, "r", {"b": "x.y", "a": "en-wiki"}) == out / "r" / "en-wiki" / "x.y.tsv"


def test_a_symbolic_link_in_the_output_folder_is_not_followed_out(tmp_path: Path) -> None:
    """A link inside OUTPUT_FOLDER (to a folder or to a file elsewhere) is refused: nothing outside is read or written."""
    from metrics.engines import open_engine
    from metrics.reports.runner import update_reports

    q = tmp_path / "q"
    q.mkdir()
    (q / "config.yaml").write_text('reports:\n  r1: {granularity: days, starts: 2026-11-20, explode_by: {wiki: "enwiki, dewiki"}}\n')
    (q / "r1.sql").write_text("SELECT DATE '{from_date}' AS date, '{wiki}' AS wiki, 1 AS n\n")
    victim, secret = tmp_path / "victim", tmp_path / "secret.tsv"
    victim.mkdir()
    secret.write_text("SECRETLINE\n")
    out = tmp_path / "out"
    (out / "r1").mkdir(parents=True)
    (out / "r1" / "enwiki.tsv").symlink_to(secret)
    (out / "r1" / "dewiki.tsv").symlink_to(victim / "dewiki.tsv")
    with open_engine(tmp_path / "wh") as engine:
        summary = update_reports(q, engine, out, now=dt.datetime(2026, 11, 22), graphite=False)
    assert {o.status for o in summary.outcomes} == {"failed"}
    assert all("leads out of the output folder" in o.error and "SECRETLINE" not in o.error for o in summary.outcomes)
    assert secret.read_text() == "SECRETLINE\n" and list(victim.iterdir()) == []
