"""Executor: run one report for one interval (or a range) and one explode combination.

The result contract is Reportupdater's: the first column is the date; any number of rows per
date; rows may carry any date. Unlike Reportupdater, a script's exit status is checked, and a
row whose width differs from the header fails the interval instead of the whole run.

A result is kept twice: typed, for the table, and as text, for the TSV and Graphite paths (see
`metrics.reports.printed`). A script's text is what it printed, read with Python's `csv` module as
Reportupdater read it; its typed copy is inferred from that text. A script finds `hive` and
`beeline` on its PATH, running on the engine (`metrics.hive_cli`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Iterator, Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from metrics import hive_cli
from metrics.engines import Engine, QueryError
from metrics.errors import MetricsError
from metrics.reports import printed, spawn
from metrics.reports.config import Report
from metrics.reports.mariadb import SourceError, execute as execute_on_database
from metrics.reports.selector import Unit
from metrics.reports.templates import TemplateError, placeholders, render, transpile

log = logging.getLogger(__name__)

SCRIPT_TIMEOUT = 3600
READ_AFTER_SECONDS = 0.05
"""Script processes run in a row (`Executor.batches`) for this long at most before their outputs are read."""


class ExecutionError(MetricsError, RuntimeError):
    """An interval that failed; the message is what the run summary and run log show."""


@dataclass
class Result:
    """A report's output: the header as written by the query, the rows with a `dt` DATE first column,
    and the same rows as text (the fields after the date, None for NULL), for the TSV and Graphite."""

    header: list[str]
    table: pa.Table
    text: list[list[str | None]]
    _days: list[dt.date] | None = field(default=None, init=False, repr=False, compare=False)

    def dates(self) -> list[dt.date]:
        """The distinct dates of the rows, sorted."""
        return sorted(set(self.days()))

    def days(self) -> list[dt.date]:
        """The date of each row (read from the table once)."""
        if self._days is None:
            self._days = self.table.column(0).to_pylist()
        return self._days


@dataclass
class Computed:
    """What one execution gives the writer: the unit it ran, and its result (None when it failed,
    with the error), and the seconds it took."""

    unit: Unit
    result: Result | None
    seconds: float
    error: str | None = None


class Executor:
    """Runs units (`metrics.reports.selector.Unit`) on one engine; safe to call from many threads.

    `script_env` is the environment of script reports, made once per run (`hive_cli.on_path`).
    """

    def __init__(self, engine: Engine, schema: Mapping | None, script_env: Mapping[str, str] | None = None):
        self.engine = engine
        self.schema = schema
        self.launcher = spawn.Launcher(script_env) if script_env is not None else None

    def __call__(self, unit: Unit) -> Computed:
        return self.many([unit])[0]

    def many(self, units: Sequence[Unit]) -> list[Computed]:
        """Each unit's execution, in order, one after another (`batches`)."""
        return [computed for batch in self.batches(units) for computed in batch]

    def batches(self, units: Sequence[Unit]) -> Iterator[list[Computed]]:
        """Each unit's execution, in order, one after another, in lists given as soon as they are known.

        Script processes that finish within READ_AFTER_SECONDS of the first are run in a row (a
        worker is given a few units at a time: `runner.CHUNK`), and their outputs read after them in one go: reading an output right after its process costs
        several times more CPU (the process has evicted this code from the CPU's caches) than
        reading a few in a row. A slower script's output is read as soon as it ends.
        """
        pending: list[tuple[Unit, spawn.Finished | Exception, float]] = []
        first = 0.0
        for unit in units:
            if unit.report.type != "script" or self.launcher is None:
                if pending:
                    yield [self._computed(*item) for item in pending]
                    pending = []
                yield [self._computed(unit, None, 0.0)]
                continue
            started = time.perf_counter()
            first = first if pending else started
            proc: spawn.Finished | Exception
            try:
                proc = _launch(unit.report, unit.intervals[0].start, unit.intervals[-1].end, unit.explode, self.launcher)
            except Exception as exc:  # noqa: BLE001 - a failure stays with its intervals
                proc = exc
            ended = time.perf_counter()
            pending.append((unit, proc, ended - started))
            if ended - first >= READ_AFTER_SECONDS:
                yield [self._computed(*item) for item in pending]
                pending = []
        if pending:
            yield [self._computed(*item) for item in pending]

    def _computed(self, unit: Unit, proc: spawn.Finished | Exception | None, seconds: float) -> Computed:
        started = time.perf_counter()
        try:
            if isinstance(proc, Exception):
                raise proc
            if proc is None:
                result = execute(unit.report, self.engine, unit.intervals[0].start, unit.intervals[-1].end, unit.explode, self.schema, launcher=self.launcher)
            else:
                result = _script_result(unit.report, proc)
                _check_explode_columns(result, unit.explode, unit.report)
        except Exception as exc:  # noqa: BLE001 - a failure stays with its intervals
            log.debug("execution failed", exc_info=True)
            error = str(exc) if isinstance(exc, ExecutionError) else f"{type(exc).__name__}: {exc}"
            return Computed(unit, None, seconds + time.perf_counter() - started, error)
        return Computed(unit, result, seconds + time.perf_counter() - started)


