"""The runner writes values as their source printed them, in TSV files and Graphite paths.

The shared cases (`../shared/cases/script`, `../shared/cases/hive`) run unchanged through the real
runner on DuckDB; expected bytes come from the cases' own files, from Python's `csv` module fed the
script's raw output, or from known outputs of Java's Double.toString.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import socket
import subprocess
import threading
from collections import Counter
from pathlib import Path

import pyarrow as pa

from metrics.engines import open_engine
from metrics.reports.runner import update_reports
from metrics.warehouse import Warehouse
from tests.conftest import SHARED

CASES = SHARED / "cases"
DAY = dt.date(2026, 11, 1)
NOW = dt.datetime(2026, 11, 5, 12)
MIDNIGHT = int(dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc).timestamp())


class Carbon:
    """A plaintext listener standing in for carbon: collects every line it is sent."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.address = ("127.0.0.1", self.sock.getsockname()[1])
        self.data: list[bytes] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            while chunk := conn.recv(65536):
                self.data.append(chunk)

    def lines(self) -> list[str]:
        self.thread.join(timeout=10)
        self.sock.close()
        return sorted(b"".join(self.data).decode().splitlines())


def test_script_output_is_kept_as_printed(tmp_path: Path) -> None:
    folder = shutil.copytree(CASES / "script", tmp_path / "scripted")
    with open_engine(tmp_path / "wh") as engine:
        summary = update_reports(folder, engine, tmp_path / "out", now=NOW, graphite=False)
        assert summary.ok, summary.lines()
        written = (tmp_path / "out" / "edit_buckets.tsv").read_bytes()
        assert written == (CASES / "script" / "expected-edit_buckets.tsv").read_bytes()

        # independently: the script's raw output through Python's csv module, as Reportupdater did
        raw = subprocess.run([str(folder / "edit_buckets"), "2026-11-01", "2026-11-02", str(folder)], capture_output=True, text=True, check=True).stdout
        buffer = io.StringIO()
        csv.writer(buffer, delimiter="\t").writerows(csv.reader(raw.splitlines(), delimiter="\t"))
        assert written == buffer.getvalue().encode()

        # the table holds the typed copy
        rows = engine.query("SELECT dt, bucket, share, active FROM metrics.scripted_edit_buckets ORDER BY share DESC").to_pylist()
        assert rows == [
            {"dt": DAY, "bucket": "007", "share": 1.5, "active": True},
            {"dt": DAY, "bucket": "5-99", "share": 0.1, "active": False},
        ]
        types = engine.query("SELECT typeof(share) s, typeof(active) a FROM metrics.scripted_edit_buckets LIMIT 1").to_pylist()
        assert types == [{"s": "DOUBLE", "a": "BOOLEAN"}]


DOUBLES_HQL = """
SELECT '{from_date}' AS `date`, wiki, v,
  CAST(NULL AS DOUBLE) AS nothing,
  CAST(v AS DOUBLE) * 5000000 AS big,
  CAST(v AS DOUBLE) / 10000 AS small,
  CAST(v AS DOUBLE) AS whole,
  v / 3 AS third
FROM external.vals
ORDER BY v
"""

# Java's Double.toString of each value of DOUBLES_HQL for v = 2 and v = 5, as Hive prints them
JAVA = {2: ["", "1.0E7", "2.0E-4", "2.0", "0.6666666666666666"], 5: ["", "2.5E7", "5.0E-4", "5.0", "1.6666666666666667"]}


def hive_folder(tmp_path: Path) -> tuple[Path, list[dict]]:
    """The hive cases' folder with a Graphite section and one more report; external.vals loaded from data.csv."""
    folder = shutil.copytree(CASES / "hive", tmp_path / "cases")
    config = (folder / "config.yaml").read_text()
    config = config.replace("  bool_render: {}\n", "  bool_render:\n    graphite:\n      path: '{_metric}.byBig.{big}'\n      metrics: {cases.rows: n}\n")
    config += "  doubles:\n    explode_by: {wiki: xxwiki}\n"
    (folder / "config.yaml").write_text("graphite: {host: 127.0.0.1, port: 1}\n" + config)
    (folder / "doubles.hql").write_text(DOUBLES_HQL)
    with (CASES / "hive" / "data.csv").open(newline="") as handle:
        data = [{**row, "v": int(row["v"])} for row in csv.DictReader(handle)]
    table = pa.table({"ts": [r["ts"] for r in data], "wiki": [r["wiki"] for r in data], "v": pa.array([r["v"] for r in data], pa.int64())})
    Warehouse(tmp_path / "wh").replace_partition("external", "vals", {"year": 2026}, table)
    return folder, data


