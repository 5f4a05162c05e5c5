"""The `hive` and `beeline` commands of script reports, on a real DuckDB engine over a small warehouse.

In-process runs (`hive_cli.run`) check what is printed for each kind of statement; the commands a
script finds on its PATH (`hive_cli.on_path`) run as real subprocesses for files, variables, errors
and exit statuses. Expected text is written out by hand from the rows the warehouse was given.
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pyarrow as pa
import pytest

from metrics import hive_cli
from metrics.engines import Engine, open_engine
from metrics.warehouse import Warehouse

ROWS = {
    "wiki": ["enwiki", "dewiki", None],
    "views": [3, 4, 5],
    "ratio": [0.5, 1e7, None],
    "is_bot": [True, False, None],
}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    wh = Warehouse(tmp_path_factory.mktemp("hive") / "wh")
    wh.replace_partition("wmf", "views", {"year": 2026, "month": 11, "day": 1}, pa.table(ROWS))
    wh.replace_partition("wmf", "views", {"year": 2026, "month": 11, "day": 2}, pa.table({k: v[:1] for k, v in ROWS.items()}))
    return wh


@pytest.fixture(scope="module")
def engine(warehouse: Warehouse):
    with open_engine(warehouse) as engine:
        yield engine


def hive(warehouse: Warehouse, *argv: str, command: str = "hive") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = hive_cli.run(command, argv, out, err, lambda: open_engine(warehouse, lazy=True))
    return status, out.getvalue(), err.getvalue()


def shell(engine: Engine, argv: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The command as a script report runs it: by name, from the PATH the runner gives the script."""
    with hive_cli.on_path(engine) as env:
        return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


# --- the script text ---------------------------------------------------------------------------


def test_statements_split_outside_quotes_and_comments() -> None:
    text = "set a=1;\n-- a comment; not a statement\nselect 'x;y', \"p;q\", `c;d` from t -- trailing; comment\n;select 'it\\'s;' ; select 1 \\; ;\n  ;"
    assert hive_cli.statements(text) == ["set a=1", "\n\nselect 'x;y', \"p;q\", `c;d` from t \n", "select 'it\\'s;' ", " select 1 ; "]


def test_substitution_of_each_namespace() -> None:
    hivevars, conf = {"day": "2026-11-01", "nested": "${hivevar:day}"}, {"x": "7", "day": "conf"}
    text = "${hivevar:day} ${day} ${hiveconf:x} ${x} ${nested} ${hiveconf:missing} ${env:HIVE_CLI_TEST}"
    import os

    os.environ["HIVE_CLI_TEST"] = "e"
    try:
        assert hive_cli.substitute(text, hivevars, conf) == "2026-11-01 2026-11-01 7 7 2026-11-01 ${hiveconf:missing} e"
    finally:
        del os.environ["HIVE_CLI_TEST"]
    assert hive_cli.substitute("${a}", {}, {"hive.variable.substitute": "false", "a": "1"}) == "${a}"
    with pytest.raises(hive_cli.HiveError, match="depth"):
        hive_cli.substitute("${a}", {"a": "${a}x"}, {"hive.variable.substitute.depth": "5"})


# --- what is printed ---------------------------------------------------------------------------


def test_header_nulls_booleans_and_doubles_as_the_cli_prints(warehouse: Warehouse) -> None:
    query = "select wiki, sum(views), ratio, is_bot AS Bot from wmf.views where day = 1 group by wiki, ratio, is_bot order by wiki"
    status, out, err = hive(warehouse, "-S", "-e", f"set hive.cli.print.header=true; {query}")
    assert (status, err) == (0, "")
    assert out == "wiki\t_c1\tratio\tbot\nNULL\t5\tNULL\tNULL\ndewiki\t4\t1.0E7\tfalse\nenwiki\t3\t0.5\ttrue\n"
    status, out, _ = hive(warehouse, "-S", "--hiveconf", "hive.cli.print.header=false", "-e", query)
    assert out == "NULL\t5\tNULL\tNULL\ndewiki\t4\t1.0E7\tfalse\nenwiki\t3\t0.5\ttrue\n"


def test_without_silent_the_cli_reports_on_stderr_only(warehouse: Warehouse) -> None:
    status, out, err = hive(warehouse, "-e", "select count(*) as n from wmf.views")
    assert (status, out) == (0, "n\n4\n")
    assert err.startswith("OK\nTime taken: ") and err.endswith(" seconds, Fetched: 1 row(s)\n")


def test_several_statements_set_use_and_variables(warehouse: Warehouse) -> None:
    script = """
        set hive.cli.print.header=false;
        set hivevar:wiki=enwiki;
        set x = 3 ;
        set x;
        set undefined.key;
        use WMF;
        select views, '${hiveconf:x}', '${x}' from views where wiki = '${wiki}' and day = ${hivevar:d} order by views;
        select count(*) from views v join (select 1 one) t on true
    """
    status, out, err = hive(warehouse, "-S", "-d", "d=2", "-e", script)
    assert (status, err) == (0, "")
    assert out == "x=3\nundefined.key is undefined\n3\t3\t3\n4\n"