def column_name(header: str) -> str:
    """A result header made a table column name (lower case, `_` for anything else)."""
    name = re.sub(r"[^a-z0-9_]", "_", header.strip().lower()) or "column"
    return name if name[0].isalpha() or name[0] == "_" else "c_" + name


def execute(
    report: Report,
    engine: Engine,
    start: dt.date,
    end: dt.date,
    explode: Mapping[str, str],
    schema: Mapping | None = None,
    *,
    script_env: Mapping[str, str] | None = None,
    launcher: spawn.Launcher | None = None,
) -> Result:
    """Run the report over `[start, end)` for one explode combination.

    A script report runs with `launcher` (`spawn.Launcher`, made once per run), else with the
    environment `script_env` (`hive_cli.on_path`), else one made for this execution.
    """
    result = _execute(report, engine, start, end, explode, schema, launcher or (spawn.Launcher(script_env) if script_env is not None else None))
    _check_explode_columns(result, explode, report)
    return result


def _execute(
    report: Report, engine: Engine, start: dt.date, end: dt.date, explode: Mapping[str, str], schema: Mapping | None, launcher: spawn.Launcher | None
) -> Result:
    if report.type == "script":
        if launcher is None:
            with hive_cli.on_path(engine) as env:  # `hive` and `beeline` run its HiveQL on the engine
                return _run_script(report, start, end, explode, spawn.Launcher(env))
        return _run_script(report, start, end, explode, launcher)
    if report.on_database:
        return _run_on_database(report, start, end, explode)
    try:
        template = report.query_file.read_text("utf-8")
        sql = transpile(render(template, placeholders(start, end, explode)), report.dialect, engine.dialect, schema)
    except (TemplateError, OSError) as exc:
        raise ExecutionError(f"{report.query_file}: {exc}") from None
    try:
        table = engine.query(sql)
    except QueryError as exc:
        raise ExecutionError(f"{report.query_file}: query failed: {exc}") from None
    return _normalise(table.column_names, table, printed.rows(table, "hive" if report.type == "hive" else "python"), report)


def _check_explode_columns(result: Result, explode: Mapping[str, str], report: Report) -> None:
    """A result column named like an explode placeholder must hold its value: the table keeps the
    combination's rows by that column, and other values would never be replaced by a rerun."""
    for key, value in explode.items():
        if key in result.table.column_names:
            column = result.table.column(key)
            if pa.types.is_string(column.type) or pa.types.is_integer(column.type):
                # Arrow casts these to text as Python's str() does; a result of a few rows is faster checked here.
                other = [None if v is None else str(v) for v in column.to_pylist() if v is None or str(v) != value]
            else:
                text = pc.cast(column, pa.string())
                other = pc.filter(text, pc.invert(pc.fill_null(pc.equal(text, value), False))).to_pylist()
            if other:
                raise ExecutionError(
                    f"{report.query_file}: result column {key} holds {other[0]!r}, but {key} is an explode_by placeholder, here {value!r}"
                    f" (the table keeps each combination's rows by it: rename the column, or print the placeholder's value)"
                )


