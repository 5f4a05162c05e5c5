"""What a query reads, checked against the warehouse: every table, column and struct field exists.

A misspelt table (`wmf.pageviews_hourly`, a name at least `MISSPELT` alike to a loaded one) or
column (`count_view`) is an error at its line and column with the nearest real name; any other
missing table is a warning (the query may be right, the data not loaded yet). Script reports are checked through the
HiveQL they hand to `hive -e` or a here-document (`hiveql_in_script`).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Literal, Mapping

import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError, SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.qualify_columns import validate_qualify_columns
from sqlglot.schema import MappingSchema

from metrics.engines.hive_semantics import position
from metrics.problems import Problem

SqlSchema = Mapping[str, Mapping[str, Mapping[str, str]]]
"""schema -> table -> column -> SQL type (DuckDB's spelling, as `Warehouse.sql_schema` gives it)."""

MISSPELT = 0.9
"""How alike (difflib ratio) a missing table's name and a loaded one must be to call it a misspelling, not data not loaded yet."""

_QUALIFY_PLACE = re.compile(r"Line: (\d+), Col: (\d+)")
_QUALIFY_COLUMN = re.compile(r"Column '([^']+)' could not be resolved|Unknown column: (\S+)")


def check_references(text: str, dialect: str, tables: SqlSchema, file: str, *, first_line: int = 1, database: str | None = None) -> list[Problem]:
    """Problems of every table, column and struct field `text` reads that `tables` lacks.

    `first_line` is the line of `text`'s first line in `file` (for SQL found inside a script);
    `database` is the one a `use` made current (unqualified tables are read there, else not checked).
    Raises nothing: SQL that does not parse is left to the parse check.
    """
    try:
        tree = sqlglot.parse_one(text, read=dialect)
    except SqlglotError:
        return []
    shift = first_line - 1

    def problem(node: exp.Expression, message: str, hint: str, severity: Literal["error", "warning"] = "error") -> Problem:
        line, column = position(node)
        return Problem(file, line + shift, column, message, hint, severity)

    problems: list[Problem] = []
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    if database:
        for table in tree.find_all(exp.Table):
            if not table.db and table.name.lower() not in ctes and not isinstance(table.this, exp.Func):
                table.set("db", exp.to_identifier(database))
    resolved = True
    for table in tree.find_all(exp.Table):
        name, db = table.name.lower(), table.db.lower()
        if not db and name in ctes:
            continue
        if not db:
            resolved = False  # an unqualified table's schema is the session's: not checked
            continue
        if name in tables.get(db, {}):
            continue
        resolved = False
        everything = [f"{s}.{t}" for s, known in tables.items() for t in known]
        near = difflib.get_close_matches(f"{db}.{name}", everything, n=1, cutoff=MISSPELT)
        if near:
            problems.append(problem(table, f"table {db}.{name} is not in the warehouse", f"did you mean {near[0]}?"))
        else:
            loaded = f"tables of {db}: {', '.join(sorted(tables[db]))}" if db in tables else f"no table of schema {db} is loaded"
            hint = f"load its data (metrics ingest ...) before the report runs; {loaded}"
            problems.append(problem(table, f"table {db}.{name} is not loaded yet", hint, "warning"))
    if not resolved or problems:
        return problems
    schema = MappingSchema({s: dict(t) for s, t in tables.items()}, dialect="duckdb")
    try:
        qualified = qualify(tree.copy(), schema=schema, dialect=dialect, validate_qualify_columns=False, quote_identifiers=False)
    except SqlglotError:
        return []
    fields = list(_struct_fields(qualified, schema, problem))
    try:
        validate_qualify_columns(qualified)
    except OptimizeError as exc:
        # sqlglot names the first column it cannot resolve; list every one, and the struct fields beside them
        return (list(_unknown_columns(qualified, tables, problem)) or [_unresolved(tree, str(exc), tables, problem)]) + fields
    return fields


def _unknown_columns(qualified: Any, tables: SqlSchema, problem) -> Iterator[Problem]:  # noqa: ANN001
    """A problem per column left unresolved: no source has it, or its qualifier names no source (a misspelt struct column)."""
    sources = {t.alias_or_name for t in qualified.find_all(exp.Table)} | {a.name for a in qualified.find_all(exp.TableAlias)}
    columns = sorted({c for t in qualified.find_all(exp.Table) for c in tables.get(t.db.lower(), {}).get(t.name.lower(), {})})
    for column in qualified.find_all(exp.Column):
        if column.find_ancestor(exp.Lambda) is not None:
            continue
        if not column.table:
            select = column.find_ancestor(exp.Select)
            if select is not None and column.name in {e.alias_or_name for e in select.expressions}:
                continue  # ORDER BY / GROUP BY naming an output column
            name, at = column.name, column
        elif column.table not in sources:
            name, at = column.table, column.args["table"]
        else:
            continue
        near = difflib.get_close_matches(name, columns, n=1, cutoff=0.6)
        yield problem(at, f"column {name} is not in the table(s) it reads", f"did you mean {near[0]}?" if near else f"columns: {', '.join(columns)}")


def _unresolved(tree: Any, message: str, tables: SqlSchema, problem) -> Problem:  # noqa: ANN001
    """The problem of a column sqlglot could not resolve, at the column, with the nearest real name."""
    found = _QUALIFY_COLUMN.search(message)
    name = (found.group(1) or found.group(2)) if found else ""
    columns = sorted({c for t in tree.find_all(exp.Table) for c in tables.get(t.db.lower(), {}).get(t.name.lower(), {})})
    near = difflib.get_close_matches(name, columns, n=1, cutoff=0.6)
    node = next((c for c in tree.find_all(exp.Column) if c.name == name), None)
    hint = f"did you mean {near[0]}?" if near else f"columns: {', '.join(columns)}"
    if node is not None:
        return problem(node, f"column {name} is not in the table(s) it reads", hint)
    place = _QUALIFY_PLACE.search(message)
    where = exp.Column(this=exp.to_identifier(name))
    if place:
        where.this.meta.update(line=int(place.group(1)), col=int(place.group(2)))
    return problem(where, f"column {name or '?'} is not in the table(s) it reads", hint)


def _struct_fields(tree: Any, schema: MappingSchema, problem) -> Iterator[Problem]:  # noqa: ANN001
    """A problem per `column.field` whose struct column has no such field."""
    sources = {t.alias_or_name: t for t in tree.find_all(exp.Table)}
    for dot in tree.find_all(exp.Dot):
        column = dot.this
        if not isinstance(column, exp.Column) or column.table not in sources:
            continue
        table = sources[column.table]
        kind = schema.get_column_type(exp.table_(table.name, table.db), exp.column(column.name))
        if not kind.is_type(exp.DataType.Type.STRUCT):
            continue
        fields = [e.name for e in kind.expressions]
        field = dot.expression.name
        if field not in fields:
            near = difflib.get_close_matches(field, fields, n=1, cutoff=0.6)
            yield problem(
                dot.expression,
                f"struct {column.name} has no field {field}",
                f"did you mean {column.name}.{near[0]}?" if near else f"its fields: {', '.join(fields)}",
            )


_HEREDOC = re.compile(r"<<-?\s*(['\"]?)(\w+)\1[^\n]*\n(.*?)\n\s*\2\s*$", re.S | re.M)
_DASH_E = re.compile(r"""(?:hive|beeline)\b[^\n"']*?\s-e\s+(["'])(.*?)(?<!\\)\1""", re.S)
_DASH_F = re.compile(r"""(?:hive|beeline)\b[^\n]*?\s-f\s+(["']?)([^\s"'|;]+)\1""")
_SHELL_VAR = re.compile(r"\$\{?(\w+)\}?")
_LINE_COMMENT = re.compile(r"--[^\n]*")
_USE = re.compile(r"(?is)use\s+`?(\w+)`?\s*$")


@dataclass(frozen=True)
class FoundSql:
    """A SELECT a script hands to `hive`/`beeline`: where it is, and the database `use` made current."""

    file: Path | None
    """The file holding it: None for the script itself, else the file given to `-f`."""
    line: int
    sql: str
    database: str | None = None


def hiveql_in_script(text: str, values: Mapping[str, str], folder: Path | None = None) -> list[FoundSql]:
    r"""The SELECT statements a script hands to `hive`/`beeline` (`-e "..."`, a here-document, or `-f FILE`),
    with the line each starts on and the database of the `use` before it.

    Shell variables become `values[name]` (the script's arguments: `1`, `2` the dates, then the
    explode values, the last one its folder), or stay as written when unknown; `--` comments and `set ...;` statements
    are dropped; `\"`, `` \` `` and `\$` inside double quotes are unescaped.
    """
    found: list[FoundSql] = []
    for match in [*_HEREDOC.finditer(text), *_DASH_E.finditer(text)]:
        heredoc = match.re is _HEREDOC
        body = match.group(3) if heredoc else match.group(2)
        if "$(" in body and not heredoc:
            continue  # a command substitution: the here-document inside is matched on its own
        if not heredoc and match.group(1) == '"':
            body = re.sub(r"\\([\"`$\\])", r"\1", body)
        start = text.count("\n", 0, match.start(3 if heredoc else 2)) + 1
        found += _statements(_SHELL_VAR.sub(lambda m: values.get(m.group(1), m.group(0)), body), None, start)
    for match in _DASH_F.finditer(text):
        path = Path(_SHELL_VAR.sub(lambda m: values.get(m.group(1), m.group(0)), match.group(2)))
        if folder is not None and not path.is_absolute():
            path = folder / path
        try:
            body = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # a file made at run time, or elsewhere: the run says
        found += _statements(_SHELL_VAR.sub(lambda m: values.get(m.group(1), m.group(0)), body), path, 1)
    return sorted(found, key=lambda f: (str(f.file or ""), f.line))


def _statements(body: str, file: Path | None, start: int) -> list[FoundSql]:
    out = []
    database = None
    offset = 0
    for statement in _LINE_COMMENT.sub("", body).split(";"):
        stripped = statement.strip()
        lead = statement[: len(statement) - len(statement.lstrip())].count("\n")
        use = _USE.match(stripped)
        if use:
            database = use.group(1).lower()
        elif re.match(r"(?is)(select|with)\b", stripped):
            out.append(FoundSql(file, start + offset + lead, stripped, database))
        offset += statement.count("\n")
    return out
