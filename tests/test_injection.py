"""Injection: every name and value that reaches SQL or a path from a spec, a config or a setting,
tried with quotes, comments, semicolons, `..`, absolute paths and unicode look-alikes.

Each payload must be refused where it is written (a located error of `metrics validate`, which the
runner reads the same way), or be provably bound: run, it arrives as the literal value and
nothing else runs. A payload that is neither is an escape; the tests count them (zero expected)
and publish the figures (`record("injection", ...)`).
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pyarrow.parquet as pq
import pytest
import yaml

from metrics import catalogue, yamlfile
from metrics.reports.config import read_folder
from metrics.reports.templates import TemplateError, render
from tests.conftest import CATALOGUE, ROOT
from tests.reliability import record

pytestmark = pytest.mark.reliability

PAYLOADS = {
    "quote": "x'y",
    "double quote": 'x"y',
    "statement": "x'; DROP TABLE metrics.report_runs; --",
    "comment": "x -- y",
    "dash comment": "x--",
    "block comment": "x/*y*/",
    "semicolon": "x;y",
    "parent": "..",
    "parent path": "../../../x",
    "absolute": "/etc/passwd",
    "backslash": "x\\y",
    "fullwidth dot": "x\uff0e\uff0ey",
    "one dot leader": "x\u2024\u2024y",
    "rtl mark": "x\u200fy",
    "rtl override": "x\u202ey",
    "cyrillic a": "\u0430",
    "fullwidth apostrophe": "x\uff07y",
    "division slash": "x\u2215y",
    "space": "x y",
    "newline": "x\ny",
    "nul": "x\x00y",
    "brace": "x{y}",
    "empty": "",
}
"""One of each kind of hostile text; a test puts each where one name or value goes."""

SAFE = re.compile(r"^[a-z][a-z0-9_]*$")
"""What a table or column name must be once derived: an identifier that needs no quoting."""


def _set(data: Any, path: tuple, value: Any) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def _refused_at(problems: list, file: Path, *lines: int) -> bool:
    """An error located in `file` at one of `lines` (where the payload is written, or its report)."""
    return any(p.is_error and p.file == str(file) and p.line in lines for p in problems)


SPEC_PLACES = {
    "spec name (bundle and dashboard file names)": ("name",),
    "spec version (bundle file names)": ("version",),
    "metric name (SQL column, Superset metric)": ("metrics", 0, "name"),
    "dimension name (SQL column, Graphite placeholder)": ("dimensions", 0, "name"),
    "report of a metric (warehouse table)": ("metrics", 0, "source", "report"),
    "column of a metric (SQL column)": ("metrics", 0, "source", "column"),
    "Graphite path (carbon line)": ("metrics", 0, "graphite_path"),
    "dimensions of a metric (SQL columns)": ("metrics", 0, "dimensions", 0),
    "split_by of a graph (SQL group by)": ("graphs", 0, "split_by"),
}


@pytest.mark.parametrize("place", list(SPEC_PLACES), ids=lambda p: p.split(" (")[0])
def test_spec_names_that_reach_sql_or_a_path_are_refused_by_validate(tmp_path: Path, place: str) -> None:
    base = yaml.safe_load((CATALOGUE / "codemirror.yaml").read_text("utf-8"))
    escapes = []
    for kind, payload in PAYLOADS.items():
        if kind == "empty" and place.startswith(("spec name", "spec version")):
            continue  # the real name or version, unchanged
        data = yaml.safe_load(yaml.safe_dump(base))
        value = f"codemirror{payload}" if place.startswith("spec name") else f"1.2.0{payload}" if "version" in place else payload
        _set(data, SPEC_PLACES[place], value)
        spec = tmp_path / "codemirror.yaml"
        spec.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
        line = yamlfile.load(spec).position(SPEC_PLACES[place])[0]
        if not _refused_at(catalogue.validate([spec]), spec, line):
            escapes.append(kind)
    record(
        "injection",
        f"spec: {place}",
        trials=len(PAYLOADS) - place.startswith(("spec name", "spec version")),
        escapes=len(escapes),
        detail="refused by metrics validate at the line of the value",
    )
    assert escapes == [], f"accepted in {place}: {escapes}"


@pytest.mark.parametrize("number", [".inf", "-.inf", ".nan", "1e400", "1e10"])
def test_numbers_pasted_into_dataset_sql_are_finite_and_bounded(tmp_path: Path, number: str) -> None:
    spec = tmp_path / "codemirror.yaml"
    text = (
        (CATALOGUE / "codemirror.yaml")
        .read_text("utf-8")
        .replace(
            "normalization: {by: editing_sessions, label: per editing session}",
            f"normalization: {{by: editing_sessions, label: per editing session, scale: {number}}}",
        )
    )
    spec.write_text(text)
    problems = catalogue.validate([spec])
    assert any(p.is_error and "scale" in p.message for p in problems), [str(p) for p in problems]


def config_folder(tmp_path: Path, config: str, files: dict[str, str] | None = None) -> Path:
    folder = tmp_path / "q"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    (folder / "config.yaml").write_text(config, "utf-8")
    for name, text in (files or {}).items():
        (folder / name).write_text(text, "utf-8")
    return folder


REPORT = "reports:\n  r:\n    granularity: days\n    starts: 2026-11-01\n"

CONFIG_PLACES: dict[str, Callable[[str], tuple[str, dict[str, str], tuple]]] = {
    "explode value (SQL text, script argument)": lambda v: (
        REPORT + f"    explode_by: {{wiki: {yaml.safe_dump(v, default_style=chr(34), allow_unicode=True).strip()}}}\n",
        {"r.sql": ""},
        ("reports", "r", "explode_by", "wiki"),
    ),
    "explode value from a file (SQL text, script argument)": lambda v: (
        REPORT + "    explode_by: {wiki: wikis.txt}\n",
        {"r.sql": "", "wikis.txt": f"enwiki\n{v}\n"},
        ("reports", "r", "explode_by", "wiki"),
    ),
    "explode placeholder (SQL column)": lambda v: (
        REPORT + f"    explode_by: {{{yaml.safe_dump(v, default_style=chr(34), allow_unicode=True).strip()}: enwiki}}\n",
        {"r.sql": ""},
        ("reports", "r", "explode_by"),
    ),
    "depends_on (warehouse table)": lambda v: (
        REPORT + f"    depends_on: [{yaml.safe_dump(v, default_style=chr(34), allow_unicode=True).strip()}]\n",
        {"r.sql": ""},
        ("reports", "r", "depends_on", 0),
    ),
    "execute (query file path)": lambda v: (
        REPORT + f"    execute: {yaml.safe_dump(v, default_style=chr(34), allow_unicode=True).strip()}\n",
        {"r.sql": ""},
        ("reports", "r", "execute"),
    ),
}
"""Each place of a config as (config text, files beside it, path of the payload in the config)."""


@pytest.mark.parametrize("place", list(CONFIG_PLACES), ids=lambda p: p.split(" (")[0])
def test_config_values_that_reach_sql_or_a_path_are_refused(tmp_path: Path, place: str) -> None:
    escapes = []
    checked = dict(PAYLOADS)
    if place.startswith("explode value"):
        # `..`: test_explode_values_that_name_a_parent_folder_are_refused; a file has no empty or two-line value
        checked = {
            k: v
            for k, v in checked.items()
            if k not in ("parent", "parent path") and not (place.startswith("explode value from") and k in ("empty", "newline"))
        }
    if place.startswith("execute"):
        checked = {
            k: v for k, v in checked.items() if k in ("parent", "parent path", "absolute", "nul")
        }  # the path payloads: anything else names a file in the folder
    for kind, payload in checked.items():
        config, files, path = CONFIG_PLACES[place](payload)
        folder = config_folder(tmp_path, config, files)
        located = yamlfile.load(folder / "config.yaml")
        found = read_folder(folder)
        if not _refused_at(found.problems, folder / "config.yaml", located.position(path)[0], located.position(("reports", "r"))[0]) or found.reports:
            escapes.append(kind)
    record(
        "injection",
        f"config: {place}",
        trials=len(checked),
        escapes=len(escapes),
        detail="refused by the config reader (validate and update-reports) at the line of the value",
    )
    assert escapes == [], f"accepted in {place}: {escapes}"


def test_report_keys_are_refused_or_become_identifiers_that_never_share_a_table(tmp_path: Path) -> None:
    keys = {kind: f"r{payload}" for kind, payload in PAYLOADS.items() if payload and "\x00" not in payload and "\n" not in payload}
    keys |= {"dot": "r.x", "capital": "R_x"}  # each a twin of `r_x`, written first below
    escapes = []
    for kind, key in keys.items():
        written = yaml.safe_dump(key, default_style=chr(34), allow_unicode=True).strip()
        folder = config_folder(
            tmp_path,
            f"reports:\n  r_x: {{granularity: days, starts: 2026-11-01, execute: r}}\n  {written}: {{granularity: days, starts: 2026-11-01, execute: r}}\n",
            {"r.sql": ""},
        )
        found = read_folder(folder)
        tables = [r.table for r in found.reports]
        refused = any(p.is_error and p.line == 3 for p in found.problems)  # at the payload's key
        if not all(SAFE.fullmatch(t) for t in tables) or len(set(tables)) != len(tables) or (key not in [r.key for r in found.reports] and not refused):
            escapes.append(kind)
    detail = "refused at its line, or a table name that is an identifier; keys that would share a table are refused"
    record("injection", "config: report key (warehouse table)", trials=len(keys), escapes=len(escapes), detail=detail)
    assert escapes == [], escapes


@pytest.mark.parametrize(
    "template",
    ["{wiki!r}", "{wiki:>999999999}", "{wiki.__class__}", "{wiki[0]}", "{wiki:{wiki}}", "{0}", "{}", "{wiki", "{{wiki}"],
)
def test_query_placeholders_take_no_conversion_spec_or_attribute(template: str) -> None:
    with pytest.raises(TemplateError):
        render(f"SELECT '{template}'", {"wiki": "enwiki"})


def test_explode_values_arrive_literally_and_nothing_else_runs(tmp_path: Path) -> None:
    """The most an explode value may hold (`[A-Za-z0-9_.-]`, no leading - or --) reaches the query as itself."""
    values = ["en.wiki-x_1", "Z9", "a.b.c", "zh-min-nan", "1.28", "x-"]
    folder = config_folder(
        tmp_path,
        f'dialect: duckdb\nreports:\n  seen:\n    granularity: days\n    starts: 2026-11-01\n    explode_by: {{wiki: "{", ".join(values)}"}}\n',
        {"seen.sql": "SELECT DATE '{from_date}' AS date, '{wiki}' AS literal, length('{wiki}') AS n\n"},
    )
    warehouse = tmp_path / "wh"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "metrics",
            "--warehouse",
            str(warehouse),
            "--catalogue",
            str(tmp_path / "none"),
            "update-reports",
            str(folder),
            str(tmp_path / "out"),
            "--no-graphite",
            "--now",
            "2026-11-02T12:00",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    rows = pq.read_table(warehouse / "metrics" / "q_seen").to_pylist()
    assert sorted((r["wiki"], r["literal"], r["n"]) for r in rows) == sorted((v, v, len(v)) for v in values)
    tables = sorted(p.relative_to(warehouse).as_posix() for p in warehouse.glob("*/*") if p.is_dir() and not p.name.startswith((".", "_")))
    assert tables == ["metrics/q_seen", "metrics/report_runs"], tables
    record("injection", "explode values run", trials=len(values), detail="run on DuckDB: each value read back as itself, no other table touched")


def test_a_warehouse_path_with_quotes_is_escaped_in_the_view_sql(tmp_path: Path) -> None:
    warehouse = tmp_path / "o'neil; DROP TABLE x; --"
    simple = config_folder(
        tmp_path,
        "dialect: duckdb\nreports:\n  one:\n    granularity: days\n    starts: 2026-11-01\n",
        {"one.sql": "SELECT DATE '{from_date}' AS date, 1 AS n\n"},
    )
    run = [sys.executable, "-m", "metrics", "--warehouse", str(warehouse), "--catalogue", str(tmp_path / "none")]
    done = subprocess.run(
        [*run, "update-reports", str(simple), "--no-graphite", "--now", "2026-11-03T12:00"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    query = subprocess.run([*run, "query", "SELECT count(*) AS c FROM metrics.q_one", "--format", "csv"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert query.returncode == 0 and query.stdout == "c\n2\n", query.stderr
    record("injection", "warehouse path", trials=1, detail="a folder named with a quote, a statement and a comment: the views read it, nothing else ran")


def test_graphite_paths_from_a_config_hold_only_safe_characters() -> None:
    from metrics.reports.graphite import report_points

    paths = []
    for payload in PAYLOADS.values():
        rows = [{"__date__": dt.date(2026, 11, 1), "n": 1, "page": payload}]
        points = report_points("{_metric}.{wiki}.{page}", {"n": "n"}, rows, {"wiki": "enwiki"}, {"wiki": {"enwiki": payload}})
        paths += [point.path for point in points]
    assert len(paths) == len(PAYLOADS) and all(re.fullmatch(r"[A-Za-z0-9_=\-]+(\.[A-Za-z0-9_=\-]+)*", p) for p in paths), paths
    record(
        "injection",
        "config: Graphite lookups and values (carbon line)",
        trials=len(PAYLOADS),
        detail="made safe for the plaintext protocol: [A-Za-z0-9_=-] segments",
    )


def test_explode_values_that_name_a_parent_folder_are_refused(tmp_path: Path) -> None:
    escapes = []
    for payload in ("..", "...", ".x"):
        folder = config_folder(tmp_path, REPORT + f"    explode_by: {{wiki: '{payload}'}}\n", {"r.sql": ""})
        if read_folder(folder).reports:
            escapes.append(payload)
    record("injection", "config: explode value '..' (TSV path)", trials=3, escapes=len(escapes), detail="refused by the config reader")
    assert escapes == []


def test_files_named_by_a_config_stay_in_its_folder(tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("enwiki\n")
    (tmp_path / "lookup.yaml").write_text("enwiki: en\n")
    escapes = []
    for config in (
        REPORT + "    explode_by: {wiki: ../secret.txt}\n",
        REPORT + f"    explode_by: {{wiki: {outside}}}\n",
        REPORT + "graphite: {lookups: {wiki: ../lookup.yaml}}\n",
    ):
        folder = config_folder(tmp_path, config, {"r.sql": ""})
        found = read_folder(folder)
        if found.reports and (found.reports[0].explode_by.get("wiki") == ["enwiki"] or found.lookups):
            escapes.append(config)
    record(
        "injection", "config: files named by a config", trials=3, escapes=len(escapes), detail="explode files and lookups outside the query folder are refused"
    )
    assert escapes == []


def test_report_keys_that_leave_the_output_folder_are_refused(tmp_path: Path) -> None:
    escapes = []
    for key in ("../../../x", "/tmp/x", ".."):
        folder = config_folder(tmp_path, f"reports:\n  '{key}': {{granularity: days, starts: 2026-11-01, execute: r}}\n", {"r.sql": ""})
        if read_folder(folder).reports:
            escapes.append(key)
    record("injection", "config: report key (TSV path)", trials=3, escapes=len(escapes), detail="refused by the config reader")
    assert escapes == []