def _run_on_database(report: Report, start: dt.date, end: dt.date, explode: Mapping[str, str]) -> Result:
    """A `type: sql` report with `db:`: its MySQL text run as written on the database it names."""
    try:
        fetched = execute_on_database(report, start, end, explode)
    except SourceError as exc:
        raise ExecutionError(str(exc)) from None
    return _normalise(fetched.header, fetched.table, fetched.text, report)


def _run_script(report: Report, start: dt.date, end: dt.date, explode: Mapping[str, str], launcher: spawn.Launcher) -> Result:
    return _script_result(report, _launch(report, start, end, explode, launcher))


def _launch(report: Report, start: dt.date, end: dt.date, explode: Mapping[str, str], launcher: spawn.Launcher) -> spawn.Finished:
    """Run a script report's process, as Reportupdater called it, to its end."""
    script = report.query_file
    argv = [str(script.absolute()), start.isoformat(), end.isoformat(), *[explode[k] for k in sorted(explode)], str(script.parent.absolute())]
    try:
        return launcher.run(argv, report.folder, SCRIPT_TIMEOUT)
    except OSError as exc:
        raise ExecutionError(f"{script}: cannot run: {exc.strerror} (is it executable, with a #! line?)") from None


def _script_result(report: Report, proc: spawn.Finished) -> Result:
    """What a script's finished process printed, as a result; ExecutionError when it failed or printed no table."""
    script = report.query_file
    if proc.timed_out:
        raise ExecutionError(f"{script}: no answer after {SCRIPT_TIMEOUT} s")
    if proc.returncode != 0:
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise ExecutionError(f"{script}: exit status {proc.returncode}: {' | '.join(tail) or '(no stderr)'}")
    output = proc.stdout.decode("utf-8", "replace")
    rows = [row for row in csv.reader(output.splitlines(), delimiter="\t") if row]
    if not rows:
        raise ExecutionError(f"{script}: printed nothing (a script prints a TSV header line, then its rows)")
    header = rows[0]
    for number, row in enumerate(rows[1:], 2):
        if len(row) != len(header):
            raise ExecutionError(f"{script}: output line {number} has {len(row)} fields, the header has {len(header)} (results and header do not match)")
    text: list[list[str | None]] = [list(row[1:]) for row in rows[1:]]
    return _normalise(header, _typed(header, rows[1:]), text, report)


_INTEGER = re.compile(r"-?(0|[1-9][0-9]{0,17})")
_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?|-?(inf|infinity|nan)", re.IGNORECASE)
"""How a number is printed. Anything else Arrow would read as one (`0042`, `12e3`, `0x1F`, `+1`, ` 1`) is a code: kept as text."""
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_NOT_WORDS = frozenset({"true", "false", "inf", "infinity", "nan"})  # Arrow reads these as booleans and doubles
_NULLS = ("", "NULL")


def _typed(header: list[str], rows: list[list[str]]) -> pa.Table:
    """The typed copy of a script's text rows: Arrow's CSV type inference, the date column as dates
    when every value starts with one (else as text, for `_normalise` to read or refuse), `NULL` and
    empty as no value (but an empty text stays '').

    Columns of plain integers and of plain words are typed directly (what Arrow would infer, much
    faster on the few rows of one interval); a table with any other column goes through Arrow.
    """
    names = [f"c{i}" for i in range(len(header))]
    if not rows:
        return pa.table({name: pa.array([], pa.string()) for name in names})
    columns = list(zip(*rows))
    dates = _iso_dates(columns[0])  # as `_normalise` would read them; it leaves a date column as it is
    arrays = [dates if dates is not None else pa.array(columns[0], pa.string())]
    for values in columns[1:]:
        array = _plain(values)
        if array is None:
            table = _inferred(names, rows)
            return table.set_column(0, "c0", dates) if dates is not None else table
        arrays.append(array)
    return pa.table(arrays, names=names)