def test_database_option_and_unqualified_tables(warehouse: Warehouse) -> None:
    assert hive(warehouse, "-S", "--database", "wmf", "-e", "select count(*) c from views")[1] == "c\n4\n"
    status, out, err = hive(warehouse, "-S", "-e", "select count(*) from views")
    assert (status, out) == (17, "")
    assert err == "FAILED: SemanticException [Error 10001]: Line 1:21 Table not found 'views'\n"


def test_with_clause_names_are_not_tables(warehouse: Warehouse) -> None:
    status, out, _ = hive(warehouse, "-S", "-e", "use wmf; with v as (select views from views where day = 2) select sum(views) total from v")
    assert (status, out) == (0, "total\n3\n")


# --- failures ----------------------------------------------------------------------------------


def test_parse_error_and_refused_statements(warehouse: Warehouse) -> None:
    status, out, err = hive(warehouse, "-S", "-e", "select 1 as a;\nselect\nfrom where")
    assert (status, out) == (64, "a\n1\n")
    assert err.startswith("FAILED: ParseException line 3:5 ")
    status, _, err = hive(warehouse, "-S", "-e", "insert overwrite table wmf.views select 1")
    assert status == 64 and "INSERT OVERWRITE cannot run here" in err
    status, _, err = hive(warehouse, "-S", "-e", "create temporary function f as 'org.wikimedia.Udf'")
    assert status == 64 and "function f is a Java class" in err


def test_errors_ignored_when_asked(warehouse: Warehouse) -> None:
    status, out, err = hive(warehouse, "-S", "--hiveconf", "hive.cli.errors.ignore=true", "-e", "select * from wmf.nope; select 1 as a")
    assert (status, out) == (0, "a\n1\n")
    assert "Table not found 'nope'" in err


def test_usage_errors(warehouse: Warehouse) -> None:
    assert hive(warehouse, "--bogus")[0] == 1
    assert hive(warehouse, "-e", "select 1", "-f", "x.hql")[0] == 2
    assert hive(warehouse, "--hivevar", "novalue", "-e", "select 1")[0] == 1
    status, _, err = hive(warehouse, "-f", "/nonexistent/q.hql")
    assert status == 3 and "Could not open input file for reading" in err


# --- the commands on a script's PATH --------------------------------------------------------------


def test_hive_f_file_with_hivevars_from_the_path(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "q.hql").write_text(
        "-- views of one wiki on one day\nset hive.cli.print.header=true;\nSELECT '${hivevar:day}' AS `date`, SUM(views) AS views\n"
        "FROM wmf.views\nWHERE wiki = '${wiki}' AND day = CAST(split('${hivevar:day}', '-')[2] AS INT);\n"
    )
    done = shell(engine, ["hive", "-S", "--hivevar", "day=2026-11-01", "--define", "wiki=dewiki", "-f", "q.hql"], cwd=tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (0, "date\tviews\n2026-11-01\t4\n", "")


def test_hive_bad_table_exit_status_and_stderr(engine: Engine) -> None:
    done = shell(engine, ["hive", "-S", "-e", "select * from wmf.nope"])
    assert (done.returncode, done.stdout) == (17, "")
    assert done.stderr == "FAILED: SemanticException [Error 10001]: Line 1:14 Table not found 'nope'\n"


def test_beeline_tsv2(engine: Engine) -> None:
    url = ["beeline", "-u", "jdbc:hive2://analytics-hive.example.org:10000/default", "-n", "analytics"]
    query = "select wiki, is_bot from wmf.views where day = 1 order by wiki"
    done = shell(engine, url + ["--outputformat=tsv2", "--silent=true", "-e", query])
    assert (done.returncode, done.stdout, done.stderr) == (0, "wiki\tis_bot\nNULL\tNULL\ndewiki\tfalse\nenwiki\ttrue\n", "")
    done = shell(engine, url + ["--outputformat=tsv2", "--showHeader=false", "--nullemptystring=true", "-e", query])
    assert (done.returncode, done.stdout) == (0, "\t\ndewiki\tfalse\nenwiki\ttrue\n")
    assert done.stderr == "3 rows selected (" + done.stderr.split("(", 1)[1]
    done = shell(engine, url + ["-e", query])
    assert done.returncode == 1 and "--outputformat=tsv2" in done.stderr
    done = shell(engine, url + ["--outputformat=tsv2", "-e", "select * from wmf.nope"])
    assert done.returncode == 2
    assert (
        done.stderr
        == "Error: Error while compiling statement: FAILED: SemanticException [Error 10001]: Line 1:14 Table not found 'nope' (state=42S02,code=10001)\n"
    )
