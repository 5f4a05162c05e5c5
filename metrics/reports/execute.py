"""Executor: run one report for one interval (or a range) and one explode combination.

The result contract is Reportupdater's: the first column is the date; any number of rows per
date; rows may carry any date. Unlike Reportupdater, a script's exit status is checked, and a
row whose width differs from the header fails the interval instead of the whole run.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
from dataclasses import dataclass
from typing import Mapping

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from metrics.engines import Engine, QueryError
from metrics.errors import MetricsError
from metrics.reports.config import Report
from metrics.reports.templates import TemplateError, placeholders, render, transpile

SCRIPT_TIMEOUT = 3600


class ExecutionError(MetricsError, RuntimeError):
    """An interval that failed; the message is what the run summary and run log show."""


@dataclass
class Result:
    """A report's output: the header as written by the query, and the rows with a `dt` DATE first column."""

    header: list[str]
    table: pa.Table

    def dates(self) -> list[dt.date]:
        return sorted(set(self.table.column(0).to_pylist())) if self.table.num_rows else []


def column_name(header: str) -> str:
    """A result header made a table column name (lower case, `_` for anything else)."""
    name = re.sub(r"[^a-z0-9_]", "_", header.strip().lower()) or "column"
    return name if name[0].isalpha() or name[0] == "_" else "c_" + name


def execute(report: Report, engine: Engine, start: dt.date, end: dt.date, explode: Mapping[str, str], schema: Mapping | None = None) -> Result:
    """Run the report over `[start, end)` for one explode combination."""
    if report.type == "script":
        return _run_script(report, start, end, explode)
    try:
        template = report.query_file.read_text("utf-8")
        sql = transpile(render(template, placeholders(start, end, explode)), report.dialect, engine.dialect, schema)
    except (TemplateError, OSError) as exc:
        raise ExecutionError(f"{report.query_file}: {exc}") from None
    try:
        table = engine.query(sql)
    except QueryError as exc:
        raise ExecutionError(f"{report.query_file}: query failed: {exc}") from None
    return _normalise(table.column_names, table, report)


def _run_script(report: Report, start: dt.date, end: dt.date, explode: Mapping[str, str]) -> Result:
    script = report.query_file
    argv = [str(script.absolute()), start.isoformat(), end.isoformat(), *[explode[k] for k in sorted(explode)], str(script.parent.absolute())]
    try:
        proc = subprocess.run(argv, capture_output=True, timeout=SCRIPT_TIMEOUT, cwd=report.folder)
    except OSError as exc:
        raise ExecutionError(f"{script}: cannot run: {exc.strerror} (is it executable, with a #! line?)") from None
    except subprocess.TimeoutExpired:
        raise ExecutionError(f"{script}: no answer after {SCRIPT_TIMEOUT} s") from None
    if proc.returncode != 0:
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise ExecutionError(f"{script}: exit status {proc.returncode}: {' | '.join(tail) or '(no stderr)'}")
    text = proc.stdout.decode("utf-8", "replace")
    lines = [line for line in text.splitlines() if line != ""]
    if not lines:
        raise ExecutionError(f"{script}: printed nothing (a script prints a TSV header line, then its rows)")
    header = lines[0].split("\t")
    for number, line in enumerate(lines[1:], 2):
        width = len(line.split("\t"))
        if width != len(header):
            raise ExecutionError(f"{script}: output line {number} has {width} fields, the header has {len(header)} (results and header do not match)")
    if len(lines) == 1:
        return _normalise(header, pa.table({column_name(h): pa.array([], pa.string()) for h in header}), report)
    options = pacsv.ReadOptions(column_names=[f"c{i}" for i in range(len(header))], skip_rows=1)
    parse = pacsv.ParseOptions(delimiter="\t", quote_char=False)
    convert = pacsv.ConvertOptions(strings_can_be_null=False, null_values=[""], column_types={"c0": pa.string()})
    table = pacsv.read_csv(io.BytesIO("\n".join(lines).encode("utf-8")), read_options=options, parse_options=parse, convert_options=convert)
    return _normalise(header, table, report)


def _normalise(header: list[str], table: pa.Table, report: Report) -> Result:
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
        elif not pa.types.is_date32(first.type):
            first = pc.cast(pc.strptime(pc.utf8_slice_codeunits(pc.cast(first, pa.string()), 0, 10), format="%Y-%m-%d", unit="s"), pa.date32())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise ExecutionError(f"{report.query_file}: the first column must be a date (YYYY-MM-DD); found {first.type} values such as {first[0]}") from None
    if first.null_count:
        raise ExecutionError(f"{report.query_file}: the first column (the date) is empty in {first.null_count} row(s)")
    table = table.set_column(0, "dt", first)
    return Result(header, table)