def _plain(values: tuple[str, ...]) -> pa.Array | None:
    """The column typed as Arrow's inference would, when it holds only plain integers or only plain words; else None."""
    present = [v for v in values if v not in _NULLS]
    if not present:
        return None
    if all(_INTEGER.fullmatch(v) for v in present):
        return pa.array([None if v in _NULLS else int(v) for v in values], pa.int64())
    if all(_WORD.fullmatch(v) and v.lower() not in _NOT_WORDS for v in present):
        return pa.array([None if v == "NULL" else v for v in values], pa.string())
    return None


def _inferred(names: list[str], rows: list[list[str]]) -> pa.Table:
    """`_typed` by Arrow's CSV reader."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter="\t", lineterminator="\n").writerows(rows)
    options = pacsv.ReadOptions(column_names=names)
    parse = pacsv.ParseOptions(delimiter="\t", newlines_in_values=True)
    # `NULL` is how the Hive CLI and beeline print a NULL: no value in the typed copy (the TSV keeps the text).
    convert = pacsv.ConvertOptions(strings_can_be_null=False, null_values=list(_NULLS), column_types={"c0": pa.string()})
    table = pacsv.read_csv(io.BytesIO(buffer.getvalue().encode("utf-8")), read_options=options, parse_options=parse, convert_options=convert)
    for i, column in enumerate(table.columns):
        if not i:
            continue
        if (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)) and not all(row[i] in _NULLS or _NUMBER.fullmatch(row[i]) for row in rows):
            column = pa.chunked_array([pa.array([row[i] for row in rows], pa.string())])  # codes such as 0042 keep their text
        if pa.types.is_string(column.type):
            table = table.set_column(i, table.field(i).with_type(pa.string()), pc.if_else(pc.equal(column, "NULL"), pa.scalar(None, pa.string()), column))
    return table


def _normalise(header: list[str], table: pa.Table, text: list[list[str | None]], report: Report) -> Result:
    """First column to `dt` DATE, other columns renamed to safe names, explode keys untouched."""
    if not header:
        raise ExecutionError(f"{report.query_file}: the result has no columns")
    names = ["dt"] + [column_name(h) for h in header[1:]]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ExecutionError(f"{report.query_file}: result columns {', '.join(sorted(duplicates))} collide (the first column becomes dt; rename the others)")
    table = table.rename_columns(names)
    first = table.column(0)
    try:
        if pa.types.is_timestamp(first.type):
            first = pc.cast(first, pa.date32())
        elif pa.types.is_string(first.type) and (dates := _iso_dates(first.to_pylist())) is not None:
            first = dates
        elif not pa.types.is_date32(first.type):
            first = pc.cast(pc.strptime(pc.utf8_slice_codeunits(pc.cast(first, pa.string()), 0, 10), format="%Y-%m-%d", unit="s"), pa.date32())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise ExecutionError(f"{report.query_file}: the first column must be a date (YYYY-MM-DD); found {first.type} values such as {first[0]}") from None
    if first.null_count:
        raise ExecutionError(f"{report.query_file}: the first column (the date) is empty in {first.null_count} row(s)")
    table = table.set_column(0, "dt", first)
    return Result(header, table, text)


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_dates(values: Sequence[str]) -> pa.Array | None:
    """The dates of text values that all start with a valid `YYYY-MM-DD`, or None (then Arrow's strptime decides; a None among them too)."""
    try:
        return pa.array([dt.date.fromisoformat(v[:10]) if _ISO_DATE.match(v) else _not_a_date() for v in values], pa.date32())
    except (TypeError, ValueError):
        return None


def _not_a_date() -> dt.date:
    raise ValueError