def test_hive_booleans_nulls_and_doubles_as_hive_prints_them(tmp_path: Path) -> None:
    folder, data = hive_folder(tmp_path)
    carbon = Carbon()
    with open_engine(tmp_path / "wh") as engine:
        summary = update_reports(folder, engine, tmp_path / "out", now=NOW, only=["bool_render", "doubles"], graphite_address=carbon.address)
        assert summary.ok, summary.lines()
        assert summary.points_sent == 2

        # booleans as Hive prints them: two rows, false 1 and true 1
        counts = Counter(r["v"] > 3 for r in data)
        expected = ["date\tbig\tn"] + [f"2026-11-01\t{'true' if big else 'false'}\t{counts[big]}" for big in sorted(counts)]
        assert (tmp_path / "out" / "bool_render.tsv").read_bytes() == ("\r\n".join(expected) + "\r\n").encode()
        assert counts == {False: 1, True: 1}

        # and in Graphite paths, with each row's own date
        assert carbon.lines() == [f"cases.rows.byBig.{big} 1.0 {MIDNIGHT}" for big in ("false", "true")]

        # NULL is an empty field; doubles are Java's text
        lines = (tmp_path / "out" / "doubles" / "xxwiki.tsv").read_bytes().decode().split("\r\n")
        assert lines[0] == "date\twiki\tv\tnothing\tbig\tsmall\twhole\tthird"
        assert lines[1:] == ["\t".join(["2026-11-01", "xxwiki", str(v), *JAVA[v]]) for v in (2, 5)] + [""]

        # the table keeps the types
        table = engine.query("SELECT big, typeof(big) t FROM metrics.cases_bool_render ORDER BY big").to_pylist()
        assert table == [{"big": False, "t": "BOOLEAN"}, {"big": True, "t": "BOOLEAN"}]
        assert engine.query("SELECT big, nothing FROM metrics.cases_doubles ORDER BY v").to_pylist() == [
            {"big": 1e7, "nothing": None},
            {"big": 2.5e7, "nothing": None},
        ]


def test_sql_report_values_are_str_of_the_cursor_values(tmp_path: Path) -> None:
    """`type: sql` as Reportupdater wrote a DB-API cursor's values: `str()`, NULL empty; booleans true/false."""
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "config.yaml").write_text(
        "reports:\n  r:\n    granularity: days\n    starts: 2026-11-01\n    ends: 2026-11-02\n    explode_by: {flag: true}\n"
        "    graphite: {path: '{_metric}.{flag}.{yes}.{nothing}', metrics: {plain.big: big}}\n"
    )
    (folder / "r.sql").write_text(
        "SELECT DATE '{from_date}' AS date, CAST(1e7 AS DOUBLE) AS big, CAST(0.1 AS DOUBLE) AS small, CAST(NULL AS DOUBLE) AS nothing, 1 > 0 AS yes, '{flag}' AS flag_value"
    )
    carbon = Carbon()
    with open_engine(tmp_path / "wh") as engine:
        summary = update_reports(folder, engine, tmp_path / "out", now=NOW, graphite_address=carbon.address)
        assert summary.ok, summary.lines()
    values = [str(1e7), str(0.1), "", "true", "true"]  # Python's str() of the floats; YAML's true stays true
    assert (tmp_path / "out" / "r" / "true.tsv").read_bytes() == (
        "date\tbig\tsmall\tnothing\tyes\tflag_value\r\n" + "\t".join(["2026-11-01", *values]) + "\r\n"
    ).encode()
    # the explode value and the boolean read true, the NULL segment is _
    assert carbon.lines() == [f"plain.big.true.true._ 10000000.0 {MIDNIGHT}"]


def test_null_printed_by_a_script_is_no_value_in_the_table_and_types_stay_put(tmp_path: Path) -> None:
    """`hive`/`beeline` print NULL as `NULL`: the TSV keeps the text, the table holds no value, and a
    day whose column is all NULL does not make a boolean column text (the next day would not fit)."""
    folder = tmp_path / "q"
    folder.mkdir()
    (folder / "config.yaml").write_text("defaults: {type: script, granularity: days, starts: 2026-11-01}\nreports:\n  bots: {}\n")
    script = folder / "bots"
    script.write_text(
        "#!/bin/bash\nprintf 'date\\tbot\\tbucket\\tn\\n'\n"
        'if [ "$1" = 2026-11-01 ]; then printf "$1\\tNULL\\tNULL\\t3\\n"; else printf "$1\\ttrue\\t5-99\\t2\\n$1\\tfalse\\tNULL\\tNULL\\n"; fi\n'
    )
    script.chmod(0o755)
    with open_engine(tmp_path / "wh") as engine:
        summary = update_reports(folder, engine, tmp_path / "out", graphite=False, now=dt.datetime(2026, 11, 3, 12))
        assert summary.ok, summary.lines()
        rows = engine.query("SELECT dt, bot, bucket, n FROM metrics.q_bots ORDER BY dt, bot NULLS FIRST", dialect="duckdb").to_pylist()
        types = engine.columns("metrics", "q_bots")
    assert [(r["bot"], r["bucket"], r["n"]) for r in rows] == [(None, None, 3), (False, None, None), (True, "5-99", 2)]
    assert types["bot"] == "BOOLEAN" and types["n"] == "BIGINT", types
    assert (tmp_path / "out" / "bots.tsv").read_bytes() == (
        b"date\tbot\tbucket\tn\r\n2026-11-01\tNULL\tNULL\t3\r\n2026-11-02\ttrue\t5-99\t2\r\n2026-11-02\tfalse\tNULL\tNULL\r\n"
    )
